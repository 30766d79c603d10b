/* Benchmark driver: compiles RULES (a file or a directory) with memsentry's
 * YARA engine, scans PID once, and prints the matches one per line as
 * "RULE ADDRESS STRING" (the form bench/yara_scan.sh also makes of
 * `yara -s`), then one line of statistics on stderr.
 * Usage: yara_scan_driver [--max-block BYTES] RULES PID */
#include <memsentry/memsentry.h>

#include <inttypes.h>
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

int main(int argc, char **argv)
{
    uint64_t max_block = 0;
    int arg = 1;
    if (argc > 3 && strcmp(argv[1], "--max-block") == 0) {
        max_block = strtoull(argv[2], NULL, 0);
        arg = 3;
    }
    if (argc - arg != 2) {
        fprintf(stderr, "usage: %s [--max-block BYTES] RULES PID\n", argv[0]);
        return 2;
    }
    ms_agent *agent;
    ms_yara_rules *rules;
    ms_yara_scanner *scanner;
    if (ms_agent_open(&agent) != MS_OK || ms_yara_rules_compile(agent, argv[arg], NULL, &rules) != MS_OK ||
        ms_yara_scanner_open(rules, &scanner) != MS_OK) {
        fprintf(stderr, "memsentry: %s\n", ms_last_error());
        return 2;
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
