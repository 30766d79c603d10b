/* Artifact: one mapping of every region kind the maps parser tells apart, so
 * two backends can be compared region for region: a memfd, a deleted file, a
 * file whose path has spaces, one whose name is not UTF-8, one whose name has
 * a newline, shared anonymous memory, System V shared memory, a named
 * anonymous region ([anon:...], where the kernel supports it), a PROT_NONE
 * region and an RWX anonymous region holding a marker. Its comm holds spaces
 * and parentheses. Files go into the directory given as argv[1] (the test's
 * temporary directory). Prints READY with each address. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static const char marker[] = "MEMSENTRY-KINDS-MARKER";

/* Maps one page of a new file dir/name holding the marker; unlinks it when asked. */
static void *map_file(const char *dir, const char *name, int unlink_after)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    char page[4096] = {0};
    memcpy(page, marker, sizeof marker);
    void *p = MAP_FAILED;
    if (write(fd, page, sizeof page) == (ssize_t)sizeof page)
        p = mmap(NULL, sizeof page, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (unlink_after)
        unlink(path);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *dir = argv[1];
    long page = sysconf(_SC_PAGESIZE);

    int mfd = memfd_create("kinds payload", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, 2 * page) != 0 || pwrite(mfd, marker, sizeof marker, 0) != (ssize_t)sizeof marker)
        return 1;
    void *memfd = mmap(NULL, 2 * page, PROT_READ | PROT_EXEC, MAP_SHARED, mfd, 0);
    close(mfd);

    void *deleted = map_file(dir, "deleted file.bin", 1);
    void *spaces = map_file(dir, "a path  with spaces.bin", 0);
    void *badname = map_file(dir, "bad\xff\xfename.bin", 0);
    void *newline = map_file(dir, "new\nline.bin", 0);

    char *shared = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int shmid = shmget(IPC_PRIVATE, (size_t)page, IPC_CREAT | 0600);
    void *shm = shmid >= 0 ? shmat(shmid, NULL, 0) : (void *)-1;
    if (shmid >= 0)
        shmctl(shmid, IPC_RMID, NULL); /* freed when we detach or exit */

    char *named = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int anon_name_ok = named != MAP_FAILED &&
                       prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)named, (unsigned long)(2 * page),
                             (unsigned long)"memsentry:kinds") == 0;
    void *protnone = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *rwx = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (memfd == MAP_FAILED || !deleted || !spaces || !badname || !newline || shared == MAP_FAILED ||
        shm == (void *)-1 || named == MAP_FAILED || protnone == MAP_FAILED || rwx == MAP_FAILED)
        return 1;
    memcpy(shared, marker, sizeof marker);
    memcpy(shm, marker, sizeof marker);
    memcpy(named, marker, sizeof marker);
    memcpy(rwx + 100, marker, sizeof marker);
    prctl(PR_SET_NAME, (unsigned long)"kinds (x) y", 0, 0, 0);

    printf("READY pid=%d memfd=%p deleted=%p spaces=%p badname=%p newline=%p shared=%p shm=%p named=%p "
           "anon_name_ok=%d protnone=%p rwx=%p marker_at=%p\n",
           (int)getpid(), memfd, deleted, spaces, badname, newline, (void *)shared, shm, (void *)named,
           anon_name_ok, protnone, (void *)rwx, (void *)(rwx + 100));
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
