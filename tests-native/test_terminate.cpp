// Termination and protection against real child processes, real signals and
// real PID namespaces. The oracle for what happened to a victim is its wait
// status (which signal ended it, or a normal exit when nothing was sent).
// Anything aimed at PID 1 or at a recycled PID runs inside
// `unshare --pid --fork --mount-proc`, holding only what the test started.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <memsentry/memsentry.h>

extern "C" {
#include "common/protect.h"
}
#include "command_output.hpp"
#include "test_support.hpp"
#include "victim.hpp"

namespace {

struct Outcome {
    ms_status status;
    ms_terminate_report report;
    std::vector<int32_t> signals() const { return {report.signals, report.signals + report.signal_count}; }
};

Outcome terminate(ms_agent *agent, int64_t pid, uint32_t grace_ms = MS_TERMINATE_DEFAULT_GRACE_MS,
                  bool dry_run = false)
{
    ms_terminate_options opts = MS_TERMINATE_OPTIONS_INIT;
    opts.grace_ms = grace_ms;
    opts.dry_run = dry_run ? 1 : 0;
    Outcome o{};
    o.report.struct_size = sizeof o.report;
    o.status = ms_terminate(agent, pid, &opts, &o.report);
    return o;
}

Outcome terminate_pidfd(ms_agent *agent, int pidfd, uint32_t grace_ms = 300)
{
    ms_terminate_options opts = MS_TERMINATE_OPTIONS_INIT;
    opts.grace_ms = grace_ms;
    Outcome o{};
    o.report.struct_size = sizeof o.report;
    o.status = ms_terminate_pidfd(agent, pidfd, &opts, &o.report);
    return o;
}

int32_t protection_of(ms_agent *agent, int64_t pid, std::string *detail = nullptr)
{
    int32_t reason = -1;
    char text[256] = {};
    EXPECT_EQ(ms_protect_check(agent, pid, &reason, text, sizeof text), MS_OK) << ms_last_error();
    if (detail)
        *detail = text;
    return reason;
}

int pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0u);
}

// Whether a child of ours is still running (not exited, not a zombie).
bool still_running(pid_t pid)
{
    siginfo_t info{};
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

bool killed_by(int status, int sig)
{
    return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

bool exited_cleanly(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string describe(const Outcome &o)
{
    std::ostringstream s;
    s << ms_status_name(o.status) << " result=" << ms_terminate_result_name(o.report.result)
      << " protection=" << ms_protect_reason_name(o.report.protection) << " signals=" << o.report.signal_count
      << " reason=" << o.report.reason;
    return s.str();
}

// ---- the probe helper: a process whose position the test controls ----

struct ProbeRun {
    bool started = false;
    int exit_status = -1;
    std::string output;
    std::map<std::string, std::map<std::string, std::string>> results; // case -> fields
    std::map<std::string, std::map<std::string, std::string>> lines;   // first word -> fields
};

std::map<std::string, std::string> fields_of(const std::string &rest)
{
    std::map<std::string, std::string> f;
    size_t reason = rest.find(" reason=");
    std::string head = reason == std::string::npos ? rest : rest.substr(0, reason);
    std::istringstream words(head);
    std::string kv;
    while (words >> kv) {
        size_t eq = kv.find('=');
        if (eq != std::string::npos)
            f[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (reason != std::string::npos)
        f["reason"] = rest.substr(reason + 8);
    return f;
}

enum class Namespace { Same, NewWithProc, NewWithoutProc };

ProbeRun run_probe(const std::string &args, Namespace ns)
{
    std::string cmd;
    if (ns != Namespace::Same)
        cmd = geteuid() == 0 ? "unshare --pid --fork " : "unshare --user --map-root-user --pid --fork ";
    if (ns == Namespace::NewWithProc)
        cmd += "--mount-proc ";
    cmd = "exec " + cmd + std::string("'") + MS_HELPER_DIR + "/terminate_probe' " + args + " 2>&1";
    ProbeRun run;
    run.exit_status = for_each_output_line(cmd, [&](const std::string &s) {
        run.output += s + "\n";
        size_t space = s.find(' ');
        std::string word = s.substr(0, space);
        std::string rest = space == std::string::npos ? "" : s.substr(space + 1);
        if (word == "PROBE-START")
            run.started = true;
        auto f = fields_of(rest);
        if (word == "RESULT")
            run.results[f["case"]] = f;
        else
            run.lines[word] = f;
    });
    return run;
}

// ---- terminating children ----

TEST(Terminate, ChildThatIgnoresSigtermIsKilledAfterTheGrace)
{
    Victim v("victim_ignore_term");
    Agent agent;
    Outcome o = terminate(agent.a, v.pid(), 300);
    ASSERT_EQ(o.status, MS_OK) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_KILLED) << describe(o);
    EXPECT_EQ(o.signals(), (std::vector<int32_t>{MS_SIGNAL_TERM, MS_SIGNAL_KILL}));
    EXPECT_EQ(o.report.pid, v.pid());
    EXPECT_EQ(o.report.protection, MS_PROTECT_NONE);
    // SIGKILL only comes once the grace has run out: a property, not a speed.
    EXPECT_GE(o.report.elapsed_ms, 300);
    EXPECT_TRUE(killed_by(v.stop(), SIGKILL));
}

TEST(Terminate, ChildThatExitsOnSigtermIsTerminated)
{
    Victim v("victim_exit_on_term");
    Agent agent;
    Outcome o = terminate(agent.a, v.pid());
    ASSERT_EQ(o.status, MS_OK) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_TERMINATED) << describe(o);
    EXPECT_EQ(o.signals(), (std::vector<int32_t>{MS_SIGNAL_TERM}));
    EXPECT_GE(o.report.elapsed_ms, 0);
    EXPECT_TRUE(killed_by(v.stop(), SIGTERM));
}

TEST(Terminate, GraceZeroSendsSigkillAtOnce)
{
    Victim v("victim_exit_on_term");
    Agent agent;
    Outcome o = terminate(agent.a, v.pid(), 0);
    ASSERT_EQ(o.status, MS_OK) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_KILLED);
    EXPECT_EQ(o.signals(), (std::vector<int32_t>{MS_SIGNAL_KILL}));
    EXPECT_TRUE(killed_by(v.stop(), SIGKILL));
}

TEST(Terminate, StoppedChildIsKilledWithoutBeingResumed)
{
    Victim v("victim_exit_on_term");
    ASSERT_EQ(kill(v.pid(), SIGSTOP), 0);
    siginfo_t info{};
    ASSERT_EQ(waitid(P_PID, (id_t)v.pid(), &info, WSTOPPED | WNOWAIT), 0);
    Agent agent;
    Outcome o = terminate(agent.a, v.pid());
    ASSERT_EQ(o.status, MS_OK) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_KILLED);
    EXPECT_EQ(o.signals(), (std::vector<int32_t>{MS_SIGNAL_KILL})) << "a stopped process must not get SIGTERM";
    EXPECT_NE(std::string(o.report.reason).find("stopped"), std::string::npos) << o.report.reason;
    EXPECT_TRUE(killed_by(v.stop(), SIGKILL));
}

TEST(Terminate, DryRunSendsNothing)
{
    Victim v("victim_ignore_term");
    Agent agent;
    Outcome o = terminate(agent.a, v.pid(), 1000, true);
    ASSERT_EQ(o.status, MS_OK) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_WOULD_TERMINATE);
    EXPECT_EQ(o.report.signal_count, 0u);
    EXPECT_NE(std::string(o.report.reason).find("would send SIGTERM"), std::string::npos) << o.report.reason;
    EXPECT_TRUE(still_running(v.pid()));
    EXPECT_TRUE(exited_cleanly(v.stop())) << "the victim was signalled during a dry run";
}

