/* Artifact: the process's executable was deleted. Copies victim_plain to a
 * fresh file next to the victims, executes it, and the copy unlinks itself
 * before READY (so the pid stays the one the harness started). */
#include "victim_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    char dir[PATH_MAX], payload[PATH_MAX + 32], copy[PATH_MAX + 64];
    if (victim_dir(dir, sizeof dir) != 0)
        return 1;
    snprintf(payload, sizeof payload, "%s/victim_plain", dir);
    snprintf(copy, sizeof copy, "%s/deleted-victim-XXXXXX", dir);
    int out = mkstemp(copy);
    int in = open(payload, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (out < 0 || in < 0 || fstat(in, &st) != 0)
        return 1;
    off_t off = 0;
    while (off < st.st_size)
        if (sendfile(out, in, &off, (size_t)(st.st_size - off)) <= 0)
            return 1;
    close(in);
    if (fchmod(out, 0700) != 0 || close(out) != 0)
        return 1;
    char *argv[] = {copy, "--unlink", copy, NULL};
    execve(copy, argv, environ);
    perror("execve");
    unlink(copy);
    return 1;
}
