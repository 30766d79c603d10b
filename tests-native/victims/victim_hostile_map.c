/* Artifacts of a target that attacks its inspector through its mappings
 * (run as root: it makes a private mount namespace of its own).
 *
 *   symlink DIR WATCHED  two file mappings whose path text leads to WATCHED:
 *       file=  DIR/x of a tmpfs mounted on DIR, which a second tmpfs then
 *              covers, with a symlink DIR/x -> WATCHED in it (so the path
 *              inside the target's root names the symlink);
 *       del=   DIR/d, deleted, and a symlink "DIR/d (deleted)" -> WATCHED.
 *       Both are two pages: MS_PLANTED, then 'F'; never touched.
 *   devtmpfs             a tmpfs on /dev holding /dev/payload (a page that
 *       starts with MS_DEV_PAYLOAD), mapped readable and executable at dev=,
 *       its first page read.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "victim_common.h"

static void *map_file(const char *path, int prot, char fill, const char *marker)
{
    size_t len = 2 * (size_t)sysconf(_SC_PAGESIZE);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    char buf[8192];
    memset(buf, fill, sizeof buf);
    if (marker)
        memcpy(buf, marker, strlen(marker));
    if (write(fd, buf, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, len, prot, MAP_PRIVATE, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static int fail(const char *what)
{
    perror(what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return fail("private mount namespace");
    if (strcmp(argv[1], "symlink") == 0 && argc == 4) {
        const char *dir = argv[2], *watched = argv[3];
        char path[4096];
        if (mount("lower", dir, "tmpfs", 0, "size=1m") != 0)
            return fail("mount tmpfs");
        snprintf(path, sizeof path, "%s/x", dir);
        void *file = map_file(path, PROT_READ, 'F', "MS_PLANTED");
        snprintf(path, sizeof path, "%s/d", dir);
        void *del = map_file(path, PROT_READ, 'F', "MS_PLANTED");
        if (!file || !del || unlink(path) != 0)
            return fail("map");
        snprintf(path, sizeof path, "%s/d (deleted)", dir);
        if (symlink(watched, path) != 0)
            return fail("symlink d");
        if (mount("upper", dir, "tmpfs", 0, "size=1m") != 0)
            return fail("mount tmpfs over");
        snprintf(path, sizeof path, "%s/x", dir);
        if (symlink(watched, path) != 0)
            return fail("symlink x");
        printf("READY file=%p del=%p\n", file, del);
    } else if (strcmp(argv[1], "devtmpfs") == 0) {
        if (mount("fakedev", "/dev", "tmpfs", 0, "size=1m") != 0)
            return fail("mount tmpfs on /dev");
        void *dev = map_file("/dev/payload", PROT_READ | PROT_EXEC, 0x90, "MS_DEV_PAYLOAD");
        if (!dev)
            return fail("map /dev/payload");
        volatile char first = *(volatile char *)dev; /* present, as code that ran would be */
        (void)first;
        printf("READY dev=%p\n", dev);
    } else {
        return 2;
    }
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
