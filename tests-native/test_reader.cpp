// The pagemap-aware reader against live victims: exact bytes, holes where
// pages are not present, no growth of the target, batching, the pread
// fallback (with process_vm_readv really refused by seccomp), unreadable
// pages, the target exiting, and an unprivileged caller.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <grp.h>
#include <sys/utsname.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern "C" {
#include "linux/reader.h"
}

#include "victim.hpp"

namespace {

struct Span {
    uint64_t addr, len;
    size_t range;
    ms_span_kind kind;
    int err;
    std::vector<uint8_t> bytes;
};

struct Reader {
    ms_reader *r = nullptr;
    explicit Reader(size_t buffer = 0, uint32_t flags = 0) { EXPECT_EQ(ms__reader_new(buffer, flags, &r), MS_OK); }
    ~Reader() { ms__reader_free(r); }
    Reader(const Reader &) = delete;
    Reader &operator=(const Reader &) = delete;
};

// Every span of the ranges; *status gets what ended the iteration.
std::vector<Span> spans_of(ms_reader *r, const std::vector<ms_range> &ranges, ms_status *status = nullptr)
{
    std::vector<Span> out;
    ms_status st = ms__reader_begin(r, ranges.data(), ranges.size());
    while (st == MS_OK) {
        ms_span sp;
        bool more = false;
        st = ms__reader_next(r, &sp, &more);
        if (st != MS_OK || !more)
            break;
        Span s{sp.addr, sp.len, sp.range, sp.kind, sp.err, {}};
        if (sp.kind == MS_SPAN_DATA)
            s.bytes.assign(sp.data, sp.data + sp.len);
        out.push_back(std::move(s));
    }
    if (status)
        *status = st;
    else
        EXPECT_EQ(st, MS_OK) << ms_last_error();
    return out;
}

// The spans tile each range exactly, in order, and never cross a range.
void expect_tiling(const std::vector<Span> &spans, const std::vector<ms_range> &ranges)
{
    size_t i = 0;
    for (size_t ri = 0; ri < ranges.size(); ri++) {
        uint64_t at = ranges[ri].start;
        while (at < ranges[ri].end) {
            ASSERT_LT(i, spans.size()) << "range " << ri << " not covered past 0x" << std::hex << at;
            EXPECT_EQ(spans[i].range, ri);
            EXPECT_EQ(spans[i].addr, at);
            ASSERT_GT(spans[i].len, 0u);
            at += spans[i].len;
            i++;
        }
        EXPECT_EQ(at, ranges[ri].end);
    }
    EXPECT_EQ(i, spans.size());
}

// What a touched page of victim_pages / victim_islands holds at byte off.
uint8_t expected_byte(uint64_t page_addr, uint64_t page_index, uint64_t off)
{
    if (off < 8)
        return (uint8_t)(page_addr >> (8 * off));
    return (uint8_t)(page_index & 0xff);
}

long status_kb(pid_t pid, const char *field)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0)
            return std::stol(line.substr(strlen(field) + 1));
    return -1;
}

// Runs body in a forked child (for seccomp or a changed uid that must not
// leak into the test process) and returns its exit code; 0 means it passed.
int in_child(const std::function<int()> &body)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(body());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool drop_to_nobody()
{
    return setgroups(0, nullptr) == 0 && setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0;
}

// The kernel's release as major * 1000 + minor.
int kernel_release()
{
    struct utsname u;
    int major = 0, minor = 0;
    if (uname(&u) == 0)
        sscanf(u.release, "%d.%d", &major, &minor);
    return major * 1000 + minor;
}

// Both ways of asking the pagemap: the PAGEMAP_SCAN ioctl and the entries.
const uint32_t pagemap_modes[] = {0, MS_READER_NO_PAGEMAP_SCAN};

