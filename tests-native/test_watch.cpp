// Process events (ms_watch.h) against real processes the test starts: the
// netlink connector and the /proc poller both report their fork, exec and exit
// with the right pids and parents; a tiny receive buffer and a fork burst make
// the kernel drop events, which must come back as a LOST count; inside
// `unshare --pid --fork --mount-proc` the pids are the namespace's own.
// The connector sees the whole host: every assertion is filtered to the pids
// this test started, and nothing is ever done to another process.
#include <memsentry/memsentry.h>

extern "C" {
#include "linux/watch_parse.h"
}

#include "command_output.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// Runs ms_watch_run on its own thread and keeps every event.
class Collector {
public:
    explicit Collector(ms_watch *w) : w_(w)
    {
        thread_ = std::thread([this] { status_ = ms_watch_run(w_, &Collector::on_event, this); });
    }
    ~Collector() { stop(); }

    ms_status stop()
    {
        if (thread_.joinable()) {
            ms_watch_stop(w_);
            thread_.join();
        }
        return status_;
    }

    // Waits until pred holds over the events seen so far, or the timeout.
    bool wait_for(const std::function<bool(const std::vector<ms_proc_event> &)> &pred,
                  std::chrono::milliseconds timeout = 10s)
    {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
    }

    std::vector<ms_proc_event> events()
    {
        std::lock_guard<std::mutex> lock(mu_);
        return events_;
    }

private:
    static int on_event(const ms_proc_event *ev, void *user_data)
    {
        auto *self = static_cast<Collector *>(user_data);
        std::lock_guard<std::mutex> lock(self->mu_);
        self->events_.push_back(*ev);
        self->cv_.notify_all();
        return 0;
    }

    ms_watch *w_;
    std::thread thread_;
    ms_status status_ = MS_OK;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<ms_proc_event> events_;
};

std::vector<ms_proc_event> of_pid(const std::vector<ms_proc_event> &all, int64_t pid)
{
    std::vector<ms_proc_event> out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out), [&](const ms_proc_event &e) { return e.pid == pid; });
    return out;
}

bool has(const std::vector<ms_proc_event> &all, int64_t pid, int32_t kind)
{
    return std::any_of(all.begin(), all.end(), [&](const ms_proc_event &e) { return e.pid == pid && e.kind == kind; });
}

std::string describe(const std::vector<ms_proc_event> &events)
{
    std::ostringstream s;
    for (auto &e : events)
        s << ms_proc_event_kind_name(e.kind) << " pid=" << e.pid << " ppid=" << e.ppid << " exit=" << e.exit_code
          << " t=" << e.time_ns << "\n";
    return s.str();
}

// Opens a watch on the connector, or says why the host cannot have one.
ms_status open_connector(ms_agent *agent, ms_watch **w, int32_t rcvbuf = 0)
{
    ms_watch_options o;
    ms_watch_options_init(&o);
    o.source = MS_WATCH_SOURCE_CONNECTOR;
    o.receive_buffer = rcvbuf;
    return ms_watch_open(agent, &o, w);
}

// Opens a connector watch, or skips the test on a host without one (no privilege, no connector).
#define OPEN_CONNECTOR_OR_SKIP(agent, w, rcvbuf)                                                                      \
    do {                                                                                                              \
        ms_status open_st = open_connector((agent), (w), (rcvbuf));                                                   \
        if (open_st == MS_E_ACCESS_DENIED || open_st == MS_E_UNSUPPORTED)                                             \
            GTEST_SKIP() << "no process connector here: " << ms_last_error();                                         \
        ASSERT_EQ(open_st, MS_OK) << ms_last_error();                                                                 \
    } while (0)

// A child that sleeps delay_ms, then runs `sh -c 'exit CODE'`.
pid_t spawn_exit(int code, int delay_ms = 0)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (delay_ms)
            usleep((useconds_t)delay_ms * 1000);
        std::string cmd = "exit " + std::to_string(code);
        execl("/bin/sh", "sh", "-c", cmd.c_str(), (char *)nullptr);
        _exit(127);
    }
    return pid;
}

int reap(pid_t pid)
{
    int status = -1;
    waitpid(pid, &status, 0);
    return status;
}

