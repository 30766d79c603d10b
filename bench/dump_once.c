/* One ms_dump_process call, timed: the C library's share of a dump without
 * the JVM. dump_once PID OUT [max_region_size] [threads] */
#include <memsentry/memsentry.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    ms_agent *agent;
    if (ms_agent_open(&agent) != MS_OK)
        return 1;
    ms_dump_options o;
    ms_dump_options_init(&o);
    if (argc > 3)
        o.max_region_size = strtoull(argv[3], NULL, 10);
    if (argc > 4)
        o.threads = (uint32_t)strtoul(argv[4], NULL, 10);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ms_status st = ms_dump_process(agent, strtoll(argv[1], NULL, 10), argv[2], &o, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    if (st != MS_OK)
        fprintf(stderr, "dump_once: %s: %s\n", ms_status_name(st), ms_last_error());
    printf("%.1f\n", ms);
    ms_agent_close(agent);
    return st == MS_OK ? 0 : 1;
}