TEST(Terminate, NonexistentPidIsNotFound)
{
    Agent agent;
    long pid_max = 0;
    std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
    ASSERT_GT(pid_max, 1);
    // The kernel hands out PIDs below pid_max only.
    for (int64_t pid : {(int64_t)pid_max, (int64_t)INT32_MAX}) {
        Outcome o = terminate(agent.a, pid);
        EXPECT_EQ(o.status, MS_E_NO_SUCH_PROCESS) << pid << ": " << describe(o);
        EXPECT_EQ(o.report.result, MS_TERMINATE_NOT_FOUND);
        EXPECT_EQ(o.report.signal_count, 0u);
        EXPECT_EQ(o.report.pid, pid);
        EXPECT_STRNE(o.report.reason, "");
        o = terminate(agent.a, pid, 100, true);
        EXPECT_EQ(o.report.result, MS_TERMINATE_NOT_FOUND);
    }
}

TEST(Terminate, ThreadIdIsNotAProcess)
{
    Agent agent;
    pid_t tid = 0;
    bool done = false;
    std::thread t([&] {
        tid = gettid();
        while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    while (__atomic_load_n(&tid, __ATOMIC_ACQUIRE) == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Outcome o = terminate(agent.a, tid, 100, true);
    __atomic_store_n(&done, true, __ATOMIC_RELEASE);
    t.join();
    EXPECT_EQ(o.status, MS_E_NO_SUCH_PROCESS) << describe(o);
    EXPECT_NE(std::string(o.report.reason).find("thread of process"), std::string::npos) << o.report.reason;
}

TEST(Terminate, InvalidArgumentsGetOneClearError)
{
    Agent agent;
    ms_terminate_report r{};
    r.struct_size = sizeof r;
    EXPECT_EQ(ms_terminate(agent.a, 0, nullptr, &r), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_terminate(agent.a, -1, nullptr, &r), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_terminate(agent.a, (int64_t)INT32_MAX + 1, nullptr, &r), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_terminate(nullptr, 5, nullptr, &r), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_terminate(agent.a, 5, nullptr, nullptr), MS_E_INVALID_ARGUMENT);
    ms_terminate_report small{};
    small.struct_size = 8;
    EXPECT_EQ(ms_terminate(agent.a, 5, nullptr, &small), MS_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(ms_last_error()).find("struct_size"), std::string::npos);
    ms_terminate_options opts = MS_TERMINATE_OPTIONS_INIT;
    opts.grace_ms = MS_TERMINATE_MAX_GRACE_MS + 1;
    EXPECT_EQ(ms_terminate(agent.a, 5, &opts, &r), MS_E_INVALID_ARGUMENT);
    opts = MS_TERMINATE_OPTIONS_INIT;
    opts.struct_size = 4;
    EXPECT_EQ(ms_terminate(agent.a, 5, &opts, &r), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_terminate_pidfd(agent.a, -1, nullptr, &r), MS_E_INVALID_ARGUMENT);
    int32_t reason;
    EXPECT_EQ(ms_protect_check(agent.a, 0, &reason, nullptr, 0), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_protect_check(agent.a, 5, nullptr, nullptr, 0), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_protect_add(agent.a, ""), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_protect_add(agent.a, std::string(5000, 'a').c_str()), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_protect_add(nullptr, "x"), MS_E_INVALID_ARGUMENT);
}

// ---- protection ----

TEST(TerminateProtection, TheTestProcessItselfIsRefused)
{
    Agent agent;
    EXPECT_EQ(protection_of(agent.a, getpid()), MS_PROTECT_SELF);
    Outcome o = terminate(agent.a, getpid(), 100);
    EXPECT_EQ(o.status, MS_E_PROTECTED) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_REFUSED);
    EXPECT_EQ(o.report.protection, MS_PROTECT_SELF);
    EXPECT_EQ(o.report.signal_count, 0u);
    EXPECT_NE(std::string(o.report.reason).find("calling process"), std::string::npos) << o.report.reason;
}

TEST(TerminateProtection, CallerAndAllItsAncestorsAreRefused)
{
    // The probe is the caller; its parent is this test process, and a child
    // of the probe adds a grandparent. Every target is ours.
    ProbeRun run = run_probe("lineage", Namespace::Same);
    ASSERT_TRUE(run.started) << run.output;
    ASSERT_TRUE(WIFEXITED(run.exit_status) && WEXITSTATUS(run.exit_status) == 0) << run.output;
    const std::map<std::string, std::string> expected = {{"probe-self", "self"},
                                                         {"probe-parent", "ancestor"},
                                                         {"child-self", "self"},
                                                         {"child-parent", "ancestor"},
                                                         {"child-grandparent", "ancestor"}};
    for (auto &[name, protection] : expected) {
        ASSERT_TRUE(run.results.count(name)) << name << " missing:\n" << run.output;
        auto &r = run.results.at(name);
        EXPECT_EQ(r.at("result"), "refused") << name;
        EXPECT_EQ(r.at("protection"), protection) << name;
        EXPECT_EQ(r.at("signals"), "0") << name;
        EXPECT_EQ(r.at("status"), "protected") << name;
    }
    EXPECT_EQ(run.results.at("probe-parent").at("pid"), std::to_string(getpid()));
    EXPECT_EQ(run.results.at("child-grandparent").at("pid"), std::to_string(getpid()));
}

TEST(TerminateProtection, Pid1IsRefusedInsideItsOwnPidNamespace)
{
    ProbeRun run = run_probe("pid1", Namespace::NewWithProc);
    if (!run.started)
        GTEST_SKIP() << "cannot create a PID namespace here: " << run.output;
    ASSERT_TRUE(WIFEXITED(run.exit_status) && WEXITSTATUS(run.exit_status) == 0) << run.output;
    ASSERT_EQ(run.lines["SELF"]["pid"], "1") << run.output;
    EXPECT_EQ(run.lines["CHECK"]["protection"], "init") << run.output;
    for (const char *name : {"pid1-by-itself", "pid1-by-child", "pid1-dry-run"}) {
        ASSERT_TRUE(run.results.count(name)) << name << " missing:\n" << run.output;
        auto &r = run.results.at(name);
        EXPECT_EQ(r.at("pid"), "1");
        EXPECT_EQ(r.at("result"), "refused") << name;
        EXPECT_EQ(r.at("protection"), "init") << name;
        EXPECT_EQ(r.at("signals"), "0") << name;
    }
}

TEST(TerminateProtection, KernelThreadIsRefusedWhereVisible)
{
    std::string comm;
    std::ifstream("/proc/2/comm") >> comm;
    if (comm != "kthreadd")
        GTEST_SKIP() << "kthreadd is not PID 2 in this PID namespace";
    Agent agent;
    std::string detail;
    // Asking first: if this were wrong, nothing would be sent below.
    ASSERT_EQ(protection_of(agent.a, 2, &detail), MS_PROTECT_KERNEL_THREAD) << detail;
    Outcome o = terminate(agent.a, 2, 100);
    EXPECT_EQ(o.status, MS_E_PROTECTED) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_REFUSED);
    EXPECT_EQ(o.report.protection, MS_PROTECT_KERNEL_THREAD);
    EXPECT_EQ(o.report.signal_count, 0u);
    EXPECT_NE(std::string(o.report.reason).find("kthreadd"), std::string::npos) << o.report.reason;
}

TEST(TerminateProtection, ConfiguredNameAndPathAreRefused)
{
    Victim v("victim_exit_on_term");
    Agent agent;
    ASSERT_EQ(protection_of(agent.a, v.pid()), MS_PROTECT_NONE);

    // Names are looked up in the system directories; the victims' stands in for them here.
    const char *const dirs[] = {MS_VICTIM_DIR, nullptr};
    agent.a->term->system_dirs = dirs;
    ASSERT_EQ(ms_protect_add(agent.a, "victim_exit_on_term"), MS_OK);
    Outcome o = terminate(agent.a, v.pid(), 100);
    EXPECT_EQ(o.status, MS_E_PROTECTED) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_REFUSED);
    EXPECT_EQ(o.report.protection, MS_PROTECT_NAME);
    EXPECT_EQ(o.report.signal_count, 0u);
    EXPECT_NE(std::string(o.report.reason).find("\"victim_exit_on_term\""), std::string::npos) << o.report.reason;
    o = terminate(agent.a, v.pid(), 100, true);
    EXPECT_EQ(o.report.result, MS_TERMINATE_REFUSED) << "a dry run must report the refusal";

    ASSERT_EQ(ms_protect_clear(agent.a), MS_OK);
    ASSERT_EQ(ms_protect_add(agent.a, (std::string(MS_VICTIM_DIR) + "/victim_exit_on_term").c_str()), MS_OK);
    o = terminate(agent.a, v.pid(), 100);
    EXPECT_EQ(o.report.result, MS_TERMINATE_REFUSED) << describe(o);
    EXPECT_EQ(o.report.protection, MS_PROTECT_PATH);
    EXPECT_TRUE(still_running(v.pid()));

    ASSERT_EQ(ms_protect_clear(agent.a), MS_OK);
    o = terminate(agent.a, v.pid());
    EXPECT_EQ(o.report.result, MS_TERMINATE_TERMINATED) << describe(o);
    EXPECT_TRUE(killed_by(v.stop(), SIGTERM));
}

