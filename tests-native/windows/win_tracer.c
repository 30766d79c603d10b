/* A tracer as its own process. `win_tracer PID`: attaches, prints HOOKED after 20 calls seen
 * through the hooks and traces until it is killed (the test that kills it mid-trace).
 * `win_tracer launch CMD ARGS...`: runs CMD under the tracer and prints what it cost
 * (bench/win_trace_bench.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memsentry/memsentry.h>

static int seen;

static int on_event(const ms_trace_event *e, void *user)
{
    (void)user;
    if (e->kind == MS_TRACE_EV_SYSCALL && ++seen == 20) {
        printf("HOOKED\n");
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    ms_agent *agent = NULL;
    ms_trace *trace = NULL;
    ms_trace_options o;
    ms_trace_options_init(&o);
    o.on_event = on_event;
    if (ms_agent_open(&agent) != MS_OK || ms_trace_open(agent, &o, &trace) != MS_OK)
        return 3;
    ms_trace_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    ms_status st;
    if (strcmp(argv[1], "launch") == 0 && argc > 2)
        st = ms_trace_launch(trace, (const char *const *)argv + 2, &sum);
    else
        st = ms_trace_attach(trace, strtoll(argv[1], NULL, 10), &sum);
    printf("END %s calls=%llu events=%llu duration_ms=%lld exit=%d %s\n", ms_status_name(st),
           (unsigned long long)sum.syscalls, (unsigned long long)sum.stops, (long long)(sum.duration_ns / 1000000),
           sum.exit_code, st == MS_OK ? "" : ms_last_error());
    return st == MS_OK ? 0 : 1;
}
