#ifndef MAILROOM_CCURL_SHIM_H
#define MAILROOM_CCURL_SHIM_H
#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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
// The outbound host policy checks the exact address libcurl is about to connect to
// (CURLOPT_OPENSOCKETFUNCTION); the callback must be a non-capturing function, its context comes
// through CURLOPT_OPENSOCKETDATA.
typedef curl_socket_t (*mr_curl_opensocket_cb)(void *_Nullable context, curlsocktype purpose, struct curl_sockaddr *address);
static inline CURLcode mr_curl_setopt_opensocket(CURL *h, mr_curl_opensocket_cb _Nullable cb) {
    return curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, cb);
}
static inline curl_socket_t mr_curl_socket_bad(void) { return CURL_SOCKET_BAD; }
// Copies the IP address of `a` into `out` (network order); returns 4 or 16, or 0 when `a` is not IPv4/IPv6.
// libcurl's curl_sockaddr holds room for a whole sockaddr_in6 behind its `addr` member.
static inline int mr_curl_sockaddr_ip(const struct curl_sockaddr *a, unsigned char *out) {
    if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr, 4);
        return 4;
    }
    if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr, 16);
        return 16;
    }
    return 0;
}
// What libcurl itself does when no open-socket callback is set.
static inline curl_socket_t mr_curl_open_socket(const struct curl_sockaddr *a) {
    return socket(a->family, a->socktype, a->protocol);
}
#pragma clang assume_nonnull end
#endif
