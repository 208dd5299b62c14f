#ifndef MAILROOM_CCURL_SHIM_H
#define MAILROOM_CCURL_SHIM_H
#include <curl/curl.h>

#pragma clang assume_nonnull begin
// curl_easy_setopt / curl_easy_getinfo are variadic: Swift needs one typed wrapper per argument type.
static inline CURLcode mr_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mr_curl_setopt_string(CURL *h, CURLoption o, const char *_Nullable v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mr_curl_setopt_pointer(CURL *h, CURLoption o, void *_Nullable v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mr_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mr_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *_Nullable v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*mr_curl_data_cb)(char *, size_t, size_t, void *);
static inline CURLcode mr_curl_setopt_datacb(CURL *h, CURLoption o, mr_curl_data_cb _Nullable cb) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode mr_curl_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
// SMTP envelope recipients: libcurl keeps the list pointer, so it must outlive the transfer.
static inline struct curl_slist *_Nullable mr_curl_slist_append(struct curl_slist *_Nullable list, const char *value) {
    return curl_slist_append(list, value);
}
#pragma clang assume_nonnull end
#endif
