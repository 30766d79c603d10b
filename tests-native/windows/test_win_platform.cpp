// The Windows platform layer against live victims started with CreateProcess:
// process and region enumeration, bounded reads, error mapping. Runs under
// Wine on Linux (see README "Windows under Wine" for what Wine does not model).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <memsentry/memsentry.h>

extern "C" {
#include "windows/win.h"
}

#include "victim_win.hpp"

namespace {

// Far above any process id Windows or Wine hands out, and a multiple of 4
// (Windows ignores the two low bits of a process id).
constexpr int64_t kMissingPid = 0x7ffffffc;

struct Agent {
    ms_agent *a = nullptr;
    Agent() { EXPECT_EQ(ms_agent_open(&a), MS_OK); }
    ~Agent() { ms_agent_close(a); }
};

bool ends_with(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct ProcessRecord {
    int64_t pid, ppid, uid;
    uint32_t flags;
    std::string name, exe, cmdline;
};

int collect_process(const ms_process_info *p, void *u)
{
    static_cast<std::vector<ProcessRecord> *>(u)->push_back(
        {p->pid, p->ppid, p->uid, p->flags, p->name, p->exe, std::string(p->cmdline, p->cmdline_len)});
    return 0;
}

struct RegionRecord {
    ms_region r;
    std::string path;
};

std::vector<RegionRecord> regions_of(ms_agent *agent, int64_t pid)
{
    std::vector<RegionRecord> out;
    EXPECT_EQ(ms_region_list(agent, pid, [](const ms_region *r, void *u) {
                  static_cast<std::vector<RegionRecord> *>(u)->push_back({*r, r->path});
                  return 0;
              }, &out),
              MS_OK)
        << ms_last_error();
    return out;
}

const RegionRecord *region_holding(const std::vector<RegionRecord> &regions, uint64_t addr)
{
    for (auto &r : regions)
        if (r.r.start <= addr && addr < r.r.end)
            return &r;
    return nullptr;
}

TEST(WinProcess, ListFindsOurVictimWithParentImageAndCommandLine)
{
    Victim v("victim_win_marker", {L"MARKER-FOR-PS"});
    Agent agent;
    std::vector<ProcessRecord> seen;
    ASSERT_EQ(ms_process_list(agent.a, collect_process, &seen), MS_OK) << ms_last_error();
    auto mine = std::find_if(seen.begin(), seen.end(), [&](const ProcessRecord &r) { return r.pid == v.pid(); });
    ASSERT_NE(mine, seen.end()) << "victim " << v.pid() << " not among " << seen.size() << " processes";
    EXPECT_EQ(mine->ppid, (int64_t)GetCurrentProcessId());
    EXPECT_EQ(mine->uid, -1);
    EXPECT_EQ(lower(mine->name), "victim_win_marker.exe");
    EXPECT_EQ(lower(mine->exe), lower(narrow(v.path())));
    EXPECT_EQ(mine->flags & (MS_PROC_EXE_UNKNOWN | MS_PROC_KERNEL_THREAD), 0u);
    EXPECT_NE(mine->cmdline.find("MARKER-FOR-PS"), std::string::npos) << mine->cmdline;
    EXPECT_EQ(mine->cmdline.find('\0'), std::string::npos) << "a Windows command line is one string";
    // We are listed too, as our own parent's child.
    EXPECT_TRUE(std::any_of(seen.begin(), seen.end(),
                            [](const ProcessRecord &r) { return r.pid == (int64_t)GetCurrentProcessId(); }));
}

TEST(WinProcess, GetReturnsOnlyTheVictim)
{
    Victim v("victim_win_marker");
    Agent agent;
    std::vector<ProcessRecord> seen;
    ASSERT_EQ(ms_process_get(agent.a, v.pid(), collect_process, &seen), MS_OK) << ms_last_error();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].pid, (int64_t)v.pid());
    EXPECT_EQ(lower(seen[0].exe), lower(narrow(v.path())));
}

TEST(WinProcess, InvalidPidMapsToNoSuchProcessEverywhere)
{
    Agent agent;
    std::vector<ProcessRecord> seen;
    EXPECT_EQ(ms_process_get(agent.a, kMissingPid, collect_process, &seen), MS_E_NO_SUCH_PROCESS);
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(ms_region_list(agent.a, kMissingPid, [](const ms_region *, void *) { return 0; }, nullptr),
              MS_E_NO_SUCH_PROCESS);
    // OpenProcess says ERROR_INVALID_PARAMETER (87); the message keeps the code.
    EXPECT_NE(std::string(ms_last_error()).find("error 87"), std::string::npos) << ms_last_error();
    char buf[8];
    size_t got = 1;
    EXPECT_EQ(ms_memory_read(agent.a, kMissingPid, 0x10000, buf, sizeof buf, &got), MS_E_NO_SUCH_PROCESS);
    EXPECT_EQ(got, 0u);
}