TEST(Reader, SparseMappingGivesExactBytesAndHolesWhereUntouched)
{
    Victim v("victim_pages", {"8", "3"}); // 8 MiB, every third page touched
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len")), page = std::stoull(v.fact("page"));
    for (uint32_t mode : pagemap_modes) {
        SCOPED_TRACE(mode ? "pagemap entries" : "PAGEMAP_SCAN");
        Reader rd(0, mode);
        ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK) << ms_last_error();
        std::vector<ms_range> ranges{{map, map + len}};
        auto spans = spans_of(rd.r, ranges);
        expect_tiling(spans, ranges);
        uint64_t data = 0;
        for (auto &s : spans) {
            ASSERT_NE(s.kind, MS_SPAN_UNREADABLE);
            for (uint64_t a = s.addr; a < s.addr + s.len; a += page) {
                uint64_t index = (a - map) / page;
                EXPECT_EQ(s.kind == MS_SPAN_DATA, index % 3 == 0) << "page " << index;
            }
            if (s.kind == MS_SPAN_DATA) {
                data += s.len;
                for (uint64_t off = 0; off < s.len; off++) {
                    uint64_t a = s.addr + off, pg = a & ~(page - 1);
                    ASSERT_EQ(s.bytes[off], expected_byte(pg, (pg - map) / page, a - pg)) << std::hex << a;
                }
            }
        }
        EXPECT_EQ(data, std::stoull(v.fact("touched")) * page);
        const ms_reader_stats *stats = ms__reader_stats(rd.r);
        EXPECT_EQ(stats->bytes_hole, len - data);
        if (mode) {
            EXPECT_EQ(stats->pagemap_scans, 0u);
            EXPECT_GT(stats->pagemap_reads, 0u);
        } else if (kernel_release() >= 6007) {
            EXPECT_GT(stats->pagemap_scans, 0u);
            EXPECT_EQ(stats->pagemap_reads, 0u);
        }
    }
}

TEST(Reader, UnalignedRangesAndSmallBufferGiveBoundedChunks)
{
    Victim v("victim_pages", {"2", "1"});
    uint64_t map = v.hex("map"), page = std::stoull(v.fact("page"));
    Reader rd(64 * 1024);
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    std::vector<ms_range> ranges{{map + 5, map + 3 * page + 7}, {map + 100 * page + 1, map + 500 * page - 3}};
    auto spans = spans_of(rd.r, ranges);
    expect_tiling(spans, ranges);
    for (auto &s : spans) {
        ASSERT_EQ(s.kind, MS_SPAN_DATA);
        EXPECT_LE(s.len, 64u * 1024);
        for (uint64_t off = 0; off < s.len; off++) {
            uint64_t a = s.addr + off, pg = a & ~(page - 1);
            ASSERT_EQ(s.bytes[off], expected_byte(pg, (pg - map) / page, a - pg)) << std::hex << a;
        }
    }
}

// On this kernel a plain read of untouched private anonymous memory maps the
// shared zero page, but an untouched shared (shmem) mapping gets real pages:
// the control read below shows the growth the pagemap check prevents.
TEST(Reader, LargeUntouchedMappingsDoNotGrowTheTarget)
{
    for (const char *kind : {"private", "shared"}) {
        Victim v("victim_pages", {"256", "0", kind});
        uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
        long rss_before = status_kb(v.pid(), "VmRSS:");
        ASSERT_GT(rss_before, 0);
        for (uint32_t mode : pagemap_modes) {
            Reader rd(0, mode);
            ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
            std::vector<ms_range> ranges{{map, map + len}};
            auto spans = spans_of(rd.r, ranges);
            ASSERT_EQ(spans.size(), 1u) << kind;
            EXPECT_EQ(spans[0].kind, MS_SPAN_HOLE);
            EXPECT_EQ(ms__reader_stats(rd.r)->vm_readv_calls + ms__reader_stats(rd.r)->pread_calls, 0u);
        }
        long rss_after = status_kb(v.pid(), "VmRSS:");
        EXPECT_LT(rss_after - rss_before, 1024) << kind << ": VmRSS " << rss_before << " -> " << rss_after << " kB";

        if (std::string(kind) == "shared") {
            Reader blind(0, MS_READER_NO_PAGEMAP);
            ASSERT_EQ(ms__reader_attach(blind.r, v.pid()), MS_OK);
            std::vector<ms_range> first{{map, map + (32u << 20)}};
            spans_of(blind.r, first);
            EXPECT_GE(status_kb(v.pid(), "VmRSS:") - rss_after, 30 * 1024)
                << "control: reading without the pagemap should have allocated shmem pages";
        }
    }
}

