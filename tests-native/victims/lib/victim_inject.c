/* The library the ptrace injector (helpers/inject_dlopen.c) makes a victim
 * dlopen: its constructor proves it ran in the victim by writing the victim's
 * pid to LIBRARY.ran, next to wherever the library was loaded from. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int victim_inject_marker(void);

int victim_inject_marker(void)
{
    return 42;
}

__attribute__((constructor)) static void victim_inject_ran(void)
{
    Dl_info info;
    if (!dladdr((void *)victim_inject_marker, &info) || !info.dli_fname)
        return;
    char path[4096];
    if (snprintf(path, sizeof path, "%s.ran", info.dli_fname) >= (int)sizeof path)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (write(fd, line, (size_t)n) != n) {
        /* The test sees the missing line. */
    }
    close(fd);
}
