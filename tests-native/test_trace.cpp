// The syscall tracer against real victims: real threads making real
// mmap/mprotect/munmap calls, real signals and group-stops, a tracer that is
// SIGKILLed, PID 1 of a real PID namespace, and strace as the oracle for the
// event stream. What a test checks after a trace is the target's own state
// as /proc shows it (State, TracerPid) and that it still answers on stdin.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <memsentry/memsentry.h>

#include "linux/trace_parse.h"
#include "pid_namespace.hpp"
#include "test_support.hpp"
#include "victim.hpp"

namespace {

// The fixed addresses victim_trace_seq and victim_trace_fork use.
constexpr uint64_t kWorkloadLow = 0x7e0000000000ull;
constexpr uint64_t kWorkloadHigh = 0x7e3000000000ull;
constexpr uint64_t kSeqBase = 0x7e1000000000ull;
constexpr uint64_t kSeqStride = 0x100000000ull;

struct Event {
    int32_t kind;
    int64_t pid, tid;
    int32_t nr, abi;
    std::string syscall, prot, flags, error_name;
    uint64_t args[6];
    int32_t complete;
    int64_t ret;
    int32_t signal, exit_code;
};

struct Alert {
    int32_t kind;
    std::string rule_id;
    int64_t tid;
    uint64_t start, end;
    std::string before, after, path;
    int32_t region_kind;
    int64_t target_pid;
};

// Everything a trace reported. Callbacks run on the tracing thread; other
// threads read the atomics while it runs and the rest after it returned.
struct Recorder {
    std::mutex mu;
    std::vector<Event> events;
    std::vector<Alert> alerts;
    std::atomic<int> attached{0};
    std::atomic<int> alert_count{0};
    std::atomic<int> signal_count{0};
    std::function<bool(const Event &)> stop_when; // optional: end the trace from the callback

    static int on_event(const ms_trace_event *ev, void *user)
    {
        auto *r = static_cast<Recorder *>(user);
        Event e{ev->kind, ev->pid, ev->tid, ev->nr, ev->abi, ev->syscall, ev->prot, ev->flags, ev->error_name,
                {}, ev->complete, ev->ret, ev->signal, ev->exit_code};
        std::memcpy(e.args, ev->args, sizeof e.args);
        if (ev->kind == MS_TRACE_EV_THREAD_ATTACHED)
            r->attached++;
        if (ev->kind == MS_TRACE_EV_SIGNAL)
            r->signal_count++;
        std::lock_guard<std::mutex> lock(r->mu);
        r->events.push_back(e);
        return r->stop_when && r->stop_when(e) ? 1 : 0;
    }

    static int on_alert(const ms_trace_alert *a, void *user)
    {
        auto *r = static_cast<Recorder *>(user);
        EXPECT_EQ(a->struct_size, sizeof *a);
        EXPECT_STREQ(a->rule_id, ms_trace_alert_rule_id(a->kind));
        EXPECT_EQ(a->event->kind, a->kind == MS_TRACE_ALERT_UNTRACED_THREAD ? MS_TRACE_EV_THREAD_FOUND
                                                                            : MS_TRACE_EV_SYSCALL);
        std::lock_guard<std::mutex> lock(r->mu);
        r->alerts.push_back(Alert{a->kind, a->rule_id, a->event->tid, a->start, a->end, a->perms_before,
                                  a->perms_after, a->path, a->region_kind, a->target_pid});
        r->alert_count++;
        return 0;
    }

    ms_trace_options options(uint32_t flags = 0, int64_t duration_ms = 0)
    {
        ms_trace_options o;
        ms_trace_options_init(&o);
        o.flags = flags;
        o.duration_ms = duration_ms;
        o.on_event = on_event;
        o.event_user = this;
        o.on_alert = on_alert;
        o.alert_user = this;
        return o;
    }

    std::vector<Event> syscalls() const
    {
        std::vector<Event> out;
        for (auto &e : events)
            if (e.kind == MS_TRACE_EV_SYSCALL)
                out.push_back(e);
        return out;
    }
};

struct TraceResult {
    ms_status status;
    ms_trace_summary summary;
    std::string error;
};

// Opens a session with opts, runs one trace on it, closes it.
TraceResult traced(ms_agent *agent, const ms_trace_options &opts,
                   const std::function<ms_status(ms_trace *, ms_trace_summary *)> &run)
{
    TraceResult r{};
    r.summary.struct_size = sizeof r.summary;
    ms_trace *t = nullptr;
    r.status = ms_trace_open(agent, &opts, &t);
    if (r.status != MS_OK)
        return r;
    r.status = run(t, &r.summary);
    r.error = ms_last_error();
    ms_trace_close(t);
    return r;
}

TraceResult attach(ms_agent *agent, const ms_trace_options &opts, int64_t pid)
{
    return traced(agent, opts, [pid](ms_trace *t, ms_trace_summary *s) { return ms_trace_attach(t, pid, s); });
}

TraceResult launch(ms_agent *agent, const ms_trace_options &opts, std::vector<std::string> args)
{
    std::vector<const char *> argv;
    for (auto &a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    return traced(agent, opts, [&argv](ms_trace *t, ms_trace_summary *s) { return ms_trace_launch(t, argv.data(), s); });
}

std::string victim_path(const std::string &name) { return std::string(MS_VICTIM_DIR) + "/" + name; }

// The State letter of a thread ('R', 'S', 't', 'T', ...), or 0 when gone.
char thread_state(pid_t pid, pid_t tid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("State:", 0) == 0)
            return line.size() > 7 ? line[7] : 0;
    return 0;
}

std::vector<pid_t> tids_of(pid_t pid)
{
    std::vector<pid_t> out;
    DIR *d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (!d)
        return out;
    while (dirent *de = readdir(d))
        if (de->d_name[0] != '.')
            out.push_back(atoi(de->d_name));
    closedir(d);
    return out;
}

int tracer_pid(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("TracerPid:", 0) == 0)
            return std::stoi(line.substr(10));
    return -1;
}

// Waits (bounded, not a timing assertion: the bound only stops a hung test) for cond.
bool eventually(const std::function<bool()> &cond, int seconds = 30)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (cond())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

bool all_threads(pid_t pid, const std::function<bool(char)> &pred)
{
    auto tids = tids_of(pid);
    if (tids.empty())
        return false;
    for (pid_t tid : tids)
        if (!pred(thread_state(pid, tid)))
            return false;
    return true;
}

bool stopped_state(char s) { return s == 't' || s == 'T'; }

// "pong cycles=N usr1=N" -> {N, N}
std::pair<unsigned long, int> ping(Victim &v)
{
    v.send("ping");
    std::string line = v.read_line();
    unsigned long cycles = 0;
    int usr1 = -1;
    if (sscanf(line.c_str(), "pong cycles=%lu usr1=%d", &cycles, &usr1) != 2)
        ADD_FAILURE() << "victim answered \"" << line << "\"";
    return {cycles, usr1};
}

// The target after a trace: running, untraced, still doing its work.
void expect_left_running(Victim &v)
{
    ASSERT_TRUE(eventually([&] { return tracer_pid(v.pid()) == 0; })) << "TracerPid still set";
    for (pid_t tid : tids_of(v.pid()))
        EXPECT_FALSE(stopped_state(thread_state(v.pid(), tid))) << "thread " << tid << " left stopped";
    unsigned long before = ping(v).first;
    EXPECT_TRUE(eventually([&] { return ping(v).first > before; })) << "the victim stopped working";
}

