/* Benchmark driver: compiles RULES (a file, a directory, or with --compiled
 * a yarac file) with memsentry's YARA engine and scans processes.
 *   yara_scan_driver [--max-block BYTES] RULES PID
 *     scans PID once and prints the matches one per line as
 *     "RULE ADDRESS STRING" (the form bench/yara_scan.sh also makes of
 *     `yara -s`), then one line of statistics on stderr.
 *   yara_scan_driver --threads N [--compiled] RULES PID...
 *     scans every PID on N threads, one scanner each over the shared rules
 *     (what scan --all does below the JVM), and prints "PID RULE" per match. */
#include <memsentry/memsentry.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_match(const ms_yara_match *m, void *user_data)
{
    (void)user_data;
    if (m->string_count == 0)
        printf("%s - -\n", m->rule);
    for (uint32_t i = 0; i < m->string_count; i++)
        printf("%s 0x%" PRIx64 " %s\n", m->rule, m->strings[i].address, m->strings[i].identifier);
    return 0;
}

static int print_pid_rule(const ms_yara_match *m, void *user_data)
{
    (void)user_data;
    flockfile(stdout);
    printf("%" PRId64 " %s\n", m->pid, m->rule);
    funlockfile(stdout);
    return 0;
}

static struct {
    ms_yara_rules *rules;
    char **pids;
    int count;
    atomic_int next;
} pool;

static void *worker(void *arg)
{
    (void)arg;
    ms_yara_scanner *scanner;
    if (ms_yara_scanner_open(pool.rules, &scanner) != MS_OK) {
        fprintf(stderr, "memsentry: %s\n", ms_last_error());
        return NULL;
    }
    /* As scan --all: every core has a scanner, so nothing is left for a filler thread. */
    ms_yara_scan_options o = {.struct_size = sizeof o, .flags = MS_YARA_SCAN_NO_STREAMING};
    for (int i; (i = atomic_fetch_add(&pool.next, 1)) < pool.count;) {
        if (ms_yara_scan_process(scanner, strtoll(pool.pids[i], NULL, 10), &o, print_pid_rule, NULL, NULL) != MS_OK)
            fprintf(stderr, "memsentry: pid %s: %s\n", pool.pids[i], ms_last_error());
    }
    ms_yara_scanner_close(scanner);
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t max_block = 0;
    int threads = 0;
    ms_yara_compile_options co = {.struct_size = sizeof co};
    int arg = 1;
    for (; arg + 1 < argc && argv[arg][0] == '-'; arg++) {
        if (strcmp(argv[arg], "--max-block") == 0)
            max_block = strtoull(argv[++arg], NULL, 0);
        else if (strcmp(argv[arg], "--threads") == 0)
            threads = atoi(argv[++arg]);
        else if (strcmp(argv[arg], "--compiled") == 0)
            co.flags |= MS_YARA_COMPILE_ALLOW_COMPILED;
        else
            break;
    }
    if (argc - arg < 2 || (threads == 0 && argc - arg != 2) || threads < 0 || threads > 64) {
        fprintf(stderr, "usage: %s [--max-block BYTES] RULES PID | --threads N [--compiled] RULES PID...\n", argv[0]);
        return 2;
    }
    ms_agent *agent;
    ms_yara_rules *rules;
    ms_yara_scanner *scanner = NULL;
    if (ms_agent_open(&agent) != MS_OK || ms_yara_rules_compile(agent, argv[arg], &co, &rules) != MS_OK ||
        (threads == 0 && ms_yara_scanner_open(rules, &scanner) != MS_OK)) {
        fprintf(stderr, "memsentry: %s\n", ms_last_error());
        return 2;
    }
    if (threads > 0) {
        pool.rules = rules;
        pool.pids = argv + arg + 1;
        pool.count = argc - arg - 1;
        pthread_t t[64];
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        ms_yara_rules_close(rules);
        ms_agent_close(agent);
        return 0;
    }
    ms_yara_scan_options o = {.struct_size = sizeof o, .max_block_size = max_block, .max_string_matches = 1000000};
    ms_yara_scan_stats s = {.struct_size = sizeof s};
    ms_status st = ms_yara_scan_process(scanner, strtoll(argv[arg + 1], NULL, 10), &o, print_match, NULL, &s);
    if (st != MS_OK) {
        fprintf(stderr, "memsentry: %s: %s\n", ms_status_name(st), ms_last_error());
        return 3;
    }
    fprintf(stderr,
            "stats: scan %.3f s (reading %.3f s), %" PRIu64 " blocks (%" PRIu64 " skipped), %" PRIu64 " MiB scanned, %" PRIu64
            " MiB read from the target, %" PRIu64 " MiB from files, %" PRIu64 " MiB zero, %" PRIu64 " fetches\n",
            (double)s.elapsed_ns / 1e9, (double)s.fetch_ns / 1e9, s.blocks, s.blocks_skipped, s.bytes_scanned >> 20, s.bytes_read >> 20,
            s.bytes_from_file >> 20, s.bytes_zero >> 20, s.block_fetches);
    fflush(stdout);
    ms_yara_scanner_close(scanner);
    ms_yara_rules_close(rules);
    ms_agent_close(agent);
    return 0;
}
