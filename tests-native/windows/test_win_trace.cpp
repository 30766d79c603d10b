// The Windows tracer (debug loop + crash-safe hooks) under Wine: the calls of victim_win_wx are
// seen with their arguments and results, in launch and attach mode, the alerts are raised, and
// the victim runs on and exits normally after every way a trace can end, the tracer's own death
// included.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <memsentry/memsentry.h>

#include "victim_win.hpp"

namespace {

struct Call {
    DWORD tid;
    std::string name, prot, flags, error;
    uint64_t addr, len, protect, type, target_pid, old_protect;
    int64_t ret;
};

struct Alert {
    std::string rule;
    uint64_t start, end;
    std::string before, after;
    int64_t target_pid;
};

struct Seen {
    std::vector<Call> calls;
    std::vector<DWORD> attached_after_first_call; // threads that came while the hooks were live
    std::vector<Alert> alerts;
    int threads_attached = 0;
    int process_exits = 0;
    int32_t exit_code = -1;
};

int on_event(const ms_trace_event *e, void *user)
{
    auto *s = static_cast<Seen *>(user);
    if (e->kind == MS_TRACE_EV_SYSCALL) {
        EXPECT_EQ(e->abi, MS_TRACE_ABI_WIN64);
        s->calls.push_back(Call{(DWORD)e->tid, e->syscall, e->prot, e->flags, e->error_name, e->args[0], e->args[1],
                                e->args[2], e->args[3], e->args[4], e->args[5], e->ret});
    } else if (e->kind == MS_TRACE_EV_THREAD_ATTACHED) {
        s->threads_attached++;
        if (!s->calls.empty())
            s->attached_after_first_call.push_back((DWORD)e->tid);
    } else if (e->kind == MS_TRACE_EV_PROCESS_EXITED) {
        s->process_exits++;
        s->exit_code = e->exit_code;
    }
    return 0;
}

int on_alert(const ms_trace_alert *a, void *user)
{
    static_cast<Seen *>(user)->alerts.push_back(
        Alert{a->rule_id, a->start, a->end, a->perms_before, a->perms_after, a->target_pid});
    return 0;
}

struct Session {
    ms_agent *agent = nullptr;
    ms_trace *trace = nullptr;
    Seen seen;
    explicit Session(int64_t duration_ms = 0)
    {
        EXPECT_EQ(ms_agent_open(&agent), MS_OK);
        ms_trace_options o;
        ms_trace_options_init(&o);
        o.duration_ms = duration_ms;
        o.on_event = on_event;
        o.event_user = &seen;
        o.on_alert = on_alert;
        o.alert_user = &seen;
        EXPECT_EQ(ms_trace_open(agent, &o, &trace), MS_OK);
    }
    ~Session()
    {
        ms_trace_close(trace);
        ms_agent_close(agent);
    }
    std::vector<Call> ours(const std::string &name) const
    {
        std::vector<Call> out;
        for (auto &c : seen.calls)
            if (c.name == name && c.len == 0x3000)
                out.push_back(c);
        return out;
    }
    size_t alerts(const std::string &rule) const
    {
        return (size_t)std::count_if(seen.alerts.begin(), seen.alerts.end(), [&](const Alert &a) { return a.rule == rule; });
    }
};

std::string victim_utf8(const std::string &name)
{
    return narrow(victim_path(name));
}

bool debugged(HANDLE process)
{
    BOOL yes = FALSE;
    return CheckRemoteDebuggerPresent(process, &yes) && yes;
}

} // namespace

