/* Pure parsers for the container facts (ms_process_container_get): no I/O,
 * fuzzed (tests-native/fuzz/fuzz_container.c). */
#ifndef MS_LINUX_CONTAINER_PARSE_H
#define MS_LINUX_CONTAINER_PARSE_H

#include "../internal.h"

#include <stdbool.h>
#include <stddef.h>

/* Finds the container in the text of /proc/<pid>/cgroup: any number of
 * "hierarchy:controllers:path" lines (v1 controllers, the v2 "0::" line, or
 * both on a hybrid host); text need not be NUL-terminated. The innermost
 * container segment of the first line that names one wins (every hierarchy
 * holds the same container). Sets id, runtime and pod_uid with
 * MS_CONTAINER_ID and MS_CONTAINER_POD; returns whether an id was found. */
bool ms__cgroup_container(const char *text, size_t len, ms_container_info *out);

/* The last number of the NSpid line of /proc/<pid>/status: the PID in the
 * innermost namespace. status is NUL-terminated. */
bool ms__status_nspid(const char *status, int64_t *out);

#endif