TEST(Reader, BatchesManyRegionsIntoOneProcessVmReadv)
{
    Victim v("victim_islands", {"300"});
    uint64_t first = v.hex("first"), page = std::stoull(v.fact("page"));
    std::vector<ms_range> ranges;
    for (uint64_t i = 0; i < 300; i++)
        ranges.push_back({first + 2 * i * page, first + (2 * i + 1) * page});
    Reader rd;
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    auto spans = spans_of(rd.r, ranges);
    expect_tiling(spans, ranges);
    ASSERT_EQ(spans.size(), 300u);
    for (size_t i = 0; i < spans.size(); i++) {
        ASSERT_EQ(spans[i].kind, MS_SPAN_DATA);
        for (uint64_t off = 0; off < page; off++)
            ASSERT_EQ(spans[i].bytes[off], expected_byte(spans[i].addr, i, off));
    }
    EXPECT_EQ(ms__reader_stats(rd.r)->vm_readv_calls, 1u);
    EXPECT_EQ(ms__reader_stats(rd.r)->pread_calls, 0u);

    // Over the iovec limit (1024 per call) the batches split.
    Victim many("victim_islands", {"2500"});
    uint64_t base = many.hex("first");
    std::vector<ms_range> lots;
    for (uint64_t i = 0; i < 2500; i++)
        lots.push_back({base + 2 * i * page, base + (2 * i + 1) * page});
    Reader rd2;
    ASSERT_EQ(ms__reader_attach(rd2.r, many.pid()), MS_OK);
    auto all = spans_of(rd2.r, lots);
    expect_tiling(all, lots);
    EXPECT_EQ(ms__reader_stats(rd2.r)->bytes_data, 2500 * page);
    EXPECT_EQ(ms__reader_stats(rd2.r)->vm_readv_calls, 3u);
}

