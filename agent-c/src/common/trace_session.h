/* The trace session shared by the portable API layer (common/trace_api.c)
 * and the platform's tracer (linux/trace*.c). */
#ifndef MS_COMMON_TRACE_SESSION_H
#define MS_COMMON_TRACE_SESSION_H

#include "../internal.h"

#include <stdatomic.h>

/* Syscall numbers below this have a bit in the monitored sets. */
#define MS__TRACE_NR_LIMIT 512
/* Bounds the monitored set so the seccomp filter's jumps stay within 8 bits. */
#define MS__TRACE_MONITORED_MAX 64

typedef struct ms__nr_set {
    uint64_t bits[MS__TRACE_NR_LIMIT / 64];
    int32_t list[2 * MS__TRACE_MONITORED_MAX]; /* the same numbers in order (i386 has two mmaps) */
    size_t count;
} ms__nr_set;

struct ms_trace {
    ms_agent *agent;
    ms_trace_options opts;  /* extra_syscalls points at extra below */
    char **extra;           /* NULL-terminated copies of the caller's names */
    ms__nr_set x86_64;      /* numbers that stop a tracee, per ABI (x32 uses the x86-64 numbers): */
    ms__nr_set i386;        /* the reported ones below and the ones the detection looks into */
    ms__nr_set reported_x86_64; /* mmap, mprotect, munmap and the caller's extras: always an event */
    ms__nr_set reported_i386;
    ms__nr_set filter_x86_64;   /* what the seccomp filter stops: all but the writes, which are */
    ms__nr_set filter_i386;     /* looked at only in a process that opened a /proc/N/mem for writing */
    int stop_pipe[2];       /* ms_trace_stop() writes one byte; the waker child reads it */
    atomic_int running;
    atomic_int stop_requested; /* Windows: ms_trace_stop() (the debug loop polls it) */
};

static inline int ms__nr_set_has(const ms__nr_set *set, int64_t nr)
{
    return nr >= 0 && nr < MS__TRACE_NR_LIMIT && (set->bits[nr / 64] >> (nr % 64) & 1u);
}

/* An alert of kind over [start, end), raised by ev: what every platform's tracer fills alike. The
 * permissions before and after are left empty, for the platform to write in its own terms. */
void ms__trace_alert_init(ms_trace_alert *a, int32_t kind, const ms_trace_event *ev, uint64_t start, uint64_t end,
                          int32_t region_kind, const char *path, int64_t target_pid);

/* Name of a syscall number in an ABI (ms_trace_abi), or NULL when unknown. */
const char *ms__trace_syscall_name(int32_t abi, int64_t nr);
/* "ENOMEM" for 12; NULL when unknown. */
const char *ms__trace_errno_name(int64_t err);

#endif
