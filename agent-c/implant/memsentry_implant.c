/* memsentry-implant: harmless synthetic implants for `memsentry selftest`, as EICAR is for
 * anti-virus scanners. Each mode builds one artifact that memsentry must find, prints
 * "ready 0xADDRESS" on standard output, and then waits until it is killed. The code it runs is
 * a single `ret`; the marker below lets a dump be checked. Runs only as a child of selftest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The marker, each byte plus one, so that it is found in the implant's page and not in this
 * program's own file (a YARA rule for it must point at the page). */
static const char MARKER_SHIFTED[] = "NFNTFOUSZ.TFMGUFTU.JNQMBOU";
enum { PAGE = 4096, MARKER_OFFSET = 64 };

static void put_marker(unsigned char *to) {
    for (size_t i = 0; i < sizeof MARKER_SHIFTED - 1; i++) {
        to[i] = (unsigned char)(MARKER_SHIFTED[i] - 1);
    }
}

static void die(const char *what) {
    fprintf(stderr, "memsentry-implant: %s: %s\n", what, strerror(errno));
    exit(3);
}

/* The implant never outlives memsentry: if selftest dies before killing it, the kernel sends
 * SIGKILL (the parent is memsentry, and getppid() is checked for the race before prctl). */
static void die_with_parent(pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(3);
    }
}

static void ready(const void *address) {
    printf("ready %p %ld\n", address, (long)getpid());
    fflush(stdout);
}

static void wait_forever(void) {
    for (;;) {
        pause();
    }
}

/* One page holding `ret` and the marker, mapped with prot, then called. */
static unsigned char *code_page(int prot_while_writing, int final_prot) {
    unsigned char *p = mmap(NULL, PAGE, prot_while_writing, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        die("mmap");
    }
    p[0] = 0xC3; /* ret */
    put_marker(p + MARKER_OFFSET);
    if (final_prot != prot_while_writing && mprotect(p, PAGE, final_prot) != 0) {
        die("mprotect");
    }
    ((void (*)(void))(uintptr_t)p)();
    return p;
}

/* An ELF image in anonymous memory: this program's own first page (its ELF header), executable. */
static unsigned char *anonymous_elf(void) {
    unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        die("mmap");
    }
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, p, PAGE) < 64) {
        die("read /proc/self/exe");
    }
    close(fd);
    put_marker(p + PAGE - 64);
    if (mprotect(p, PAGE, PROT_READ | PROT_EXEC) != 0) {
        die("mprotect");
    }
    return p;
}

/* This program again, run from a memfd: /proc/PID/exe becomes "/memfd:... (deleted)". */
static void exec_from_memfd(char *self, char *parent) {
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int fd = memfd_create("memsentry-selftest", MFD_CLOEXEC);
    if (in < 0 || fd < 0) {
        die("memfd_create");
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(fd, buf, (size_t)n) != n) {
            die("write memfd");
        }
    }
    close(in);
    char *argv[] = {self, "memfd-child", parent, NULL};
    char *envp[] = {NULL};
    fexecve(fd, argv, envp);
    die("fexecve");
}

/* Writable memory made executable, again and again, for the tracer to see. It runs in a child
 * of the implant, so the process memsentry traces is not the JVM's own child (whose ptrace stops
 * the JVM's process reaper could take); the implant waits for it and goes when it goes. */
static void wx_loop(void) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        die("fork");
    }
    if (child > 0) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        exit(0);
    }
    die_with_parent(parent);
    ready(NULL);
    const struct timespec pause_between = {0, 20 * 1000 * 1000};
    for (;;) {
        unsigned char *p = code_page(PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC);
        munmap(p, PAGE);
        nanosleep(&pause_between, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: memsentry-implant shellcode|rwx|elf|memfd|wx PARENT-PID (prints: ready ADDRESS PID)\n");
        return 2;
    }
    die_with_parent((pid_t)strtol(argv[2], NULL, 10));
    const char *mode = argv[1];
    if (strcmp(mode, "shellcode") == 0) {
        ready(code_page(PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC));
    } else if (strcmp(mode, "rwx") == 0) {
        ready(code_page(PROT_READ | PROT_WRITE | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC));
    } else if (strcmp(mode, "elf") == 0) {
        ready(anonymous_elf());
    } else if (strcmp(mode, "memfd") == 0) {
        exec_from_memfd(argv[0], argv[2]);
    } else if (strcmp(mode, "memfd-child") == 0) {
        ready(NULL);
    } else if (strcmp(mode, "wx") == 0) {
        wx_loop();
    } else {
        fprintf(stderr, "memsentry-implant: unknown mode %s\n", mode);
        return 2;
    }
    wait_forever();
}