TEST(TerminateProtection, DeletedExecutableStillMatchesItsPathAndNameAfterAnUpgrade)
{
    // A daemon upgraded on disk runs from a deleted file: "/usr/sbin/sshd (deleted)",
    // with the new binary at the same path on the same mount.
    std::string name = "victim_exit_on_term-deleted-" + std::to_string(getpid());
    std::string copy = std::string(MS_VICTIM_DIR) + "/" + name;
    auto write_copy = [](const std::string &to) {
        std::ifstream in(std::string(MS_VICTIM_DIR) + "/victim_exit_on_term", std::ios::binary);
        std::ofstream out(to, std::ios::binary);
        out << in.rdbuf();
    };
    write_copy(copy);
    ASSERT_EQ(chmod(copy.c_str(), 0700), 0);
    Victim v(name);
    ASSERT_EQ(unlink(copy.c_str()), 0);
    char link[4096] = {};
    ASSERT_GT(readlink(("/proc/" + std::to_string(v.pid()) + "/exe").c_str(), link, sizeof link - 1), 0);
    ASSERT_NE(std::string(link).find(" (deleted)"), std::string::npos) << link;

    Agent agent;
    const char *const dirs[] = {MS_VICTIM_DIR, nullptr};
    agent.a->term->system_dirs = dirs;
    ASSERT_EQ(ms_protect_add(agent.a, copy.c_str()), MS_OK);
    EXPECT_EQ(protection_of(agent.a, v.pid()), MS_PROTECT_NONE) << "nothing is at the path: not an upgrade";
    write_copy(copy + ".new");
    ASSERT_EQ(chmod((copy + ".new").c_str(), 0755), 0);
    ASSERT_EQ(rename((copy + ".new").c_str(), copy.c_str()), 0);
    EXPECT_EQ(protection_of(agent.a, v.pid()), MS_PROTECT_PATH);
    ASSERT_EQ(ms_protect_clear(agent.a), MS_OK);
    ASSERT_EQ(ms_protect_add(agent.a, name.c_str()), MS_OK);
    EXPECT_EQ(protection_of(agent.a, v.pid()), MS_PROTECT_NAME);
    unlink(copy.c_str());
    EXPECT_TRUE(exited_cleanly(v.stop()));
}

