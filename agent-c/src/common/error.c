#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Per-thread, like errno: a handle may be shared by worker threads. */
static _Thread_local char last_error[512];

ms_status ms__fail(ms_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n < 0)
        ms__strlcpy(last_error, ms_status_str(status), sizeof last_error);
    return status;
}

const char *ms_last_error(void)
{
    return last_error;
}

bool ms__strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    bool fits = n < cap;
    if (!fits)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return fits;
}
