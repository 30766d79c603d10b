/* Bounded parsers of what the tracer reads about a tracee: every input is
 * hostile (a link text can hold a path the target chose, status and fdinfo
 * come from the kernel but are read through a file the target can race). */
#include "trace_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int64_t ms__trace_proc_mem_number(const char *path, size_t len)
{
    if (len < 6 || strcmp(path + len - 4, "/mem") != 0)
        return -1;
    size_t end = len - 4, start = end;
    while (start > 0 && path[start - 1] >= '0' && path[start - 1] <= '9' && end - start < 10)
        start--;
    if (start == end || start == 0 || path[start - 1] != '/')
        return -1;
    int64_t v = 0;
    for (size_t i = start; i < end; i++)
        v = v * 10 + (path[i] - '0');
    return v > 0 && v <= INT32_MAX ? v : -1;
}

/* The start of the line that begins with field, or NULL. */
static const char *line_of(const char *text, const char *field)
{
    size_t flen = strlen(field);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, field, flen) == 0)
            return line + flen;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NULL;
}

int64_t ms__trace_last_number(const char *text, const char *field)
{
    const char *p = line_of(text, field);
    if (!p)
        return -1;
    int64_t last = -1;
    while (*p && *p != '\n') {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (*p < '0' || *p > '9')
            return -1;
        int64_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            v = v * 10 + (*p - '0');
            if (v > INT32_MAX)
                return -1;
        }
        last = v;
    }
    return last;
}

int64_t ms__trace_text_field(const char *text, const char *field, int base)
{
    const char *p = line_of(text, field);
    if (!p)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, base);
    return errno || end == p || v < 0 ? -1 : v;
}
