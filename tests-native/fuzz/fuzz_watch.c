/* libFuzzer target: arbitrary bytes as a datagram from the process
 * connector (every event handed on must be well-formed), as a /proc/PID/stat
 * line and as /proc/PID/status (NSpid). */
#include "linux/watch_parse.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_event(const ms__cn_event *ev, void *user_data)
{
    (void)user_data;
    if (ev->kind < MS__CN_ACK || ev->kind > MS__CN_OTHER)
        __builtin_trap();
    ms_proc_event out;
    if (ms__cn_to_proc_event(ev, &out)) {
        if (out.pid <= 0 || out.time_ns < 0 || out.kind < MS_PROC_EV_FORK || out.kind > MS_PROC_EV_PTRACE_DETACH)
            __builtin_trap();
        if ((out.kind == MS_PROC_EV_FORK || out.kind == MS_PROC_EV_EXIT) && ev->pid != ev->tgid)
            __builtin_trap(); /* a thread got through */
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 70000)
        return 0;
    /* A copy of exactly size bytes: reads past it are caught by ASan. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    ms__cn_parse_result r;
    ms__cn_parse(copy, size, check_event, NULL, &r);
    if (r.events + r.malformed > size / 16 + 1)
        __builtin_trap(); /* each message takes at least a header */
    free(copy);

    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char state, comm[16];
    int64_t ppid;
    uint64_t start;
    if (ms__stat_identity(text, &state, &ppid, &start, comm, sizeof comm) &&
        (ppid < 0 || !memchr(comm, '\0', sizeof comm)))
        __builtin_trap();
    int depth = ms__nspid_depth(text);
    if (depth < 0 || depth > 66)
        __builtin_trap();
    free(text);
    return 0;
}
