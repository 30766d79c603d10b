/* Runs a watch where the test puts it (inside `unshare --pid --fork
 * --mount-proc`) and prints what it sees of the one child it starts.
 * Mode `reuse` (a poller at 50 ms): the child is seen, killed and reaped,
 * and a second child is given its pid through ns_last_pid before the next
 * pass; the second run must report the old one's exit and the new one:
 *   REUSED pid=N
 *   EVENT ... (of pid N, second run only)
 * Default mode:
 *   PROBE-START
 *   SOURCE source=NAME reason=NAME pid=SELF detail=...
 *   FORCED-CONNECTOR status=NAME
 *   CHILD pid=N
 *   EVENT kind=NAME pid=N ppid=N exit=N
 * Only events of its own child are printed. SIGALRM stops the watch
 * (ms_watch_stop from a signal handler) if the child's exit is not seen. */
#include <memsentry/memsentry.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static ms_watch *running;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    ms_watch_stop(running);
}

/* Prints the child's events; stops at its exit number *user_data. */
static int on_event(const ms_proc_event *ev, void *user_data)
{
    int *exits_left = user_data;
    if (ev->pid != child)
        return 0;
    printf("EVENT kind=%s pid=%lld ppid=%lld exit=%d\n", ms_proc_event_kind_name(ev->kind), (long long)ev->pid,
           (long long)ev->ppid, ev->exit_code);
    fflush(stdout);
    return ev->kind == MS_PROC_EV_EXIT && --*exits_left == 0;
}

static int stop_at_fork(const ms_proc_event *ev, void *user_data)
{
    (void)user_data;
    return ev->pid == child && ev->kind == MS_PROC_EV_FORK;
}

/* The pid-reuse case: pid and start time tell two processes apart. */
static int reuse(ms_agent *agent)
{
    ms_watch_options o;
    ms_watch_options_init(&o);
    o.source = MS_WATCH_SOURCE_POLLER;
    o.poll_interval_ms = 50;
    ms_watch *w = NULL;
    if (ms_watch_open(agent, &o, &w) != MS_OK)
        return 3;
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    if (child < 0 || ms_watch_run(w, stop_at_fork, NULL) != MS_E_STOPPED)
        return 4;
    pid_t first = child;
    usleep(30 * 1000); /* the next process starts in a later clock tick */
    kill(first, SIGKILL);
    waitpid(first, NULL, 0);
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    char last[32];
    int n = snprintf(last, sizeof last, "%d", (int)first - 1);
    if (fd < 0 || write(fd, last, (size_t)n) != n) {
        printf("SKIP cannot write ns_last_pid: %s\n", strerror(errno));
        return 0;
    }
    close(fd);
    child = fork();
    if (child == 0) {
        usleep(300 * 1000);
        _exit(0);
    }
    if (child != first) {
        printf("SKIP the pid was not reused (%d, %d)\n", (int)first, (int)child);
        kill(child, SIGKILL);
        return 0;
    }
    printf("REUSED pid=%d\n", (int)child);
    fflush(stdout);
    running = w;
    signal(SIGALRM, on_alarm);
    alarm(10);
    int exits = 2; /* the old instance's, then the new one's */
    ms_status st = ms_watch_run(w, on_event, &exits);
    alarm(0);
    printf("RUN status=%s\n", ms_status_name(st));
    waitpid(child, NULL, 0);
    ms_watch_close(w);
    return 0;
}

int main(int argc, char **argv)
{
    printf("PROBE-START\n");
    ms_agent *agent;
    if (ms_agent_open(&agent) != MS_OK)
        return 2;
    if (argc > 1 && strcmp(argv[1], "reuse") == 0) {
        int rc = reuse(agent);
        ms_agent_close(agent);
        return rc;
    }
    ms_watch_options o;
    ms_watch_options_init(&o);
    o.source = MS_WATCH_SOURCE_CONNECTOR;
    ms_watch *w = NULL;
    ms_status st = ms_watch_open(agent, &o, &w);
    printf("FORCED-CONNECTOR status=%s\n", ms_status_name(st));
    ms_watch_close(w);

    o.source = MS_WATCH_SOURCE_AUTO;
    o.poll_interval_ms = 20;
    st = ms_watch_open(agent, &o, &w);
    if (st != MS_OK) {
        printf("OPEN status=%s detail=%s\n", ms_status_name(st), ms_last_error());
        return 3;
    }
    ms_watch_info info = {.struct_size = sizeof info};
    ms_watch_info_get(w, &info);
    printf("SOURCE source=%s reason=%s pid=%d detail=%s\n", ms_watch_source_name(info.source),
           ms_watch_reason_name(info.reason), (int)getpid(), info.detail);
    fflush(stdout);
    child = fork();
    if (child < 0)
        return 4;
    if (child == 0) {
        usleep(300 * 1000); /* several poll intervals */
        _exit(5);
    }
    printf("CHILD pid=%d\n", (int)child);
    fflush(stdout);
    running = w;
    signal(SIGALRM, on_alarm);
    alarm(10);
    int exits = 1;
    st = ms_watch_run(w, on_event, &exits);
    alarm(0);
    printf("RUN status=%s\n", ms_status_name(st));
    int status;
    waitpid(child, &status, 0);
    ms_watch_close(w);
    ms_agent_close(agent);
    return 0;
}