// Reaps child (its exit code must be code), waits until the watch reported its exit, stops the
// watch and returns the child's events; *status receives the wait status.
std::vector<ms_proc_event> reap_and_collect(Collector &c, pid_t child, int code, int *status)
{
    *status = reap(child);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == code) << *status;
    EXPECT_TRUE(c.wait_for([&](auto &ev) { return has(ev, child, MS_PROC_EV_EXIT); }))
        << describe(of_pid(c.events(), child));
    EXPECT_EQ(c.stop(), MS_OK);
    return of_pid(c.events(), child);
}

// A poller every interval_ms; max_processes 0 takes the default.
ms_status open_poller(ms_agent *agent, ms_watch **w, int64_t interval_ms = 20, uint32_t max_processes = 0)
{
    ms_watch_options o;
    ms_watch_options_init(&o);
    o.source = MS_WATCH_SOURCE_POLLER;
    o.poll_interval_ms = interval_ms;
    o.max_processes = max_processes;
    return ms_watch_open(agent, &o, w);
}

ms_watch_info info_of(ms_watch *w)
{
    ms_watch_info info = {};
    info.struct_size = sizeof info;
    EXPECT_EQ(ms_watch_info_get(w, &info), MS_OK);
    return info;
}

TEST(Watch, ConnectorReportsForkExecExitOfOwnChildren)
{
    Agent agent;
    ms_watch *w = nullptr;
    OPEN_CONNECTOR_OR_SKIP(agent.a, &w, 0);
    EXPECT_EQ(info_of(w).source, MS_WATCH_SOURCE_CONNECTOR);
    EXPECT_EQ(info_of(w).reason, MS_WATCH_REASON_CONNECTOR_OK);
    {
        Collector c(w);
        // A thread of this process is no new process.
        std::atomic<pid_t> thread_tid{0};
        std::thread([&] { thread_tid = (pid_t)syscall(SYS_gettid); }).join();
        pid_t child = spawn_exit(7);
        ASSERT_GT(child, 0);
        int status;
        auto mine = reap_and_collect(c, child, 7, &status);
        ASSERT_EQ(mine.size(), 3u) << describe(mine);
        EXPECT_EQ(mine[0].kind, MS_PROC_EV_FORK);
        EXPECT_EQ(mine[0].ppid, getpid());
        EXPECT_EQ(mine[1].kind, MS_PROC_EV_EXEC);
        EXPECT_EQ(mine[2].kind, MS_PROC_EV_EXIT);
        EXPECT_EQ(mine[2].exit_code, status) << "the wait status, as waitpid gave it";
        EXPECT_LE(mine[0].time_ns, mine[1].time_ns);
        EXPECT_LE(mine[1].time_ns, mine[2].time_ns);
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        EXPECT_LE(mine[2].time_ns, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec) << "CLOCK_MONOTONIC";
        for (auto &e : c.events())
            EXPECT_NE(e.pid, (int64_t)thread_tid.load()) << "a thread reported as a process: " << describe({e});
    }
    ms_watch_close(w);
}

TEST(Watch, ConnectorReportsPtraceAttachAndDetach)
{
    Agent agent;
    ms_watch *w = nullptr;
    OPEN_CONNECTOR_OR_SKIP(agent.a, &w, 0);
    {
        Collector c(w);
        pid_t child = fork();
        if (child == 0) {
            pause();
            _exit(0);
        }
        // A tracer of our own: a second child that seizes the first and lets it go.
        pid_t tracer = fork();
        if (tracer == 0) {
            if (ptrace((__ptrace_request)PTRACE_SEIZE, child, 0, 0) != 0)
                _exit(1);
            // Detaching needs a stopped tracee: interrupt it, wait for the stop, let it go.
            int ws;
            if (ptrace((__ptrace_request)PTRACE_INTERRUPT, child, 0, 0) != 0 || waitpid(child, &ws, __WALL) != child)
                _exit(2);
            _exit(ptrace(PTRACE_DETACH, child, 0, 0) == 0 ? 0 : 3);
        }
        int tstatus = reap(tracer);
        kill(child, SIGKILL);
        reap(child);
        if (!WIFEXITED(tstatus) || WEXITSTATUS(tstatus) != 0)
            GTEST_SKIP() << "ptrace refused here (status " << tstatus << ")";
        ASSERT_TRUE(c.wait_for([&](auto &ev) { return has(ev, child, MS_PROC_EV_PTRACE_DETACH); }))
            << describe(of_pid(c.events(), child));
        auto mine = of_pid(c.events(), child);
        auto attach = std::find_if(mine.begin(), mine.end(), [](auto &e) { return e.kind == MS_PROC_EV_PTRACE_ATTACH; });
        ASSERT_NE(attach, mine.end()) << describe(mine);
        EXPECT_EQ(attach->ppid, tracer);
        EXPECT_EQ(attach->tid, child);
    }
    ms_watch_close(w);
}

