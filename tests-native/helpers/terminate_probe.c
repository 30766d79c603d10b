/* Runs ms_terminate from a process whose position the test controls, and
 * prints one line per attempt:
 *   RESULT case=NAME pid=N result=R protection=P signals=S status=ST reason=...
 * Modes:
 *   lineage            the probe and a child of it target themselves and
 *                      their ancestors (the probe's parent is the test)
 *   pid1               run as PID 1 of a fresh PID namespace (unshare)
 *   recycle            in a fresh PID namespace: reap a child, give its PID
 *                      to a new child through ns_last_pid, then terminate
 *                      through the first child's stale pidfd
 *   foreign-proc       in a fresh PID namespace still showing the outer /proc:
 *                      try to terminate a child by its namespace PID
 *   hidden-ancestry    in a fresh PID namespace, remount /proc with hidepid=2;
 *                      a child running as nobody under a root parent asks to
 *                      terminate its own child: the unreadable parent chain
 *                      must make it refuse
 *   as-user UID PID    drop to UID, then try to terminate PID
 * Everything targeted is the test, this probe or a child the probe started. */
#include <memsentry/memsentry.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_result(const char *name, ms_status st, const ms_terminate_report *r)
{
    printf("RESULT case=%s pid=%lld result=%s protection=%s signals=%u status=%s reason=%s\n", name,
           (long long)r->pid, ms_terminate_result_name(r->result), ms_protect_reason_name(r->protection),
           (unsigned)r->signal_count, ms_status_name(st), r->reason);
    fflush(stdout);
}

static ms_status attempt(ms_agent *agent, const char *name, int64_t pid, uint32_t dry_run)
{
    ms_terminate_options opts = MS_TERMINATE_OPTIONS_INIT;
    opts.grace_ms = 200;
    opts.dry_run = dry_run;
    ms_terminate_report r = {.struct_size = sizeof r};
    ms_status st = ms_terminate(agent, pid, &opts, &r);
    print_result(name, st, &r);
    return st;
}

static int lineage(ms_agent *agent)
{
    pid_t test = getppid();
    attempt(agent, "probe-self", getpid(), 0);
    attempt(agent, "probe-parent", test, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        return 2;
    if (child == 0) {
        attempt(agent, "child-self", getpid(), 0);
        attempt(agent, "child-parent", getppid(), 0);
        attempt(agent, "child-grandparent", test, 0);
        fflush(stdout);
        _exit(0);
    }
    int status;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 2;
}

static int pid1(ms_agent *agent)
{
    printf("SELF pid=%d\n", (int)getpid());
    if (getpid() != 1)
        return 2;
    int32_t reason = -1;
    char detail[256];
    ms_status st = ms_protect_check(agent, 1, &reason, detail, sizeof detail);
    printf("CHECK pid=1 status=%s protection=%s detail=%s\n", ms_status_name(st), ms_protect_reason_name(reason),
           detail);
    attempt(agent, "pid1-by-itself", 1, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        return 2;
    if (child == 0) {
        attempt(agent, "pid1-by-child", 1, 0);
        attempt(agent, "pid1-dry-run", 1, 1);
        fflush(stdout);
        _exit(0);
    }
    int status;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 2;
}

/* A child that waits until the write end of its pipe closes. */
static pid_t start_sleeper(int *keep_alive_fd)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        while (read(p[0], &c, 1) > 0) {
        }
        _exit(0);
    }
    close(p[0]);
    *keep_alive_fd = p[1];
    return pid;
}

