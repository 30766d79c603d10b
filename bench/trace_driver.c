/* Drives the C tracer for bench/trace_bench.sh: counts the events in the
 * callback (as a consumer that does no work would) and prints one line.
 *
 *   trace_driver attach PID [DURATION_MS]       trace a running process
 *   trace_driver launch [--no-seccomp] CMD ...  run CMD under the tracer
 *   -v before the mode prints every event (strace-like) to stderr.
 *
 * Output: "events=N syscalls=N alerts=N stops=N end=NAME exit=N". */
#include <memsentry/memsentry.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct counts {
    uint64_t events;
    int verbose;
} counts;

static int on_event(const ms_trace_event *ev, void *user)
{
    counts *c = user;
    c->events++;
    if (!c->verbose)
        return 0;
    if (ev->kind == MS_TRACE_EV_SYSCALL)
        fprintf(stderr, "[%" PRId64 "] %s(%#" PRIx64 ", %" PRIu64 ", %s%s%s) = %" PRId64 " %s%s\n", ev->tid,
                ev->syscall, ev->args[0], ev->args[1], ev->prot, ev->flags[0] ? ", " : "", ev->flags, ev->ret,
                ev->error_name, ev->complete ? "" : " <incomplete>");
    else
        fprintf(stderr, "[%" PRId64 "] %s sig=%d code=%d\n", ev->tid, ms_trace_event_kind_name(ev->kind),
                ev->signal, ev->exit_code);
    return 0;
}

static int on_alert(const ms_trace_alert *a, void *user)
{
    counts *c = user;
    if (c->verbose)
        fprintf(stderr, "ALERT %s %#" PRIx64 "-%#" PRIx64 " %s -> %s\n", a->rule_id, a->start, a->end,
                a->perms_before, a->perms_after);
    return 0;
}

int main(int argc, char **argv)
{
    counts c = {0, 0};
    int i = 1;
    if (i < argc && strcmp(argv[i], "-v") == 0) {
        c.verbose = 1;
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: trace_driver [-v] attach PID [DURATION_MS] | launch [--no-seccomp] CMD ...\n");
        return 2;
    }
    ms_agent *agent;
    if (ms_agent_open(&agent) != MS_OK)
        return 3;
    ms_trace_options opts;
    ms_trace_options_init(&opts);
    opts.on_event = on_event;
    opts.event_user = &c;
    opts.on_alert = on_alert;
    opts.alert_user = &c;
    const char *mode = argv[i++];
    ms_trace_summary sum = {.struct_size = sizeof sum};
    ms_status st;
    ms_trace *trace = NULL;
    if (strcmp(mode, "attach") == 0 && i < argc) {
        int64_t pid = strtoll(argv[i++], NULL, 10);
        if (i < argc)
            opts.duration_ms = strtoll(argv[i], NULL, 10);
        st = ms_trace_open(agent, &opts, &trace);
        if (st == MS_OK)
            st = ms_trace_attach(trace, pid, &sum);
    } else if (strcmp(mode, "launch") == 0 && i < argc) {
        if (strcmp(argv[i], "--no-seccomp") == 0) {
            opts.flags |= MS_TRACE_NO_SECCOMP;
            i++;
        }
        st = ms_trace_open(agent, &opts, &trace);
        if (st == MS_OK)
            st = ms_trace_launch(trace, (const char *const *)&argv[i], &sum);
    } else {
        fprintf(stderr, "trace_driver: unknown mode %s\n", mode);
        return 2;
    }
    if (st != MS_OK) {
        fprintf(stderr, "trace_driver: %s: %s\n", ms_status_name(st), ms_last_error());
        ms_trace_close(trace);
        ms_agent_close(agent);
        return 3;
    }
    printf("events=%" PRIu64 " syscalls=%" PRIu64 " alerts=%" PRIu64 " stops=%" PRIu64 " end=%s exit=%d\n", c.events,
           sum.syscalls, sum.alerts, sum.stops, ms_trace_end_name(sum.end), sum.exit_code);
    ms_trace_close(trace);
    ms_agent_close(agent);
    return 0;
}