TEST(WinProcess, ExitedProcessIsNoSuchProcessWhileAHandleKeepsItsId)
{
    Victim v("victim_win_marker");
    DWORD pid = v.pid();
    HANDLE keep = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    ASSERT_NE(keep, nullptr);
    EXPECT_EQ(v.stop(), 0u);
    Agent agent;
    EXPECT_EQ(ms_region_list(agent.a, pid, [](const ms_region *, void *) { return 0; }, nullptr),
              MS_E_NO_SUCH_PROCESS)
        << ms_last_error();
    CloseHandle(keep);
}

TEST(WinRegions, MarkerRegionIsPrivateReadWriteExecute)
{
    Victim v("victim_win_marker");
    Agent agent;
    auto regions = regions_of(agent.a, v.pid());
    const RegionRecord *r = region_holding(regions, v.hex("addr"));
    ASSERT_NE(r, nullptr) << "no region holds 0x" << std::hex << v.hex("addr");
    EXPECT_EQ(r->r.start, v.hex("map"));
    EXPECT_EQ(r->r.end, v.hex("map") + std::stoull(v.fact("map_len")));
    EXPECT_EQ(r->r.kind, MS_REGION_ANONYMOUS);
    EXPECT_EQ(r->r.perms, MS_PERM_READ | MS_PERM_WRITE | MS_PERM_EXEC | MS_PERM_PRIVATE);
    EXPECT_EQ(r->path, "");
}

TEST(WinRegions, CommittedOrderedDisjointAndTheImageIsNamed)
{
    Victim v("victim_win_marker");
    Agent agent;
    auto regions = regions_of(agent.a, v.pid());
    ASSERT_FALSE(regions.empty());
    bool image_exec = false;
    for (size_t i = 0; i < regions.size(); i++) {
        const ms_region &r = regions[i].r;
        EXPECT_LT(r.start, r.end);
        EXPECT_EQ(r.start % 4096, 0u);
        EXPECT_EQ(r.end % 4096, 0u);
        if (i > 0) {
            EXPECT_GE(r.start, regions[i - 1].r.end) << "regions not in address order";
        }
        if (r.kind == MS_REGION_FILE && lower(regions[i].path) == lower(narrow(v.path()))) {
            EXPECT_TRUE(r.perms & MS_PERM_PRIVATE) << "image sections are copy-on-write";
            if (r.perms & MS_PERM_EXEC)
                image_exec = true;
        }
    }
    EXPECT_TRUE(image_exec) << "no executable section of " << narrow(v.path());
    // Only committed memory is reported: each region's state says so.
    HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, v.pid());
    ASSERT_NE(h, nullptr);
    for (auto &rec : regions) {
        MEMORY_BASIC_INFORMATION mbi;
        ASSERT_EQ(VirtualQueryEx(h, (LPCVOID)(uintptr_t)rec.r.start, &mbi, sizeof mbi), sizeof mbi);
        EXPECT_EQ(mbi.State, (DWORD)MEM_COMMIT) << std::hex << rec.r.start;
    }
    CloseHandle(h);
}

TEST(WinRegions, WalkerKeepsTheRawProtectionAndType)
{
    Victim v("victim_win_marker");
    Agent agent;
    HANDLE h;
    ASSERT_EQ(ms__win_open_process(agent.a, v.pid(), PROCESS_QUERY_INFORMATION, &h), MS_OK) << ms_last_error();
    struct Found {
        uint64_t addr;
        bool seen;
        MEMORY_BASIC_INFORMATION mbi;
    } found{v.hex("addr"), false, {}};
    EXPECT_EQ(ms__win_region_walk(agent.a, h, [](const ms_win_region *r, void *u) {
                  auto *f = static_cast<Found *>(u);
                  if (r->region.start <= f->addr && f->addr < r->region.end) {
                      f->seen = true;
                      f->mbi = r->mbi;
                  }
                  return 0;
              }, &found),
              MS_OK);
    CloseHandle(h);
    ASSERT_TRUE(found.seen);
    EXPECT_EQ(found.mbi.Type, (DWORD)MEM_PRIVATE);
    EXPECT_EQ(found.mbi.State, (DWORD)MEM_COMMIT);
    EXPECT_EQ(found.mbi.Protect, (DWORD)PAGE_EXECUTE_READWRITE);
    EXPECT_TRUE(ms__win_readable(found.mbi.State, found.mbi.Protect));
}