TEST(Watch, PollerReportsNewProgramsAndExitsOfOwnChildren)
{
    Agent agent;
    ms_watch *w = nullptr;
    ASSERT_EQ(open_poller(agent.a, &w), MS_OK) << ms_last_error();
    EXPECT_EQ(info_of(w).source, MS_WATCH_SOURCE_POLLER);
    EXPECT_EQ(info_of(w).reason, MS_WATCH_REASON_FORCED);
    {
        Collector c(w);
        // Lives as a copy of this test for 300 ms (several passes), then runs sleep.
        pid_t child = fork();
        if (child == 0) {
            usleep(300 * 1000);
            execl("/bin/sleep", "sleep", "0.3", (char *)nullptr);
            _exit(127);
        }
        ASSERT_TRUE(c.wait_for([&](auto &ev) { return has(ev, child, MS_PROC_EV_FORK); }));
        int status;
        auto mine = reap_and_collect(c, child, 0, &status);
        // FORK and EXEC when it appears, EXEC when sleep replaced the copy, EXIT.
        ASSERT_EQ(mine.size(), 4u) << describe(mine);
        EXPECT_EQ(mine[0].kind, MS_PROC_EV_FORK);
        EXPECT_EQ(mine[0].ppid, getpid());
        EXPECT_EQ(mine[1].kind, MS_PROC_EV_EXEC);
        EXPECT_EQ(mine[2].kind, MS_PROC_EV_EXEC);
        EXPECT_GT(mine[2].time_ns, mine[1].time_ns);
        EXPECT_EQ(mine[3].kind, MS_PROC_EV_EXIT);
        EXPECT_EQ(mine[3].exit_code, -1) << "the poller cannot know the exit code";
    }
    ms_watch_close(w);
}

TEST(Watch, PollerReportsEachOfSeveralChildrenOnceWithItsParent)
{
    Agent agent;
    ms_watch *w = nullptr;
    ASSERT_EQ(open_poller(agent.a, &w), MS_OK) << ms_last_error();
    std::vector<pid_t> children;
    {
        Collector c(w);
        for (int i = 0; i < 5; i++)
            children.push_back(spawn_exit(0, 150));
        for (pid_t p : children)
            reap(p);
        ASSERT_TRUE(c.wait_for([&](auto &ev) {
            return std::all_of(children.begin(), children.end(), [&](pid_t p) { return has(ev, p, MS_PROC_EV_EXIT); });
        })) << describe(c.events());
        for (pid_t p : children) {
            auto mine = of_pid(c.events(), p);
            ASSERT_GE(mine.size(), 3u) << describe(mine);
            EXPECT_EQ(mine.front().kind, MS_PROC_EV_FORK);
            EXPECT_EQ(mine.front().ppid, getpid());
            EXPECT_EQ(mine.back().kind, MS_PROC_EV_EXIT);
            EXPECT_EQ(std::count_if(mine.begin(), mine.end(), [](auto &e) { return e.kind == MS_PROC_EV_FORK; }), 1);
        }
    }
    ms_watch_close(w);
}

TEST(Watch, PollerPastItsBoundCountsTheRestAsLost)
{
    // Memory stays bounded: with room for 3 processes the rest of the host is never followed,
    // and each pass says how many it left out.
    Agent agent;
    ms_watch *w = nullptr;
    ASSERT_EQ(open_poller(agent.a, &w, 20, 3), MS_OK) << ms_last_error();
    std::vector<ms_proc_event> seen;
    ms_status st = ms_watch_run(
        w,
        [](const ms_proc_event *e, void *u) {
            auto *v = static_cast<std::vector<ms_proc_event> *>(u);
            v->push_back(*e);
            return e->kind == MS_PROC_EV_LOST ? 1 : 0;
        },
        &seen);
    EXPECT_EQ(st, MS_E_STOPPED);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().kind, MS_PROC_EV_LOST);
    EXPECT_GT(seen.back().lost, 0) << "this test, its parents and the host exceed 3 processes";
    EXPECT_EQ((int64_t)info_of(w).lost, seen.back().lost);
    ms_watch_close(w);
}