static int recycle(ms_agent *agent)
{
    int first_fd, second_fd;
    pid_t first = start_sleeper(&first_fd);
    if (first < 0)
        return 2;
    int pidfd = (int)syscall(SYS_pidfd_open, first, 0u);
    if (pidfd < 0) {
        printf("SKIP pidfd_open: %s\n", strerror(errno));
        return 3;
    }
    close(first_fd);
    if (waitpid(first, NULL, 0) != first)
        return 2;

    /* The next fork in this namespace gets ns_last_pid + 1. */
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    char last[32];
    int n = snprintf(last, sizeof last, "%d", (int)first - 1);
    if (fd < 0 || write(fd, last, (size_t)n) != n) {
        printf("SKIP cannot write ns_last_pid: %s\n", strerror(errno));
        return 3;
    }
    close(fd);
    pid_t second = start_sleeper(&second_fd);
    if (second < 0)
        return 2;
    printf("RECYCLED old=%d new=%d\n", (int)first, (int)second);

    ms_terminate_options opts = MS_TERMINATE_OPTIONS_INIT;
    opts.grace_ms = 200;
    ms_terminate_report r = {.struct_size = sizeof r};
    ms_status st = ms_terminate_pidfd(agent, pidfd, &opts, &r);
    print_result("stale-pidfd", st, &r);

    /* The process now holding the PID must be untouched. */
    int status;
    pid_t done = waitpid(second, &status, WNOHANG);
    printf("ALIVE pid=%d alive=%d\n", (int)second, done == 0 ? 1 : 0);
    close(second_fd);
    done = done == 0 ? waitpid(second, &status, 0) : done;
    printf("EXIT pid=%d exited=%d code=%d signaled=%d\n", (int)second, WIFEXITED(status) ? 1 : 0,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    close(pidfd);
    return 0;
}

static int foreign_proc(ms_agent *agent)
{
    int keep_fd;
    pid_t child = start_sleeper(&keep_fd);
    if (child < 0)
        return 2;
    printf("CHILD pid=%d\n", (int)child);
    int32_t reason = -1;
    ms_status st = ms_protect_check(agent, child, &reason, NULL, 0);
    printf("CHECK pid=%d status=%s\n", (int)child, ms_status_name(st));
    attempt(agent, "foreign-proc", child, 0);
    int status;
    pid_t done = waitpid(child, &status, WNOHANG);
    printf("ALIVE pid=%d alive=%d\n", (int)child, done == 0 ? 1 : 0);
    close(keep_fd);
    if (done == 0)
        waitpid(child, &status, 0);
    printf("EXIT pid=%d exited=%d code=%d\n", (int)child, WIFEXITED(status) ? 1 : 0,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

static int hidden_ancestry(ms_agent *agent)
{
    if (getpid() != 1 || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0) {
        printf("SKIP cannot mount /proc with hidepid=2: %s\n", strerror(errno));
        return 3;
    }
    int root_keep_fd;
    pid_t root_sleeper = start_sleeper(&root_keep_fd); /* not an ancestor, hidden from nobody */
    if (root_sleeper < 0)
        return 2;
    pid_t middle = fork(); /* root, so invisible to nobody */
    if (middle < 0)
        return 2;
    if (middle == 0) {
        pid_t asker = fork();
        if (asker == 0) {
            /* Changing uid clears the dumpable flag, which would hide even our
             * own child from us under hidepid; set it back. */
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0 ||
                prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
                _exit(3);
            int keep_fd;
            pid_t sleeper = start_sleeper(&keep_fd);
            if (sleeper < 0)
                _exit(2);
            attempt(agent, "hidden-ancestry", sleeper, 0);
            attempt(agent, "hidden-target", root_sleeper, 0);
            int status;
            printf("ALIVE pid=%d alive=%d\n", (int)sleeper, waitpid(sleeper, &status, WNOHANG) == 0 ? 1 : 0);
            fflush(stdout);
            close(keep_fd);
            waitpid(sleeper, &status, 0);
            _exit(0);
        }
        int status = 1;
        waitpid(asker, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
    }
    int status = 1;
    waitpid(middle, &status, 0);
    int root_status;
    printf("ROOT-ALIVE pid=%d alive=%d\n", (int)root_sleeper, waitpid(root_sleeper, &root_status, WNOHANG) == 0);
    close(root_keep_fd);
    waitpid(root_sleeper, &root_status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static int as_user(ms_agent *agent, const char *uid_text, const char *pid_text)
{
    uid_t uid = (uid_t)strtoul(uid_text, NULL, 10);
    long long pid = strtoll(pid_text, NULL, 10);
    if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 || setuid(uid) != 0) {
        printf("SKIP cannot drop to uid %u: %s\n", (unsigned)uid, strerror(errno));
        return 3;
    }
    attempt(agent, "denied-dry-run", pid, 1);
    attempt(agent, "denied", pid, 0);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("PROBE-START mode=%s\n", argc > 1 ? argv[1] : "");
    ms_agent *agent = NULL;
    if (ms_agent_open(&agent) != MS_OK)
        return 2;
    int rc = 2;
    if (argc == 2 && strcmp(argv[1], "lineage") == 0)
        rc = lineage(agent);
    else if (argc == 2 && strcmp(argv[1], "pid1") == 0)
        rc = pid1(agent);
    else if (argc == 2 && strcmp(argv[1], "recycle") == 0)
        rc = recycle(agent);
    else if (argc == 2 && strcmp(argv[1], "hidden-ancestry") == 0)
        rc = hidden_ancestry(agent);
    else if (argc == 2 && strcmp(argv[1], "foreign-proc") == 0)
        rc = foreign_proc(agent);
    else if (argc == 4 && strcmp(argv[1], "as-user") == 0)
        rc = as_user(agent, argv[2], argv[3]);
    else
        fprintf(stderr, "usage: terminate_probe lineage|pid1|recycle|foreign-proc|hidden-ancestry|as-user UID PID\n");
    ms_agent_close(agent);
    printf("PROBE-END rc=%d\n", rc);
    return rc;
}
