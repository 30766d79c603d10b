/* memsentry public API: process events (fork, exec, exit, ptrace) for
 * continuous protection.
 *
 * A watch streams what happens to processes host-wide, as it happens, to a
 * callback. Two sources:
 *   - the netlink process connector (NETLINK_CONNECTOR, CN_IDX_PROC): the
 *     kernel's own events, with kernel timestamps. Needs CAP_NET_ADMIN, the
 *     initial user and PID namespaces, and a kernel built with
 *     CONFIG_PROC_EVENTS. When the socket's receive buffer overflows the
 *     kernel drops events (ENOBUFS): that is reported as MS_PROC_EV_LOST with
 *     the number dropped, and the caller must resynchronise from a listing.
 *   - a /proc poller at a fixed interval: new processes (FORK then EXEC),
 *     executables that changed (EXEC) and processes gone (EXIT), each process
 *     known by pid and start time so a reused pid is a new process. Events of
 *     a process that lived between two polls are missed; exit codes are
 *     unknown (-1).
 * MS_WATCH_SOURCE_AUTO takes the connector when it works and gives pids of
 * the caller's PID namespace, otherwise the poller; ms_watch_info() says
 * which source is in use and why (no privilege, no connector, a child PID
 * namespace where the connector would report the initial namespace's pids,
 * or the caller's choice).
 *
 * Pids are always those of the caller's PID namespace. Threads are not
 * processes: a new thread is no FORK and a thread's exit no EXIT.
 *
 * Threads: ms_watch_run() blocks on the calling thread and makes every
 * callback there; ms_watch_stop() may be called from any thread or from a
 * signal handler. Windows: every call returns MS_E_UNSUPPORTED. */
#ifndef MEMSENTRY_MS_WATCH_H
#define MEMSENTRY_MS_WATCH_H

#include "ms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_watch ms_watch;

typedef enum ms_watch_source {
    MS_WATCH_SOURCE_AUTO = 0,      /* options only: the connector when it works, else the poller */
    MS_WATCH_SOURCE_CONNECTOR = 1, /* the netlink process connector, or fail */
    MS_WATCH_SOURCE_POLLER = 2     /* the /proc poller */
} ms_watch_source;

/* Stable name: "auto", "netlink-connector", "proc-poller". Never NULL. */
MS_API const char *ms_watch_source_name(int32_t source);

/* Why the source in use was chosen. */
typedef enum ms_watch_reason {
    MS_WATCH_REASON_CONNECTOR_OK = 0,   /* the connector answered and reports this namespace's pids */
    MS_WATCH_REASON_FORCED = 1,         /* the caller asked for the poller */
    MS_WATCH_REASON_NO_PRIVILEGE = 2,   /* the connector refused (EPERM: no CAP_NET_ADMIN) */
    MS_WATCH_REASON_NO_CONNECTOR = 3,   /* no connector (kernel without it, another network namespace,
                                           no acknowledgement) */
    MS_WATCH_REASON_PID_NAMESPACE = 4   /* a child PID (or user) namespace: the connector would report
                                           the initial namespace's pids */
} ms_watch_reason;

/* Stable name: "connector-ok", "forced", "no-privilege", "no-connector", "pid-namespace". Never NULL. */
MS_API const char *ms_watch_reason_name(int32_t reason);

typedef enum ms_proc_event_kind {
    MS_PROC_EV_FORK = 0,           /* pid is a new process, ppid its parent */
    MS_PROC_EV_EXEC = 1,           /* pid runs a new program */
    MS_PROC_EV_EXIT = 2,           /* pid exited; exit_code */
    MS_PROC_EV_PTRACE_ATTACH = 3,  /* ppid (the tracer process) attached to pid, thread tid */
    MS_PROC_EV_PTRACE_DETACH = 4,  /* the tracer of pid, thread tid, detached (ppid 0: the kernel
                                      does not say which tracer) */
    MS_PROC_EV_LOST = 5            /* lost events were dropped (-1: an unknown number); resynchronise */
} ms_proc_event_kind;