// A private copy of a victim under a name of the default list, in a fresh temporary directory.
struct Masquerade {
    std::string dir, path;
    explicit Masquerade(const std::string &as, const std::string &victim = "victim_exit_on_term")
    {
        char tmpl[] = "/tmp/ms-masquerade-XXXXXX";
        if (!mkdtemp(tmpl))
            throw std::runtime_error("mkdtemp");
        dir = tmpl;
        path = dir + "/" + as;
        std::ifstream in(std::string(MS_VICTIM_DIR) + "/" + victim, std::ios::binary);
        std::ofstream out(path, std::ios::binary);
        out << in.rdbuf();
        out.close();
        chmod(path.c_str(), 0755);
    }
    ~Masquerade()
    {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
};

// The default list protects nothing in v, which leaves on SIGTERM.
void expect_unprotected_and_terminated(Victim &v)
{
    Agent agent;
    std::string detail;
    EXPECT_EQ(protection_of(agent.a, v.pid(), &detail), MS_PROTECT_NONE) << detail;
    Outcome o = terminate(agent.a, v.pid());
    EXPECT_EQ(o.report.result, MS_TERMINATE_TERMINATED) << describe(o);
    EXPECT_TRUE(killed_by(v.stop(), SIGTERM));
}

TEST(TerminateProtection, ACopyNamedLikeADaemonIsNotProtected)
{
    // The default entry "sshd" protects /usr/sbin/sshd (or sbin, bin ...), not any file named sshd.
    Masquerade fake("sshd");
    Victim v(fake.path);
    expect_unprotected_and_terminated(v);
}

TEST(TerminateProtection, AGenuineSystemBinaryIsProtectedByNameAndPathButItsCopyIsNot)
{
    const char *real = "/usr/bin/sleep";
    struct stat st;
    if (stat(real, &st) != 0 || st.st_uid != 0)
        GTEST_SKIP() << real << " is not a root-owned system binary here";
    Masquerade fake("sleep", "victim_exit_on_term");
    pid_t genuine = fork();
    ASSERT_GE(genuine, 0);
    if (genuine == 0) {
        execl(real, "sleep", "30", (char *)nullptr);
        _exit(127);
    }
    Victim copy(fake.path);
    // Wait for the exec: until then the child is still this test's binary.
    std::string exe;
    for (int i = 0; i < 500 && exe != real; i++) {
        char buf[4096] = {};
        if (readlink(("/proc/" + std::to_string(genuine) + "/exe").c_str(), buf, sizeof buf - 1) > 0)
            exe = buf;
        if (exe != real)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(exe, real);
    Agent agent;
    ASSERT_EQ(ms_protect_add(agent.a, "sleep"), MS_OK);
    std::string detail;
    EXPECT_EQ(protection_of(agent.a, genuine, &detail), MS_PROTECT_NAME) << detail;
    Outcome o = terminate(agent.a, genuine, 100);
    EXPECT_EQ(o.report.result, MS_TERMINATE_REFUSED) << describe(o);
    EXPECT_EQ(o.report.signal_count, 0u);
    EXPECT_EQ(protection_of(agent.a, copy.pid(), &detail), MS_PROTECT_NONE) << detail;
    ASSERT_EQ(ms_protect_clear(agent.a), MS_OK);
    ASSERT_EQ(ms_protect_add(agent.a, "/bin/sleep"), MS_OK); // the same file through a link on merged /usr
    EXPECT_EQ(protection_of(agent.a, genuine, &detail), MS_PROTECT_PATH) << detail;
    EXPECT_EQ(protection_of(agent.a, copy.pid(), &detail), MS_PROTECT_NONE) << detail;
    kill(genuine, SIGKILL);
    int status = 0;
    waitpid(genuine, &status, 0);
    EXPECT_TRUE(exited_cleanly(copy.stop()));
}

TEST(TerminateProtection, ABindMountOverAProtectedPathInAUserNamespaceIsNotProtected)
{
    // unshare -Urm: the victim's copy bind-mounted over /usr/bin/login, then executed there, so
    // /proc/PID/exe reads "/usr/bin/login" while the file is the copy.
    const char *login = "/usr/bin/login";
    struct stat st;
    if (stat(login, &st) != 0 || access("/usr/bin/unshare", X_OK) != 0)
        GTEST_SKIP() << "needs /usr/bin/login and unshare";
    Masquerade fake("payload");
    std::string script = "mount --bind " + fake.path + " " + login + " && exec " + login;
    std::unique_ptr<Victim> v;
    try {
        v = std::make_unique<Victim>("/usr/bin/unshare", std::vector<std::string>{"-Urm", "sh", "-c", script});
    } catch (const std::exception &e) {
        GTEST_SKIP() << "cannot bind-mount in a user namespace here: " << e.what();
    }
    char link[4096] = {};
    ASSERT_GT(readlink(("/proc/" + std::to_string(v->pid()) + "/exe").c_str(), link, sizeof link - 1), 0);
    ASSERT_STREQ(link, login) << "the attack did not take: the link must read the protected path";
    Agent agent;
    ASSERT_EQ(ms_protect_add(agent.a, login), MS_OK);
    std::string detail;
    EXPECT_EQ(protection_of(agent.a, v->pid(), &detail), MS_PROTECT_NONE) << detail; // "login" (default) and the path
    Outcome o = terminate(agent.a, v->pid());
    EXPECT_EQ(o.report.result, MS_TERMINATE_TERMINATED) << describe(o);
    EXPECT_TRUE(killed_by(v->stop(), SIGTERM));
}

TEST(TerminateProtection, ASpoofedCommDoesNotBorrowADaemonsProtection)
{
    // Any process may call itself "sshd" with prctl(PR_SET_NAME); the list
    // matches the executable, so the default entry "sshd" must not cover it.
    Victim v("victim_exit_on_term", {"sshd"});
    ASSERT_EQ(v.fact("comm"), "sshd");
    expect_unprotected_and_terminated(v);
}

TEST(TerminateProtection, DefaultListIsAppliedListedAndClearable)
{
    Agent agent;
    using Entries = std::vector<std::pair<std::string, int>>;
    auto list = [&] {
        Entries e;
        EXPECT_EQ(ms_protect_list(agent.a, [](const char *entry, int32_t is_path, void *u) {
                      static_cast<Entries *>(u)->emplace_back(entry, is_path);
                      return 0;
                  }, &e),
                  MS_OK);
        return e;
    };
    Entries defaults = list();
    for (const char *must : {"init", "systemd", "sshd", "systemd-journald"})
        EXPECT_NE(std::find(defaults.begin(), defaults.end(), std::make_pair(std::string(must), 0)), defaults.end())
            << must;
    ASSERT_EQ(ms_protect_clear(agent.a), MS_OK);
    EXPECT_TRUE(list().empty());
    ASSERT_EQ(ms_protect_add(agent.a, "/opt/x/bin/daemon"), MS_OK);
    ASSERT_EQ(ms_protect_add(agent.a, "/opt/x/bin/daemon"), MS_OK);
    EXPECT_EQ(list(), (Entries{{"/opt/x/bin/daemon", 1}}));
    ASSERT_EQ(ms_protect_add_defaults(agent.a), MS_OK);
    EXPECT_EQ(list().size(), defaults.size() + 1);
    int calls = 0;
    EXPECT_EQ(ms_protect_list(agent.a, [](const char *, int32_t, void *u) { return ++*static_cast<int *>(u); },
                              &calls),
              MS_E_STOPPED);
    EXPECT_EQ(calls, 1);
}

TEST(TerminateProtection, ShortNameMatchingRules)
{
    // Unit rules of the shared matcher, including the 15-byte comm the
    // kernel keeps and the case folding Windows needs.
    EXPECT_TRUE(ms__protect_entry_matches("sshd", "/usr/sbin/sshd", "whatever", false));
    EXPECT_FALSE(ms__protect_entry_matches("sshd", "/tmp/x/notsshd", "sshd", false));
    EXPECT_TRUE(ms__protect_entry_matches("/usr/sbin/sshd", "/usr/sbin/sshd", "", false));
    EXPECT_FALSE(ms__protect_entry_matches("/usr/sbin/sshd", "/usr/local/sbin/sshd", "sshd", false));
    EXPECT_FALSE(ms__protect_entry_matches("/usr/sbin/sshd", "", "sshd", false));
    EXPECT_TRUE(ms__protect_entry_matches("systemd-journald", "", "systemd-journal", false));
    EXPECT_FALSE(ms__protect_entry_matches("systemd-journal", "", "systemd-journald", false));
    EXPECT_FALSE(ms__protect_entry_matches("sshd", "/usr/sbin/SSHD", "", false));
    EXPECT_TRUE(ms__protect_entry_matches("csrss.exe", "C:\\Windows\\System32\\CSRSS.EXE", "", true));
    char exe[] = "/usr/sbin/sshd (deleted)";
    ms__strip_deleted_suffix(exe);
    EXPECT_STREQ(exe, "/usr/sbin/sshd");
}

TEST(TerminateProtection, UnprotectedChildIsReportedAsSuch)
{
    Victim v("victim_ignore_term");
    Agent agent;
    std::string detail;
    EXPECT_EQ(protection_of(agent.a, v.pid(), &detail), MS_PROTECT_NONE);
    EXPECT_NE(detail.find("not protected"), std::string::npos) << detail;
    int32_t reason = 99;
    EXPECT_EQ(ms_protect_check(agent.a, INT32_MAX, &reason, nullptr, 0), MS_E_NO_SUCH_PROCESS);
    EXPECT_TRUE(exited_cleanly(v.stop()));
}

TEST(TerminateProtection, RefusalIsLoggedAsAWarning)
{
    Agent agent;
    std::vector<std::pair<int, std::string>> got;
    ASSERT_EQ(ms_agent_set_log(agent.a, [](int32_t level, const char *m, void *u) {
                  static_cast<std::vector<std::pair<int, std::string>> *>(u)->emplace_back(level, m);
              }, &got, MS_LOG_INFO),
              MS_OK);
    terminate(agent.a, getpid(), 100);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, MS_LOG_WARN);
    EXPECT_NE(got[0].second.find("refused"), std::string::npos) << got[0].second;
}

TEST(TerminateProtection, UnreadableAncestryIsTreatedAsProtected)
{
    // With /proc mounted hidepid=2, a caller running as nobody cannot see its
    // root-owned parent, so it cannot rule out that the target is an ancestor.
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to mount /proc with hidepid and change user";
    ProbeRun run = run_probe("hidden-ancestry", Namespace::NewWithProc);
    if (!run.started || run.lines.count("SKIP"))
        GTEST_SKIP() << run.output;
    ASSERT_TRUE(WIFEXITED(run.exit_status) && WEXITSTATUS(run.exit_status) == 0) << run.output;
    ASSERT_TRUE(run.results.count("hidden-ancestry")) << run.output;
    auto &r = run.results.at("hidden-ancestry");
    EXPECT_EQ(r.at("result"), "refused") << run.output;
    EXPECT_EQ(r.at("protection"), "ancestor");
    EXPECT_EQ(r.at("signals"), "0");
    EXPECT_NE(r.at("reason").find("unreadable"), std::string::npos) << r.at("reason");
    EXPECT_EQ(run.lines["ALIVE"]["alive"], "1") << run.output;
    // A live process that /proc hides cannot be judged: denied, not "not found".
    ASSERT_TRUE(run.results.count("hidden-target")) << run.output;
    auto &hidden = run.results.at("hidden-target");
    EXPECT_EQ(hidden.at("result"), "denied") << run.output;
    EXPECT_EQ(hidden.at("signals"), "0");
    EXPECT_EQ(run.lines["ROOT-ALIVE"]["alive"], "1") << run.output;
}

TEST(TerminateProtection, DeniedWithoutPermission)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to start a probe as another user";
    Victim v("victim_ignore_term");
    ProbeRun run = run_probe("as-user 65534 " + std::to_string(v.pid()), Namespace::Same);
    ASSERT_TRUE(run.started) << run.output;
    if (run.lines.count("SKIP"))
        GTEST_SKIP() << run.output;
    for (const char *name : {"denied-dry-run", "denied"}) {
        ASSERT_TRUE(run.results.count(name)) << run.output;
        EXPECT_EQ(run.results.at(name).at("result"), "denied") << run.output;
        EXPECT_EQ(run.results.at(name).at("status"), "access_denied");
        EXPECT_EQ(run.results.at(name).at("signals"), "0");
    }
    EXPECT_TRUE(exited_cleanly(v.stop()));
}

