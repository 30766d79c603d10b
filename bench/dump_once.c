/* One ms_dump_process call, timed: the C library's share of a dump without
 * the JVM.  dump_once PID OUT [max_region_size] [threads] [-v]
 * Prints the milliseconds of the call; with -v also where they went, from
 * the progress callback (every 8 MiB): set-up before the first byte (freeze,
 * maps, notes, file creation), streaming, the end after the last byte
 * (size, link into place), and the longest gap between two reports (a stall
 * in the page cache or a preempted thread shows there), and the library's
 * debug log (how many bytes went through the page cache and around it). */
#include <memsentry/memsentry.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct timing {
    double start, first, last, worst_gap, worst_at;
    uint64_t calls;
} timing;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int on_progress(uint64_t done, uint64_t total, void *user)
{
    (void)total;
    timing *t = user;
    double n = now_ms();
    if (t->calls++ == 0) {
        t->first = n;
    } else if (n - t->last > t->worst_gap) {
        t->worst_gap = n - t->last;
        t->worst_at = (double)done / (1 << 20);
    }
    t->last = n;
    return 0;
}

static void on_log(int32_t level, const char *message, void *user)
{
    (void)level, (void)user;
    fprintf(stderr, "  %s\n", message);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    bool verbose = strcmp(argv[argc - 1], "-v") == 0;
    if (verbose)
        argc--;
    ms_agent *agent;
    if (ms_agent_open(&agent) != MS_OK)
        return 1;
    ms_dump_options o;
    ms_dump_options_init(&o);
    if (argc > 3)
        o.max_region_size = strtoull(argv[3], NULL, 10);
    if (argc > 4)
        o.threads = (uint32_t)strtoul(argv[4], NULL, 10);
    timing t = {0};
    if (verbose) {
        ms_agent_set_log(agent, on_log, NULL, MS_LOG_DEBUG);
        o.progress = on_progress;
        o.progress_user = &t;
    }
    t.start = now_ms();
    ms_status st = ms_dump_process(agent, strtoll(argv[1], NULL, 10), argv[2], &o, NULL);
    double end = now_ms();
    if (st != MS_OK)
        fprintf(stderr, "dump_once: %s: %s\n", ms_status_name(st), ms_last_error());
    printf("%.1f\n", end - t.start);
    if (verbose && t.calls)
        fprintf(stderr, "  set-up %.1f ms, streaming %.1f ms, end %.1f ms; longest gap between reports %.1f ms (at %.0f MiB)\n",
                t.first - t.start, t.last - t.first, end - t.last, t.worst_gap, t.worst_at);
    ms_agent_close(agent);
    return st == MS_OK ? 0 : 1;
}