// process_vm_readv refused for real: a seccomp filter in a child makes it
// fail with EPERM, as some LSM policies and containers do.
TEST(Reader, FallsBackToProcMemWhenProcessVmReadvIsRefused)
{
    Victim v("victim_pages", {"4", "2"});
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len")), page = std::stoull(v.fact("page"));
    int rc = in_child([&]() {
        struct sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
            return 10;
        ms_reader *r;
        if (ms__reader_new(256 * 1024, 0, &r) != MS_OK || ms__reader_attach(r, v.pid()) != MS_OK)
            return 11;
        std::vector<ms_range> ranges{{map, map + len}};
        ms_status st;
        auto spans = spans_of(r, ranges, &st);
        if (st != MS_OK)
            return 12;
        uint64_t data = 0;
        for (auto &s : spans) {
            if (s.kind == MS_SPAN_UNREADABLE)
                return 13;
            if (s.kind != MS_SPAN_DATA)
                continue;
            data += s.len;
            for (uint64_t off = 0; off < s.len; off++) {
                uint64_t a = s.addr + off, pg = a & ~(page - 1);
                if (s.bytes[off] != expected_byte(pg, (pg - map) / page, a - pg))
                    return 14;
            }
        }
        const ms_reader_stats *stats = ms__reader_stats(r);
        if (data != len / 2 || stats->vm_readv_calls != 1 || stats->pread_calls == 0)
            return 15;
        ms__reader_free(r);
        return 0;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Reader, ForcedPreadPathGivesTheSameBytes)
{
    Victim v("victim_islands", {"50"});
    uint64_t first = v.hex("first"), page = std::stoull(v.fact("page"));
    std::vector<ms_range> ranges;
    for (uint64_t i = 0; i < 50; i++)
        ranges.push_back({first + 2 * i * page, first + (2 * i + 1) * page});
    Reader rd(0, MS_READER_NO_VM_READV);
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    auto spans = spans_of(rd.r, ranges);
    ASSERT_EQ(spans.size(), 50u);
    for (size_t i = 0; i < spans.size(); i++)
        for (uint64_t off = 0; off < page; off++)
            ASSERT_EQ(spans[i].bytes[off], expected_byte(spans[i].addr, i, off));
    EXPECT_EQ(ms__reader_stats(rd.r)->vm_readv_calls, 0u);
    EXPECT_EQ(ms__reader_stats(rd.r)->pread_calls, 50u);
}

TEST(Reader, ProtNonePagesAreReadThroughProcMem)
{
    Victim v("victim_protnone_pages");
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len")), addr = v.hex("addr");
    Reader rd;
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    std::vector<ms_range> ranges{{map, map + len}};
    auto spans = spans_of(rd.r, ranges);
    expect_tiling(spans, ranges);
    ASSERT_EQ(spans.size(), 1u);
    ASSERT_EQ(spans[0].kind, MS_SPAN_DATA);
    std::string marker = "MEMSENTRY-PROTNONE-51c2";
    EXPECT_EQ(std::string((const char *)spans[0].bytes.data() + (addr - map), marker.size()), marker);
    EXPECT_GE(ms__reader_stats(rd.r)->pread_calls, 1u);
}

// Finds the first maps line whose path is `name`, as [start, end).
bool find_region(pid_t pid, const std::string &name, ms_range *out)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() >= name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) {
            *out = {std::stoull(line.substr(0, line.find('-')), nullptr, 16),
                    std::stoull(line.substr(line.find('-') + 1), nullptr, 16)};
            return true;
        }
    }
    return false;
}

TEST(Reader, VvarVsyscallAndPastEofAreUnreadableNotFatal)
{
    Victim v("victim_filetail", {"/tmp"});
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
    ms_range vvar{}, heap{};
    ASSERT_TRUE(find_region(v.pid(), "[vvar]", &vvar));
    ASSERT_TRUE(find_region(v.pid(), "[heap]", &heap) || find_region(v.pid(), "[stack]", &heap));
    const ms_range vsyscall{0xffffffffff600000ull, 0xffffffffff601000ull};
    std::vector<ms_range> ranges{{map, map + len}, vvar, heap, vsyscall};

    // With the pagemap nothing that is not present is touched: what the
    // victim never read (beyond the kernel's fault-around), the page past the
    // end and [vvar] are holes; vsyscall lies outside what the pagemap covers.
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), file_len = std::stoull(v.fact("file_len"));
    for (uint32_t mode : pagemap_modes) {
    SCOPED_TRACE(mode ? "pagemap entries" : "PAGEMAP_SCAN");
    Reader rd(0, mode);
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    auto careful = spans_of(rd.r, ranges);
    expect_tiling(careful, ranges);
    uint64_t file_data = 0;
    for (auto &s : careful) {
        if (s.range == 0 && s.kind == MS_SPAN_DATA) {
            file_data += s.len;
            EXPECT_EQ(s.bytes[0], 'F');
        }
        if (s.range == 0 && s.addr + s.len == map + len) {
            EXPECT_EQ(s.kind, MS_SPAN_HOLE);
        }
        if (s.range == 1) {
            EXPECT_EQ(s.kind, MS_SPAN_HOLE);
        }
        if (s.range == 3) {
            EXPECT_EQ(s.kind, MS_SPAN_UNREADABLE);
            EXPECT_EQ(s.err, EFAULT);
        }
    }
    EXPECT_GE(file_data, page);
    EXPECT_LT(file_data, 1000 * page) << "only the first page and its fault-around neighbours were touched";
    }

    // Reading every page (which maps them all into the victim, hence second):
    // past EOF and [vvar] are refused (EIO), vsyscall is beyond what either
    // path reaches; the heap between them still reads.
    Reader blind(0, MS_READER_NO_PAGEMAP);
    ASSERT_EQ(ms__reader_attach(blind.r, v.pid()), MS_OK);
    auto spans = spans_of(blind.r, ranges);
    expect_tiling(spans, ranges);
    ASSERT_GE(spans.size(), 4u);
    EXPECT_EQ(spans[0].kind, MS_SPAN_DATA);
    ASSERT_EQ(spans[0].len, (file_len + page - 1) / page * page); // the page holding the end reads, zero-filled
    EXPECT_EQ(spans[0].bytes[file_len - 1], 'F');
    EXPECT_EQ(spans[0].bytes[file_len], 0);
    EXPECT_EQ(spans[1].kind, MS_SPAN_UNREADABLE);
    EXPECT_EQ(spans[1].err, EIO);
    EXPECT_EQ(spans[1].addr + spans[1].len, map + len);
    for (auto &s : spans) {
        if (s.range == 1) {
            EXPECT_EQ(s.kind, MS_SPAN_UNREADABLE);
        }
        if (s.range == 2) {
            EXPECT_EQ(s.kind, MS_SPAN_DATA);
        }
        if (s.range == 3) {
            EXPECT_EQ(s.kind, MS_SPAN_UNREADABLE);
            EXPECT_EQ(s.err, EOVERFLOW);
        }
    }
}