// ---- pidfds ----

TEST(TerminatePidfd, LiveChildIsKilledThroughItsPidfd)
{
    Victim v("victim_ignore_term");
    int fd = pidfd_open(v.pid());
    ASSERT_GE(fd, 0) << strerror(errno);
    Agent agent;
    Outcome o = terminate_pidfd(agent.a, fd, 100);
    close(fd);
    ASSERT_EQ(o.status, MS_OK) << describe(o);
    EXPECT_EQ(o.report.pid, v.pid());
    EXPECT_EQ(o.report.result, MS_TERMINATE_KILLED);
    EXPECT_TRUE(killed_by(v.stop(), SIGKILL));
}

TEST(TerminatePidfd, StalePidfdOfAReapedChildHitsNothing)
{
    Victim v("victim_exit_on_term");
    int fd = pidfd_open(v.pid());
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_TRUE(exited_cleanly(v.stop())); // exited and reaped: its PID is free for reuse
    Agent agent;
    Outcome o = terminate_pidfd(agent.a, fd);
    close(fd);
    EXPECT_EQ(o.status, MS_E_NO_SUCH_PROCESS) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_NOT_FOUND);
    EXPECT_EQ(o.report.signal_count, 0u);
}

TEST(TerminatePidfd, ExitedButUnreapedChildIsNotFound)
{
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0)
        _exit(7);
    int fd = pidfd_open(child);
    ASSERT_GE(fd, 0) << strerror(errno);
    siginfo_t info{};
    ASSERT_EQ(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0); // a zombie now
    Agent agent;
    Outcome by_fd = terminate_pidfd(agent.a, fd);
    Outcome by_pid = terminate(agent.a, child);
    close(fd);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_EQ(by_fd.report.result, MS_TERMINATE_NOT_FOUND) << describe(by_fd);
    EXPECT_EQ(by_pid.report.result, MS_TERMINATE_NOT_FOUND) << describe(by_pid);
    EXPECT_EQ(by_fd.report.signal_count + by_pid.report.signal_count, 0u);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