std::vector<pid_t> split_tids(const std::string &csv)
{
    std::vector<pid_t> out;
    std::stringstream ss(csv);
    std::string item;
    while (std::getline(ss, item, ','))
        out.push_back(std::stoi(item));
    return out;
}

// Checks the W^X stream of victim_trace_wx for each of its worker threads.
void expect_wx_from_every_thread(const Recorder &rec, const Victim &v)
{
    std::set<int64_t> with_mprotect, with_alert;
    for (auto &e : rec.syscalls()) {
        EXPECT_EQ(e.pid, v.pid());
        if (e.syscall == "mprotect" && e.complete && e.ret == 0 && e.prot == "PROT_READ|PROT_EXEC")
            with_mprotect.insert(e.tid);
    }
    for (auto &a : rec.alerts) {
        if (a.kind != MS_TRACE_ALERT_WX_TRANSITION)
            continue;
        EXPECT_EQ(a.rule_id, "trace.wx_transition");
        EXPECT_EQ(a.before, "rw-p");
        EXPECT_EQ(a.after, "r-xp");
        EXPECT_EQ(a.end - a.start, 4096u);
        EXPECT_EQ(a.start % 4096, 0u);
        EXPECT_EQ(a.region_kind, MS_REGION_ANONYMOUS);
        with_alert.insert(a.tid);
    }
    for (pid_t tid : split_tids(v.fact("tids"))) {
        EXPECT_TRUE(with_mprotect.count(tid)) << "no mprotect seen from thread " << tid;
        EXPECT_TRUE(with_alert.count(tid)) << "no W^X alert from thread " << tid;
    }
}

// Every worker thread of victim_trace_wx has raised an alert.
bool every_thread_alerted(Recorder &rec, const Victim &v)
{
    std::lock_guard<std::mutex> lock(rec.mu);
    std::set<int64_t> seen;
    for (auto &a : rec.alerts)
        seen.insert(a.tid);
    for (pid_t tid : split_tids(v.fact("tids")))
        if (!seen.count(tid))
            return false;
    return true;
}

// A trace running on its own thread, as a caller with a UI or a JVM would run it.
struct BackgroundTrace {
    Agent agent;
    Recorder rec;
    ms_trace *session = nullptr;
    TraceResult result{};
    std::thread thread;

    void start_attach(pid_t pid, uint32_t flags = 0)
    {
        ms_trace_options o = rec.options(flags);
        ASSERT_EQ(ms_trace_open(agent.a, &o, &session), MS_OK);
        result.summary.struct_size = sizeof result.summary;
        thread = std::thread([this, pid] {
            result.status = ms_trace_attach(session, pid, &result.summary);
            result.error = ms_last_error();
        });
    }
    void stop()
    {
        if (!thread.joinable())
            return;
        ms_trace_stop(session);
        thread.join();
    }
    ~BackgroundTrace()
    {
        stop();
        ms_trace_close(session);
    }
};

// ---- attach: every thread, alerts, a clean detach -------------------------

TEST(TraceAttach, SeesEveryThreadAndDetachesCleanlyAtDuration)
{
    Victim v("victim_trace_wx", {"3"});
    Agent agent;
    Recorder rec;
    TraceResult r = attach(agent.a, rec.options(0, 1500), v.pid());
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.end, MS_TRACE_END_DURATION);
    EXPECT_EQ(r.summary.pid, v.pid());
    EXPECT_EQ(r.summary.threads, 4u); // main + 3 workers
    EXPECT_EQ(r.summary.processes, 1u);
    EXPECT_EQ(r.summary.seccomp, 0u);
    EXPECT_GT(r.summary.stops, r.summary.syscalls);
    EXPECT_EQ(r.summary.syscalls, rec.syscalls().size());
    EXPECT_EQ(r.summary.alerts, rec.alerts.size());
    EXPECT_EQ(rec.attached.load(), 4);
    expect_wx_from_every_thread(rec, v);
    expect_left_running(v);
}

TEST(TraceAttach, StopFromAnotherThreadEndsTheTraceAndDetaches)
{
    Victim v("victim_trace_wx", {"4"});
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    ASSERT_TRUE(eventually([&] { return every_thread_alerted(bt.rec, v); }));
    bt.stop();
    ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
    EXPECT_EQ(bt.result.summary.end, MS_TRACE_END_STOPPED);
    expect_wx_from_every_thread(bt.rec, v);
    expect_left_running(v);
}

TEST(TraceAttach, CallbackCanEndTheTrace)
{
    Victim v("victim_trace_wx", {"2"});
    Agent agent;
    Recorder rec;
    int seen = 0;
    rec.stop_when = [&](const Event &e) { return e.kind == MS_TRACE_EV_SYSCALL && ++seen == 20; };
    TraceResult r = attach(agent.a, rec.options(), v.pid());
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.end, MS_TRACE_END_CALLBACK);
    EXPECT_GE(rec.syscalls().size(), 20u);
    expect_left_running(v);
}

TEST(TraceAttach, StopRequestedBeforeTheTraceEndsItAtOnce)
{
    Victim v("victim_trace_wx", {"1"});
    Agent agent;
    Recorder rec;
    ms_trace_options o = rec.options();
    ms_trace *t = nullptr;
    ASSERT_EQ(ms_trace_open(agent.a, &o, &t), MS_OK);
    ms_trace_stop(t);
    ms_trace_summary s{};
    s.struct_size = sizeof s;
    ASSERT_EQ(ms_trace_attach(t, v.pid(), &s), MS_OK) << ms_last_error();
    EXPECT_EQ(s.end, MS_TRACE_END_STOPPED);
    // The request was used up: the next trace runs until its duration.
    ms_trace_close(t);
    o.duration_ms = 300;
    ASSERT_EQ(ms_trace_open(agent.a, &o, &t), MS_OK);
    ASSERT_EQ(ms_trace_attach(t, v.pid(), &s), MS_OK) << ms_last_error();
    EXPECT_EQ(s.end, MS_TRACE_END_DURATION);
    ms_trace_close(t);
    expect_left_running(v);
}

TEST(TraceAttach, TargetSurvivesTheTracerBeingKilled)
{
    Victim v("victim_trace_wx", {"3"});
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t tracer = fork();
    ASSERT_GE(tracer, 0);
    if (tracer == 0) {
        close(ready[0]);
        ms_agent *agent = nullptr;
        if (ms_agent_open(&agent) != MS_OK)
            _exit(10);
        struct Ctx {
            int fd;
            int n;
        } ctx{ready[1], 0};
        ms_trace_options o;
        ms_trace_options_init(&o);
        o.on_event = [](const ms_trace_event *ev, void *u) -> int {
            auto *c = static_cast<Ctx *>(u);
            if (ev->kind == MS_TRACE_EV_SYSCALL && ++c->n == 50) {
                char b = 1;
                if (write(c->fd, &b, 1) != 1)
                    _exit(11);
            }
            return 0;
        };
        o.event_user = &ctx;
        ms_trace *t = nullptr;
        if (ms_trace_open(agent, &o, &t) != MS_OK)
            _exit(12);
        ms_trace_summary s{};
        s.struct_size = sizeof s;
        ms_trace_attach(t, v.pid(), &s);
        _exit(13); // never reached: the test kills us mid-trace
    }
    close(ready[1]);
    char b;
    ASSERT_EQ(read(ready[0], &b, 1), 1) << "the tracer never saw 50 syscalls";
    close(ready[0]);
    EXPECT_GT(tracer_pid(v.pid()), 0);
    kill(tracer, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(tracer, &status, 0), tracer);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    expect_left_running(v);
}

