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

static inline int mr_is_address_mailbox(InternetAddress *_Nullable a) { return a != NULL && INTERNET_ADDRESS_IS_MAILBOX(a); }
static inline int mr_is_address_group(InternetAddress *_Nullable a) { return a != NULL && INTERNET_ADDRESS_IS_GROUP(a); }
static inline InternetAddressMailbox *mr_as_address_mailbox(InternetAddress *a) { return INTERNET_ADDRESS_MAILBOX(a); }
static inline InternetAddressGroup *mr_as_address_group(InternetAddress *a) { return INTERNET_ADDRESS_GROUP(a); }

/// Takes the byte array out of a memory stream and releases the stream. Caller frees the result
/// with g_byte_array_free(array, TRUE).
static inline GByteArray *mr_mem_stream_take_array(GMimeStream *stream) {
    GByteArray *array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    g_object_unref(stream);
    return array;
}

/// The part's content with its Content-Transfer-Encoding removed. When `from_charset` is given and
/// iconv knows it, the bytes are also converted to UTF-8 (invalid sequences are skipped) and
/// `*converted` is set to 1; otherwise the bytes are returned as they are and `*converted` is 0.
/// Caller frees the result with g_byte_array_free(array, TRUE).
static inline GByteArray *mr_part_decoded_content(GMimePart *part, const char *_Nullable from_charset, int *converted) {
    GMimeStream *stream = g_mime_stream_mem_new();
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    *converted = 0;
    if (content != NULL) {
        GMimeFilter *filter = from_charset != NULL ? g_mime_filter_charset_new(from_charset, "UTF-8") : NULL;
        if (filter != NULL) {
            GMimeStream *filtered = g_mime_stream_filter_new(stream);
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), filter);
            g_object_unref(filter);
            g_mime_data_wrapper_write_to_stream(content, filtered);
            g_mime_stream_flush(filtered);
            g_object_unref(filtered);
            *converted = 1;
        } else {
            g_mime_data_wrapper_write_to_stream(content, stream);
        }
    }
    return mr_mem_stream_take_array(stream);
}

/// Counts, in a base64 part's content as transferred, the characters of the base64 alphabet
/// (`significant`, `=` included) and those that are neither that nor white space (`invalid`),
/// reading the content in chunks rather than copying it whole.
static inline void mr_part_base64_census(GMimePart *part, size_t *invalid, size_t *significant) {
    *invalid = 0;
    *significant = 0;
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (content == NULL) return;
    GMimeStream *source = g_mime_data_wrapper_get_stream(content);
    if (source == NULL) return;
    /* 0: white space, 1: alphabet, 2: anything else (built per call: no shared state) */
    unsigned char kind[256];
    for (int c = 0; c < 256; c++) {
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '+' || c == '/' || c == '=';
        int space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        kind[c] = alpha ? 1 : (space ? 0 : 2);
    }
    char chunk[16384];
    g_mime_stream_reset(source);
    for (;;) {
        ssize_t n = g_mime_stream_read(source, chunk, sizeof chunk);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) {
            unsigned char k = kind[(unsigned char)chunk[i]];
            *significant += (k == 1);
            *invalid += (k == 2);
        }
    }
    g_mime_stream_reset(source);
}

/// An object (e.g. an embedded message) serialised back to bytes.
/// Caller frees the result with g_byte_array_free(array, TRUE).
static inline GByteArray *mr_object_serialize(GMimeObject *object) {
    GMimeStream *stream = g_mime_stream_mem_new();
    g_mime_object_write_to_stream(object, NULL, stream);
    return mr_mem_stream_take_array(stream);
}

/// A data wrapper holding a copy of `length` bytes, not transfer-encoded. Caller unrefs it.
static inline GMimeDataWrapper *mr_data_wrapper_new_bytes(const char *_Nullable bytes, size_t length) {
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(bytes, length);
    GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
    g_object_unref(stream);
    return wrapper;
}

#pragma clang assume_nonnull end
#endif
