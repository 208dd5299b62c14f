#ifndef MAILROOM_CGMIME_SHIM_H
#define MAILROOM_CGMIME_SHIM_H
#include <gmime/gmime.h>

#pragma clang assume_nonnull begin
// GObject type-check macros are not importable into Swift; typed wrappers follow.
static inline int mr_is_multipart(GMimeObject *_Nullable o) { return o != NULL && GMIME_IS_MULTIPART(o); }
static inline int mr_is_part(GMimeObject *_Nullable o) { return o != NULL && GMIME_IS_PART(o); }
static inline int mr_is_text_part(GMimeObject *_Nullable o) { return o != NULL && GMIME_IS_TEXT_PART(o); }
static inline int mr_is_message_part(GMimeObject *_Nullable o) { return o != NULL && GMIME_IS_MESSAGE_PART(o); }
static inline GMimeMultipart *mr_as_multipart(GMimeObject *o) { return GMIME_MULTIPART(o); }
static inline GMimePart *mr_as_part(GMimeObject *o) { return GMIME_PART(o); }
static inline GMimeTextPart *mr_as_text_part(GMimeObject *o) { return GMIME_TEXT_PART(o); }
static inline GMimeMessagePart *mr_as_message_part(GMimeObject *o) { return GMIME_MESSAGE_PART(o); }
static inline GMimeObject *mr_as_object(void *o) { return GMIME_OBJECT(o); }
#pragma clang assume_nonnull end
#endif