TEST(Watch, TinyReceiveBufferAndForkBurstGiveALostCount)
{
    Agent agent;
    ms_watch *w = nullptr;
    OPEN_CONNECTOR_OR_SKIP(agent.a, &w, 1); // 1 byte: the kernel's minimum, a few messages
    // Nobody reads while 200 children fork and exit: 400 events for a queue of a few.
    const int burst = 200;
    std::set<int64_t> children;
    for (int i = 0; i < burst; i++) {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        ASSERT_GT(p, 0);
        children.insert(p);
    }
    for (int64_t p : children)
        reap((pid_t)p);
    Collector c(w);
    ASSERT_TRUE(c.wait_for([](auto &ev) {
        return std::any_of(ev.begin(), ev.end(), [](auto &e) { return e.kind == MS_PROC_EV_LOST; });
    })) << "no LOST event";
    // Let the queue drain so every drop is in the counter.
    std::this_thread::sleep_for(200ms);
    ASSERT_EQ(c.stop(), MS_OK);
    int64_t lost = 0;
    size_t delivered = 0;
    for (auto &e : c.events()) {
        if (e.kind == MS_PROC_EV_LOST) {
            ASSERT_GT(e.lost, 0) << "SO_MEMINFO gives the exact count here";
            lost += e.lost;
        } else if (children.count(e.pid)) {
            delivered++;
        }
    }
    // Each of our children's 2 events was either delivered or dropped (the drops count the host's too).
    EXPECT_GE((int64_t)delivered + lost, 2 * burst) << "delivered " << delivered << ", lost " << lost;
    EXPECT_LT(delivered, (size_t)2 * burst);
    EXPECT_EQ((int64_t)info_of(w).lost, lost);
    ms_watch_close(w);
}

TEST(Watch, StopFromAnotherThreadEndsRunPromptly)
{
    Agent agent;
    for (int32_t source : {MS_WATCH_SOURCE_AUTO, MS_WATCH_SOURCE_POLLER}) {
        ms_watch_options o;
        ms_watch_options_init(&o);
        o.source = source;
        o.poll_interval_ms = 60000; // a poller that would sleep for a minute
        ms_watch *w = nullptr;
        ASSERT_EQ(ms_watch_open(agent.a, &o, &w), MS_OK) << ms_last_error();
        std::atomic<bool> done{false};
        ms_status st = MS_E_INTERNAL;
        std::thread runner([&] {
            st = ms_watch_run(w, [](const ms_proc_event *, void *) { return 0; }, nullptr);
            done = true;
        });
        std::this_thread::sleep_for(100ms);
        EXPECT_FALSE(done.load());
        auto t0 = std::chrono::steady_clock::now();
        ms_watch_stop(w);
        runner.join();
        auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(st, MS_OK) << ms_last_error();
        EXPECT_LT(took, 5s) << "stop must not wait for the poll interval";
        // A stop before run ends the next run at once.
        ms_watch_stop(w);
        EXPECT_EQ(ms_watch_run(w, [](const ms_proc_event *, void *) { return 0; }, nullptr), MS_OK);
        ms_watch_close(w);
    }
}

TEST(Watch, CallbackStopEndsRunWithStopped)
{
    Agent agent;
    ms_watch *w = nullptr;
    ASSERT_EQ(open_poller(agent.a, &w), MS_OK);
    pid_t child = spawn_exit(0, 200);
    int calls = 0;
    ms_status st = ms_watch_run(
        w, [](const ms_proc_event *, void *u) { return ++*static_cast<int *>(u) > 0 ? 1 : 0; }, &calls);
    reap(child);
    EXPECT_EQ(st, MS_E_STOPPED);
    EXPECT_EQ(calls, 1);
    ms_watch_close(w);
}