TEST(TerminatePidfd, RecycledPidIsNeverHitThroughAStalePidfd)
{
    // In a fresh PID namespace the probe reaps a child, hands its PID to a
    // new child through ns_last_pid, then terminates through the old pidfd.
    ProbeRun run = run_probe("recycle", Namespace::NewWithProc);
    if (!run.started || run.lines.count("SKIP"))
        GTEST_SKIP() << "cannot recycle a PID here: " << run.output;
    ASSERT_TRUE(WIFEXITED(run.exit_status) && WEXITSTATUS(run.exit_status) == 0) << run.output;
    auto &recycled = run.lines["RECYCLED"];
    ASSERT_EQ(recycled["old"], recycled["new"]) << "the PID was not reused:\n" << run.output;
    ASSERT_TRUE(run.results.count("stale-pidfd")) << run.output;
    auto &r = run.results.at("stale-pidfd");
    EXPECT_EQ(r.at("result"), "not-found") << run.output;
    EXPECT_EQ(r.at("signals"), "0");
    EXPECT_EQ(run.lines["ALIVE"]["alive"], "1") << "the process that inherited the PID was hit:\n" << run.output;
    EXPECT_EQ(run.lines["EXIT"]["exited"], "1") << run.output;
    EXPECT_EQ(run.lines["EXIT"]["code"], "0") << run.output;
}

