// ms_inspect.h against live victims: header classification (pure and on
// real regions), file systems, per-page comparison of code with its file,
// thread instruction pointers, and process facts (LD_PRELOAD, tracer, exe).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <linux/magic.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

extern "C" {
#include "common/header.h"
#include "linux/inspect_parse.h"
}

#include "test_support.hpp"
#include "victim.hpp"

namespace {

struct Region {
    ms_region r;
    std::string path;
};

std::vector<Region> regions_of(ms_agent *a, pid_t pid)
{
    std::vector<Region> out;
    auto cb = [](const ms_region *r, void *ud) -> int {
        auto *v = static_cast<std::vector<Region> *>(ud);
        v->push_back({*r, r->path});
        return 0;
    };
    EXPECT_EQ(ms_region_list(a, pid, cb, &out), MS_OK);
    for (auto &r : out)
        r.r.path = r.path.c_str();
    return out;
}

const Region *region_at(const std::vector<Region> &rs, uint64_t addr)
{
    for (auto &r : rs)
        if (r.r.start <= addr && addr < r.r.end)
            return &r;
    return nullptr;
}

ms_region_probe_result probe(ms_agent *a, pid_t pid, const ms_region &r, ms_status expect = MS_OK)
{
    ms_region_probe_result res;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    EXPECT_EQ(ms_region_probe(a, pid, &r, &res), expect) << ms_last_error();
    return res;
}

struct Diff {
    uint64_t page, first;
    uint32_t bytes;
    std::vector<uint8_t> mem, file;
};

ms_status compare(ms_agent *a, pid_t pid, const ms_region &r, uint32_t flags, std::vector<Diff> *diffs,
                  ms_compare_stats *stats = nullptr)
{
    ms_compare_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = flags;
    ms_compare_stats local;
    memset(&local, 0, sizeof local);
    local.struct_size = sizeof local;
    auto cb = [](const ms_code_diff *d, void *ud) -> int {
        static_cast<std::vector<Diff> *>(ud)->push_back(
            {d->page, d->first_diff, d->diff_bytes, {d->mem, d->mem + d->sample_len}, {d->file, d->file + d->sample_len}});
        return 0;
    };
    ms_status st = ms_region_compare_file(a, pid, &r, &o, cb, diffs, stats ? stats : &local);
    return st;
}

ms_process_facts facts_of(ms_agent *a, pid_t pid)
{
    ms_process_facts f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    EXPECT_EQ(ms_process_facts_get(a, pid, &f), MS_OK) << ms_last_error();
    return f;
}

long status_kb(pid_t pid, const std::string &key)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0)
            return std::stol(line.substr(key.size()));
    return -1;
}

} // namespace

TEST(HeaderClassify, RealElfFileIsElfWithItsType)
{
    std::ifstream in("/proc/self/exe", std::ios::binary);
    std::vector<uint8_t> b(4096);
    in.read(reinterpret_cast<char *>(b.data()), (std::streamsize)b.size());
    ms_region_probe_result r{};
    ms__classify_header(b.data(), (size_t)in.gcount(), &r);
    EXPECT_EQ(r.header, MS_HEADER_ELF);
    EXPECT_TRUE(r.elf_type == 2 || r.elf_type == 3) << r.elf_type;
#if defined(__x86_64__)
    EXPECT_EQ(r.machine, 62); // EM_X86_64
#endif
}

TEST(HeaderClassify, PeNeedsTheSignatureWhereELfanewPoints)
{
    std::vector<uint8_t> b(4096, 0);
    b[0] = 'M';
    b[1] = 'Z';
    ms_region_probe_result r{};
    ms__classify_header(b.data(), b.size(), &r);
    EXPECT_EQ(r.header, MS_HEADER_MZ) << "MZ without PE signature";
    b[0x3c] = 0x80;
    memcpy(&b[0x80], "PE\0\0", 4);
    b[0x84] = 0x64; // IMAGE_FILE_MACHINE_AMD64 = 0x8664
    b[0x85] = 0x86;
    ms__classify_header(b.data(), b.size(), &r);
    EXPECT_EQ(r.header, MS_HEADER_PE);
    EXPECT_EQ(r.machine, 0x8664);
    // e_lfanew pointing outside the bytes read is not a PE header.
    b[0x3c] = 0xff;
    b[0x3d] = 0xff;
    ms__classify_header(b.data(), b.size(), &r);
    EXPECT_EQ(r.header, MS_HEADER_MZ);
    ms__classify_header(b.data(), 1, &r);
    EXPECT_EQ(r.header, MS_HEADER_NONE);
}

