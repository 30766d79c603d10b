/* Artifacts of a target that attacks terminals and logs through its names.
 * argv: DIR. Re-executes itself so that its command line starts with a
 * newline and ANSI/OSC sequences (a forged row, red text, a new window
 * title, a cleared screen), names itself (comm) likewise, and maps, from DIR:
 *   esc=  "esc\e[2J\e[H" + "\xe2\x80\xae" (a right-to-left override), read,
 *         written and executed (something for a scan to alert on);
 *   ff=   a name holding the byte 0xff, which is not UTF-8;
 *   yy=   "\xc3\xbf" ("ÿ", the character U+00FF);
 *   bsx=  the four characters \xff.
 * Each file is one page; the READY line prints the addresses. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "victim_common.h"

#define EVIL_ARGV0 "evil\n\x1b[31mFORGED ROW\x1b]0;pwned\x07\x1b[2J"

static void *map_named(const char *dir, const char *name, int prot)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return NULL;
    void *p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (strcmp(argv[0], EVIL_ARGV0) != 0) {
        char *args[] = {EVIL_ARGV0, argv[1], NULL};
        execv("/proc/self/exe", args);
        return 1;
    }
    prctl(PR_SET_NAME, "n\n\x1b[2J\x1b]0;t\x07", 0, 0, 0);
    void *esc = map_named(argv[1], "esc\x1b[2J\x1b[H\xe2\x80\xae", PROT_READ | PROT_WRITE | PROT_EXEC);
    void *ff = map_named(argv[1], "name\xff", PROT_READ);
    void *yy = map_named(argv[1], "name\xc3\xbf", PROT_READ);
    void *bsx = map_named(argv[1], "name\\xff", PROT_READ);
    if (!esc || !ff || !yy || !bsx)
        return 1;
    printf("READY esc=%p ff=%p yy=%p bsx=%p\n", esc, ff, yy, bsx);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
