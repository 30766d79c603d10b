/* The workload and memsentry's side of bench/watch_sources.sh.
 *   watch_sources_driver SOURCE RATE COUNT [PIDFILE]
 * SOURCE: connector, poller (100 ms) or none (the workload alone, for a peer
 * tool watching from outside). Starts COUNT children at RATE per second, each
 * running /bin/true (fork, exec, exit), reaps them, waits 300 ms, and prints
 *   RESULT source=S forked=N fork_seen=F exec_seen=E exit_seen=X lost=L cpu_ms=C wall_ms=W
 * where *_seen count this driver's children only and cpu_ms is the watching
 * thread's CPU time. PIDFILE receives the children's pids, one per line. */
#include <memsentry/memsentry.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 100000
#define PID_LIMIT (1 << 22)

static pid_t children[MAX_CHILDREN];
static unsigned char seen[MAX_CHILDREN]; /* bit 0 fork, 1 exec, 2 exit */
static int32_t *index_of;                 /* pid -> child index + 1 */
static int nchildren;
static long long lost;
static double watch_cpu_ms;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int on_event(const ms_proc_event *e, void *user_data)
{
    (void)user_data;
    if (e->kind == MS_PROC_EV_LOST) {
        lost += e->lost > 0 ? e->lost : 1;
        return 0;
    }
    int bit = e->kind == MS_PROC_EV_FORK ? 1 : e->kind == MS_PROC_EV_EXEC ? 2 : e->kind == MS_PROC_EV_EXIT ? 4 : 0;
    if (!bit)
        return 0;
    pthread_mutex_lock(&mu);
    if (e->pid > 0 && e->pid <= PID_LIMIT && index_of[e->pid])
        seen[index_of[e->pid] - 1] |= (unsigned char)bit;
    pthread_mutex_unlock(&mu);
    return 0;
}

static void *watcher(void *arg)
{
    ms_watch *w = arg;
    int64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    ms_watch_run(w, on_event, NULL);
    watch_cpu_ms = (double)(now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / 1e6;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: watch_sources_driver connector|poller|none RATE COUNT [PIDFILE]\n");
        return 2;
    }
    const char *source = argv[1];
    double rate = atof(argv[2]);
    int count = atoi(argv[3]);
    if (rate <= 0 || count <= 0 || count > MAX_CHILDREN)
        return 2;
    index_of = calloc(PID_LIMIT + 1, sizeof *index_of);
    if (!index_of)
        return 3;
    ms_agent *agent = NULL;
    ms_watch *w = NULL;
    pthread_t th;
    int watching = strcmp(source, "none") != 0;
    if (watching) {
        ms_watch_options o;
        ms_watch_options_init(&o);
        o.source = strcmp(source, "poller") == 0 ? MS_WATCH_SOURCE_POLLER : MS_WATCH_SOURCE_CONNECTOR;
        if (ms_agent_open(&agent) != MS_OK || ms_watch_open(agent, &o, &w) != MS_OK) {
            fprintf(stderr, "watch: %s\n", ms_last_error());
            return 3;
        }
        pthread_create(&th, NULL, watcher, w);
    }
    int64_t start = now_ns(CLOCK_MONOTONIC);
    int64_t period = (int64_t)(1e9 / rate);
    for (int i = 0; i < count; i++) {
        int64_t due = start + (int64_t)i * period;
        int64_t wait = due - now_ns(CLOCK_MONOTONIC);
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&mu);
        pid_t p = fork();
        if (p == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        if (p > 0 && p <= PID_LIMIT) {
            children[nchildren++] = p;
            index_of[p] = nchildren; /* a pid reused within the run counts for its last child */
        }
        pthread_mutex_unlock(&mu);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
    while (waitpid(-1, NULL, 0) > 0)
        ;
    int64_t wall = now_ns(CLOCK_MONOTONIC) - start;
    usleep(300 * 1000);
    if (watching) {
        ms_watch_stop(w);
        pthread_join(th, NULL);
    }
    int f = 0, e = 0, x = 0;
    for (int i = 0; i < nchildren; i++) {
        f += seen[i] & 1;
        e += seen[i] >> 1 & 1;
        x += seen[i] >> 2 & 1;
    }
    if (argc > 4) {
        FILE *out = fopen(argv[4], "w");
        for (int i = 0; out && i < nchildren; i++)
            fprintf(out, "%d\n", (int)children[i]);
        if (out)
            fclose(out);
    }
    printf("RESULT source=%s forked=%d fork_seen=%d exec_seen=%d exit_seen=%d lost=%lld cpu_ms=%.1f wall_ms=%.0f\n",
           source, nchildren, f, e, x, lost, watch_cpu_ms, (double)wall / 1e6);
    ms_watch_close(w);
    ms_agent_close(agent);
    return 0;
}
