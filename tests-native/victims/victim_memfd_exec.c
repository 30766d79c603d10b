/* Artifact: the process runs from a memfd. Copies victim_plain into a
 * memfd_create() file and executes it with fexecve(), keeping its pid; the
 * READY line comes from victim_plain. */
#include "victim_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    char dir[PATH_MAX], payload[PATH_MAX + 32];
    if (victim_dir(dir, sizeof dir) != 0)
        return 1;
    snprintf(payload, sizeof payload, "%s/victim_plain", dir);
    int in = open(payload, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0)
        return 1;
    int mfd = memfd_create("memsentry-victim", MFD_CLOEXEC);
    if (mfd < 0)
        return 1;
    off_t off = 0;
    while (off < st.st_size)
        if (sendfile(mfd, in, &off, (size_t)(st.st_size - off)) <= 0)
            return 1;
    close(in);
    char *argv[] = {"victim_plain", NULL};
    fexecve(mfd, argv, environ);
    perror("fexecve");
    return 1;
}
