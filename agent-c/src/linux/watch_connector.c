/* The netlink process connector (NETLINK_CONNECTOR, CN_IDX_PROC), as
 * forkstat reads it: bind to the group, PROC_CN_MCAST_LISTEN, read datagrams.
 *
 * The kernel drops events when the receive queue is full: the next recv
 * fails with ENOBUFS, once per congestion (drops that follow until the queue
 * is empty raise no new error). So the socket's drop counter (SO_MEMINFO,
 * SK_MEMINFO_DROPS) is read after each ENOBUFS and whenever the queue has
 * been drained, and every increase becomes one MS_PROC_EV_LOST with the
 * exact number dropped.
 *
 * The kernel sends the initial PID namespace's pids and ignores a
 * subscription from another PID or user namespace (no acknowledgement, but
 * the events other listeners caused still arrive): the socket is only used
 * when the caller lives in the initial namespaces and the kernel
 * acknowledged the subscription. */
#include "watch.h"
#include "watch_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

/* How long open waits for the kernel's acknowledgement. */
#define ACK_TIMEOUT_MS 1000
/* The receive buffer while waiting for the acknowledgement, so a busy host
 * cannot push it out of a tiny test buffer. */
#define OPEN_RCVBUF (1024 * 1024)
#define DATAGRAM_MAX 8192

static ms_status refuse(ms_watch *w, int32_t *reason, int32_t why, ms_status st, const char *fmt, ...)
    MS_PRINTF(5, 6);

/* Records why the connector cannot be used (the reason and the detail doctor shows). */
static ms_status refuse(ms_watch *w, int32_t *reason, int32_t why, ms_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->info.detail, sizeof w->info.detail, fmt, ap);
    va_end(ap);
    *reason = why;
    return ms__fail(st, "%s", w->info.detail);
}

static int32_t reason_of(int err)
{
    return err == EPERM || err == EACCES ? MS_WATCH_REASON_NO_PRIVILEGE : MS_WATCH_REASON_NO_CONNECTOR;
}

static ms_status status_of(int err)
{
    return err == EPERM || err == EACCES ? MS_E_ACCESS_DENIED : MS_E_UNSUPPORTED;
}

static void set_rcvbuf(int sock, int bytes)
{
    /* FORCE passes net.core.rmem_max with CAP_NET_ADMIN, which the
     * connector needs anyway; the plain option is capped by it. */
    if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
        (void)setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

static int read_drops(int sock, uint32_t *drops)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof mem;
    memset(mem, 0, sizeof mem);
    if (getsockopt(sock, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
        len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
        return 0;
    *drops = mem[SK_MEMINFO_DROPS];
    return 1;
}

/* The initial namespaces' inode numbers are fixed (PROC_PID_INIT_INO and
 * PROC_USER_INIT_INO in the kernel's proc_ns.h). */
#define PID_INIT_INO 0xEFFFFFFCu
#define USER_INIT_INO 0xEFFFFFFDu

/* The caller's namespaces: 0 when initial (or unknown: the acknowledgement
 * decides), else why not (detail filled). NSpid alone is not enough: a /proc
 * mounted inside the namespace shows only the namespace's own pid. */
static int foreign_namespace(ms_watch *w)
{
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PID_INIT_INO) {
        snprintf(w->info.detail, sizeof w->info.detail,
                 "in a child PID namespace (pid:[%llu]): the connector reports the initial namespace's pids",
                 (unsigned long long)st.st_ino);
        return 1;
    }
    char status[16384];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, status, sizeof status - 1);
        close(fd);
        if (n > 0) {
            status[n] = '\0';
            int depth = ms__nspid_depth(status);
            if (depth > 1) {
                snprintf(w->info.detail, sizeof w->info.detail,
                         "in a child PID namespace (depth %d): the connector reports the initial namespace's pids",
                         depth);
                return 1;
            }
        }
    }
    if (stat("/proc/self/ns/user", &st) == 0 && st.st_ino != USER_INIT_INO) {
        snprintf(w->info.detail, sizeof w->info.detail,
                 "in a child user namespace (user:[%llu]): the connector ignores subscriptions from it",
                 (unsigned long long)st.st_ino);
        return 1;
    }
    return 0;
}