TEST(TerminatePidfd, ProcFromAnotherPidNamespaceIsNotTrusted)
{
    // After unshare without --mount-proc, /proc/2 is the host's PID 2 while
    // pidfd_open(2) reaches the probe's child: facts and target would differ.
    ProbeRun run = run_probe("foreign-proc", Namespace::NewWithoutProc);
    if (!run.started)
        GTEST_SKIP() << "cannot create a PID namespace here: " << run.output;
    ASSERT_TRUE(WIFEXITED(run.exit_status) && WEXITSTATUS(run.exit_status) == 0) << run.output;
    EXPECT_EQ(run.lines["CHECK"]["status"], "unsupported") << run.output;
    ASSERT_TRUE(run.results.count("foreign-proc")) << run.output;
    auto &r = run.results.at("foreign-proc");
    EXPECT_EQ(r.at("result"), "failed") << run.output;
    EXPECT_EQ(r.at("status"), "unsupported");
    EXPECT_EQ(r.at("signals"), "0");
    EXPECT_NE(r.at("reason").find("another PID namespace"), std::string::npos) << r.at("reason");
    EXPECT_EQ(run.lines["ALIVE"]["alive"], "1") << run.output;
    EXPECT_EQ(run.lines["EXIT"]["code"], "0") << run.output;
}

