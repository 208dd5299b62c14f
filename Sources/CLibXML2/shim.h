#ifndef MAILROOM_CLIBXML2_SHIM_H
#define MAILROOM_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
// Debian builds libxml2 with ICU, so <libxml/encoding.h> includes the system's <unicode/ucnv.h>,
// whose `UErrorCode` clashes with the copy of ICU inside Swift's Foundation in any module that
// sees both. Nothing here touches ICU or the layout of `xmlCharEncodingHandler` (the only type
// the macro changes; it is reached through pointers alone), so the ICU parts are left out.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#pragma clang assume_nonnull begin

/// Parses UTF-8 HTML with libxml2's HTML parser as the sanitiser needs it: never touches the
/// network, reports nothing on stderr, recovers from broken markup, and ignores `<meta charset>`
/// (the bytes are UTF-8 already: a hint must not make the parser re-decode them). Returns NULL
/// when libxml2 gives up; the caller owns the document and frees it with `xmlFreeDoc`.
static inline htmlDocPtr _Nullable mr_html_parse_utf8(const char *buffer, int size) {
    int options = HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER
                | HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD;
    return htmlReadMemory(buffer, size, NULL, "UTF-8", options);
}

/// libxml2's global state must be set up once before documents are parsed on several threads.
static inline void mr_xml_init(void) { xmlInitParser(); }

#pragma clang assume_nonnull end
#endif
