/* Artifact: one byte patched in the text of a mapped library. Loads
 * libvictim_code.so (built with the victims), makes the page of one of its
 * functions writable, changes the function's first byte, and makes the page
 * executable again, as an inline hook does. */
#include "victim_common.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    char dir[PATH_MAX], lib[PATH_MAX + 32];
    if (victim_dir(dir, sizeof dir) != 0)
        return 1;
    snprintf(lib, sizeof lib, "%s/libvictim_code.so", dir);
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    unsigned char *fn = dlsym(h, "victim_code_function");
    if (!fn)
        return 1;
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *pg = (unsigned char *)((uintptr_t)fn & ~(uintptr_t)(page - 1));
    if (mprotect(pg, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return 1;
    unsigned char before = fn[0];
    fn[0] = (unsigned char)(before ^ 0xff);
    if (mprotect(pg, (size_t)page, PROT_READ | PROT_EXEC) != 0)
        return 1;
    printf("READY pid=%d addr=%p page=%p before=%02x after=%02x\n", (int)getpid(), (void *)fn, (void *)pg, before,
           fn[0]);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