TEST(TraceAttach, ExitedLeaderWithLiveThreadsIsTracedAndLeftRunning)
{
    Victim v("victim_trace_leader_exit");
    ASSERT_TRUE(eventually([&] { return thread_state(v.pid(), v.pid()) == 'Z'; }));
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    ASSERT_TRUE(eventually([&] { return bt.rec.alert_count.load() >= 3; }));
    bt.stop();
    ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
    EXPECT_EQ(bt.result.summary.end, MS_TRACE_END_STOPPED);
    EXPECT_EQ(bt.result.summary.threads, 2u); // the two live threads, not the zombie leader
    for (pid_t tid : tids_of(v.pid())) {
        if (tid == v.pid())
            continue;
        std::ifstream in("/proc/" + std::to_string(v.pid()) + "/task/" + std::to_string(tid) + "/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("TracerPid:", 0) == 0) {
                EXPECT_EQ(std::stoi(line.substr(10)), 0) << "thread " << tid << " still traced";
            }
        }
        EXPECT_FALSE(stopped_state(thread_state(v.pid(), tid))) << "thread " << tid << " left stopped";
    }
    unsigned long c = ping(v).first;
    EXPECT_TRUE(eventually([&] { return ping(v).first > c; }));
}

TEST(TraceAttach, SignalsReachTheTarget)
{
    Victim v("victim_trace_wx", {"2"});
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    ASSERT_TRUE(eventually([&] { return bt.rec.attached.load() == 3; }));
    for (int i = 1; i <= 3; i++) {
        ASSERT_EQ(kill(v.pid(), SIGUSR1), 0);
        ASSERT_TRUE(eventually([&] { return ping(v).second == i; })) << "SIGUSR1 number " << i << " was lost";
    }
    bt.stop();
    ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
    int usr1_events = 0;
    for (auto &e : bt.rec.events)
        if (e.kind == MS_TRACE_EV_SIGNAL && e.signal == SIGUSR1)
            usr1_events++;
    EXPECT_EQ(usr1_events, 3);
    EXPECT_GE(bt.result.summary.signals, 3u);
    EXPECT_EQ(ping(v).second, 3);
    expect_left_running(v);
}

TEST(TraceAttach, GroupStopStaysAStopAndSigcontResumes)
{
    Victim v("victim_trace_wx", {"2"});
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    ASSERT_TRUE(eventually([&] { return bt.rec.attached.load() == 3; }));
    // Stopped and continued while traced, as without a tracer.
    ASSERT_EQ(kill(v.pid(), SIGSTOP), 0);
    ASSERT_TRUE(eventually([&] { return all_threads(v.pid(), stopped_state); }));
    ASSERT_EQ(kill(v.pid(), SIGCONT), 0);
    ASSERT_TRUE(eventually([&] { return all_threads(v.pid(), [](char s) { return !stopped_state(s); }); }));
    unsigned long cycles = ping(v).first;
    ASSERT_TRUE(eventually([&] { return ping(v).first > cycles; }));
    // Stopped when the trace ends: it stays stopped, as the target's own state.
    ASSERT_EQ(kill(v.pid(), SIGSTOP), 0);
    ASSERT_TRUE(eventually([&] { return all_threads(v.pid(), stopped_state); }));
    bt.stop();
    ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
    ASSERT_TRUE(eventually([&] { return tracer_pid(v.pid()) == 0; }));
    // A thread detached from a syscall-stop ('t' above) before it took the SIGSTOP runs until it
    // takes it: the group-stop is the target's own, reached a moment later.
    EXPECT_TRUE(eventually([&] { return all_threads(v.pid(), [](char s) { return s == 'T'; }); }))
        << "not in a plain group-stop after detach";
    ASSERT_EQ(kill(v.pid(), SIGCONT), 0);
    ASSERT_TRUE(eventually([&] { return all_threads(v.pid(), [](char s) { return !stopped_state(s); }); }));
    expect_left_running(v);
}

// ---- refusals ---------------------------------------------------------------

TEST(TraceRefusal, SelfAndParentAreProtected)
{
    Agent agent;
    Recorder rec;
    TraceResult self = attach(agent.a, rec.options(), getpid());
    EXPECT_EQ(self.status, MS_E_PROTECTED) << self.error;
    EXPECT_NE(self.error.find("calling process"), std::string::npos) << self.error;
    TraceResult parent = attach(agent.a, rec.options(), getppid());
    EXPECT_EQ(parent.status, MS_E_PROTECTED) << parent.error;
    EXPECT_NE(parent.error.find("ancestor"), std::string::npos) << parent.error;
    EXPECT_EQ(parent.summary.end, MS_TRACE_END_ERROR);
    EXPECT_TRUE(rec.events.empty());
}