TEST(Watch, InvalidArgumentsAndNames)
{
    Agent agent;
    ms_watch *w = nullptr;
    ms_watch_options o;
    ms_watch_options_init(&o);
    o.source = 7;
    EXPECT_EQ(ms_watch_open(agent.a, &o, &w), MS_E_INVALID_ARGUMENT);
    ms_watch_options_init(&o);
    o.poll_interval_ms = -1;
    EXPECT_EQ(ms_watch_open(agent.a, &o, &w), MS_E_INVALID_ARGUMENT);
    ms_watch_options_init(&o);
    o.receive_buffer = -5;
    EXPECT_EQ(ms_watch_open(agent.a, &o, &w), MS_E_INVALID_ARGUMENT);
    o.struct_size = 2;
    EXPECT_EQ(ms_watch_open(agent.a, &o, &w), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_watch_open(nullptr, nullptr, &w), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(w, nullptr);
    EXPECT_EQ(ms_watch_run(nullptr, nullptr, nullptr), MS_E_INVALID_ARGUMENT);
    ms_watch_close(nullptr);
    ms_watch_stop(nullptr);
    EXPECT_STREQ(ms_watch_source_name(MS_WATCH_SOURCE_POLLER), "proc-poller");
    EXPECT_STREQ(ms_watch_source_name(MS_WATCH_SOURCE_CONNECTOR), "netlink-connector");
    EXPECT_STREQ(ms_watch_reason_name(MS_WATCH_REASON_PID_NAMESPACE), "pid-namespace");
    EXPECT_STREQ(ms_proc_event_kind_name(MS_PROC_EV_LOST), "lost");
    EXPECT_STREQ(ms_proc_event_kind_name(99), "unknown");
}

// ---- inside a child PID namespace ----

struct ProbeRun {
    bool started = false;
    std::string output;
    std::map<std::string, std::map<std::string, std::string>> lines; // first word -> fields (last line wins)
    std::vector<std::map<std::string, std::string>> events;
};

ProbeRun run_watch_probe(const std::string &mode = "")
{
    std::string cmd =
        std::string("exec unshare --pid --fork --mount-proc '") + MS_HELPER_DIR + "/watch_probe' " + mode + " 2>&1";
    ProbeRun run;
    int status = for_each_output_line(cmd, [&](const std::string &s) {
        run.output += s + "\n";
        std::istringstream words(s);
        std::string word, kv;
        words >> word;
        if (word == "PROBE-START")
            run.started = true;
        std::map<std::string, std::string> f;
        while (words >> kv) {
            size_t eq = kv.find('=');
            if (eq != std::string::npos)
                f[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        if (word == "EVENT")
            run.events.push_back(f);
        run.lines[word] = f;
    });
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        run.output += "exit status " + std::to_string(status) + "\n";
    return run;
}

TEST(Watch, InAChildPidNamespaceThePidsAreTheNamespacesOwn)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "unshare --pid needs root here";
    // A connector listener of our own outside, so the kernel builds events
    // (with the initial namespace's pids) while the probe runs.
    Agent agent;
    ms_watch *outside = nullptr;
    ms_status st = open_connector(agent.a, &outside);
    ProbeRun run = run_watch_probe();
    ms_watch_close(outside);
    if (!run.started)
        GTEST_SKIP() << "cannot create a PID namespace here: " << run.output;
    if (st == MS_OK) {
        EXPECT_EQ(run.lines["FORCED-CONNECTOR"]["status"], "unsupported") << run.output;
    }
    ASSERT_EQ(run.lines["SOURCE"]["source"], "proc-poller") << run.output;
    EXPECT_EQ(run.lines["SOURCE"]["reason"], "pid-namespace") << run.output;
    EXPECT_EQ(run.lines["SOURCE"]["pid"], "1") << run.output;
    const std::string child = run.lines["CHILD"]["pid"];
    ASSERT_FALSE(child.empty()) << run.output;
    EXPECT_LT(std::stoi(child), 100) << "a pid of the new namespace";
    ASSERT_GE(run.events.size(), 3u) << run.output;
    EXPECT_EQ(run.events.front()["kind"], "fork") << run.output;
    EXPECT_EQ(run.events.front()["ppid"], "1") << run.output;
    EXPECT_EQ(run.events.back()["kind"], "exit") << run.output;
    for (auto &e : run.events)
        EXPECT_EQ(e["pid"], child) << run.output;
    EXPECT_EQ(run.lines["RUN"]["status"], "stopped") << run.output;
}

TEST(Watch, InAChildPidNamespaceThePollerSeesAReusedPidAsANewProcess)
{
    // The first child is seen, killed and reaped; ns_last_pid gives its pid to a second child
    // before the next pass. Same pid, another start time: an exit, then a new process.
    if (geteuid() != 0)
        GTEST_SKIP() << "unshare --pid needs root here";
    ProbeRun run = run_watch_probe("reuse");
    if (!run.started || run.lines.count("SKIP"))
        GTEST_SKIP() << "cannot reuse a pid here: " << run.output;
    const std::string pid = run.lines["REUSED"]["pid"];
    ASSERT_FALSE(pid.empty()) << run.output;
    std::vector<std::string> kinds;
    for (auto &e : run.events) {
        EXPECT_EQ(e["pid"], pid) << run.output;
        kinds.push_back(e["kind"]);
    }
    EXPECT_EQ(kinds, (std::vector<std::string>{"exit", "fork", "exec", "exit"})) << run.output;
    ASSERT_GE(run.events.size(), 2u) << run.output;
    EXPECT_EQ(run.events[1]["ppid"], "1") << run.output;
    EXPECT_EQ(run.lines["RUN"]["status"], "stopped") << run.output;
}

// ---- the parsers, on crafted (hostile) input ----

// One netlink message holding a cn_msg and a proc_event of `what` with `data` after its head.
std::vector<uint8_t> datagram(uint32_t what, const std::vector<int32_t> &data, uint32_t idx = CN_IDX_PROC,
                              int cn_len_delta = 0)
{
    std::vector<uint8_t> ev(16 + 4 * data.size());
    memcpy(ev.data(), &what, 4);
    uint64_t ts = 1234;
    memcpy(ev.data() + 8, &ts, 8);
    memcpy(ev.data() + 16, data.data(), 4 * data.size());
    cn_msg cn = {};
    cn.id.idx = idx;
    cn.id.val = CN_VAL_PROC;
    cn.ack = 0;
    cn.len = (uint16_t)(ev.size() + cn_len_delta);
    nlmsghdr nh = {};
    nh.nlmsg_len = (uint32_t)(sizeof nh + sizeof cn + ev.size());
    nh.nlmsg_type = NLMSG_DONE;
    std::vector<uint8_t> out(NLMSG_ALIGN(sizeof nh + sizeof cn + ev.size()), 0);
    memcpy(out.data(), &nh, sizeof nh);
    memcpy(out.data() + sizeof nh, &cn, sizeof cn);
    memcpy(out.data() + sizeof nh + sizeof cn, ev.data(), ev.size());
    return out;
}

std::vector<ms__cn_event> parse(const std::vector<uint8_t> &d, ms__cn_parse_result *r)
{
    std::vector<ms__cn_event> out;
    ms__cn_parse(
        d.data(), d.size(),
        [](const ms__cn_event *e, void *u) {
            static_cast<std::vector<ms__cn_event> *>(u)->push_back(*e);
            return 0;
        },
        &out, r);
    return out;
}

TEST(WatchParse, ConnectorEventsAndTheirFilter)
{
    auto d = datagram(proc_event::PROC_EVENT_FORK, {100, 100, 200, 200});
    auto thread = datagram(proc_event::PROC_EVENT_FORK, {100, 100, 201, 200});
    auto exit = datagram(proc_event::PROC_EVENT_EXIT, {200, 200, 7 << 8, 17});
    for (auto *more : {&thread, &exit})
        for (uint8_t b : *more)
            d.push_back(b);
    ms__cn_parse_result r;
    auto ev = parse(d, &r);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(r.malformed, 0u);
    ms_proc_event out;
    ASSERT_TRUE(ms__cn_to_proc_event(&ev[0], &out));
    EXPECT_EQ(out.kind, MS_PROC_EV_FORK);
    EXPECT_EQ(out.pid, 200);
    EXPECT_EQ(out.ppid, 100);
    EXPECT_EQ(out.time_ns, 1234);
    EXPECT_FALSE(ms__cn_to_proc_event(&ev[1], &out)) << "a thread is no process";
    ASSERT_TRUE(ms__cn_to_proc_event(&ev[2], &out));
    EXPECT_EQ(out.kind, MS_PROC_EV_EXIT);
    EXPECT_EQ(out.exit_code, 7 << 8);
    auto detach = datagram(proc_event::PROC_EVENT_PTRACE, {201, 200, 0, 0});
    ev = parse(detach, &r);
    ASSERT_EQ(ev.size(), 1u);
    ASSERT_TRUE(ms__cn_to_proc_event(&ev[0], &out));
    EXPECT_EQ(out.kind, MS_PROC_EV_PTRACE_DETACH);
    EXPECT_EQ(out.pid, 200);
    EXPECT_EQ(out.tid, 201);
}

TEST(WatchParse, HostileConnectorMessagesAreRefused)
{
    ms__cn_parse_result r;
    // Another connector's index, an event shorter than its kind needs, a cn_msg longer than the message.
    EXPECT_TRUE(parse(datagram(proc_event::PROC_EVENT_FORK, {1, 1, 2, 2}, CN_IDX_PROC + 1), &r).empty());
    EXPECT_EQ(r.malformed, 1u);
    EXPECT_TRUE(parse(datagram(proc_event::PROC_EVENT_FORK, {1, 1, 2}), &r).empty());
    EXPECT_EQ(r.malformed, 1u);
    EXPECT_TRUE(parse(datagram(proc_event::PROC_EVENT_EXEC, {5, 5}, CN_IDX_PROC, 64), &r).empty());
    EXPECT_EQ(r.malformed, 1u);
    // Pids that cannot be: negative, zero, past PID_MAX_LIMIT.
    for (int32_t bad : {-1, 0, (1 << 22) + 1}) {
        EXPECT_TRUE(parse(datagram(proc_event::PROC_EVENT_EXEC, {bad, bad}), &r).empty()) << bad;
        EXPECT_EQ(r.malformed, 1u);
    }
    // A netlink length past the datagram stops the parse; a truncated datagram too.
    auto d = datagram(proc_event::PROC_EVENT_EXEC, {5, 5});
    uint32_t huge = 4096;
    memcpy(d.data(), &huge, 4);
    EXPECT_TRUE(parse(d, &r).empty());
    EXPECT_EQ(r.malformed, 1u);
    d = datagram(proc_event::PROC_EVENT_EXEC, {5, 5});
    d.resize(d.size() - 4);
    EXPECT_TRUE(parse(d, &r).empty());
    EXPECT_GE(r.malformed, 1u);
    std::vector<uint8_t> tiny(7, 0xff);
    EXPECT_TRUE(parse(tiny, &r).empty());
    EXPECT_EQ(r.malformed, 1u);
}

TEST(WatchParse, StatIdentityAndNspid)
{
    char state, comm[16];
    int64_t ppid = -1;
    uint64_t start = 0;
    // A command name with spaces and parentheses ends at the last ')'.
    EXPECT_TRUE(ms__stat_identity("42 (a) b) (c) S 7 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 1\n", &state,
                                  &ppid, &start, comm, sizeof comm));
    EXPECT_EQ(state, 'S');
    EXPECT_EQ(ppid, 7);
    EXPECT_EQ(start, 98765u);
    EXPECT_STREQ(comm, "a) b) (c");
    EXPECT_TRUE(ms__stat_identity("1 (averyveryverylongname) Z 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n", &state, &ppid,
                                  &start, comm, sizeof comm));
    EXPECT_EQ(strlen(comm), 15u);
    EXPECT_EQ(state, 'Z');
    EXPECT_FALSE(ms__stat_identity("1 (x) S 1 1 1", &state, &ppid, &start, comm, sizeof comm)) << "truncated";
    EXPECT_FALSE(ms__stat_identity("1 (x) S -4 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n", &state, &ppid, &start, comm,
                                   sizeof comm));
    EXPECT_FALSE(ms__stat_identity("1 x S 1", &state, &ppid, &start, comm, sizeof comm));
    EXPECT_EQ(ms__nspid_depth("Name:\tsh\nNSpid:\t21368\t42\nNSpgid:\t1\n"), 2);
    EXPECT_EQ(ms__nspid_depth("NSpid:\t77\n"), 1);
    EXPECT_EQ(ms__nspid_depth("NSpid:\t7x\n"), 0);
    EXPECT_EQ(ms__nspid_depth("Name:\tsh\n"), 0);
}

} // namespace