class TempFile {
public:
    explicit TempFile(const std::wstring &name, const std::string &content)
    {
        wchar_t dir[MAX_PATH + 1];
        DWORD n = GetTempPathW(MAX_PATH + 1, dir);
        path_ = std::wstring(dir, n) + name;
        HANDLE f = CreateFileW(path_.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
        if (f == INVALID_HANDLE_VALUE)
            throw std::runtime_error("create " + narrow(path_));
        DWORD wrote;
        WriteFile(f, content.data(), (DWORD)content.size(), &wrote, nullptr);
        CloseHandle(f);
    }
    ~TempFile() { DeleteFileW(path_.c_str()); }
    const std::wstring &path() const { return path_; }

private:
    std::wstring path_;
};

TEST(WinRegions, MappedFileSectionAndGuardPageAreClassified)
{
    // A name outside ASCII: the path must arrive as UTF-8.
    TempFile file(L"memsentry-mapped-\u00fc\u20ac-" + std::to_wstring(GetCurrentProcessId()) + L".bin",
                  std::string(8192, 'F'));
    Victim v("victim_win_mappings", {file.path()});
    Agent agent;
    auto regions = regions_of(agent.a, v.pid());

    const RegionRecord *view = region_holding(regions, v.hex("file_view"));
    ASSERT_NE(view, nullptr);
    EXPECT_EQ(view->r.kind, MS_REGION_FILE);
    EXPECT_EQ(view->r.start, v.hex("file_view"));
    EXPECT_EQ(view->r.perms, MS_PERM_READ) << "a read-only shared view";
    EXPECT_EQ(view->r.offset, 0u);
    std::string name = narrow(file.path().substr(file.path().find_last_of(L'\\') + 1));
    EXPECT_TRUE(ends_with(lower(view->path), lower("\\" + name))) << view->path;

    const RegionRecord *section = region_holding(regions, v.hex("section"));
    ASSERT_NE(section, nullptr);
    EXPECT_EQ(section->r.kind, MS_REGION_ANONYMOUS) << section->path;
    EXPECT_EQ(section->r.perms, MS_PERM_READ | MS_PERM_WRITE) << "shared, not private";

    const RegionRecord *guard = region_holding(regions, v.hex("guard"));
    ASSERT_NE(guard, nullptr);
    EXPECT_EQ(guard->r.perms, MS_PERM_PRIVATE) << "a guard page is reported inaccessible";
    EXPECT_FALSE(ms__win_readable(MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
}

TEST(WinRegions, StopsWhenTheCallbackSaysSo)
{
    Victim v("victim_win_marker");
    Agent agent;
    int calls = 0;
    EXPECT_EQ(ms_region_list(agent.a, v.pid(), [](const ms_region *, void *u) {
                  return ++*static_cast<int *>(u) == 2 ? 1 : 0;
              }, &calls),
              MS_E_STOPPED);
    EXPECT_EQ(calls, 2);
}

TEST(WinRegions, ProtectionMapsToPerms)
{
    EXPECT_EQ(ms__win_perms(PAGE_NOACCESS), 0u);
    EXPECT_EQ(ms__win_perms(PAGE_READONLY), MS_PERM_READ);
    EXPECT_EQ(ms__win_perms(PAGE_READWRITE | PAGE_NOCACHE), MS_PERM_READ | MS_PERM_WRITE);
    EXPECT_EQ(ms__win_perms(PAGE_WRITECOPY), MS_PERM_READ | MS_PERM_WRITE | MS_PERM_PRIVATE);
    EXPECT_EQ(ms__win_perms(PAGE_EXECUTE), MS_PERM_EXEC);
    EXPECT_EQ(ms__win_perms(PAGE_EXECUTE_READ), MS_PERM_READ | MS_PERM_EXEC);
    EXPECT_EQ(ms__win_perms(PAGE_EXECUTE_READWRITE), MS_PERM_READ | MS_PERM_WRITE | MS_PERM_EXEC);
    EXPECT_EQ(ms__win_perms(PAGE_EXECUTE_WRITECOPY), MS_PERM_READ | MS_PERM_WRITE | MS_PERM_EXEC | MS_PERM_PRIVATE);
    EXPECT_FALSE(ms__win_readable(MEM_COMMIT, PAGE_NOACCESS));
    EXPECT_FALSE(ms__win_readable(MEM_RESERVE, PAGE_READWRITE));
    EXPECT_FALSE(ms__win_readable(MEM_COMMIT, PAGE_EXECUTE));
    EXPECT_TRUE(ms__win_readable(MEM_COMMIT, PAGE_EXECUTE_READ));
}

TEST(WinMemory, ReadsTheMarkerAtItsAddress)
{
    Victim v("victim_win_marker", {L"READ-ME-IF-YOU-CAN"});
    Agent agent;
    char buf[64] = {};
    size_t got = 0;
    ASSERT_EQ(ms_memory_read(agent.a, v.pid(), v.hex("addr"), buf, 18, &got), MS_OK) << ms_last_error();
    EXPECT_EQ(got, 18u);
    EXPECT_EQ(std::string(buf, 18), "READ-ME-IF-YOU-CAN");
}

// The end of the victim's executable image, where VirtualQueryEx says free
// address space follows (0 otherwise). Free memory inside an allocation
// granule or a reserved range is no good here: Wine reads it as zeros, while
// past the image nothing is mapped at all (see README, Windows under Wine).
uint64_t free_address_after_image(ms_agent *agent, const Victim &v)
{
    uint64_t end = 0;
    for (auto &r : regions_of(agent, v.pid()))
        if (r.r.kind == MS_REGION_FILE && lower(r.path) == lower(narrow(v.path())))
            end = std::max(end, r.r.end);
    HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, v.pid());
    if (!end || !h)
        return 0;
    MEMORY_BASIC_INFORMATION mbi;
    bool free_after = VirtualQueryEx(h, (LPCVOID)(uintptr_t)end, &mbi, sizeof mbi) == sizeof mbi &&
                      mbi.State == MEM_FREE;
    CloseHandle(h);
    return free_after ? end : 0;
}

TEST(WinMemory, FreeAddressIsAPartialReadOfNothing)
{
    Victim v("victim_win_marker");
    Agent agent;
    uint64_t free_addr = free_address_after_image(agent.a, v);
    ASSERT_NE(free_addr, 0u) << "VirtualQueryEx does not show free memory after the victim's image";
    char buf[16];
    size_t got = 99;
    EXPECT_EQ(ms_memory_read(agent.a, v.pid(), free_addr, buf, sizeof buf, &got), MS_E_PARTIAL_READ);
    EXPECT_EQ(got, 0u);
}

TEST(WinMemory, ReadAcrossTheEndOfARegionIsShort)
{
    Victim v("victim_win_marker");
    Agent agent;
    uint64_t free_addr = free_address_after_image(agent.a, v);
    ASSERT_NE(free_addr, 0u);
    std::vector<char> buf(4096 * 3);
    size_t got = 0;
    EXPECT_EQ(ms_memory_read(agent.a, v.pid(), free_addr - 4096 - 100, buf.data(), buf.size(), &got),
              MS_E_PARTIAL_READ)
        << ms_last_error();
    EXPECT_EQ(got, 4096u + 100u);
    // What was read is the image's last bytes, as a read of exactly those gives.
    std::vector<char> exact(4096 + 100);
    size_t got_exact = 0;
    ASSERT_EQ(ms_memory_read(agent.a, v.pid(), free_addr - exact.size(), exact.data(), exact.size(), &got_exact),
              MS_OK);
    EXPECT_TRUE(std::equal(exact.begin(), exact.end(), buf.begin()));
}

TEST(WinStatus, SystemErrorsMapToTheSharedStatuses)
{
    EXPECT_EQ(ms__win_status_from_error(ERROR_SUCCESS), MS_OK);
    EXPECT_EQ(ms__win_status_from_error(ERROR_ACCESS_DENIED), MS_E_ACCESS_DENIED);
    EXPECT_EQ(ms__win_status_from_error(ERROR_PRIVILEGE_NOT_HELD), MS_E_ACCESS_DENIED);
    EXPECT_EQ(ms__win_status_from_error(ERROR_PARTIAL_COPY), MS_E_PARTIAL_READ);
    EXPECT_EQ(ms__win_status_from_error(ERROR_NOACCESS), MS_E_PARTIAL_READ);
    EXPECT_EQ(ms__win_status_from_error(ERROR_NOT_ENOUGH_MEMORY), MS_E_NO_MEMORY);
    EXPECT_EQ(ms__win_status_from_error(ERROR_FILE_EXISTS), MS_E_EXISTS);
    EXPECT_EQ(ms__win_status_from_error(ERROR_DISK_FULL), MS_E_NO_SPACE);
    EXPECT_EQ(ms__win_status_from_error(ERROR_CALL_NOT_IMPLEMENTED), MS_E_UNSUPPORTED);
    EXPECT_EQ(ms__win_status_from_error(ERROR_PATH_NOT_FOUND), MS_E_IO);
    // Outside OpenProcess, 87 is a bad argument, not a missing process.
    EXPECT_EQ(ms__win_status_from_error(ERROR_INVALID_PARAMETER), MS_E_INVALID_ARGUMENT);

    EXPECT_EQ(ms__win_fail(ERROR_ACCESS_DENIED, "OpenProcess(%d)", 42), MS_E_ACCESS_DENIED);
    std::string detail = ms_last_error();
    EXPECT_EQ(detail.rfind("OpenProcess(42): ", 0), 0u) << detail;
    EXPECT_NE(detail.find("error 5"), std::string::npos) << detail;
}

TEST(WinPrivilege, DebugPrivilegeStateMatchesTheToken)
{
    Victim v("victim_win_marker");
    Agent agent;
    HANDLE h;
    ASSERT_EQ(ms__win_open_process(agent.a, v.pid(), PROCESS_QUERY_INFORMATION, &h), MS_OK);
    CloseHandle(h);
    // The oracle: the token's own view of SeDebugPrivilege.
    HANDLE token;
    ASSERT_TRUE(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    LUID debug;
    ASSERT_TRUE(LookupPrivilegeValueW(nullptr, L"SeDebugPrivilege", &debug));
    DWORD size = 0;
    GetTokenInformation(token, TokenPrivileges, nullptr, 0, &size);
    std::vector<unsigned char> buf(size);
    ASSERT_TRUE(GetTokenInformation(token, TokenPrivileges, buf.data(), size, &size));
    CloseHandle(token);
    auto *tp = reinterpret_cast<TOKEN_PRIVILEGES *>(buf.data());
    bool enabled = false;
    for (DWORD i = 0; i < tp->PrivilegeCount; i++)
        if (tp->Privileges[i].Luid.LowPart == debug.LowPart && tp->Privileges[i].Luid.HighPart == debug.HighPart)
            enabled = (tp->Privileges[i].Attributes & SE_PRIVILEGE_ENABLED) != 0;
    EXPECT_EQ(ms__win_debug_privilege_enabled(), enabled);
}

TEST(WinUtf8, ConvertsSurrogatePairsAndBoundsTheOutput)
{
    char out[16];
    const wchar_t pair[] = {0xD83D, 0xDE00, 0}; // U+1F600, 4 bytes in UTF-8
    ASSERT_TRUE(ms__win_utf8(pair, -1, out, sizeof out));
    EXPECT_STREQ(out, "\xF0\x9F\x98\x80");
    const wchar_t lone[] = {L'a', 0xD800, L'b', 0};
    ASSERT_TRUE(ms__win_utf8(lone, -1, out, sizeof out));
    EXPECT_STREQ(out, "a\xEF\xBF\xBD" "b");
    EXPECT_FALSE(ms__win_utf8(L"0123456789abcdefXYZ", -1, out, sizeof out));
    EXPECT_STREQ(out, "");
    EXPECT_TRUE(ms__win_utf8(L"counted", 3, out, sizeof out));
    EXPECT_STREQ(out, "cou");
}

TEST(Status, EveryStatusHasANameAndMessage)
{
    for (int s = 0; s < MS_STATUS_COUNT; s++) {
        EXPECT_STRNE(ms_status_name((ms_status)s), "unknown") << s;
        EXPECT_STRNE(ms_status_str((ms_status)s), "unknown status") << s;
    }
    EXPECT_EQ(ms_version_number(), MS_VERSION_NUMBER);
    EXPECT_STREQ(ms_version(), MS_VERSION_STRING);
}

TEST(WinWatch, ProcessEventsAreUnsupportedWithOneClearError)
{
    Agent agent;
    ms_watch *w = reinterpret_cast<ms_watch *>(1);
    for (int32_t source : {MS_WATCH_SOURCE_AUTO, MS_WATCH_SOURCE_CONNECTOR, MS_WATCH_SOURCE_POLLER}) {
        ms_watch_options o;
        ms_watch_options_init(&o);
        o.source = source;
        EXPECT_EQ(ms_watch_open(agent.a, &o, &w), MS_E_UNSUPPORTED) << source;
        EXPECT_EQ(w, nullptr);
        EXPECT_NE(std::string(ms_last_error()).find("Windows"), std::string::npos) << ms_last_error();
    }
    ms_watch_close(nullptr);
}

} // namespace