TEST(WinTrace, LaunchSeesEveryCallOfBothThreadsWithArgumentsAndResults)
{
    Session s;
    std::string exe = victim_utf8("victim_win_wx");
    const char *argv[] = {exe.c_str(), "loops=40", "threads=2", "exit=7", nullptr};
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    ASSERT_EQ(ms_trace_launch(s.trace, argv, &sum), MS_OK) << ms_last_error();
    EXPECT_EQ(sum.end, MS_TRACE_END_EXITED);
    EXPECT_EQ(sum.exit_code, 7);
    EXPECT_EQ(s.seen.exit_code, 7);
    auto allocs = s.ours("NtAllocateVirtualMemory");
    auto protects = s.ours("NtProtectVirtualMemory");
    ASSERT_EQ(allocs.size(), 80u);
    ASSERT_EQ(protects.size(), 80u);
    std::map<DWORD, int> per_thread;
    for (auto &c : allocs) {
        EXPECT_EQ(c.prot, "PAGE_READWRITE");
        EXPECT_EQ(c.flags, "MEM_COMMIT|MEM_RESERVE");
        EXPECT_EQ(c.ret, 0);
        EXPECT_EQ(c.target_pid, (uint64_t)sum.pid);
        EXPECT_NE(c.addr, 0u);
        per_thread[c.tid]++;
    }
    EXPECT_EQ(per_thread.size(), 2u) << "both threads' calls are seen";
    for (auto &c : protects) {
        EXPECT_EQ(c.prot, "PAGE_EXECUTE_READ");
        EXPECT_EQ(c.old_protect, (uint64_t)PAGE_READWRITE);
        EXPECT_EQ(c.ret, 0);
    }
    // Every freed block was one the victim allocated; the frees report the released size.
    size_t frees = 0;
    for (auto &c : s.seen.calls)
        if (c.name == "NtFreeVirtualMemory" && c.flags == "MEM_RELEASE" &&
            std::any_of(allocs.begin(), allocs.end(), [&](const Call &a) { return a.addr == c.addr; }))
            frees++;
    EXPECT_EQ(frees, 80u);
    EXPECT_EQ(s.alerts("trace.wx_transition"), 80u);
    for (auto &a : s.seen.alerts)
        if (a.rule == "trace.wx_transition") {
            EXPECT_EQ(a.before, "rw-p");
            EXPECT_EQ(a.after, "r-xp");
            EXPECT_EQ(a.end - a.start, 0x3000u);
        }
}

TEST(WinTrace, AllocationReadWriteExecuteIsAnAlert)
{
    Session s;
    std::string exe = victim_utf8("victim_win_wx");
    const char *argv[] = {exe.c_str(), "loops=1", "threads=1", "rwx=1", nullptr};
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    ASSERT_EQ(ms_trace_launch(s.trace, argv, &sum), MS_OK) << ms_last_error();
    EXPECT_EQ(sum.exit_code, 0);
    EXPECT_EQ(s.alerts("trace.map_wx"), 1u);
    auto rwx = std::find_if(s.seen.calls.begin(), s.seen.calls.end(),
                            [](const Call &c) { return c.prot == "PAGE_EXECUTE_READWRITE"; });
    ASSERT_NE(rwx, s.seen.calls.end());
    EXPECT_EQ(rwx->name, "NtAllocateVirtualMemory");
}

TEST(WinTrace, CrossProcessInjectionIsReportedWithItsTarget)
{
    Victim target("victim_win_wx", {L"loops=0", L"threads=1", L"sleep=5"});
    Session s;
    std::string exe = victim_utf8("victim_win_wx");
    std::string inject = "inject=" + std::to_string(target.pid());
    const char *argv[] = {exe.c_str(), inject.c_str(), "loops=1", "threads=1", nullptr};
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    ASSERT_EQ(ms_trace_launch(s.trace, argv, &sum), MS_OK) << ms_last_error();
    EXPECT_EQ(sum.exit_code, 0) << "the injector succeeded";
    std::vector<std::string> what;
    for (auto &c : s.seen.calls)
        if (c.target_pid == target.pid())
            what.push_back(c.name);
    EXPECT_NE(std::find(what.begin(), what.end(), "NtWriteVirtualMemory"), what.end());
    EXPECT_NE(std::find(what.begin(), what.end(), "NtCreateThreadEx"), what.end());
    size_t injector = 0;
    for (auto &a : s.seen.alerts)
        if (a.rule == "trace.injector") {
            EXPECT_EQ(a.target_pid, (int64_t)target.pid());
            injector++;
        }
    EXPECT_GE(injector, 3u) << "allocation, write and thread in the other process";
    EXPECT_TRUE(target.running());
    EXPECT_EQ(target.stop(), 0u);
}

TEST(WinTrace, AttachForADurationLeavesTheVictimRunningUndebugged)
{
    Victim v("victim_win_wx", {L"loops=0", L"threads=2", L"sleep=2"});
    Session s(1500);
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    ASSERT_EQ(ms_trace_attach(s.trace, v.pid(), &sum), MS_OK) << ms_last_error();
    EXPECT_EQ(sum.end, MS_TRACE_END_DURATION);
    EXPECT_GE(s.seen.threads_attached, 3);
    auto protects = s.ours("NtProtectVirtualMemory");
    EXPECT_GT(protects.size(), 10u);
    EXPECT_GE(s.alerts("trace.wx_transition"), protects.size());
    EXPECT_FALSE(debugged(v.process()));
    Sleep(200);
    EXPECT_TRUE(v.running());
    EXPECT_EQ(v.stop(), 0u) << "the victim finishes its loop normally";
}

