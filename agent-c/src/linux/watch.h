/* The Linux event sources behind ms_watch.h: watch.c chooses one and owns
 * the stop pipe; watch_connector.c reads the netlink process connector;
 * watch_poller.c compares passes over /proc. */
#ifndef MS_LINUX_WATCH_H
#define MS_LINUX_WATCH_H

#include "../common/watch_session.h"

typedef struct ms__poller ms__poller;

struct ms__watch_plat {
    int stop_pipe[2];      /* ms_watch_stop() writes a byte to [1]; the run polls [0] */
    int sock;              /* the connector socket, or -1 */
    uint32_t drops_seen;   /* the socket's drop counter (SO_MEMINFO) already reported */
    int drops_known;       /* SO_MEMINFO works */
    ms__poller *poller;    /* the poller, or NULL */
};

/* Connector: opens, subscribes and waits for the kernel's acknowledgement.
 * On failure fills *reason (ms_watch_reason) and watch->info.detail. */
ms_status ms__connector_open(ms_watch *w, int32_t *reason);
void ms__connector_close(ms_watch *w);
ms_status ms__connector_run(ms_watch *w, ms_proc_event_fn fn, void *user_data);

/* Poller: checks that /proc is the caller's namespace's, then takes the first
 * listing (no events). */
ms_status ms__poller_open(ms_watch *w);
void ms__poller_close(ms_watch *w);
ms_status ms__poller_run(ms_watch *w, ms_proc_event_fn fn, void *user_data);

/* Waits up to timeout_ms (-1: forever) for fd to become readable or a stop;
 * 1 readable, 0 timeout, 2 stop requested, -1 error (errno). */
int ms__watch_wait(ms_watch *w, int fd, int timeout_ms);

int64_t ms__watch_now_ns(void);

#endif
