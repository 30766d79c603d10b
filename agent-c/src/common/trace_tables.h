/* Name tables of the tracer (trace_tables.c): syscall names by number for
 * each ABI it decodes, errno names by value. Holes are NULL. */
#ifndef MS_COMMON_TRACE_TABLES_H
#define MS_COMMON_TRACE_TABLES_H

#include <stddef.h>

extern const char *const ms__syscalls_x86_64[];
extern const size_t ms__syscalls_x86_64_count;
extern const char *const ms__syscalls_i386[];
extern const size_t ms__syscalls_i386_count;
extern const char *const ms__errno_names[];
extern const size_t ms__errno_names_count;

#endif
