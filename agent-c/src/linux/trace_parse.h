/* Parsers for the text the tracer reads about a hostile tracee (trace_parse.c):
 * the target of an fd's link, status and fdinfo fields. NUL-terminated input,
 * no allocation; fuzzed by tests-native/fuzz/fuzz_trace.c. */
#ifndef MS_LINUX_TRACE_PARSE_H
#define MS_LINUX_TRACE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "/proc/N/mem" or ".../N/task/M/mem" (wherever that proc is mounted): the number
 * right before "/mem" (1..INT32_MAX), or -1. len is strlen(path). */
int64_t ms__trace_proc_mem_number(const char *path, size_t len);
/* The last number of the line "FIELD\t1\t2\t3" (NStgid: a pid in its innermost
 * namespace), 0..INT32_MAX, or -1. */
int64_t ms__trace_last_number(const char *text, const char *field);
/* The number after "FIELD" at the start of a line, in base (fdinfo's "pos:" in 10,
 * "flags:" in 8), 0..INT64_MAX, or -1. */
int64_t ms__trace_text_field(const char *text, const char *field, int base);

#ifdef __cplusplus
}
#endif

#endif
