/* The watch handle shared by the portable API layer (common/watch_api.c) and
 * the platform's event sources (linux/watch*.c; Windows answers unsupported). */
#ifndef MS_COMMON_WATCH_SESSION_H
#define MS_COMMON_WATCH_SESSION_H

#include "../internal.h"

#include <stdatomic.h>

#define MS__WATCH_DEFAULT_POLL_MS 100
#define MS__WATCH_DEFAULT_RCVBUF (8 * 1024 * 1024)
#define MS__WATCH_DEFAULT_MAX_PROCESSES 65536u

struct ms__watch_plat;

struct ms_watch {
    ms_agent *agent;
    ms_watch_options opts;        /* complete: defaults filled in */
    ms_watch_info info;           /* source, reason, detail (set at open; its counters unused) */
    /* Counters: the run thread adds, ms_watch_info_get() may read from another thread. */
    atomic_uint_least64_t events;
    atomic_uint_least64_t lost;
    atomic_uint_least64_t malformed;
    struct ms__watch_plat *plat;  /* the platform's source state */
    atomic_int stop_requested;    /* set by ms_watch_stop(), cleared at the end of a run */
    atomic_int running;
};

#endif