TEST(Reader, CopyFillsHolesWithZerosAndCounts)
{
    Victim v("victim_pages", {"1", "2"});
    uint64_t map = v.hex("map"), page = std::stoull(v.fact("page"));
    Reader rd;
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    std::vector<uint8_t> dst(4 * page, 0xAA);
    ms_copy_result res;
    ASSERT_EQ(ms__reader_copy(rd.r, map + page / 2, dst.data(), dst.size(), &res), MS_OK) << ms_last_error();
    EXPECT_EQ(res.bytes_data + res.bytes_hole, dst.size());
    EXPECT_EQ(res.bytes_hole, 2 * page);
    for (size_t off = 0; off < dst.size(); off++) {
        uint64_t a = map + page / 2 + off, pg = a & ~(page - 1), index = (pg - map) / page;
        ASSERT_EQ(dst[off], index % 2 == 0 ? expected_byte(pg, index, a - pg) : 0) << off;
    }
}

TEST(Reader, TargetExitEndsTheIterationCleanly)
{
    for (uint32_t mode : pagemap_modes) {
        SCOPED_TRACE(mode ? "pagemap entries" : "PAGEMAP_SCAN");
        Victim v("victim_pages", {"16", "4"});
        uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
        Reader rd(64 * 1024, mode);
        ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
        std::vector<ms_range> ranges{{map, map + len}};
        ASSERT_EQ(ms__reader_begin(rd.r, ranges.data(), 1), MS_OK);
        ms_span sp;
        bool more;
        ASSERT_EQ(ms__reader_next(rd.r, &sp, &more), MS_OK);
        ASSERT_TRUE(more);
        EXPECT_EQ(sp.kind, MS_SPAN_DATA);
        pid_t pid = v.pid();
        v.stop();
        ms_status st;
        do {
            st = ms__reader_next(rd.r, &sp, &more);
        } while (st == MS_OK && more);
        EXPECT_EQ(st, MS_E_NO_SUCH_PROCESS) << ms_last_error();
        EXPECT_NE(std::string(ms_last_error()).find("exited"), std::string::npos) << ms_last_error();
        // And it stays ended, without touching anything.
        EXPECT_EQ(ms__reader_next(rd.r, &sp, &more), MS_E_NO_SUCH_PROCESS);
        EXPECT_EQ(ms__reader_attach(rd.r, pid), MS_E_NO_SUCH_PROCESS);
    }
}