TEST(HeaderClassify, MagicAloneIsNotAnElfImage)
{
    std::vector<uint8_t> b(64, 0);
    memcpy(b.data(), "\x7f" "ELF", 4);
    ms_region_probe_result r{};
    ms__classify_header(b.data(), b.size(), &r);
    EXPECT_EQ(r.header, MS_HEADER_NONE) << "no class, byte order or version";
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16] = 1; // ET_REL: an object file read as data, not a loaded image
    b[20] = 1;
    ms__classify_header(b.data(), b.size(), &r);
    EXPECT_EQ(r.header, MS_HEADER_NONE);
    b[16] = 3; // ET_DYN
    ms__classify_header(b.data(), b.size(), &r);
    EXPECT_EQ(r.header, MS_HEADER_ELF);
    ms__classify_header(b.data(), 20, &r);
    EXPECT_EQ(r.header, MS_HEADER_NONE) << "truncated";
    EXPECT_STREQ(ms_header_kind_name(MS_HEADER_PE), "pe");
    EXPECT_STREQ(ms_header_kind_name(99), "unknown");
}

namespace {
ms_process_facts scan_env(const std::string &env, size_t piece)
{
    ms_process_facts f;
    memset(&f, 0, sizeof f);
    ms_env_scan s;
    ms__env_scan_init(&s);
    for (size_t at = 0; at < env.size(); at += piece)
        ms__env_scan_feed(&s, env.data() + at, std::min(piece, env.size() - at), &f);
    ms__env_scan_end(&s, &f);
    return f;
}
} // namespace

TEST(ProcParsers, EnvironmentKeysAreFoundWhateverTheReadSizes)
{
    static const char kEnv[] = "HOME=/root\0XLD_PRELOAD=no\0A=LD_PRELOAD=no\0LD_PRELOAD=/a.so /b.so\0"
                               "LD_AUDIT=/c.so\0LD_PRELOAD=/second.so\0";
    std::string env(kEnv, sizeof kEnv - 1);
    for (size_t piece : {1u, 2u, 3u, 7u, 4096u}) {
        auto f = scan_env(env, piece);
        EXPECT_STREQ(f.ld_preload, "/a.so /b.so") << "piece " << piece << ": the first one wins, as in ld.so";
        EXPECT_STREQ(f.ld_audit, "/c.so");
        EXPECT_EQ(f.flags, (uint32_t)(MS_FACT_LD_PRELOAD | MS_FACT_LD_AUDIT));
    }
    auto none = scan_env(std::string("LD_PRELOADX=1\0LD_PRELOA\0", 24), 5);
    EXPECT_EQ(none.flags, 0u);
    auto open_end = scan_env("PATH=/bin", 4); // no final NUL
    EXPECT_EQ(open_end.flags, 0u);
    auto last = scan_env("LD_PRELOAD=/z.so", 3);
    EXPECT_STREQ(last.ld_preload, "/z.so");
    auto huge = scan_env("LD_PRELOAD=" + std::string(5000, 'x') + std::string("\0", 1), 100);
    EXPECT_TRUE(huge.flags & MS_FACT_TRUNCATED);
    EXPECT_EQ(strlen(huge.ld_preload), sizeof huge.ld_preload - 1);
}

