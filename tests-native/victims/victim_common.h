/* Helpers shared by the detection victims (header only: each victim is one
 * source file). */
#ifndef VICTIM_COMMON_H
#define VICTIM_COMMON_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Blocks until standard input reaches EOF: the harness closes it to end us. */
static inline void victim_wait_stdin(void)
{
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
}

/* The directory this victim's executable lives in (the other victims and the
 * test libraries are built next to it). Returns 0 on success. */
static inline int victim_dir(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash || (size_t)(slash - self) >= cap)
        return -1;
    *slash = '\0';
    snprintf(out, cap, "%s", self);
    return 0;
}

#endif
