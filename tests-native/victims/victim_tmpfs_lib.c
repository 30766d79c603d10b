/* Artifact: executable code mapped from a file on tmpfs (/dev/shm). Copies
 * libvictim_code.so there and loads it; the copy is removed when the victim
 * ends. */
#include "victim_common.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    char dir[PATH_MAX], lib[PATH_MAX + 32];
    char copy[] = "/dev/shm/memsentry-victim-XXXXXX";
    if (victim_dir(dir, sizeof dir) != 0)
        return 1;
    snprintf(lib, sizeof lib, "%s/libvictim_code.so", dir);
    int out = mkstemp(copy);
    int in = open(lib, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (out < 0 || in < 0 || fstat(in, &st) != 0)
        return 1;
    off_t off = 0;
    while (off < st.st_size)
        if (sendfile(out, in, &off, (size_t)(st.st_size - off)) <= 0)
            return 1;
    close(in);
    close(out);
    void *h = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    void *fn = h ? dlsym(h, "victim_code_function") : NULL;
    if (!fn) {
        unlink(copy);
        return 1;
    }
    printf("READY pid=%d addr=%p path=%s\n", (int)getpid(), fn, copy);
    fflush(stdout);
    victim_wait_stdin();
    unlink(copy);
    return 0;
}
