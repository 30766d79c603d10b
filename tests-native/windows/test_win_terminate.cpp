// Protected termination on Windows against the victims the dump and region
// tests use (tests-native/windows/wine_terminate.c holds issue 4's own
// checks): the RWX victim is ended, a copy of it named like a critical system
// process is refused and left running, the IsProcessCritical seam refuses,
// and a missing PID is not found.
#include <gtest/gtest.h>

#include <string>

#include <memsentry/memsentry.h>

extern "C" {
#include "common/protect.h"
}

#include "victim_win.hpp"

#include <tlhelp32.h>

namespace {

struct Agent {
    ms_agent *a = nullptr;
    Agent() { EXPECT_EQ(ms_agent_open(&a), MS_OK); }
    ~Agent() { ms_agent_close(a); }
};

ms_status terminate(ms_agent *agent, int64_t pid, ms_terminate_report *r, bool dry_run = false)
{
    ms_terminate_options o = MS_TERMINATE_OPTIONS_INIT;
    o.dry_run = dry_run;
    *r = {};
    r->struct_size = sizeof *r;
    return ms_terminate(agent, pid, &o, r);
}

std::wstring system_directory()
{
    wchar_t dir[MAX_PATH];
    UINT n = GetSystemDirectoryW(dir, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        throw std::runtime_error("GetSystemDirectoryW");
    return std::wstring(dir, n);
}

// A copy of victim_win_marker.exe named name in dir (the victims' directory by default). The test's
// Wine prefix is its own (ci/windows-tests.sh), so a copy in its system directory harms nothing; an
// existing file there is never replaced.
class RenamedVictim {
public:
    explicit RenamedVictim(const std::wstring &name, const std::wstring &dir = test_exe_dir() + L"\\victims")
    {
        path_ = dir + L"\\" + name;
        if (!CopyFileW(victim_path("victim_win_marker").c_str(), path_.c_str(), TRUE))
            throw std::runtime_error("copy to " + narrow(path_));
    }
    ~RenamedVictim() { DeleteFileW(path_.c_str()); }
    const std::wstring &path() const { return path_; }

private:
    std::wstring path_;
};

TEST(WinTerminate, EndsTheVictimAndItsRegionsAreGone)
{
    Victim v("victim_win_marker");
    Agent agent;
    ms_terminate_report r;
    ASSERT_EQ(terminate(agent.a, v.pid(), &r), MS_OK) << r.reason;
    EXPECT_EQ(r.result, MS_TERMINATE_KILLED);
    ASSERT_EQ(r.signal_count, 1u);
    EXPECT_EQ(r.signals[0], MS_SIGNAL_TERMINATE_PROCESS);
    EXPECT_TRUE(v.wait_exit(5000));
    EXPECT_EQ(ms_region_list(agent.a, v.pid(), [](const ms_region *, void *) { return 0; }, nullptr),
              MS_E_NO_SUCH_PROCESS);
    EXPECT_EQ(v.stop(), 1u) << "TerminateProcess exit code";
}

TEST(WinTerminate, CriticalImageInTheSystemDirectoryIsRefusedWhateverItsCase)
{
    for (const wchar_t *name : {L"lsass.exe", L"WinLogon.EXE"}) {
        RenamedVictim copy(name, system_directory());
        Victim v(copy.path());
        Agent agent;
        ms_terminate_report r;
        EXPECT_EQ(terminate(agent.a, v.pid(), &r), MS_E_PROTECTED) << r.reason;
        EXPECT_EQ(r.result, MS_TERMINATE_REFUSED);
        EXPECT_EQ(r.protection, MS_PROTECT_CRITICAL);
        EXPECT_EQ(r.signal_count, 0u);
        EXPECT_TRUE(v.running()) << "a refused process must be left alone";
        int32_t reason = 0;
        char detail[256];
        EXPECT_EQ(ms_protect_check(agent.a, v.pid(), &reason, detail, sizeof detail), MS_OK);
        EXPECT_EQ(reason, MS_PROTECT_CRITICAL) << detail;
    }
}

TEST(WinTerminate, ACopyNamedLikeACriticalImageElsewhereIsEnded)
{
    // Malware may call itself lsass.exe: outside the system directory the name protects nothing.
    for (const wchar_t *name : {L"lsass.exe", L"CSRSS.EXE"}) {
        RenamedVictim copy(name);
        Victim v(copy.path());
        Agent agent;
        int32_t reason = -1;
        char detail[256];
        EXPECT_EQ(ms_protect_check(agent.a, v.pid(), &reason, detail, sizeof detail), MS_OK);
        EXPECT_EQ(reason, MS_PROTECT_NONE) << detail;
        ms_terminate_report r;
        ASSERT_EQ(terminate(agent.a, v.pid(), &r), MS_OK) << r.reason;
        EXPECT_EQ(r.result, MS_TERMINATE_KILLED);
        EXPECT_TRUE(v.wait_exit(5000));
    }
}

TEST(WinTerminate, WinesOwnServicesExeIsCritical)
{
    // services.exe, which Wine runs from the system directory of this test's prefix: checked, never signalled.
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    ASSERT_NE(snap, INVALID_HANDLE_VALUE);
    PROCESSENTRY32W e{};
    e.dwSize = sizeof e;
    DWORD services = 0;
    for (BOOL more = Process32FirstW(snap, &e); more; more = Process32NextW(snap, &e)) {
        if (_wcsicmp(e.szExeFile, L"services.exe") == 0)
            services = e.th32ProcessID;
    }
    CloseHandle(snap);
    ASSERT_NE(services, 0u) << "Wine runs services.exe in every prefix";
    Agent agent;
    int32_t reason = 0;
    char detail[256];
    EXPECT_EQ(ms_protect_check(agent.a, services, &reason, detail, sizeof detail), MS_OK);
    EXPECT_EQ(reason, MS_PROTECT_CRITICAL) << detail;
    EXPECT_NE(std::string(detail).find("services.exe"), std::string::npos) << detail;
}

bool always_critical(void *, bool *critical)
{
    *critical = true;
    return true;
}

TEST(WinTerminate, ProcessReportedCriticalIsRefused)
{
    // Wine has no IsProcessCritical: the check is injected through the seam.
    Victim v("victim_win_marker");
    Agent agent;
    agent.a->term->is_critical = always_critical;
    ms_terminate_report r;
    EXPECT_EQ(terminate(agent.a, v.pid(), &r), MS_E_PROTECTED) << r.reason;
    EXPECT_EQ(r.protection, MS_PROTECT_CRITICAL);
    EXPECT_TRUE(v.running());
    agent.a->term->is_critical = nullptr;
    EXPECT_EQ(terminate(agent.a, v.pid(), &r, true), MS_OK) << r.reason;
    EXPECT_EQ(r.result, MS_TERMINATE_WOULD_TERMINATE);
}

TEST(WinTerminate, MissingPidIsNotFound)
{
    Agent agent;
    ms_terminate_report r;
    EXPECT_EQ(terminate(agent.a, 0x7ffffffc, &r), MS_E_NO_SUCH_PROCESS);
    EXPECT_EQ(r.result, MS_TERMINATE_NOT_FOUND);
    EXPECT_EQ(r.signal_count, 0u);
}

} // namespace
