#ifndef MAILROOM_CEPOLL_SHIM_H
#define MAILROOM_CEPOLL_SHIM_H
// Linux epoll(7) and eventfd(2) for the IDLE event loop. Swift's Glibc module exports neither,
// and `struct epoll_event` is packed on x86-64: these wrappers keep it on the C side.
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static inline int mr_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

// Watches `fd` for input (and always for errors and hang-ups); the event carries the descriptor.
static inline int mr_epoll_add_input(int ep, int fd) {
    struct epoll_event event = {0};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.fd = fd;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &event);
}

static inline int mr_epoll_remove(int ep, int fd) {
    struct epoll_event event = {0};
    return epoll_ctl(ep, EPOLL_CTL_DEL, fd, &event);
}

// Waits up to `timeout_ms` (-1: forever); writes the ready descriptors to `fds`. Returns their
// count, or -1 with errno (EINTR included).
static inline int mr_epoll_wait_fds(int ep, int *fds, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int ready = epoll_wait(ep, events, max, timeout_ms);
    for (int i = 0; i < ready; i++) fds[i] = events[i].data.fd;
    return ready;
}

static inline int mr_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline void mr_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written = write(fd, &one, sizeof one);
    (void)written;  // EAGAIN: the counter is already non-zero, the loop will wake anyway
}

static inline void mr_eventfd_drain(int fd) {
    uint64_t count;
    ssize_t got = read(fd, &count, sizeof count);
    (void)got;
}

#endif
