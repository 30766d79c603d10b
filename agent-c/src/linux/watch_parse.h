/* The watch's parsers of hostile input, kept apart from the sockets and files
 * so they can be fuzzed (fuzz_watch): the netlink process connector's
 * messages (every length, the connector id and each event's size are checked
 * before a field is read), a /proc/PID/stat line, the NSpid line of status. */
#ifndef MS_LINUX_WATCH_PARSE_H
#define MS_LINUX_WATCH_PARSE_H

#include "../internal.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum ms__cn_kind {
    MS__CN_ACK = 0,    /* PROC_EVENT_NONE: the answer to a subscription (err, seq, ack) */
    MS__CN_FORK,
    MS__CN_EXEC,
    MS__CN_EXIT,
    MS__CN_PTRACE,
    MS__CN_OTHER       /* uid, gid, sid, comm, coredump: valid, not reported */
} ms__cn_kind;

typedef struct ms__cn_event {
    int32_t kind;          /* ms__cn_kind */
    uint32_t seq, ack;     /* the cn_msg's: an acknowledgement's ack is the request's plus one */
    uint32_t err;          /* ACK: 0 or an errno value */
    uint64_t time_ns;      /* the kernel's ktime_get_ns(): CLOCK_MONOTONIC */
    int64_t pid, tgid;     /* FORK: the child; EXEC, EXIT: the task; PTRACE: the tracee */
    int64_t ppid, ptgid;   /* FORK: the parent; PTRACE: the tracer (0, 0 on detach) */
    int32_t exit_code;     /* EXIT */
    int32_t exit_signal;   /* EXIT */
} ms__cn_event;

/* Called for each valid event of a datagram; non-zero stops the parse. */
typedef int (*ms__cn_event_fn)(const ms__cn_event *event, void *user_data);

typedef struct ms__cn_parse_result {
    size_t events;       /* valid events handed to fn */
    size_t malformed;    /* messages refused (bad lengths, another connector, an event too short) */
    bool stopped;        /* fn returned non-zero */
} ms__cn_parse_result;

/* Parses one received datagram (one or more netlink messages). */
void ms__cn_parse(const void *buf, size_t len, ms__cn_event_fn fn, void *user_data, ms__cn_parse_result *result);

/* The public event for a connector event, or false when it is not reported:
 * threads (a FORK or EXIT with pid != tgid), acknowledgements, other kinds. */
bool ms__cn_to_proc_event(const ms__cn_event *in, ms_proc_event *out);

/* Fills buf (cap bytes) with the netlink message that subscribes (listen true)
 * or unsubscribes the socket; returns its length, 0 when cap is too small.
 * The kernel's acknowledgement carries nonce + 1 in its cn_msg ack (its seq is
 * the kernel's own counter on current kernels), which tells it from the
 * acknowledgements of other listeners' requests. */
size_t ms__cn_subscribe_message(void *buf, size_t cap, bool listen, uint32_t nonce);

/* From a /proc/PID/stat line (NUL-terminated): the state (field 3), the
 * parent (field 4), the start time in clock ticks since boot (field 22) and
 * the command name (truncated to comm_cap - 1 bytes). False when malformed. */
bool ms__stat_identity(const char *stat, char *state, int64_t *ppid, uint64_t *start_time, char *comm,
                       size_t comm_cap);

/* How many PID namespaces deep the process whose /proc/PID/status this is
 * lives: the number of pids on its NSpid line (1 in the initial namespace),
 * 0 when the line is missing (kernels before 4.1) or malformed. */
int ms__nspid_depth(const char *status);

#endif