TEST(ProcParsers, SyscallLineShapes)
{
    auto parse = [](std::string text, ms_thread_info *t) {
        memset(t, 0, sizeof *t);
        t->syscall = -1;
        return ms__parse_syscall_line(text.data(), t);
    };
    ms_thread_info t;
    ASSERT_TRUE(parse("running\n", &t));
    EXPECT_EQ(t.flags, (uint32_t)MS_THREAD_RUNNING);
    ASSERT_TRUE(parse("-1 0x7ffc0000 0x401000\n", &t));
    EXPECT_EQ(t.flags, (uint32_t)MS_THREAD_REGS_KNOWN);
    EXPECT_EQ(t.sp, 0x7ffc0000u);
    EXPECT_EQ(t.pc, 0x401000u);
    ASSERT_TRUE(parse("7 0x1 0x2 0x3 0x4 0x5 0x6 0x7ffd0000 0x7f0000001234\n", &t));
    EXPECT_EQ(t.flags, (uint32_t)(MS_THREAD_REGS_KNOWN | MS_THREAD_IN_SYSCALL));
    EXPECT_EQ(t.syscall, 7);
    EXPECT_EQ(t.pc, 0x7f0000001234u);
    for (const char *bad : {"", "7 0x1", "-1 0x1 0x2 0x3", "x 0x1 0x2", "7 0x1 0x2 0x3 0x4 0x5 0x6 0x7 zz",
                            "-1 0x-5 0x1", "-1 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9 0xa", "+1 0x1 0x2"})
        EXPECT_FALSE(parse(bad, &t)) << bad;
    int64_t v = 0;
    EXPECT_TRUE(ms__status_field("Name:\tx\nTracerPid:\t42\nUid:\t0\n", "TracerPid", &v));
    EXPECT_EQ(v, 42);
    EXPECT_FALSE(ms__status_field("TracerPidX:\t1\n", "TracerPid", &v));
    EXPECT_FALSE(ms__status_field("TracerPid:\t\n", "TracerPid", &v));
}

TEST(RegionProbe, ElfCopiedIntoAnonymousMemoryIsFound)
{
    Agent ag;
    Victim v("victim_elf_anon");
    auto rs = regions_of(ag.a, v.pid());
    const Region *r = region_at(rs, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->r.start, v.hex("addr"));
    EXPECT_EQ(r->r.kind, MS_REGION_ANONYMOUS);
    EXPECT_TRUE(r->r.perms & MS_PERM_EXEC);
    auto res = probe(ag.a, v.pid(), r->r);
    EXPECT_EQ(res.header, MS_HEADER_ELF);
    EXPECT_EQ(res.head_len, 16u);
    EXPECT_EQ(memcmp(res.head, "\x7f" "ELF", 4), 0);
    EXPECT_FALSE(res.flags & MS_PROBE_FROM_FILE);
    EXPECT_FALSE(res.flags & MS_PROBE_FS_KNOWN) << "anonymous memory has no file system";
}

