/* Runs a watch where the test puts it (inside `unshare --pid --fork
 * --mount-proc`) and prints what it sees of the one child it starts:
 *   PROBE-START
 *   SOURCE source=NAME reason=NAME pid=SELF detail=...
 *   FORCED-CONNECTOR status=NAME
 *   CHILD pid=N
 *   EVENT kind=NAME pid=N ppid=N exit=N
 * Only events of its own child are printed. SIGALRM stops the watch
 * (ms_watch_stop from a signal handler) if the child's exit is not seen. */
#include <memsentry/memsentry.h>

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

static int on_event(const ms_proc_event *ev, void *user_data)
{
    (void)user_data;
    if (ev->pid != child)
        return 0;
    printf("EVENT kind=%s pid=%lld ppid=%lld exit=%d\n", ms_proc_event_kind_name(ev->kind), (long long)ev->pid,
           (long long)ev->ppid, ev->exit_code);
    fflush(stdout);
    return ev->kind == MS_PROC_EV_EXIT;
}

int main(void)
{
    printf("PROBE-START\n");
    ms_agent *agent;
    if (ms_agent_open(&agent) != MS_OK)
        return 2;
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
    st = ms_watch_run(w, on_event, NULL);
    alarm(0);
    printf("RUN status=%s\n", ms_status_name(st));
    int status;
    waitpid(child, &status, 0);
    ms_watch_close(w);
    ms_agent_close(agent);
    return 0;
}
