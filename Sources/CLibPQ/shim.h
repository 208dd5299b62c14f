#ifndef MAILROOM_CLIBPQ_SHIM_H
#define MAILROOM_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