static int send_subscription(int sock, bool listen, uint32_t nonce)
{
    uint8_t msg[64];
    size_t len = ms__cn_subscribe_message(msg, sizeof msg, listen, nonce);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    do {
        n = sendto(sock, msg, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : -1;
}

typedef struct ack_wait {
    uint32_t nonce;
    int found;
    uint32_t err;
} ack_wait;

static int match_ack(const ms__cn_event *ev, void *user_data)
{
    ack_wait *a = user_data;
    if (ev->kind == MS__CN_ACK && ev->ack == a->nonce + 1) {
        a->found = 1;
        a->err = ev->err;
        return 1;
    }
    return 0;
}

/* Receives one datagram from the kernel into buf: its length, 0 when the
 * queue is empty, -1 with errno on failure (ENOBUFS included), -2 when it was
 * refused (truncated, or not sent by the kernel). */
static ssize_t receive(int sock, uint8_t *buf, size_t cap)
{
    struct sockaddr_nl from;
    socklen_t from_len = sizeof from;
    ssize_t n;
    do {
        n = recvfrom(sock, buf, cap, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &from_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if ((size_t)n > cap || from_len < sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0)
        return -2;
    return n;
}

static ms_status wait_ack(ms_watch *w, int sock, uint32_t nonce, int32_t *reason)
{
    uint8_t buf[DATAGRAM_MAX];
    ack_wait a = {.nonce = nonce};
    int64_t deadline = ms__watch_now_ns() + (int64_t)ACK_TIMEOUT_MS * 1000000;
    for (;;) {
        int64_t left_ms = (deadline - ms__watch_now_ns()) / 1000000;
        if (left_ms <= 0)
            return refuse(w, reason, MS_WATCH_REASON_NO_CONNECTOR, MS_E_UNSUPPORTED,
                          "the process connector did not acknowledge the subscription within %d ms (kernel "
                          "without CONFIG_PROC_EVENTS, or a foreign namespace)",
                          ACK_TIMEOUT_MS);
        int r = ms__watch_wait(w, sock, (int)left_ms);
        if (r == 2)
            return ms__fail(MS_E_INTERRUPTED, "ms_watch_open: stopped while subscribing");
        if (r < 0)
            return refuse(w, reason, MS_WATCH_REASON_NO_CONNECTOR, MS_E_IO, "poll: %s", strerror(errno));
        for (;;) {
            ssize_t n = receive(sock, buf, sizeof buf);
            if (n == 0)
                break;
            if (n == -1 && errno == ENOBUFS)
                continue; /* events before ours; the acknowledgement may follow */
            if (n == -1)
                return refuse(w, reason, MS_WATCH_REASON_NO_CONNECTOR, MS_E_IO, "receive: %s", strerror(errno));
            if (n < 0)
                continue;
            ms__cn_parse_result res;
            ms__cn_parse(buf, (size_t)n, match_ack, &a, &res);
            if (!a.found)
                continue;
            if (a.err == 0)
                return MS_OK;
            return refuse(w, reason, reason_of((int)a.err), status_of((int)a.err),
                          "connector refused the subscription: %s", strerror((int)a.err));
        }
    }
}

ms_status ms__connector_open(ms_watch *w, int32_t *reason)
{
    struct ms__watch_plat *p = w->plat;
    if (foreign_namespace(w)) {
        *reason = MS_WATCH_REASON_PID_NAMESPACE;
        return ms__fail(MS_E_UNSUPPORTED, "%s", w->info.detail);
    }
    int sock = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
    if (sock < 0)
        return refuse(w, reason, reason_of(errno), status_of(errno), "no process connector: socket: %s", strerror(errno));
    set_rcvbuf(sock, OPEN_RCVBUF);
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
    if (bind(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int err = errno;
        close(sock);
        return refuse(w, reason, reason_of(err), status_of(err), "connector refused: bind: %s", strerror(err));
    }
    /* Unique enough to tell our acknowledgement from other listeners'. */
    uint32_t nonce = ((uint32_t)getpid() * 2654435761u ^ (uint32_t)ms__watch_now_ns() ^ (uint32_t)(uintptr_t)w) | 2u;
    if (send_subscription(sock, true, nonce) != 0) {
        int err = errno;
        close(sock);
        return refuse(w, reason, reason_of(err), status_of(err), "connector refused: send: %s", strerror(err));
    }
    ms_status st = wait_ack(w, sock, nonce, reason);
    if (st != MS_OK) {
        /* Not acknowledged, not counted as a listener: nothing to undo. */
        close(sock);
        return st;
    }
    set_rcvbuf(sock, w->opts.receive_buffer);
    snprintf(w->info.detail, sizeof w->info.detail,
             "the kernel acknowledged the subscription; this process lives in the initial PID namespace");
    p->sock = sock;
    p->drops_known = read_drops(sock, &p->drops_seen);
    return MS_OK;
}

void ms__connector_close(ms_watch *w)
{
    struct ms__watch_plat *p = w->plat;
    if (p->sock < 0)
        return;
    /* The kernel counts listeners and builds events while any is left. */
    (void)send_subscription(p->sock, false, 0);
    close(p->sock);
    p->sock = -1;
}

typedef struct deliver {
    ms_watch *w;
    ms_proc_event_fn fn;
    void *user_data;
} deliver;

static int deliver_event(const ms__cn_event *ev, void *user_data)
{
    deliver *d = user_data;
    ms_proc_event out;
    if (!ms__cn_to_proc_event(ev, &out))
        return 0;
    atomic_fetch_add(&d->w->events, 1);
    return d->fn(&out, d->user_data);
}

/* Reports drops the counter shows beyond those already reported; unknown
 * counts (no SO_MEMINFO) are reported as -1 after an ENOBUFS. */
static int report_drops(deliver *d, int after_enobufs)
{
    struct ms__watch_plat *p = d->w->plat;
    int64_t lost = -1;
    uint32_t now;
    if (p->drops_known && read_drops(p->sock, &now)) {
        lost = (int64_t)(uint32_t)(now - p->drops_seen);
        p->drops_seen = now;
        if (lost == 0 && !after_enobufs)
            return 0;
        if (lost == 0)
            lost = -1; /* an error without a count: still a loss */
    } else if (!after_enobufs) {
        return 0;
    }
    ms_proc_event ev = {.struct_size = sizeof ev, .kind = MS_PROC_EV_LOST, .time_ns = ms__watch_now_ns(), .lost = lost};
    atomic_fetch_add(&d->w->events, 1);
    if (lost > 0)
        atomic_fetch_add(&d->w->lost, (uint64_t)lost);
    return d->fn(&ev, d->user_data);
}

ms_status ms__connector_run(ms_watch *w, ms_proc_event_fn fn, void *user_data)
{
    struct ms__watch_plat *p = w->plat;
    deliver d = {w, fn, user_data};
    uint8_t buf[DATAGRAM_MAX];
    for (;;) {
        int r = ms__watch_wait(w, p->sock, -1);
        if (r == 2)
            return MS_OK;
        if (r < 0)
            return ms__fail(ms__status_from_errno(errno), "watch: poll: %s", strerror(errno));
        for (;;) {
            if (atomic_load(&w->stop_requested))
                return MS_OK;
            ssize_t n = receive(p->sock, buf, sizeof buf);
            if (n == 0) {
                /* The queue is empty: drops after the first of a congestion show only in the counter. */
                if (report_drops(&d, 0))
                    return ms__fail(MS_E_STOPPED, "watch: stopped by the callback");
                break;
            }
            if (n == -1 && errno == ENOBUFS) {
                if (report_drops(&d, 1))
                    return ms__fail(MS_E_STOPPED, "watch: stopped by the callback");
                continue;
            }
            if (n == -1)
                return ms__fail(ms__status_from_errno(errno), "watch: receive: %s", strerror(errno));
            if (n == -2) {
                atomic_fetch_add(&w->malformed, 1);
                continue;
            }
            ms__cn_parse_result res;
            ms__cn_parse(buf, (size_t)n, deliver_event, &d, &res);
            atomic_fetch_add(&w->malformed, res.malformed);
            if (res.stopped)
                return ms__fail(MS_E_STOPPED, "watch: stopped by the callback");
        }
    }
}