TEST(RegionProbe, ShellcodeRegionHasNoHeader)
{
    Agent ag;
    Victim v("victim_shellcode");
    auto rs = regions_of(ag.a, v.pid());
    const Region *r = region_at(rs, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    auto res = probe(ag.a, v.pid(), r->r);
    EXPECT_EQ(res.header, MS_HEADER_NONE);
    EXPECT_EQ(res.flags & (MS_PROBE_NOT_PRESENT | MS_PROBE_UNREADABLE), 0u);
}

TEST(RegionProbe, UntouchedAnonymousMemoryIsNotReadNorGrown)
{
    Agent ag;
    Victim v("victim_pages", {"64", "0"});
    auto rs = regions_of(ag.a, v.pid());
    const Region *r = region_at(rs, v.hex("map"));
    ASSERT_NE(r, nullptr);
    long before = status_kb(v.pid(), "VmRSS:");
    auto res = probe(ag.a, v.pid(), r->r);
    EXPECT_TRUE(res.flags & MS_PROBE_NOT_PRESENT);
    EXPECT_EQ(res.header, MS_HEADER_NONE);
    EXPECT_EQ(res.head_len, 0u);
    EXPECT_LE(status_kb(v.pid(), "VmRSS:") - before, 8) << "the probe must not fault the page in";
}

TEST(RegionProbe, MemfdImageIsElfOnTmpfs)
{
    Agent ag;
    Victim v("victim_memfd_exec");
    auto rs = regions_of(ag.a, v.pid());
    const Region *first = nullptr;
    for (auto &r : rs)
        if (r.r.kind == MS_REGION_MEMFD && r.r.offset == 0) {
            first = &r;
            break;
        }
    ASSERT_NE(first, nullptr) << "no memfd mapping at offset 0";
    EXPECT_NE(first->path.find("memfd:memsentry-victim"), std::string::npos) << first->path;
    auto res = probe(ag.a, v.pid(), first->r);
    EXPECT_EQ(res.header, MS_HEADER_ELF);
    ASSERT_TRUE(res.flags & MS_PROBE_FS_KNOWN);
    EXPECT_TRUE(res.flags & MS_PROBE_ON_TMPFS);
    EXPECT_EQ(res.fs_magic, (uint64_t)TMPFS_MAGIC);
}

TEST(RegionProbe, LibraryOnDevShmIsOnTmpfsAndOneOnDiskIsNot)
{
    Agent ag;
    Victim v("victim_tmpfs_lib");
    auto rs = regions_of(ag.a, v.pid());
    const Region *code = region_at(rs, v.hex("addr"));
    ASSERT_NE(code, nullptr);
    EXPECT_EQ(code->path, v.fact("path"));
    EXPECT_TRUE(code->r.perms & MS_PERM_EXEC);
    auto res = probe(ag.a, v.pid(), code->r);
    ASSERT_TRUE(res.flags & MS_PROBE_FS_KNOWN);
    EXPECT_TRUE(res.flags & MS_PROBE_ON_TMPFS);

    const Region *exe = nullptr;
    for (auto &r : rs)
        if (r.path.find("/victim_tmpfs_lib") != std::string::npos)
            exe = &r;
    ASSERT_NE(exe, nullptr);
    auto on_disk = probe(ag.a, v.pid(), exe->r);
    ASSERT_TRUE(on_disk.flags & MS_PROBE_FS_KNOWN);
    EXPECT_FALSE(on_disk.flags & MS_PROBE_ON_TMPFS);
}

TEST(RegionProbe, BadArgumentsAndVanishedProcess)
{
    Agent ag;
    ms_region r{};
    r.start = 0x1000;
    r.end = 0x2000;
    r.path = "";
    ms_region_probe_result res{};
    res.struct_size = 4; // too small to be a real struct
    EXPECT_EQ(ms_region_probe(ag.a, getpid(), &r, &res), MS_E_INVALID_ARGUMENT);
    res.struct_size = sizeof res;
    EXPECT_EQ(ms_region_probe(ag.a, getpid(), nullptr, &res), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_region_probe(nullptr, getpid(), &r, &res), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_region_probe(ag.a, 0, &r, &res), MS_E_INVALID_ARGUMENT);
    r.end = r.start;
    EXPECT_EQ(ms_region_probe(ag.a, getpid(), &r, &res), MS_E_INVALID_ARGUMENT);
    pid_t gone;
    {
        Victim v("victim_plain");
        gone = v.pid();
    }
    r.end = 0x2000;
    EXPECT_EQ(ms_region_probe(ag.a, gone, &r, &res), MS_E_NO_SUCH_PROCESS);
}

TEST(CodeCompare, PatchedByteInLibraryTextIsTheOnlyDifference)
{
    Agent ag;
    Victim v("victim_patch");
    auto rs = regions_of(ag.a, v.pid());
    const Region *r = region_at(rs, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    EXPECT_NE(r->path.find("libvictim_code.so"), std::string::npos);
    EXPECT_EQ(r->r.perms & (MS_PERM_EXEC | MS_PERM_PRIVATE), MS_PERM_EXEC | MS_PERM_PRIVATE);
    for (uint32_t flags : {0u, (uint32_t)MS_COMPARE_ALL_PRESENT}) {
        std::vector<Diff> diffs;
        ms_compare_stats stats{};
        stats.struct_size = sizeof stats;
        ASSERT_EQ(compare(ag.a, v.pid(), r->r, flags, &diffs, &stats), MS_OK) << ms_last_error();
        ASSERT_EQ(diffs.size(), 1u) << "flags " << flags;
        EXPECT_EQ(diffs[0].page, v.hex("page"));
        EXPECT_EQ(diffs[0].first, v.hex("addr"));
        EXPECT_EQ(diffs[0].bytes, 1u);
        ASSERT_FALSE(diffs[0].mem.empty());
        EXPECT_EQ(diffs[0].mem[0], (uint8_t)v.hex("after"));
        EXPECT_EQ(diffs[0].file[0], (uint8_t)v.hex("before"));
        EXPECT_GE(stats.pages_private, 1u);
        EXPECT_EQ(stats.pages_differing, 1u);
        if (flags == 0)
            EXPECT_EQ(stats.pages_compared, stats.pages_private) << "only the process's own copies are compared";
        else
            EXPECT_EQ(stats.pages_compared, stats.pages_resident);
    }
}

TEST(CodeCompare, UnmodifiedTextOfEveryMappedFileEqualsItsFile)
{
    Agent ag;
    Victim v("victim_plain");
    int compared = 0;
    for (auto &r : regions_of(ag.a, v.pid())) {
        if (!(r.r.perms & MS_PERM_EXEC) || !(r.r.perms & MS_PERM_PRIVATE) || r.r.kind != MS_REGION_FILE)
            continue;
        std::vector<Diff> diffs;
        ms_compare_stats stats{};
        stats.struct_size = sizeof stats;
        ASSERT_EQ(compare(ag.a, v.pid(), r.r, MS_COMPARE_ALL_PRESENT, &diffs, &stats), MS_OK) << r.path;
        EXPECT_TRUE(diffs.empty()) << r.path << " differs at 0x" << std::hex << diffs[0].first;
        EXPECT_GT(stats.pages_compared, 0u) << r.path;
        EXPECT_EQ(stats.pages_private, 0u) << r.path << ": no page of unpatched text is a private copy";
        compared++;
    }
    EXPECT_GE(compared, 2) << "the program and libc at least";
}

TEST(CodeCompare, RefusesWhatIsNotAPrivateFileMapping)
{
    Agent ag;
    Victim v("victim_shellcode");
    auto rs = regions_of(ag.a, v.pid());
    const Region *r = region_at(rs, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    std::vector<Diff> diffs;
    EXPECT_EQ(compare(ag.a, v.pid(), r->r, 0, &diffs), MS_E_INVALID_ARGUMENT);
    ms_region fake = r->r;
    fake.kind = MS_REGION_FILE;
    fake.perms |= MS_PERM_PRIVATE;
    EXPECT_EQ(compare(ag.a, v.pid(), fake, 0x80, &diffs), MS_E_INVALID_ARGUMENT) << "unknown flag";
    // A region described as a file that is not mapped there.
    fake.inode = 12345;
    EXPECT_NE(compare(ag.a, v.pid(), fake, 0, &diffs), MS_OK);
    EXPECT_TRUE(diffs.empty());
}

TEST(Threads, SleepingThreadInAnonymousCodeReportsItsPc)
{
    Agent ag;
    Victim v("victim_thread_anon");
    if (v.fact("pid").empty() || v.hex("addr") == 0)
        GTEST_SKIP();
    struct T {
        int64_t tid;
        uint32_t flags;
        int64_t nr;
        uint64_t pc, sp;
    };
    std::vector<T> ts;
    auto cb = [](const ms_thread_info *t, void *ud) -> int {
        static_cast<std::vector<T> *>(ud)->push_back({t->tid, t->flags, t->syscall, t->pc, t->sp});
        return 0;
    };
    ASSERT_EQ(ms_thread_list(ag.a, v.pid(), cb, &ts), MS_OK) << ms_last_error();
    ASSERT_EQ(ts.size(), 2u);
    const T *worker = nullptr;
    for (auto &t : ts)
        if (t.tid == std::stoll(v.fact("tid")))
            worker = &t;
    ASSERT_NE(worker, nullptr);
    ASSERT_TRUE(worker->flags & MS_THREAD_REGS_KNOWN);
    EXPECT_TRUE(worker->flags & MS_THREAD_IN_SYSCALL);
    EXPECT_EQ(worker->nr, 34); // pause
    uint64_t addr = v.hex("addr");
    EXPECT_GE(worker->pc, addr);
    EXPECT_LT(worker->pc, addr + std::stoull(v.fact("len")));
    // The main thread's state is not asserted: between READY and read() it may be preempted.
}

TEST(Threads, StopEarlyAndVanishedProcess)
{
    Agent ag;
    Victim v("victim_thread_anon");
    int seen = 0;
    auto stop = [](const ms_thread_info *, void *ud) -> int {
        ++*static_cast<int *>(ud);
        return 1;
    };
    EXPECT_EQ(ms_thread_list(ag.a, v.pid(), stop, &seen), MS_E_STOPPED);
    EXPECT_EQ(seen, 1);
    pid_t pid = v.pid();
    v.stop();
    EXPECT_EQ(ms_thread_list(ag.a, pid, stop, &seen), MS_E_NO_SUCH_PROCESS);
}

TEST(ProcessFacts, LdPreloadIsReadFromTheInitialEnvironment)
{
    Agent ag;
    Victim pre("victim_preload");
    auto f = facts_of(ag.a, pre.pid());
    EXPECT_TRUE(f.flags & MS_FACT_ENV_READ);
    ASSERT_TRUE(f.flags & MS_FACT_LD_PRELOAD);
    EXPECT_EQ(std::string(f.ld_preload), std::string(MS_VICTIM_DIR) + "/libvictim_preload.so");
    EXPECT_FALSE(f.flags & MS_FACT_LD_AUDIT);
    // and the library really is mapped
    bool mapped = false;
    for (auto &r : regions_of(ag.a, pre.pid()))
        mapped |= r.path == f.ld_preload;
    EXPECT_TRUE(mapped);

    Victim plain("victim_plain");
    auto g = facts_of(ag.a, plain.pid());
    EXPECT_TRUE(g.flags & MS_FACT_ENV_READ);
    EXPECT_FALSE(g.flags & MS_FACT_LD_PRELOAD);
    EXPECT_EQ(g.ld_preload[0], '\0');
    EXPECT_EQ(g.tracer_pid, 0);
    EXPECT_EQ(g.threads, 1);
    ASSERT_TRUE(g.flags & MS_FACT_EXE_KNOWN);
    EXPECT_FALSE(g.flags & MS_FACT_EXE_ON_TMPFS);
    EXPECT_GT(g.exe_size, 0u);
}

TEST(ProcessFacts, TracerPidNamesTheTracer)
{
    Agent ag;
    Victim v("victim_plain");
    ASSERT_EQ(ptrace(PTRACE_SEIZE, v.pid(), nullptr, nullptr), 0) << strerror(errno);
    auto f = facts_of(ag.a, v.pid());
    EXPECT_EQ(f.tracer_pid, (int64_t)getpid());
    // A seized tracee must be stopped to be detached; it resumes on detach.
    ASSERT_EQ(ptrace(PTRACE_INTERRUPT, v.pid(), nullptr, nullptr), 0) << strerror(errno);
    int status = 0;
    ASSERT_EQ(waitpid(v.pid(), &status, 0), v.pid());
    ASSERT_TRUE(WIFSTOPPED(status));
    ASSERT_EQ(ptrace(PTRACE_DETACH, v.pid(), nullptr, nullptr), 0) << strerror(errno);
    EXPECT_EQ(facts_of(ag.a, v.pid()).tracer_pid, 0);
}

TEST(ProcessFacts, MemfdExecutableIsOnTmpfsAndItsRegionsAreTheExe)
{
    Agent ag;
    Victim v("victim_memfd_exec");
    auto f = facts_of(ag.a, v.pid());
    ASSERT_TRUE(f.flags & MS_FACT_EXE_KNOWN);
    EXPECT_TRUE(f.flags & MS_FACT_EXE_ON_TMPFS);
    bool same_inode = false;
    for (auto &r : regions_of(ag.a, v.pid()))
        same_inode |= r.r.kind == MS_REGION_MEMFD && r.r.inode == f.exe_inode && r.r.dev_major == f.exe_dev_major &&
                      r.r.dev_minor == f.exe_dev_minor;
    EXPECT_TRUE(same_inode);
}

TEST(ProcessFacts, BadArguments)
{
    Agent ag;
    ms_process_facts f{};
    f.struct_size = 0;
    EXPECT_EQ(ms_process_facts_get(ag.a, getpid(), &f), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_process_facts_get(ag.a, getpid(), nullptr), MS_E_INVALID_ARGUMENT);
    // An older caller's smaller struct gets only the prefix it knows.
    struct {
        ms_process_facts f;
        uint8_t guard[8];
    } small;
    memset(&small, 0xab, sizeof small);
    small.f.struct_size = (uint32_t)offsetof(ms_process_facts, exe_inode);
    EXPECT_EQ(ms_process_facts_get(ag.a, getpid(), &small.f), MS_OK);
    EXPECT_EQ(small.f.struct_size, (uint32_t)offsetof(ms_process_facts, exe_inode));
    EXPECT_EQ(small.f.tracer_pid, 0);
    EXPECT_EQ(small.f.exe_inode, 0xababababababababull) << "beyond struct_size stays untouched";
}
