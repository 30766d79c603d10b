/* ms_watch.h on Linux: the choice of the source, the stop pipe, the wait both
 * sources share. */
#include "watch.h"

#include "../platform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t ms__watch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

ms_status ms__plat_watch_open(ms_watch *w)
{
    struct ms__watch_plat *p = calloc(1, sizeof *p);
    if (!p)
        return ms__fail(MS_E_NO_MEMORY, "ms_watch_open: out of memory");
    p->sock = -1;
    if (pipe2(p->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        int err = errno;
        free(p);
        return ms__fail(ms__status_from_errno(err), "ms_watch_open: pipe: %s", strerror(err));
    }
    w->plat = p;
    ms_status st;
    if (w->opts.source == MS_WATCH_SOURCE_POLLER) {
        w->info.reason = MS_WATCH_REASON_FORCED;
        ms__strlcpy(w->info.detail, "the poller was asked for", sizeof w->info.detail);
        st = ms__poller_open(w);
    } else {
        int32_t reason = MS_WATCH_REASON_NO_CONNECTOR;
        st = ms__connector_open(w, &reason);
        if (st == MS_OK) {
            w->info.source = MS_WATCH_SOURCE_CONNECTOR;
            w->info.reason = MS_WATCH_REASON_CONNECTOR_OK;
        } else if (w->opts.source == MS_WATCH_SOURCE_AUTO) {
            w->info.reason = reason;
            ms__log(w->agent, MS_LOG_INFO, "watch: the /proc poller is used: %s", w->info.detail);
            st = ms__poller_open(w);
        }
    }
    if (st == MS_OK && w->info.source == MS_WATCH_SOURCE_AUTO)
        w->info.source = MS_WATCH_SOURCE_POLLER;
    if (st != MS_OK)
        ms__plat_watch_close(w);
    return st;
}

void ms__plat_watch_close(ms_watch *w)
{
    struct ms__watch_plat *p = w->plat;
    if (!p)
        return;
    ms__connector_close(w);
    ms__poller_close(w);
    close(p->stop_pipe[0]);
    close(p->stop_pipe[1]);
    free(p);
    w->plat = NULL;
}

void ms__plat_watch_stop(ms_watch *w)
{
    /* write() is async-signal-safe; a full pipe already holds a stop. */
    int saved = errno;
    char b = 1;
    ssize_t n = write(w->plat->stop_pipe[1], &b, 1);
    (void)n;
    errno = saved;
}

static void drain_stop(ms_watch *w)
{
    char buf[64];
    while (read(w->plat->stop_pipe[0], buf, sizeof buf) > 0)
        ;
}

ms_status ms__plat_watch_run(ms_watch *w, ms_proc_event_fn fn, void *user_data)
{
    ms_status st = w->plat->sock >= 0 ? ms__connector_run(w, fn, user_data) : ms__poller_run(w, fn, user_data);
    drain_stop(w);
    return st;
}

int ms__watch_wait(ms_watch *w, int fd, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = w->plat->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    nfds_t n = fd >= 0 ? 2 : 1;
    for (;;) {
        if (atomic_load(&w->stop_requested))
            return 2;
        int r = poll(fds, n, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue; /* the deadline restarts: a caller's signal is rare, and the poller's interval is soft */
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        if (fds[0].revents)
            return 2;
        return 1;
    }
}