TEST(WinTrace, AThreadStartedDuringTheTraceIsTracedAndAnExitEndsIt)
{
    Victim v("victim_win_wx", {L"loops=150", L"threads=1", L"sleep=2", L"late=400"});
    Session s(20000);
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    ASSERT_EQ(ms_trace_attach(s.trace, v.pid(), &sum), MS_OK) << ms_last_error();
    EXPECT_EQ(sum.end, MS_TRACE_END_EXITED) << "the victim finished its loops while traced";
    EXPECT_EQ(sum.exit_code, 0);
    ASSERT_FALSE(s.seen.attached_after_first_call.empty()) << "the late thread was seen coming";
    DWORD late = s.seen.attached_after_first_call.back();
    auto from_late = std::count_if(s.seen.calls.begin(), s.seen.calls.end(), [&](const Call &c) {
        return c.tid == late && c.name == "NtProtectVirtualMemory" && c.len == 0x3000;
    });
    EXPECT_GT(from_late, 0) << "its calls went through the hooks too";
    EXPECT_EQ(v.stop(), 0u);
}

TEST(WinTrace, StopFromAnotherThreadEndsTheTraceAndDetaches)
{
    Victim v("victim_win_wx", {L"loops=0", L"threads=2", L"sleep=1"});
    Session s;
    std::thread stopper([&] {
        Sleep(700);
        ms_trace_stop(s.trace);
    });
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    ms_status st = ms_trace_attach(s.trace, v.pid(), &sum);
    stopper.join();
    ASSERT_EQ(st, MS_OK) << ms_last_error();
    EXPECT_EQ(sum.end, MS_TRACE_END_STOPPED);
    EXPECT_GT(s.ours("NtProtectVirtualMemory").size(), 0u);
    EXPECT_FALSE(debugged(v.process()));
    Sleep(200);
    EXPECT_TRUE(v.running());
    EXPECT_EQ(v.stop(), 0u);
}

TEST(WinTrace, ASecondTracerAndTheCallerItselfAreRefused)
{
    Victim v("victim_win_wx", {L"loops=0", L"threads=1", L"sleep=2"});
    Session first(3000);
    std::atomic<bool> started{false};
    std::thread tracing([&] {
        ms_trace_summary sum{};
        sum.struct_size = sizeof sum;
        started = true;
        EXPECT_EQ(ms_trace_attach(first.trace, v.pid(), &sum), MS_OK);
    });
    while (!started)
        Sleep(10);
    Sleep(700);
    Session second;
    ms_trace_summary sum{};
    sum.struct_size = sizeof sum;
    EXPECT_EQ(ms_trace_attach(second.trace, v.pid(), &sum), MS_E_BUSY);
    EXPECT_NE(std::string(ms_last_error()).find("debug"), std::string::npos) << ms_last_error();
    EXPECT_EQ(ms_trace_attach(second.trace, GetCurrentProcessId(), &sum), MS_E_PROTECTED);
    ms_trace_stop(first.trace);
    tracing.join();
    EXPECT_EQ(v.stop(), 0u);
}

// The tracer is a separate program (win_tracer.exe) killed with TerminateProcess while its hooks
// are in place and the victim is busy in them: the victim completes its loop and exits 0.
TEST(WinTrace, TheVictimSurvivesTheTracerBeingKilledMidTrace)
{
    for (int round = 0; round < 3; round++) {
        Victim v("victim_win_wx", {L"loops=400", L"threads=2", L"sleep=1"});
        std::wstring cmd = L"\"" + test_exe_dir() + L"\\win_tracer.exe\" " + std::to_wstring(v.pid());
        SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
        HANDLE out_r, out_w;
        ASSERT_TRUE(CreatePipe(&out_r, &out_w, &sa, 0));
        SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
        STARTUPINFOW si{};
        si.cb = sizeof si;
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdOutput = out_w;
        si.hStdError = out_w;
        PROCESS_INFORMATION pi{};
        ASSERT_TRUE(CreateProcessW(nullptr, &cmd[0], nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi));
        CloseHandle(out_w);
        CloseHandle(pi.hThread);
        // win_tracer prints HOOKED once it has seen calls through the hooks.
        std::string text;
        char c;
        DWORD n;
        while (text.find("HOOKED") == std::string::npos && ReadFile(out_r, &c, 1, &n, nullptr) && n == 1)
            text += c;
        ASSERT_NE(text.find("HOOKED"), std::string::npos) << text;
        Sleep(50 * (DWORD)round);
        ASSERT_TRUE(TerminateProcess(pi.hProcess, 9));
        WaitForSingleObject(pi.hProcess, INFINITE);
        CloseHandle(pi.hProcess);
        CloseHandle(out_r);
        ASSERT_TRUE(v.wait_exit(60000)) << "round " << round << ": the victim did not finish its loop";
        EXPECT_EQ(v.stop(), 0u) << "round " << round;
    }
}