TEST(TraceRefusal, KernelThreadIsProtected)
{
    std::ifstream comm("/proc/2/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "kthreadd")
        GTEST_SKIP() << "pid 2 is not kthreadd in this PID namespace";
    Agent agent;
    Recorder rec;
    TraceResult r = attach(agent.a, rec.options(), 2);
    EXPECT_EQ(r.status, MS_E_PROTECTED) << r.error;
    EXPECT_NE(r.error.find("kernel thread"), std::string::npos) << r.error;
}

TEST(TraceRefusal, Pid1OfANamespaceIsProtected)
{
    int rc = run_in_new_pid_namespace([] {
        // A child of the namespace's init asks to trace it.
        pid_t child = fork();
        if (child == 0) {
            ms_agent *agent = nullptr;
            if (ms_agent_open(&agent) != MS_OK)
                _exit(20);
            ms_trace *t = nullptr;
            if (ms_trace_open(agent, nullptr, &t) != MS_OK)
                _exit(21);
            ms_trace_summary s{};
            s.struct_size = sizeof s;
            ms_status st = ms_trace_attach(t, 1, &s);
            if (st != MS_E_PROTECTED) {
                fprintf(stderr, "attach to pid 1: %s (%s)\n", ms_status_name(st), ms_last_error());
                _exit(22);
            }
            if (!strstr(ms_last_error(), "init process")) {
                fprintf(stderr, "reason: %s\n", ms_last_error());
                _exit(23);
            }
            _exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 30;
    });
    EXPECT_EQ(rc, 0);
}

TEST(TraceRefusal, AlreadyTracedTargetIsBusyAndNamesTheTracer)
{
    Victim v("victim_trace_wx", {"1"});
    int ready[2], hold[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(hold), 0);
    pid_t other = fork();
    ASSERT_GE(other, 0);
    if (other == 0) {
        close(ready[0]);
        close(hold[1]);
        char b = ptrace(PTRACE_SEIZE, v.pid(), 0L, 0L) == 0 ? 1 : 0;
        if (write(ready[1], &b, 1) != 1)
            _exit(1);
        read(hold[0], &b, 1); // holds the target until the test closes the pipe
        _exit(0);             // exiting detaches it
    }
    close(ready[1]);
    close(hold[0]);
    char ok = 0;
    ASSERT_EQ(read(ready[0], &ok, 1), 1);
    ASSERT_EQ(ok, 1) << "the other tracer could not seize the victim";
    Agent agent;
    Recorder rec;
    TraceResult r = attach(agent.a, rec.options(), v.pid());
    EXPECT_EQ(r.status, MS_E_BUSY) << r.error;
    EXPECT_NE(r.error.find("traced by pid " + std::to_string(other)), std::string::npos) << r.error;
    close(hold[1]);
    close(ready[0]);
    waitpid(other, nullptr, 0);
    expect_left_running(v);
}

TEST(TraceRefusal, MissingPidAndUnknownSyscallName)
{
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, nullptr, 0);
    Agent agent;
    Recorder rec;
    TraceResult r = attach(agent.a, rec.options(), gone);
    EXPECT_EQ(r.status, MS_E_NO_SUCH_PROCESS) << r.error;

    const char *names[] = {"memfd_create", "not_a_syscall", nullptr};
    ms_trace_options o = rec.options();
    o.extra_syscalls = names;
    ms_trace *t = nullptr;
    EXPECT_EQ(ms_trace_open(agent.a, &o, &t), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(t, nullptr);
    EXPECT_NE(std::string(ms_last_error()).find("not_a_syscall"), std::string::npos) << ms_last_error();
    EXPECT_EQ(ms_trace_syscall_number("mprotect"), 10);
    EXPECT_EQ(ms_trace_syscall_number("not_a_syscall"), -1);

    TraceResult bad_launch = launch(agent.a, rec.options(), {"/nonexistent/memsentry-command"});
    EXPECT_EQ(bad_launch.status, MS_E_INVALID_ARGUMENT) << bad_launch.error;
}

// ---- the event stream: launch, attach and strace agree --------------------

// One event in strace's spelling: "mprotect(0x7e1000000000, 8192, PROT_READ|PROT_EXEC) = 0".
std::string strace_line(const Event &e)
{
    auto addr = [](uint64_t a) {
        char b[32];
        if (a == 0)
            return std::string("NULL");
        snprintf(b, sizeof b, "%#" PRIx64, a);
        return std::string(b);
    };
    std::ostringstream s;
    s << e.syscall << "(";
    if (e.syscall == "mmap") {
        char off[32];
        snprintf(off, sizeof off, "%#" PRIx64, e.args[5]);
        s << addr(e.args[0]) << ", " << e.args[1] << ", " << e.prot << ", " << e.flags << ", "
          << (int32_t)e.args[4] << ", " << (e.args[5] ? off : "0");
    } else if (e.syscall == "mprotect") {
        s << addr(e.args[0]) << ", " << e.args[1] << ", " << e.prot;
    } else if (e.syscall == "munmap") {
        s << addr(e.args[0]) << ", " << e.args[1];
    }
    s << ") = ";
    if (!e.complete)
        s << "?";
    else if (!e.error_name.empty())
        s << "-1 " << e.error_name;
    else if (e.syscall == "mmap")
        s << addr((uint64_t)e.ret);
    else
        s << e.ret;
    return s.str();
}

bool in_workload(uint64_t addr) { return addr >= kWorkloadLow && addr < kWorkloadHigh; }

// Per thread, in order, the calls on the workload's fixed addresses; the
// threads' lists sorted, since tids differ between runs.
using ThreadLists = std::vector<std::vector<std::string>>;

ThreadLists workload_lists(const std::vector<Event> &events)
{
    std::map<int64_t, std::vector<std::string>> by_tid;
    for (auto &e : events)
        if (e.kind == MS_TRACE_EV_SYSCALL && in_workload(e.args[0]))
            by_tid[e.tid].push_back(strace_line(e));
    ThreadLists out;
    for (auto &kv : by_tid)
        out.push_back(kv.second);
    std::sort(out.begin(), out.end());
    return out;
}

// strace -ff -o PREFIX: one file per thread. "= -1 EINVAL (Invalid argument)" loses its message.
ThreadLists strace_lists(const std::string &prefix_dir)
{
    ThreadLists out;
    DIR *d = opendir(prefix_dir.c_str());
    if (!d)
        return out;
    while (dirent *de = readdir(d)) {
        if (strncmp(de->d_name, "trace.", 6) != 0)
            continue;
        std::ifstream in(prefix_dir + "/" + de->d_name);
        std::vector<std::string> list;
        std::string line;
        while (std::getline(in, line)) {
            auto open = line.find('(');
            if (open == std::string::npos)
                continue;
            uint64_t a = line.compare(open + 1, 4, "NULL") == 0 ? 0 : strtoull(line.c_str() + open + 1, nullptr, 16);
            if (!in_workload(a))
                continue;
            auto paren = line.find(" (", line.find(") = "));
            if (line.find("= -1 ") != std::string::npos && paren != std::string::npos)
                line.erase(paren);
            // strace aligns "= RET" with spaces after short calls.
            auto eq = line.find(") ");
            auto ret = line.find("= ", eq);
            if (eq != std::string::npos && ret != std::string::npos)
                line = line.substr(0, eq + 1) + " " + line.substr(ret);
            list.push_back(line);
        }
        if (!list.empty())
            out.push_back(list);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::string join(const ThreadLists &lists)
{
    std::string s;
    for (auto &l : lists) {
        s += "--- thread\n";
        for (auto &x : l)
            s += x + "\n";
    }
    return s;
}

struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/ms-trace-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// The workload of victim_trace_seq as the tracer must report it.
void expect_seq_workload(const Recorder &rec)
{
    ThreadLists lists = workload_lists(rec.events);
    ASSERT_EQ(lists.size(), 3u) << join(lists); // main (the markers) and two workers
    size_t workers = 0;
    for (auto &l : lists)
        if (l.size() == 3 * 9)
            workers++;
    EXPECT_EQ(workers, 2u) << join(lists);
    std::map<int32_t, int> by_kind;
    for (auto &a : rec.alerts) {
        if (!in_workload(a.start))
            continue;
        by_kind[a.kind]++;
        uint64_t off = (a.start - kSeqBase) % kSeqStride;
        if (a.kind == MS_TRACE_ALERT_WX_TRANSITION) {
            EXPECT_EQ(off, 0u);
            EXPECT_EQ(a.end - a.start, 8192u);
            EXPECT_EQ(a.before, "rw-p");
            EXPECT_EQ(a.after, "r-xp");
        } else if (a.kind == MS_TRACE_ALERT_MAP_WX) {
            EXPECT_EQ(off, 0x10000u);
            EXPECT_EQ(a.before, "");
            EXPECT_EQ(a.after, "rwxp");
        } else if (a.kind == MS_TRACE_ALERT_ANON_EXEC) {
            EXPECT_EQ(off, 0x20000u);
            EXPECT_EQ(a.before, "r--p");
            EXPECT_EQ(a.after, "r-xp");
            EXPECT_EQ(a.region_kind, MS_REGION_ANONYMOUS);
        }
    }
    EXPECT_EQ(by_kind[MS_TRACE_ALERT_WX_TRANSITION], 6);
    EXPECT_EQ(by_kind[MS_TRACE_ALERT_MAP_WX], 6);
    EXPECT_EQ(by_kind[MS_TRACE_ALERT_ANON_EXEC], 6);
}

// Attaches to victim_trace_seq, lets it run its workload, ends the trace.
ThreadLists attach_seq(Recorder &rec)
{
    Victim v("victim_trace_seq");
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    EXPECT_TRUE(eventually([&] { return bt.rec.attached.load() == 3; }));
    v.send("go");
    EXPECT_EQ(v.read_line(), "DONE");
    bt.stop();
    EXPECT_EQ(bt.result.status, MS_OK) << bt.result.error;
    EXPECT_EQ(bt.result.summary.end, MS_TRACE_END_STOPPED);
    rec.events = bt.rec.events;
    rec.alerts = bt.rec.alerts;
    return workload_lists(rec.events);
}

TEST(TraceLaunch, SeccompLaunchReportsTheWorkloadAndAlerts)
{
    Agent agent;
    Recorder rec;
    TraceResult r = launch(agent.a, rec.options(), {victim_path("victim_trace_seq"), "--exit"});
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.end, MS_TRACE_END_EXITED);
    EXPECT_EQ(r.summary.seccomp, 1u);
    EXPECT_EQ(r.summary.exit_code, 0);
    EXPECT_EQ(r.summary.killed, 0u);
    EXPECT_EQ(r.summary.threads, 3u);
    bool exec_seen = false;
    for (auto &e : rec.events)
        exec_seen |= e.kind == MS_TRACE_EV_EXEC;
    EXPECT_TRUE(exec_seen);
    expect_seq_workload(rec);
}

TEST(TraceLaunch, SeccompLaunchWithoutSeccompAndAttachAgree)
{
    Agent agent;
    Recorder with, without, attached;
    TraceResult a = launch(agent.a, with.options(), {victim_path("victim_trace_seq"), "--exit"});
    ASSERT_EQ(a.status, MS_OK) << a.error;
    TraceResult b =
        launch(agent.a, without.options(MS_TRACE_NO_SECCOMP), {victim_path("victim_trace_seq"), "--exit"});
    ASSERT_EQ(b.status, MS_OK) << b.error;
    EXPECT_EQ(b.summary.seccomp, 0u);
    EXPECT_GT(b.summary.stops, a.summary.stops); // every syscall stops without the filter
    ThreadLists from_launch = workload_lists(with.events);
    EXPECT_EQ(from_launch, workload_lists(without.events)) << join(from_launch);
    ThreadLists from_attach = attach_seq(attached);
    EXPECT_EQ(from_launch, from_attach) << join(from_launch) << "\nattach:\n" << join(from_attach);
    expect_seq_workload(attached);
}

TEST(TraceLaunch, EventsEqualStraceOnTheSameWorkload)
{
    TempDir dir;
    std::string cmd = "strace -f -qq -ff -o '" + dir.path + "/trace' -e trace=mmap,mprotect,munmap '" +
                      victim_path("victim_trace_seq") + "' --exit >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ThreadLists expected = strace_lists(dir.path);
    ASSERT_EQ(expected.size(), 3u) << join(expected);
    Agent agent;
    Recorder rec;
    TraceResult r = launch(agent.a, rec.options(), {victim_path("victim_trace_seq"), "--exit"});
    ASSERT_EQ(r.status, MS_OK) << r.error;
    ThreadLists got = workload_lists(rec.events);
    EXPECT_EQ(got, expected) << "memsentry:\n" << join(got) << "\nstrace:\n" << join(expected);
}

TEST(TraceAttach, EventsEqualStraceAttachedToTheSameWorkload)
{
    TempDir dir;
    ThreadLists expected;
    {
        Victim v("victim_trace_seq");
        int err[2];
        ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        std::string prefix = dir.path + "/trace", pid = std::to_string(v.pid());
        std::vector<std::string> args{"strace", "-f", "-ff", "-o", prefix, "-e", "trace=mmap,mprotect,munmap",
                                      "-p", pid};
        std::vector<char *> argv;
        for (auto &a : args)
            argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        pid_t strace_pid;
        ASSERT_EQ(posix_spawnp(&strace_pid, "strace", &fa, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(err[1]);
        FILE *errs = fdopen(err[0], "r");
        char line[512];
        bool attached = false;
        while (!attached && fgets(line, sizeof line, errs))
            attached = strstr(line, "attached") != nullptr; // "Process N attached with 3 threads"
        ASSERT_TRUE(attached);
        v.send("go");
        EXPECT_EQ(v.read_line(), "DONE");
        kill(strace_pid, SIGINT);
        waitpid(strace_pid, nullptr, 0);
        fclose(errs);
        expected = strace_lists(dir.path);
        EXPECT_EQ(tracer_pid(v.pid()), 0);
    }
    ASSERT_EQ(expected.size(), 3u) << join(expected);
    Recorder rec;
    ThreadLists got = attach_seq(rec);
    EXPECT_EQ(got, expected) << "memsentry:\n" << join(got) << "\nstrace:\n" << join(expected);
}

TEST(TraceLaunch, ForeignAbiSyscallIsReportedWithItsAbi)
{
    Agent agent;
    Recorder rec;
    TraceResult r = launch(agent.a, rec.options(), {victim_path("victim_trace_int80")});
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.exit_code, 0) << "the i386 mprotect failed in the victim";
    const Event *i386 = nullptr;
    for (auto &e : rec.events)
        if (e.kind == MS_TRACE_EV_SYSCALL && e.abi == MS_TRACE_ABI_I386)
            i386 = &e;
    ASSERT_NE(i386, nullptr) << "the int 0x80 mprotect was not reported";
    EXPECT_EQ(i386->syscall, "mprotect");
    EXPECT_EQ(i386->nr, 125);
    EXPECT_EQ(i386->prot, "PROT_READ|PROT_EXEC");
    EXPECT_EQ(i386->ret, 0);
    EXPECT_LT(i386->args[0], 1ull << 32);
    bool alerted = false;
    for (auto &a : rec.alerts)
        alerted |= a.kind == MS_TRACE_ALERT_WX_TRANSITION && a.start == i386->args[0] && a.before == "rw-p";
    EXPECT_TRUE(alerted);
}

TEST(TraceLaunch, ExtraSyscallsByNameAreReported)
{
    Agent agent;
    Recorder rec;
    const char *extra[] = {"memfd_create", "execve", "execveat", nullptr};
    ms_trace_options o = rec.options();
    o.extra_syscalls = extra;
    // The shell, then victim_memfd_exec, which copies victim_plain into a memfd and runs it from there.
    // Under the sanitizers LeakSanitizer's exit check would run in a CLONE_UNTRACED helper that no
    // tracer follows (and that meets ENOSYS under the filter): it is switched off for the victim.
    TraceResult r = launch(agent.a, o, {"/bin/sh", "-c", "ASAN_OPTIONS=detect_leaks=0 exec '" +
                                                         victim_path("victim_memfd_exec") + "' </dev/null"});
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.exit_code, 0);
    int memfd = 0, execs = 0, exec_events = 0;
    for (auto &e : rec.events) {
        if (e.kind == MS_TRACE_EV_EXEC)
            exec_events++;
        if (e.kind != MS_TRACE_EV_SYSCALL)
            continue;
        if (e.syscall == "memfd_create" && e.complete && e.ret >= 0) {
            memfd++;
            EXPECT_EQ(e.prot, "");
            EXPECT_EQ(e.flags, "");
        }
        if ((e.syscall == "execve" || e.syscall == "execveat") && e.ret == 0)
            execs++;
    }
    EXPECT_EQ(memfd, 1);
    // The launch's exec of the shell (the filter is in place before it), the
    // shell's exec of the victim, the victim's exec of its memfd.
    EXPECT_EQ(execs, 3);
    EXPECT_EQ(exec_events, 3);
}

TEST(TraceLaunch, DurationKillsTheCommandAndSaysSo)
{
    Agent agent;
    Recorder rec;
    // "sleep" is looked up in PATH, as execvp would.
    TraceResult r = launch(agent.a, rec.options(0, 500), {"sleep", "60"});
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.end, MS_TRACE_END_DURATION);
    EXPECT_EQ(r.summary.killed, 1u);
    EXPECT_EQ(r.summary.exit_signal, SIGKILL);
    errno = 0;
    EXPECT_EQ(kill((pid_t)r.summary.pid, 0), -1) << "the command is still there";
    EXPECT_EQ(errno, ESRCH) << "the command was not reaped";
}

// ---- forks and the caller's own children ----------------------------------

std::vector<Event> events_of(const Recorder &rec, int64_t pid)
{
    std::vector<Event> out;
    for (auto &e : rec.events)
        if (e.pid == pid && e.kind == MS_TRACE_EV_SYSCALL && in_workload(e.args[0]))
            out.push_back(e);
    return out;
}

TEST(TraceAttach, FollowForksSeesTheChildsCalls)
{
    for (bool follow : {true, false}) {
        SCOPED_TRACE(follow ? "with MS_TRACE_FOLLOW_FORKS" : "without");
        Victim v("victim_trace_fork");
        BackgroundTrace bt;
        bt.start_attach(v.pid(), follow ? MS_TRACE_FOLLOW_FORKS : 0);
        ASSERT_TRUE(eventually([&] { return bt.rec.attached.load() == 1; }));
        v.send("fork");
        int child = 0, status = -1;
        ASSERT_EQ(sscanf(v.read_line().c_str(), "forked pid=%d status=%d", &child, &status), 2);
        EXPECT_EQ(status, 0);
        bt.stop();
        ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
        std::vector<Event> calls = events_of(bt.rec, child);
        if (!follow) {
            EXPECT_TRUE(calls.empty());
            EXPECT_EQ(bt.result.summary.processes, 1u);
            continue;
        }
        ASSERT_EQ(calls.size(), 3u);
        EXPECT_EQ(calls[0].syscall, "mmap");
        EXPECT_EQ(calls[1].syscall, "mprotect");
        EXPECT_EQ(calls[2].syscall, "munmap");
        EXPECT_EQ(calls[0].tid, child);
        EXPECT_EQ(bt.result.summary.processes, 2u);
        bool alerted = false;
        for (auto &a : bt.rec.alerts)
            alerted |= a.tid == child && a.kind == MS_TRACE_ALERT_WX_TRANSITION;
        EXPECT_TRUE(alerted);
        EXPECT_EQ(tracer_pid(v.pid()), 0);
    }
}

TEST(TraceLaunch, CallersOtherChildrenAreNotReaped)
{
    Victim bystander("victim_trace_wx", {"1"}); // a child of this thread, alive during the trace
    std::atomic<bool> done{false};
    pid_t other_thread_child = -1;
    std::thread spawner([&] { // and one of another thread, which exits during the trace
        other_thread_child = fork();
        if (other_thread_child == 0)
            _exit(7);
        while (!done)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    Agent agent;
    Recorder rec;
    TraceResult r = launch(agent.a, rec.options(), {victim_path("victim_trace_seq"), "--exit"});
    done = true;
    spawner.join();
    ASSERT_EQ(r.status, MS_OK) << r.error;
    int status = 0;
    EXPECT_EQ(waitpid(bystander.pid(), &status, WNOHANG), 0) << "the bystander was reaped or is gone";
    ASSERT_EQ(waitpid(other_thread_child, &status, 0), other_thread_child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    unsigned long c = ping(bystander).first;
    EXPECT_TRUE(eventually([&] { return ping(bystander).first > c; }));
}

// ---- evasions: memory made executable in ways the mmap/mprotect arguments do not show ----

// "done NAME ran=N addr=HEX" -> {N, HEX}
std::pair<int, uint64_t> parse_done(const std::string &line, const std::string &name)
{
    int ran = -1;
    unsigned long long addr = 0;
    std::string fmt = "done " + name + " ran=%d addr=%llx";
    if (sscanf(line.c_str(), fmt.c_str(), &ran, &addr) != 2)
        ADD_FAILURE() << "victim answered \"" << line << "\" for " << name;
    return {ran, addr};
}

const Alert *alert_at(const Recorder &rec, int32_t kind, uint64_t start)
{
    for (auto &a : rec.alerts)
        if (a.kind == kind && a.start == start)
            return &a;
    return nullptr;
}

// What victim_trace_evade's techniques must raise; done: technique -> (ran, addr) from its answers.
void expect_evasion_alerts(const Recorder &rec, const std::map<std::string, std::pair<int, uint64_t>> &done)
{
    SCOPED_TRACE(std::to_string(rec.alerts.size()) + " alerts");
    EXPECT_EQ(done.at("oldmmap").first, 90) << "the old_mmap code did not run";
    const Alert *a = alert_at(rec, MS_TRACE_ALERT_MAP_WX, done.at("oldmmap").second);
    ASSERT_NE(a, nullptr) << "no trace.map_wx for i386's old_mmap";
    EXPECT_EQ(a->after, "rwxp");
    bool decoded = false;
    for (auto &e : rec.syscalls())
        decoded |= e.abi == MS_TRACE_ABI_I386 && e.nr == 90 && e.syscall == "mmap" && e.args[1] == 4096 &&
                   e.prot == "PROT_READ|PROT_WRITE|PROT_EXEC" && e.flags == "MAP_PRIVATE|MAP_ANONYMOUS";
    EXPECT_TRUE(decoded) << "the old_mmap's struct was not decoded into its event";

    struct {
        const char *name;
        int ran;
        int32_t region_kind;
        const char *path_part;
    } files[] = {{"memfd", 91, MS_REGION_MEMFD, "/memfd:ms-evade"},
                 {"tmpfs", 92, MS_REGION_FILE, "/dev/shm/ms-victim-evade-"},
                 {"deleted", 99, MS_REGION_DELETED, "ms-victim-evade-"}};
    for (auto &f : files) {
        SCOPED_TRACE(f.name);
        EXPECT_EQ(done.at(f.name).first, f.ran) << "its code did not run";
        a = alert_at(rec, MS_TRACE_ALERT_ANON_EXEC, done.at(f.name).second);
        ASSERT_NE(a, nullptr) << "no trace.anon_exec for the mapping";
        EXPECT_EQ(a->region_kind, f.region_kind);
        EXPECT_NE(a->path.find(f.path_part), std::string::npos) << a->path;
        EXPECT_EQ(a->after.substr(0, 3), "r-x");
    }

    EXPECT_EQ(done.at("shm").first, 93 + 94);
    a = alert_at(rec, MS_TRACE_ALERT_ANON_EXEC, done.at("shm").second);
    ASSERT_NE(a, nullptr) << "no trace.anon_exec for shmat(SHM_RDONLY|SHM_EXEC)";
    EXPECT_EQ(a->region_kind, MS_REGION_SHM);
    EXPECT_EQ(a->after, "r-xs");
    int shm_wx = 0;
    for (auto &x : rec.alerts)
        shm_wx += x.kind == MS_TRACE_ALERT_MAP_WX && x.region_kind == MS_REGION_SHM && x.after == "rwxs";
    EXPECT_EQ(shm_wx, 1) << "shmat(SHM_EXEC) maps read-write-execute";

    EXPECT_EQ(done.at("procmem").first, 95 + 96 + 97) << "the patched functions did not run";
    std::set<std::string> by_call;
    for (auto &x : rec.alerts) {
        if (x.kind != MS_TRACE_ALERT_PROC_MEM_WRITE)
            continue;
        EXPECT_EQ(x.before, x.after);
        EXPECT_EQ(x.after.substr(0, 3), "r-x");
        EXPECT_NE(x.path.find("victim_trace_evade"), std::string::npos) << x.path;
        for (auto &e : rec.syscalls())
            if (e.tid == x.tid && (e.syscall == "pwrite64" || e.syscall == "write" || e.syscall == "pwritev") &&
                e.complete && e.ret == 6)
                by_call.insert(e.syscall);
    }
    EXPECT_EQ(by_call, (std::set<std::string>{"pwrite64", "write", "pwritev"}));
    // The fd opened by one thread, the write made by another (under the filter: switched to every-call stops).
    EXPECT_EQ(done.at("procmem-thread").first, 98);
    std::set<int64_t> writers, openers;
    for (auto &e : rec.syscalls()) {
        if (e.syscall == "pwrite64" && e.ret == 6 && e.args[3] == done.at("procmem-thread").second)
            writers.insert(e.tid);
        if (e.syscall == "openat" && e.ret >= 0)
            openers.insert(e.tid); /* the opens of /proc/self/mem for writing, reported */
    }
    ASSERT_EQ(writers.size(), 1u) << "the other thread's pwrite64 was not seen";
    EXPECT_FALSE(openers.count(*writers.begin())) << "the write came from the opening thread";
    int from_other_thread = 0;
    for (auto &x : rec.alerts)
        from_other_thread += x.kind == MS_TRACE_ALERT_PROC_MEM_WRITE && writers.count(x.tid) &&
                             x.start == (done.at("procmem-thread").second & ~4095ull);
    EXPECT_EQ(from_other_thread, 1);
    for (auto &e : rec.syscalls())
        EXPECT_FALSE(e.syscall == "write" && e.args[0] == 1) << "a write to stdout was reported";
}

const std::vector<std::string> kEvasions{"oldmmap", "memfd", "tmpfs", "deleted", "shm", "procmem", "procmem-thread"};

TEST(TraceEvasion, LaunchRaisesAnAlertForEachWay)
{
    for (uint32_t flags : {0u, (uint32_t)MS_TRACE_NO_SECCOMP}) {
        SCOPED_TRACE(flags ? "without seccomp" : "with seccomp");
        TempDir dir;
        std::string out = dir.path + "/out";
        std::string cmd = "exec '" + victim_path("victim_trace_evade") + "'";
        for (auto &e : kEvasions)
            cmd += " " + e;
        cmd += " >'" + out + "' </dev/null";
        Agent agent;
        Recorder rec;
        TraceResult r = launch(agent.a, rec.options(flags), {"/bin/sh", "-c", cmd});
        ASSERT_EQ(r.status, MS_OK) << r.error;
        EXPECT_EQ(r.summary.exit_code, 0);
        std::ifstream in(out);
        std::map<std::string, std::pair<int, uint64_t>> done;
        std::string line;
        std::getline(in, line); // READY
        for (auto &e : kEvasions) {
            ASSERT_TRUE(std::getline(in, line)) << e;
            done[e] = parse_done(line, e);
        }
        expect_evasion_alerts(rec, done);
    }
}

TEST(TraceEvasion, AttachRaisesAnAlertForEachWay)
{
    Victim v("victim_trace_evade");
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    ASSERT_TRUE(eventually([&] { return bt.rec.attached.load() == 1; }));
    std::map<std::string, std::pair<int, uint64_t>> done;
    for (auto &e : kEvasions) {
        v.send(e);
        done[e] = parse_done(v.read_line(), e);
    }
    bt.stop();
    ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
    expect_evasion_alerts(bt.rec, done);
    EXPECT_TRUE(eventually([&] { return tracer_pid(v.pid()) == 0; }));
}

TEST(TraceEvasion, UntracedThreadIsFoundReportedAndSeized)
{
    Victim v("victim_trace_evade");
    BackgroundTrace bt;
    bt.start_attach(v.pid());
    ASSERT_TRUE(eventually([&] { return bt.rec.attached.load() == 1; }));
    v.send("untraced");
    int started = 0, tid = 0;
    ASSERT_EQ(sscanf(v.read_line().c_str(), "done untraced ran=%d addr=0 tid=%d", &started, &tid), 2);
    ASSERT_EQ(started, 1);
    auto seen = [&](const std::function<bool(const Event &)> &pred) {
        std::lock_guard<std::mutex> lock(bt.rec.mu);
        return std::any_of(bt.rec.events.begin(), bt.rec.events.end(), pred);
    };
    auto wx_from_it = [&] {
        std::lock_guard<std::mutex> lock(bt.rec.mu);
        return std::any_of(bt.rec.alerts.begin(), bt.rec.alerts.end(),
                           [&](const Alert &a) { return a.tid == tid && a.kind == MS_TRACE_ALERT_WX_TRANSITION; });
    };
    EXPECT_TRUE(eventually([&] { return seen([&](const Event &e) { return e.kind == MS_TRACE_EV_THREAD_FOUND && e.tid == tid; }); }))
        << "the rescan did not find the CLONE_UNTRACED thread";
    EXPECT_TRUE(eventually(wx_from_it)) << "the thread was not traced after it was found";
    v.send("untraced-stop");
    int cycles = 0;
    ASSERT_EQ(sscanf(v.read_line().c_str(), "done untraced-stop ran=%d", &cycles), 1);
    EXPECT_GT(cycles, 0);
    bt.stop();
    ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
    int untraced_alerts = 0;
    for (auto &a : bt.rec.alerts)
        untraced_alerts += a.kind == MS_TRACE_ALERT_UNTRACED_THREAD && a.tid == tid;
    EXPECT_EQ(untraced_alerts, 1);
    EXPECT_TRUE(eventually([&] { return tracer_pid(v.pid()) == 0; }));
    v.send("peek");
    EXPECT_EQ(v.read_line(), "word=1111");
}

// ---- a traced program that injects into another process -------------------

// The injector alert naming target (at start when start is not 0: the poke or write, not the attach or open).
const Alert *injector_alert(const Recorder &rec, int64_t target, uint64_t start = 0)
{
    for (auto &a : rec.alerts)
        if (a.kind == MS_TRACE_ALERT_INJECTOR && a.target_pid == target && (!start || a.start == start))
            return &a;
    return nullptr;
}

TEST(TraceInjector, LaunchedInjectorRaisesTheAlertWithItsTarget)
{
    for (std::string how : {"ptrace", "seize", "vmwritev", "procmem"}) {
        SCOPED_TRACE(how);
        Victim target("victim_trace_evade");
        Agent agent;
        Recorder rec;
        TraceResult r = launch(agent.a, rec.options(), {"/bin/sh", "-c", "exec '" + victim_path("victim_trace_inject") +
                                                                   "' " + how + " " + std::to_string(target.pid()) + " " +
                                                                   target.fact("word") + " >/dev/null </dev/null"});
        ASSERT_EQ(r.status, MS_OK) << r.error;
        target.send("peek");
        EXPECT_EQ(target.read_line(), "word=4242") << "the injection did not happen";
        const Alert *a = injector_alert(rec, target.pid(), how == "vmwritev" ? 0 : target.hex("word"));
        ASSERT_NE(a, nullptr) << "no trace.injector alert naming pid " << target.pid();
        if (how != "vmwritev") {
            EXPECT_EQ(a->end, target.hex("word") + 8);
        }
        if (how == "procmem") {
            EXPECT_NE(a->path.find("/mem"), std::string::npos) << a->path;
        }
        EXPECT_EQ(tracer_pid(target.pid()), 0);
    }
}

TEST(TraceInjector, AttachedInjectorRaisesTheAlertAndAFailedAttemptToo)
{
    Victim target("victim_trace_evade");
    {
        Victim injector("victim_trace_inject", {"ptrace", std::to_string(target.pid()), target.fact("word"), "--wait"});
        BackgroundTrace bt;
        bt.start_attach(injector.pid());
        ASSERT_TRUE(eventually([&] { return bt.rec.attached.load() == 1; }));
        injector.send("go");
        EXPECT_NE(injector.read_line().find("ok=1"), std::string::npos);
        bt.stop();
        ASSERT_EQ(bt.result.status, MS_OK) << bt.result.error;
        EXPECT_NE(injector_alert(bt.rec, target.pid()), nullptr);
    }
    // memsentry holds the target: the injector's attach fails (EPERM), and the attempt is the alert.
    Victim injector("victim_trace_inject", {"seize", std::to_string(target.pid()), target.fact("word"), "--wait"});
    BackgroundTrace on_target, on_injector;
    on_target.start_attach(target.pid());
    ASSERT_TRUE(eventually([&] { return on_target.rec.attached.load() == 1; }));
    on_injector.start_attach(injector.pid());
    ASSERT_TRUE(eventually([&] { return on_injector.rec.attached.load() == 1; }));
    injector.send("go");
    EXPECT_NE(injector.read_line().find("ok=0 errno=1"), std::string::npos);
    on_injector.stop();
    on_target.stop();
    const Alert *a = injector_alert(on_injector.rec, target.pid());
    ASSERT_NE(a, nullptr) << "the failed attempt raised nothing";
    bool failed_seize = false;
    for (auto &e : on_injector.rec.syscalls())
        failed_seize |= e.syscall == "ptrace" && e.args[0] == PTRACE_SEIZE && e.error_name == "EPERM";
    EXPECT_TRUE(failed_seize);
    EXPECT_TRUE(eventually([&] { return tracer_pid(target.pid()) == 0; }));
}

TEST(TraceParse, HostileLinkStatusAndFdinfoTexts)
{
    auto mem = [](const char *s) { return ms__trace_proc_mem_number(s, strlen(s)); };
    EXPECT_EQ(mem("/proc/1234/mem"), 1234);
    EXPECT_EQ(mem("/var/lib/c/proc/7/task/9/mem"), 9);
    EXPECT_EQ(mem("/proc/1234/mem (deleted)"), -1);
    EXPECT_EQ(mem("/tmp/x 12/mem"), -1);
    EXPECT_EQ(mem("12/mem"), -1);
    EXPECT_EQ(mem("/proc/99999999999/mem"), -1);
    EXPECT_EQ(mem("/proc/4294967297/mem"), -1);
    EXPECT_EQ(mem("/proc/0/mem"), -1);
    EXPECT_EQ(mem("/proc/12/memx"), -1);
    EXPECT_EQ(mem("/mem"), -1);
    EXPECT_EQ(ms__trace_last_number("Tgid:\t5\nNStgid:\t4242\t12\t1\nNSpid:\t9\n", "NStgid:"), 1);
    EXPECT_EQ(ms__trace_last_number("NStgid:\t4242\n", "NStgid:"), 4242);
    EXPECT_EQ(ms__trace_last_number("NStgid:\t4242\t99999999999\n", "NStgid:"), -1);
    EXPECT_EQ(ms__trace_last_number("NStgid:\t42x\n", "NStgid:"), -1);
    EXPECT_EQ(ms__trace_last_number("XNStgid:\t42\n", "NStgid:"), -1);
    EXPECT_EQ(ms__trace_text_field("pos:\t4096\nflags:\t0100002\n", "pos:", 10), 4096);
    EXPECT_EQ(ms__trace_text_field("pos:\t4096\nflags:\t0100002\n", "flags:", 8), 0100002);
    EXPECT_EQ(ms__trace_text_field("pos:\t-1\n", "pos:", 10), -1);
    EXPECT_EQ(ms__trace_text_field("pos:\t99999999999999999999999\n", "pos:", 10), -1);
    EXPECT_EQ(ms__trace_text_field("mnt_id:\t1\n", "pos:", 10), -1);
}

TEST(TraceNames, StableNames)
{
    EXPECT_STREQ(ms_trace_event_kind_name(MS_TRACE_EV_SYSCALL), "syscall");
    EXPECT_STREQ(ms_trace_event_kind_name(MS_TRACE_EV_PROCESS_EXITED), "process-exited");
    EXPECT_STREQ(ms_trace_event_kind_name(99), "unknown");
    EXPECT_STREQ(ms_trace_alert_rule_id(MS_TRACE_ALERT_ANON_EXEC), "trace.anon_exec");
    EXPECT_STREQ(ms_trace_alert_rule_id(MS_TRACE_ALERT_INJECTOR), "trace.injector");
    EXPECT_STREQ(ms_trace_alert_rule_id(MS_TRACE_ALERT_PROC_MEM_WRITE), "trace.proc_mem_write");
    EXPECT_STREQ(ms_trace_alert_rule_id(MS_TRACE_ALERT_UNTRACED_THREAD), "trace.untraced_thread");
    EXPECT_STREQ(ms_trace_event_kind_name(MS_TRACE_EV_THREAD_FOUND), "thread-found");
    EXPECT_STREQ(ms_trace_end_name(MS_TRACE_END_CALLBACK), "callback");
    EXPECT_STREQ(ms_trace_end_name(-1), "unknown");
}

// Threads waiting in vfork() never report the stop a tracer asks for: a
// trace with a 2 s duration still ends (the end waits for them a bounded
// time), and once its thread has exited none of them is traced or stopped.
TEST(TraceAttach, ThreadsStuckInVforkCannotHoldTheEnd)
{
    Victim v("victim_vfork_stuck", {"4"});
    Agent agent;
    Recorder rec;
    TraceResult r{};
    auto t0 = std::chrono::steady_clock::now();
    std::thread tracer([&] { r = attach(agent.a, rec.options(0, 2000), v.pid()); });
    tracer.join(); // its exit releases what did not stop
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(r.summary.end, MS_TRACE_END_DURATION);
    EXPECT_EQ(r.summary.threads, 5u);
    EXPECT_LT(seconds, 10.0) << "the end of the trace waited for the stuck threads";
    EXPECT_TRUE(eventually([&] {
        for (pid_t tid : tids_of(v.pid()))
            if (tracer_pid(tid) != 0 || stopped_state(thread_state(v.pid(), tid)))
                return false;
        return true;
    }, 5)) << "a thread was left traced or stopped";
    int status = v.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

} // namespace