// A process that exits between two iterations: absent pages everywhere
// must not pass for an empty address space.
TEST(Reader, ExitedTargetIsNotMistakenForAnEmptyOne)
{
    for (uint32_t mode : pagemap_modes) {
        Victim v("victim_pages", {"4", "0"});
        uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
        Reader rd(0, mode);
        ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
        std::vector<ms_range> ranges{{map, map + len}};
        spans_of(rd.r, ranges);
        kill(v.pid(), SIGKILL);
        for (int i = 0; i < 1000 && status_kb(v.pid(), "VmRSS:") >= 0; i++)
            usleep(1000); // a zombie's status has no VmRSS line
        ms_status st;
        spans_of(rd.r, ranges, &st);
        EXPECT_EQ(st, MS_E_NO_SUCH_PROCESS) << (mode ? "pagemap entries" : "PAGEMAP_SCAN");
    }
}

TEST(Reader, ReusedAcrossProcessesKeepsOneBuffer)
{
    Reader rd(128 * 1024);
    for (int round = 0; round < 3; round++) {
        Victim v("victim_marker", {"REUSE-" + std::to_string(round)});
        ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
        std::string want = "REUSE-" + std::to_string(round);
        std::vector<char> got(want.size());
        ms_copy_result res;
        ASSERT_EQ(ms__reader_copy(rd.r, v.hex("addr"), got.data(), got.size(), &res), MS_OK);
        EXPECT_EQ(std::string(got.data(), got.size()), want);
    }
}

TEST(Reader, BadArgumentsAreRefused)
{
    Reader rd;
    ms_range backwards{0x2000, 0x1000};
    EXPECT_EQ(ms__reader_begin(rd.r, &backwards, 1), MS_E_INVALID_ARGUMENT); // not attached
    EXPECT_EQ(ms__reader_attach(rd.r, 0), MS_E_INVALID_ARGUMENT);
    Victim v("victim_marker");
    ASSERT_EQ(ms__reader_attach(rd.r, v.pid()), MS_OK);
    EXPECT_EQ(ms__reader_begin(rd.r, &backwards, 1), MS_E_INVALID_ARGUMENT);
    char b;
    ms_copy_result res;
    EXPECT_EQ(ms__reader_copy(rd.r, UINT64_MAX, &b, 2, &res), MS_E_INVALID_ARGUMENT);
    ms_reader *none = nullptr;
    EXPECT_EQ(ms__reader_new((size_t)4 << 30, 0, &none), MS_E_INVALID_ARGUMENT);
    ms__reader_free(nullptr);
}

// Run as `nobody`: a root process is refused at attach; its own child reads
// normally (the pagemap's present bits are given even though the frame
// numbers are hidden from an unprivileged reader).
TEST(Reader, UnprivilegedCallerIsDeniedRootTargetButReadsItsOwnChild)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to switch to nobody";
    Victim root_victim("victim_marker");
    int rc = in_child([&]() {
        if (!drop_to_nobody())
            return 10;
        ms_reader *r;
        if (ms__reader_new(0, 0, &r) != MS_OK)
            return 11;
        if (ms__reader_attach(r, root_victim.pid()) != MS_E_ACCESS_DENIED)
            return 12;
        Victim own("victim_pages", {"1", "2"});
        if (ms__reader_attach(r, own.pid()) != MS_OK)
            return 13;
        uint64_t map = own.hex("map"), page = std::stoull(own.fact("page"));
        std::vector<ms_range> ranges{{map, map + (1u << 20)}};
        ms_status st;
        auto spans = spans_of(r, ranges, &st);
        if (st != MS_OK)
            return 14;
        uint64_t data = 0;
        for (auto &s : spans) {
            if (s.kind == MS_SPAN_UNREADABLE)
                return 15;
            if (s.kind == MS_SPAN_DATA) {
                data += s.len;
                if (s.bytes[0] != (uint8_t)s.addr || ((s.addr - map) / page) % 2 != 0)
                    return 16;
            }
        }
        ms__reader_free(r);
        return data == (1u << 20) / 2 ? 0 : 17;
    });
    EXPECT_EQ(rc, 0);
}

} // namespace