TEST(TerminatePidfd, PinnedThroughTheLibraryAndKilledThroughThePin)
{
    Victim v("victim_ignore_term");
    int32_t fd = -1;
    ASSERT_EQ(ms_pidfd_open(v.pid(), &fd), MS_OK) << ms_last_error();
    ASSERT_GE(fd, 0);
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "a pin must not leak into children";
    Agent agent;
    Outcome o = terminate_pidfd(agent.a, fd, 100);
    ms_pidfd_close(fd);
    EXPECT_EQ(o.report.result, MS_TERMINATE_KILLED) << describe(o);
    EXPECT_TRUE(killed_by(v.stop(), SIGKILL));
    int32_t none = 7;
    EXPECT_EQ(ms_pidfd_open(INT32_MAX, &none), MS_E_NO_SUCH_PROCESS);
    EXPECT_EQ(none, -1);
    EXPECT_EQ(ms_pidfd_open(0, &none), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_pidfd_open(1, nullptr), MS_E_INVALID_ARGUMENT);
    ms_pidfd_close(-1);
}

TEST(TerminatePidfd, DescriptorThatIsNotAPidfdIsRejected)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    Agent agent;
    Outcome o = terminate_pidfd(agent.a, p[0]);
    close(p[0]);
    close(p[1]);
    EXPECT_EQ(o.status, MS_E_INVALID_ARGUMENT) << describe(o);
    EXPECT_EQ(o.report.result, MS_TERMINATE_FAILED);
    EXPECT_NE(std::string(o.report.reason).find("not a pidfd"), std::string::npos) << o.report.reason;
}

// ---- kill() fallback, forced through the test seam ----

TEST(TerminateFallback, KillPathTerminatesAndKillsToo)
{
    Agent agent;
    agent.a->term->force_kill_fallback = true;
    {
        Victim v("victim_exit_on_term");
        Outcome o = terminate(agent.a, v.pid());
        EXPECT_EQ(o.report.result, MS_TERMINATE_TERMINATED) << describe(o);
        EXPECT_NE(std::string(o.report.reason).find("fallback"), std::string::npos) << o.report.reason;
        EXPECT_TRUE(killed_by(v.stop(), SIGTERM));
    }
    {
        Victim v("victim_ignore_term");
        Outcome o = terminate(agent.a, v.pid(), 200);
        EXPECT_EQ(o.report.result, MS_TERMINATE_KILLED) << describe(o);
        EXPECT_EQ(o.signals(), (std::vector<int32_t>{MS_SIGNAL_TERM, MS_SIGNAL_KILL}));
        EXPECT_TRUE(killed_by(v.stop(), SIGKILL));
    }
    Outcome self = terminate(agent.a, getpid(), 100);
    EXPECT_EQ(self.report.result, MS_TERMINATE_REFUSED);
    EXPECT_EQ(self.report.protection, MS_PROTECT_SELF);
    Outcome missing = terminate(agent.a, INT32_MAX);
    EXPECT_EQ(missing.report.result, MS_TERMINATE_NOT_FOUND);
}

TEST(TerminateNames, ResultsReasonsAndSignalsHaveStableNames)
{
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_TERMINATED), "terminated");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_KILLED), "killed");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_NOT_FOUND), "not-found");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_REFUSED), "refused");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_DENIED), "denied");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_WOULD_TERMINATE), "would-terminate");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_UNCONFIRMED), "unconfirmed");
    EXPECT_STREQ(ms_terminate_result_name(MS_TERMINATE_FAILED), "failed");
    EXPECT_STREQ(ms_terminate_result_name(99), "unknown");
    for (int i = 0; i < MS_PROTECT_REASON_COUNT; i++)
        EXPECT_STRNE(ms_protect_reason_name(i), "unknown") << i;
    EXPECT_STREQ(ms_protect_reason_name(MS_PROTECT_KERNEL_THREAD), "kernel-thread");
    EXPECT_STREQ(ms_protect_reason_name(-1), "unknown");
    EXPECT_STREQ(ms_terminate_signal_name(MS_SIGNAL_TERM), "SIGTERM");
    EXPECT_STREQ(ms_terminate_signal_name(MS_SIGNAL_KILL), "SIGKILL");
    EXPECT_STREQ(ms_terminate_signal_name(MS_SIGNAL_TERMINATE_PROCESS), "TerminateProcess");
    EXPECT_STREQ(ms_terminate_signal_name(0), "unknown");
}

} // namespace