/* Stable name: "fork", "exec", "exit", "ptrace-attach", "ptrace-detach", "lost". Never NULL. */
MS_API const char *ms_proc_event_kind_name(int32_t kind);

typedef struct ms_proc_event {
    uint32_t struct_size;
    int32_t kind;        /* ms_proc_event_kind */
    int64_t time_ns;     /* CLOCK_MONOTONIC: the kernel's time (connector) or the poll's (poller) */
    int64_t pid;         /* the process (thread group id); 0 for LOST */
    int64_t ppid;        /* FORK: the parent; PTRACE_*: the tracer process; else 0 */
    int64_t tid;         /* PTRACE_*: the traced thread; else pid */
    int32_t exit_code;   /* EXIT: the wait status (code << 8 | signal), -1 when unknown (poller) */
    int32_t reserved;
    int64_t lost;        /* LOST: the number of events dropped, -1 when unknown */
} ms_proc_event;

/* Return non-zero to end ms_watch_run() (it returns MS_E_STOPPED). */
typedef int (*ms_proc_event_fn)(const ms_proc_event *event, void *user_data);

typedef struct ms_watch_options {
    uint32_t struct_size;       /* sizeof(ms_watch_options) */
    int32_t source;             /* ms_watch_source */
    int64_t poll_interval_ms;   /* poller: time between two passes over /proc; 0 = 100 ms */
    int32_t receive_buffer;     /* connector: the socket's receive buffer in bytes; 0 = 8 MiB
                                   (tests make it tiny to force an overflow) */
    uint32_t max_processes;     /* poller: processes followed at most (bounded memory); 0 = 65536.
                                   More are reported as LOST on each pass that sees them */
} ms_watch_options;

/* Fills opts with the defaults (struct_size included). */
MS_API void ms_watch_options_init(ms_watch_options *opts);

/* Chooses and opens the source (the connector subscribes at once, so events
 * between open and run are kept in its buffer; the poller takes its first
 * listing, which reports nothing). opts NULL takes the defaults.
 * MS_E_UNSUPPORTED when no source can work (Windows; the connector asked for
 * and unusable; no /proc of the caller's PID namespace), MS_E_ACCESS_DENIED
 * for the connector asked for without privilege. ms_last_error() says why. */
MS_API ms_status ms_watch_open(ms_agent *agent, const ms_watch_options *opts, ms_watch **out);
/* Accepts NULL. Not while ms_watch_run() runs on it. */
MS_API void ms_watch_close(ms_watch *watch);

typedef struct ms_watch_info {
    uint32_t struct_size;  /* set by the caller: sizeof(ms_watch_info) */
    int32_t source;        /* MS_WATCH_SOURCE_CONNECTOR or MS_WATCH_SOURCE_POLLER */
    int32_t reason;        /* ms_watch_reason */
    int32_t reserved;
    char detail[256];      /* e.g. "connector refused: Operation not permitted (EPERM)" */
    /* Counters since open. */
    uint64_t events;       /* events delivered (LOST included) */
    uint64_t lost;         /* events known to be dropped (connector: kernel drops; poller: processes
                              past max_processes) */
    uint64_t malformed;    /* connector messages refused as malformed or not from the kernel */
} ms_watch_info;

/* Which source is in use, why, and the counters. Callable from any thread,
 * also while ms_watch_run() runs. */
MS_API ms_status ms_watch_info_get(ms_watch *watch, ms_watch_info *out);

/* Streams events to fn until ms_watch_stop() (MS_OK), fn returns non-zero
 * (MS_E_STOPPED) or a failure. May be called again after it returns. */
MS_API ms_status ms_watch_run(ms_watch *watch, ms_proc_event_fn fn, void *user_data);

/* Ends the running ms_watch_run() soon, or the next one at once.
 * Async-signal-safe; callable from any thread. */
MS_API void ms_watch_stop(ms_watch *watch);

#ifdef __cplusplus
}
#endif
#endif
