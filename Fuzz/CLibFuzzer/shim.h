#ifndef MAILROOM_CLIBFUZZER_SHIM_H
#define MAILROOM_CLIBFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, for programs that own `main` (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
// SwiftPM renames an executable's entry point to `<Target>_main` and points `main` at it, so the fuzz
// targets define that entry and hand over to libFuzzer here. Linked by `-sanitize=fuzzer` only.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
