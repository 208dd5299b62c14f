#ifndef MAILROOM_CTLS_SHIM_H
#define MAILROOM_CTLS_SHIM_H
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>

#pragma clang assume_nonnull begin

// Macros over SSL_CTX_ctrl / SSL_ctrl: Swift cannot import them.
static inline int mr_ssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
// Partial writes let a non-blocking SSL_write report progress; a moving buffer lets a retry after
// SSL_ERROR_WANT_WRITE pass the same bytes from another address (Swift arrays may move).
static inline void mr_ssl_ctx_set_write_modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
static inline int mr_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline int mr_err_reason(unsigned long code) { return ERR_GET_REASON(code); }

// send() that never raises SIGPIPE on a connection the peer closed: EPIPE is returned instead.
static inline ssize_t mr_send_nosignal(int fd, const void *bytes, size_t length) {
#ifdef MSG_NOSIGNAL
    return send(fd, bytes, length, MSG_NOSIGNAL);
#else
    return send(fd, bytes, length, 0); // Darwin: the socket has SO_NOSIGPIPE (mr_socket_nosigpipe)
#endif
}
static inline int mr_socket_nosigpipe(int fd) {
#ifdef SO_NOSIGPIPE
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
    (void)fd;
    return 0;
#endif
}
static inline int mr_socket_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A socket BIO whose writes use mr_send_nosignal. OpenSSL's own socket BIO writes with write(2),
// which raises SIGPIPE when the peer has closed; this one needs no process-wide signal setting.
// The descriptor travels in the BIO's data pointer; the BIO never closes it.
static inline int mr_bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static inline int mr_bio_write_ex(BIO *b, const char *bytes, size_t length, size_t *written) {
    BIO_clear_retry_flags(b);
    ssize_t n = mr_send_nosignal(mr_bio_fd(b), bytes, length);
    if (n >= 0) { *written = (size_t)n; return 1; }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
    *written = 0;
    return 0;
}

static inline int mr_bio_read_ex(BIO *b, char *bytes, size_t length, size_t *read) {
    BIO_clear_retry_flags(b);
    ssize_t n = recv(mr_bio_fd(b), bytes, length, 0);
    if (n > 0) { *read = (size_t)n; return 1; }
    *read = 0;
    if (n == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF); // OpenSSL asks BIO_eof to tell a truncation
    else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(b);
    return 0;
}

static inline long mr_bio_ctrl(BIO *b, int command, long number, void *_Nullable pointer) {
    (void)number; (void)pointer;
    switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default: return 0;
    }
}

static inline int mr_bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

/// A new method table for mr_bio_*; the caller keeps one for the life of the process.
static inline BIO_METHOD *_Nullable mr_bio_method_new(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mailroom socket");
    if (m == NULL) return NULL;
    if (!BIO_meth_set_write_ex(m, mr_bio_write_ex) || !BIO_meth_set_read_ex(m, mr_bio_read_ex)
        || !BIO_meth_set_ctrl(m, mr_bio_ctrl) || !BIO_meth_set_create(m, mr_bio_create)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

static inline BIO *_Nullable mr_bio_new_socket(const BIO_METHOD *method, int fd) {
    BIO *b = BIO_new(method);
    if (b != NULL) BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}

#pragma clang assume_nonnull end
#endif
