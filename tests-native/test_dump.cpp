// Process dumps against live victims, checked with independent oracles: our
// own ELF walk, gdb reading the core, readelf, python3's json and hashlib for
// the raw manifest; evidence safety (mode, refusals, no leftovers), freeze
// and thaw, caps, a target that dies mid-dump, an unprivileged caller, a full
// file system, and a target's RSS that must not grow.
#include <gtest/gtest.h>

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <linux/capability.h>
#include <sys/procfs.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <thread>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <memsentry/memsentry.h>

extern "C" {
#include "common/sha256.h"
#include "linux/elfcore.h"
}

#include "open_watch.hpp"
#include "test_support.hpp"
#include "victim.hpp"

namespace {

// A fresh directory, removed with everything in it.
struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/ms-dump-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir()
    {
        std::string cmd = "rm -rf '" + path + "'";
        if (system(cmd.c_str()) != 0)
            ADD_FAILURE() << "could not remove " << path;
    }
    std::string operator/(const std::string &name) const { return path + "/" + name; }
    std::vector<std::string> entries() const
    {
        std::vector<std::string> out;
        DIR *d = opendir(path.c_str());
        while (struct dirent *e = d ? readdir(d) : nullptr)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                out.push_back(e->d_name);
        if (d)
            closedir(d);
        return out;
    }
};

std::string slurp(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Standard output and error of cmd.
std::string run_merged(const std::string &cmd)
{
    return run(cmd + " 2>&1");
}

std::string hex(uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return b;
}

std::string pread_string(int fd, uint64_t offset, size_t len)
{
    std::string out(len, '\0');
    ssize_t n = fd >= 0 ? pread(fd, &out[0], len, (off_t)offset) : -1;
    out.resize(n > 0 ? (size_t)n : 0);
    return out;
}

// The parts of an ELF core the tests look at, parsed independently of the
// writer. Read piecewise: a core of a sanitizer-built victim without a cap
// is a sparse file of terabytes.
struct Core {
    int fd = -1;
    Elf64_Ehdr eh{};
    std::vector<Elf64_Phdr> loads;
    Elf64_Phdr note{};
    struct Note {
        std::string name;
        uint32_t type;
        std::string desc;
    };
    std::vector<Note> notes;

    explicit Core(const std::string &path) : fd(open(path.c_str(), O_RDONLY | O_CLOEXEC))
    {
        std::string head = pread_string(fd, 0, sizeof eh);
        if (head.size() < sizeof eh)
            return;
        memcpy(&eh, head.data(), sizeof eh);
        std::string phdrs = pread_string(fd, eh.e_phoff, (size_t)eh.e_phnum * sizeof(Elf64_Phdr));
        for (size_t i = 0; i + 1 <= phdrs.size() / sizeof(Elf64_Phdr); i++) {
            Elf64_Phdr ph;
            memcpy(&ph, phdrs.data() + i * sizeof ph, sizeof ph);
            if (ph.p_type == PT_LOAD)
                loads.push_back(ph);
            else if (ph.p_type == PT_NOTE)
                note = ph;
        }
        std::string bytes = pread_string(fd, note.p_offset, note.p_filesz);
        size_t at = 0;
        while (at + sizeof(Elf64_Nhdr) <= bytes.size()) {
            Elf64_Nhdr nh;
            memcpy(&nh, bytes.data() + at, sizeof nh);
            at += sizeof nh;
            std::string name(bytes.data() + at, nh.n_namesz ? nh.n_namesz - 1 : 0);
            at += (nh.n_namesz + 3) & ~3u;
            notes.push_back({name, nh.n_type, bytes.substr(at, nh.n_descsz)});
            at += (nh.n_descsz + 3) & ~3u;
        }
    }
    ~Core()
    {
        if (fd >= 0)
            close(fd);
    }
    Core(const Core &) = delete;
    Core &operator=(const Core &) = delete;
    const Elf64_Phdr *load_at(uint64_t addr) const
    {
        for (auto &ph : loads)
            if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_memsz)
                return &ph;
        return nullptr;
    }
    // The bytes at addr as the core holds them ("" beyond p_filesz).
    std::string at(uint64_t addr, size_t len) const
    {
        const Elf64_Phdr *ph = load_at(addr);
        if (!ph || addr + len > ph->p_vaddr + ph->p_filesz)
            return "";
        return pread_string(fd, ph->p_offset + (addr - ph->p_vaddr), len);
    }
    std::vector<const Note *> of_type(uint32_t type) const
    {
        std::vector<const Note *> out;
        for (auto &n : notes)
            if (n.type == type)
                out.push_back(&n);
        return out;
    }
};

ms_dump_options options(uint32_t flags = 0, int32_t format = MS_DUMP_FORMAT_CORE)
{
    ms_dump_options o;
    ms_dump_options_init(&o);
    o.flags = flags;
    o.format = format;
    return o;
}

ms_status dump(pid_t pid, const std::string &path, const ms_dump_options &o, ms_dump_result *res = nullptr)
{
    Agent agent;
    ms_dump_result local;
    local.struct_size = sizeof local;
    ms_dump_result *r = res ? res : &local;
    r->struct_size = sizeof *r;
    return ms_dump_process(agent.a, pid, path.c_str(), &o, r);
}

std::string proc_status_field(pid_t pid, const std::string &field)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) {
            std::string v = line.substr(field.size() + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    return "";
}

void expect_running_untraced(pid_t pid)
{
    EXPECT_EQ(proc_status_field(pid, "TracerPid"), "0");
    std::string state = proc_status_field(pid, "State");
    EXPECT_TRUE(state.rfind("S", 0) == 0 || state.rfind("R", 0) == 0) << state;
    // Every thread too.
    DIR *d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    while (struct dirent *e = d ? readdir(d) : nullptr) {
        if (e->d_name[0] == '.')
            continue;
        std::ifstream st("/proc/" + std::to_string(pid) + "/task/" + e->d_name + "/status");
        std::string line;
        while (std::getline(st, line))
            if (line.rfind("State:", 0) == 0) {
                EXPECT_EQ(line.find("t (tracing stop)"), std::string::npos) << "thread " << e->d_name;
            }
    }
    if (d)
        closedir(d);
}

bool no_partial_files(const TempDir &dir)
{
    for (auto &e : dir.entries())
        if (e.find(".partial") != std::string::npos)
            return false;
    return true;
}

TEST(Sha256, KnownVectors)
{
    auto digest = [](const std::string &s, uint64_t extra_zeros = 0) {
        ms_sha256 h;
        ms__sha256_init(&h);
        ms__sha256_update(&h, s.data(), s.size());
        ms__sha256_zeros(&h, extra_zeros);
        uint8_t d[MS_SHA256_LEN];
        ms__sha256_final(&h, d);
        char hexd[65];
        ms__sha256_hex(d, hexd);
        return std::string(hexd);
    };
    EXPECT_EQ(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(digest(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    EXPECT_EQ(digest("x", 100000), digest("x" + std::string(100000, '\0')));
}

TEST(DumpCore, MarkerAtItsAddressAndGdbReadsIt)
{
    const std::string marker = "CORE-MARKER-6b1f0e";
    Victim v("victim_marker", {marker});
    TempDir dir;
    std::string path = dir / "marker.core";
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), path, options(), &res), MS_OK) << ms_last_error();
    EXPECT_GT(res.regions_dumped, 5u);
    EXPECT_EQ(res.threads, 1u);
    EXPECT_EQ(res.frozen, 0u);

    Core core(path);
    ASSERT_EQ(memcmp(core.eh.e_ident, ELFMAG, SELFMAG), 0);
    EXPECT_EQ(core.eh.e_type, ET_CORE);
    EXPECT_EQ(core.at(v.hex("addr"), marker.size()), marker);
    EXPECT_EQ(core.at(v.hex("heap"), marker.size()), marker);
    const Elf64_Phdr *ph = core.load_at(v.hex("map"));
    ASSERT_NE(ph, nullptr);
    EXPECT_EQ(ph->p_vaddr, v.hex("map"));
    EXPECT_EQ(ph->p_memsz, std::stoull(v.fact("map_len")));
    EXPECT_EQ(ph->p_flags, (Elf64_Word)(PF_R | PF_W));
    EXPECT_EQ(ph->p_offset % 4096, 0u);
    ASSERT_EQ(core.of_type(NT_PRSTATUS).size(), 1u);
    prstatus_t pr;
    memcpy(&pr, core.of_type(NT_PRSTATUS)[0]->desc.data(), sizeof pr);
    EXPECT_EQ(pr.pr_pid, v.pid());
    EXPECT_EQ(core.of_type(NT_PRPSINFO).size(), 1u);
    EXPECT_EQ(core.of_type(NT_AUXV).size(), 1u);
    ASSERT_EQ(core.of_type(NT_FILE).size(), 1u);
    EXPECT_NE(core.of_type(NT_FILE)[0]->desc.find("victim_marker"), std::string::npos);

    std::string gdb = run_merged("timeout 120 gdb -nx -batch -c " + path + " -ex 'x/s " + hex(v.hex("addr")) + "'");
    EXPECT_NE(gdb.find("\"" + marker + "\""), std::string::npos) << gdb;
    std::string exe = std::string(MS_VICTIM_DIR) + "/victim_marker";
    gdb = run_merged("timeout 120 gdb -nx -batch " + exe + " -c " + path + " -ex 'x/s " + hex(v.hex("heap")) + "'");
    EXPECT_NE(gdb.find("\"" + marker + "\""), std::string::npos) << gdb;

    // readelf parses every header and note without a complaint. (Its "Cannot
    // decode 64-bit note in 32-bit build" for NT_FILE is a binutils limit it
    // prints for kernel and gcore cores alike.)
    std::string readelf = run_merged("readelf -a -W " + path);
    std::istringstream lines(readelf);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find("Cannot decode 64-bit note in 32-bit build") != std::string::npos)
            continue;
        for (const char *bad : {"arning", "rror", "orrupt", "nvalid"})
            EXPECT_EQ(line.find(bad), std::string::npos) << line;
    }
    EXPECT_NE(readelf.find("NT_PRSTATUS"), std::string::npos);
    EXPECT_NE(readelf.find("NT_AUXV"), std::string::npos);
}

TEST(DumpCore, FrozenThreadsHaveRegistersAndAreResumed)
{
    Victim v("victim_threads", {"4"});
    std::vector<int> tids;
    std::stringstream ss(v.fact("tids"));
    for (std::string t; std::getline(ss, t, ',');)
        tids.push_back(std::stoi(t));
    ASSERT_EQ(tids.size(), 5u);
    TempDir dir;
    std::string path = dir / "threads.core";
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), path, options(MS_DUMP_FREEZE), &res), MS_OK) << ms_last_error();
    EXPECT_EQ(res.threads, 5u);
    EXPECT_EQ(res.frozen, 1u);
    expect_running_untraced(v.pid());

    Core core(path);
    auto statuses = core.of_type(NT_PRSTATUS);
    ASSERT_EQ(statuses.size(), 5u);
    std::vector<int> seen;
    for (auto *n : statuses) {
        prstatus_t pr;
        ASSERT_EQ(n->desc.size(), sizeof pr);
        memcpy(&pr, n->desc.data(), sizeof pr);
        seen.push_back(pr.pr_pid);
#if defined(__x86_64__)
        // A thread stopped in a system call has a real stack and program counter.
        struct user_regs_struct regs;
        memcpy(&regs, &pr.pr_reg, sizeof regs);
        EXPECT_NE(regs.rip, 0u);
        EXPECT_NE(regs.rsp, 0u);
        EXPECT_NE(core.load_at(regs.rsp), nullptr) << "stack pointer outside every region";
#endif
        EXPECT_EQ(pr.pr_fpvalid, 1);
    }
    EXPECT_EQ(seen[0], v.pid()) << "main thread first";
    std::sort(seen.begin(), seen.end());
    std::sort(tids.begin(), tids.end());
    EXPECT_EQ(seen, tids);
    EXPECT_EQ(core.of_type(NT_PRFPREG).size(), 5u);

    std::string exe = std::string(MS_VICTIM_DIR) + "/victim_threads";
    std::string gdb = run_merged("timeout 120 gdb -nx -batch " + exe + " -c " + path + " -ex 'info threads'");
    for (int tid : tids)
        EXPECT_NE(gdb.find("LWP " + std::to_string(tid)), std::string::npos) << gdb;
    // The victim runs on: it answers the end of its input by exiting cleanly.
    int status = v.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(DumpCore, UnfrozenThreadsAreListedWithZeroRegisters)
{
    Victim v("victim_threads", {"2"});
    TempDir dir;
    std::string path = dir / "t.core";
    ASSERT_EQ(dump(v.pid(), path, options()), MS_OK) << ms_last_error();
    Core core(path);
    auto statuses = core.of_type(NT_PRSTATUS);
    ASSERT_EQ(statuses.size(), 3u);
    for (auto *n : statuses) {
        prstatus_t pr;
        memcpy(&pr, n->desc.data(), sizeof pr);
        EXPECT_GT(pr.pr_pid, 0);
        for (auto reg : pr.pr_reg)
            EXPECT_EQ(reg, 0u);
    }
    EXPECT_EQ(core.of_type(NT_PRFPREG).size(), 0u);
}

TEST(DumpCore, RegionOverTheCapIsCutAsDocumented)
{
    Victim v("victim_pages", {"24", "1"}); // 24 MiB, every page touched
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
    TempDir dir;
    std::string path = dir / "capped.core";
    std::vector<ms_dump_region> seen_regions;
    std::vector<std::string> reasons;
    ms_dump_options o = options();
    EXPECT_EQ(o.max_region_size, 10ull << 20) << "the seed's default cap";
    struct Seen {
        uint64_t map;
        ms_dump_region region;
        std::string reason;
        bool found = false;
    } seen{map, {}, "", false};
    o.on_region = [](const ms_dump_region *r, void *u) {
        auto *s = static_cast<Seen *>(u);
        if (r->region->start == s->map) {
            s->region = *r;
            s->reason = r->reason;
            s->found = true;
        }
        return 0;
    };
    o.region_user = &seen;
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), path, o, &res), MS_OK) << ms_last_error();
    ASSERT_TRUE(seen.found);
    EXPECT_EQ(seen.region.status, MS_DUMP_REGION_TRUNCATED);
    EXPECT_EQ(seen.region.length, 10ull << 20);
    EXPECT_EQ(seen.reason, "cut at the per-region cap of 10 MiB");
    EXPECT_GE(res.regions_truncated, 1u);

    Core core(path);
    const Elf64_Phdr *ph = core.load_at(map);
    ASSERT_NE(ph, nullptr);
    EXPECT_EQ(ph->p_memsz, len);
    EXPECT_EQ(ph->p_filesz, 10ull << 20);
    // The last page inside the cap is there; the first one after it is not.
    uint64_t last = map + (10ull << 20) - 4096, next = map + (10ull << 20);
    uint64_t tag;
    std::string b = core.at(last, 8);
    ASSERT_EQ(b.size(), 8u);
    memcpy(&tag, b.data(), 8);
    EXPECT_EQ(tag, last);
    EXPECT_EQ(core.at(next, 8), "");

    // 0 means no cap.
    std::string whole = dir / "whole.core";
    o.max_region_size = 0;
    o.on_region = nullptr;
    ASSERT_EQ(dump(v.pid(), whole, o), MS_OK);
    Core full(whole);
    ASSERT_NE(full.load_at(map), nullptr);
    EXPECT_EQ(full.load_at(map)->p_filesz, len);
    memcpy(&tag, full.at(map + len - 4096, 8).data(), 8);
    EXPECT_EQ(tag, map + len - 4096);
}

TEST(DumpRaw, BytesAtTheManifestOffsetsWithVerifiableDigests)
{
    const std::string marker = "RAW-MARKER-90d2c4";
    Victim v("victim_marker", {marker});
    TempDir dir;
    std::string path = dir / "marker.raw";
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), path, options(0, MS_DUMP_FORMAT_RAW), &res), MS_OK) << ms_last_error();
    struct stat st;
    ASSERT_EQ(stat((path + ".json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    // python3 as the independent oracle: parses the JSON, checks every
    // digest over the bytes in the file, and prints the bytes at an address.
    std::string script = dir / "check.py";
    std::ofstream(script) << R"(import hashlib, json, sys
data = open(sys.argv[1], 'rb').read()
m = json.load(open(sys.argv[1] + '.json'))
assert m['format'] == 'memsentry-raw' and m['version'] == 1 and m['os'] == 'linux', 'header'
assert m['totals']['file_size'] == len(data), 'size'
assert m['data'] == sys.argv[1].rsplit('/', 1)[1], 'data file name'
end = 0
for r in m['regions']:
    assert r['status'] in ('ok', 'truncated', 'partial', 'skipped'), r
    assert r['bytes_read'] + r['bytes_from_file'] + r['bytes_hole'] + r['bytes_unreadable'] == r['bytes'], r
    assert ('reason' in r) == (r['status'] != 'ok'), r
    if r['bytes']:
        assert r['file_offset'] == end, ('not back to back', r)
        chunk = data[r['file_offset']:r['file_offset'] + r['bytes']]
        assert hashlib.sha256(chunk).hexdigest() == r['sha256'], ('digest', r)
        end = r['file_offset'] + r['bytes']
    else:
        assert r['status'] == 'skipped' and r['reason'] and 'sha256' not in r, r
for a in sys.argv[2:]:
    addr = int(a, 16)
    for r in m['regions']:
        s, e = int(r['start'], 16), int(r['end'], 16)
        if s <= addr < e:
            o = r['file_offset'] + addr - s
            print(data[o:o + 64].split(b'\0')[0].decode(), r['perms'], r['status'])
print('checked', len(m['regions']))
)";
    std::string out = run_merged("python3 " + script + " " + path + " " + hex(v.hex("addr")) + " " + hex(v.hex("heap")));
    EXPECT_NE(out.find(marker + " rw-p ok\n" + marker + " rw-p ok\n"), std::string::npos) << out;
    EXPECT_NE(out.find("checked " + std::to_string(res.regions)), std::string::npos) << out;
}

TEST(DumpRaw, FileBackedPagesComeFromTheFileNotTheTarget)
{
    Victim v("victim_filetail", {"/tmp"});
    uint64_t map = v.hex("map");
    long rss_before = std::stol(proc_status_field(v.pid(), "RssFile"));
    TempDir dir;
    std::string path = dir / "file.raw";
    struct Seen {
        uint64_t map;
        ms_dump_region r;
        bool found;
    } seen{map, {}, false};
    ms_dump_options o = options(0, MS_DUMP_FORMAT_RAW);
    o.on_region = [](const ms_dump_region *r, void *u) {
        auto *s = static_cast<Seen *>(u);
        if (r->region->start == s->map) {
            s->r = *r;
            s->found = true;
        }
        return 0;
    };
    o.region_user = &seen;
    ASSERT_EQ(dump(v.pid(), path, o), MS_OK) << ms_last_error();
    ASSERT_TRUE(seen.found);
    // The victim read its first page (and the kernel mapped a few around
    // it): those come from the target; the file's other pages are absent
    // and come from the file; the page past the file's end is a hole.
    uint64_t len = std::stoull(v.fact("len")), file_len = std::stoull(v.fact("file_len"));
    EXPECT_GE(seen.r.bytes_read, 4096u);
    EXPECT_GT(seen.r.bytes_from_file, 0u);
    EXPECT_EQ(seen.r.bytes_read + seen.r.bytes_from_file, file_len);
    EXPECT_EQ(seen.r.bytes_hole, len - file_len);
    EXPECT_EQ(seen.r.status, MS_DUMP_REGION_OK);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    std::string got = pread_string(fd, seen.r.file_offset, len);
    close(fd);
    EXPECT_EQ(got.substr(0, file_len), std::string(file_len, 'F'));
    EXPECT_EQ(got.substr(file_len), std::string(len - file_len, '\0'));
    EXPECT_EQ(std::stol(proc_status_field(v.pid(), "RssFile")), rss_before) << "pages were mapped into the target";
}

// The minidump format is the Windows agent's (MiniDumpWriteDump): on Linux it
// is refused with a message that names the formats to use, and nothing is
// written, even with force over an existing file.
TEST(DumpMinidump, IsUnsupportedOnLinuxAndLeavesNothing)
{
    Victim v("victim_marker");
    TempDir dir;
    ms_dump_result res{};
    res.struct_size = sizeof res;
    EXPECT_EQ(dump(v.pid(), dir / "victim.dmp", options(0, MS_DUMP_FORMAT_MINIDUMP), &res), MS_E_UNSUPPORTED);
    std::string why = ms_last_error();
    EXPECT_NE(why.find("Windows-only"), std::string::npos) << why;
    EXPECT_NE(why.find("core or raw"), std::string::npos) << why;
    EXPECT_EQ(res.file_size, 0u);
    EXPECT_TRUE(dir.entries().empty());

    std::string existing = dir / "existing.dmp";
    std::ofstream(existing) << "keep me";
    EXPECT_EQ(dump(v.pid(), existing, options(MS_DUMP_FORCE, MS_DUMP_FORMAT_MINIDUMP)), MS_E_UNSUPPORTED);
    EXPECT_EQ(slurp(existing), "keep me");
    // A format past the last one is bad input, not an unsupported one.
    EXPECT_EQ(dump(v.pid(), dir / "x", options(0, MS_DUMP_FORMAT_MINIDUMP + 1)), MS_E_INVALID_ARGUMENT);
}

TEST(DumpSafety, ModeIs0600AndTemporaryNamesNeverStay)
{
    Victim v("victim_marker");
    TempDir dir;
    mode_t old = umask(0);
    ms_status st = dump(v.pid(), dir / "a.core", options());
    umask(old);
    ASSERT_EQ(st, MS_OK) << ms_last_error();
    struct stat sb;
    ASSERT_EQ(lstat((dir / "a.core").c_str(), &sb), 0);
    EXPECT_TRUE(S_ISREG(sb.st_mode));
    EXPECT_EQ(sb.st_mode & 07777, 0600u);
    EXPECT_EQ(sb.st_uid, geteuid());
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.core"});
}

TEST(DumpSafety, ExistingFileAndSymlinkAreRefusedUnlessForced)
{
    Victim v("victim_marker");
    TempDir dir;
    std::string existing = dir / "existing.core";
    std::ofstream(existing) << "keep me";
    EXPECT_EQ(dump(v.pid(), existing, options()), MS_E_EXISTS);
    EXPECT_NE(std::string(ms_last_error()).find("already exists"), std::string::npos) << ms_last_error();
    EXPECT_EQ(slurp(existing), "keep me");

    // A link planted at the output path (the classic root-writes-through-a-
    // symlink attack): refused, and its target untouched.
    std::string target = dir / "target", link = dir / "link.core";
    std::ofstream(target) << "precious";
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
    EXPECT_EQ(dump(v.pid(), link, options()), MS_E_EXISTS);
    EXPECT_NE(std::string(ms_last_error()).find("symbolic link"), std::string::npos) << ms_last_error();
    EXPECT_EQ(slurp(target), "precious");
    // A dangling link too.
    std::string dangling = dir / "dangling.core";
    ASSERT_EQ(symlink((dir / "nowhere").c_str(), dangling.c_str()), 0);
    EXPECT_EQ(dump(v.pid(), dangling, options()), MS_E_EXISTS);
    EXPECT_NE(access((dir / "nowhere").c_str(), F_OK), 0);
    // A directory is never replaced.
    ASSERT_EQ(mkdir((dir / "d.core").c_str(), 0700), 0);
    EXPECT_EQ(dump(v.pid(), dir / "d.core", options(MS_DUMP_FORCE)), MS_E_EXISTS);
    // Raw: the manifest's name counts as well.
    std::ofstream(dir / "r.raw.json") << "{}";
    EXPECT_EQ(dump(v.pid(), dir / "r.raw", options(0, MS_DUMP_FORMAT_RAW)), MS_E_EXISTS);
    EXPECT_NE(access((dir / "r.raw").c_str(), F_OK), 0);

    // Forced: the file is replaced, the link itself is replaced by the dump
    // (its target stays as it was).
    EXPECT_EQ(dump(v.pid(), existing, options(MS_DUMP_FORCE)), MS_OK) << ms_last_error();
    Core replaced(existing);
    EXPECT_EQ(memcmp(replaced.eh.e_ident, ELFMAG, SELFMAG), 0);
    EXPECT_EQ(dump(v.pid(), link, options(MS_DUMP_FORCE)), MS_OK) << ms_last_error();
    struct stat sb;
    ASSERT_EQ(lstat(link.c_str(), &sb), 0);
    EXPECT_TRUE(S_ISREG(sb.st_mode));
    EXPECT_EQ(sb.st_mode & 07777, 0600u);
    EXPECT_EQ(slurp(target), "precious");
    EXPECT_TRUE(no_partial_files(dir));
}

TEST(DumpSafety, PrivateDirRefusesADirectoryAnotherUserOwnsOrMayWrite)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to give a directory to another user";
    Victim v("victim_marker");
    TempDir dir;
    std::string theirs = dir / "theirs", shared = dir / "shared", mine = dir / "mine";
    ASSERT_EQ(mkdir(theirs.c_str(), 0755), 0);
    ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
    ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(chmod(shared.c_str(), 0770), 0);
    ASSERT_EQ(mkdir(mine.c_str(), 0700), 0);
    EXPECT_EQ(dump(v.pid(), theirs + "/a.core", options(MS_DUMP_PRIVATE_DIR)), MS_E_ACCESS_DENIED);
    EXPECT_NE(std::string(ms_last_error()).find("owned by uid 65534"), std::string::npos) << ms_last_error();
    EXPECT_EQ(dump(v.pid(), shared + "/a.core", options(MS_DUMP_PRIVATE_DIR)), MS_E_ACCESS_DENIED);
    EXPECT_NE(std::string(ms_last_error()).find("writable by group or others"), std::string::npos) << ms_last_error();
    // A link to a private directory is someone's choice of where evidence goes: refused too.
    ASSERT_EQ(symlink(mine.c_str(), (dir / "link").c_str()), 0);
    EXPECT_EQ(dump(v.pid(), dir / "link/a.core", options(MS_DUMP_PRIVATE_DIR)), MS_E_IO);
    EXPECT_NE(std::string(ms_last_error()).find("symbolic link"), std::string::npos) << ms_last_error();
    EXPECT_EQ(dump(v.pid(), mine + "/a.core", options(MS_DUMP_PRIVATE_DIR)), MS_OK) << ms_last_error();
    struct stat sb;
    EXPECT_EQ(stat((theirs + "/a.core").c_str(), &sb), -1);
    EXPECT_EQ(stat((shared + "/a.core").c_str(), &sb), -1);
    v.stop();
}

TEST(DumpSafety, AtDirWritesIntoTheDirectoryOpenedBeforeEvenIfItsPathIsSwapped)
{
    // The caller opens (and checks) the directory once; renaming it and putting another in its
    // place afterwards changes nothing: the dump goes where the descriptor points.
    Victim v("victim_marker");
    TempDir dir;
    std::string ev = dir / "ev";
    ASSERT_EQ(mkdir(ev.c_str(), 0700), 0);
    int fd = open(ev.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(rename(ev.c_str(), (dir / "moved").c_str()), 0);
    ASSERT_EQ(mkdir(ev.c_str(), 0777), 0); // the swapped-in directory, open to everyone
    ms_dump_options o = options(MS_DUMP_AT_DIR | MS_DUMP_PRIVATE_DIR, MS_DUMP_FORMAT_RAW);
    o.dir_fd = fd;
    EXPECT_EQ(dump(v.pid(), "a.raw", o), MS_OK) << ms_last_error();
    struct stat sb;
    EXPECT_EQ(stat((dir / "moved/a.raw").c_str(), &sb), 0);
    EXPECT_EQ(stat((dir / "moved/a.raw.json").c_str(), &sb), 0);
    EXPECT_EQ(stat((ev + "/a.raw").c_str(), &sb), -1);
    EXPECT_EQ(dump(v.pid(), "sub/a.raw", o), MS_E_INVALID_ARGUMENT) << "a name, not a path";
    o.dir_fd = -1;
    EXPECT_EQ(dump(v.pid(), "b.raw", o), MS_E_INVALID_ARGUMENT);
    close(fd);
    v.stop();
}

TEST(DumpSafety, TargetExitingMidDumpLeavesNoFile)
{
    Victim v("victim_pages", {"64", "1"});
    TempDir dir;
    std::string path = dir / "dying.core";
    ms_dump_options o = options();
    o.max_region_size = 0;
    struct Ctx {
        pid_t pid;
        int calls;
    } ctx{v.pid(), 0};
    o.progress = [](uint64_t done, uint64_t total, void *u) {
        auto *c = static_cast<Ctx *>(u);
        if (done > 0 && done < total && c->calls++ == 0) {
            kill(c->pid, SIGKILL);
            for (int i = 0; i < 500 && access(("/proc/" + std::to_string(c->pid) + "/mem").c_str(), F_OK) == 0; i++) {
                if (proc_status_field(c->pid, "State").rfind("Z", 0) == 0)
                    break;
                usleep(1000);
            }
        }
        return 0;
    };
    o.progress_user = &ctx;
    ms_status st = dump(v.pid(), path, o);
    EXPECT_EQ(st, MS_E_NO_SUCH_PROCESS) << ms_last_error();
    EXPECT_NE(std::string(ms_last_error()).find("exited during the dump"), std::string::npos) << ms_last_error();
    EXPECT_GE(ctx.calls, 1) << "the victim was killed from the progress callback";
    EXPECT_TRUE(dir.entries().empty()) << "left behind: " << dir.entries().size();
}

TEST(DumpSafety, CancelAndProgressStopUndoEverything)
{
    Victim v("victim_threads", {"2"});
    TempDir dir;
    volatile int32_t cancel = 0;
    ms_dump_options o = options(MS_DUMP_FREEZE);
    o.cancel = &cancel;
    struct Ctx {
        volatile int32_t *cancel;
        pid_t pid;
        bool traced_by_us;
    } ctx{&cancel, v.pid(), false};
    o.progress = [](uint64_t, uint64_t, void *u) {
        auto *c = static_cast<Ctx *>(u);
        // The tracer is the freezer, a thread of this process.
        std::string tracer = proc_status_field(c->pid, "TracerPid");
        c->traced_by_us = tracer != "0" && access(("/proc/self/task/" + tracer).c_str(), F_OK) == 0;
        *c->cancel = 1;
        return 0;
    };
    o.progress_user = &ctx;
    EXPECT_EQ(dump(v.pid(), dir / "c.core", o), MS_E_INTERRUPTED) << ms_last_error();
    EXPECT_TRUE(ctx.traced_by_us) << "the freeze was in force during the dump";
    expect_running_untraced(v.pid());
    EXPECT_TRUE(dir.entries().empty());

    ms_dump_options p = options(MS_DUMP_FREEZE);
    p.progress = [](uint64_t, uint64_t, void *) { return 1; };
    EXPECT_EQ(dump(v.pid(), dir / "p.core", p), MS_E_STOPPED);
    expect_running_untraced(v.pid());
    EXPECT_TRUE(dir.entries().empty());
}

TEST(DumpSafety, AlreadyTracedTargetIsBusyAndLeftAsItWas)
{
    Victim v("victim_marker");
    ASSERT_EQ(ptrace(PTRACE_SEIZE, v.pid(), nullptr, nullptr), 0);
    TempDir dir;
    EXPECT_EQ(dump(v.pid(), dir / "busy.core", options(MS_DUMP_FREEZE)), MS_E_BUSY) << ms_last_error();
    EXPECT_EQ(proc_status_field(v.pid(), "TracerPid"), std::to_string(getpid()));
    ASSERT_EQ(ptrace(PTRACE_INTERRUPT, v.pid(), nullptr, nullptr), 0);
    int status;
    ASSERT_EQ(waitpid(v.pid(), &status, __WALL), v.pid());
    ASSERT_EQ(ptrace(PTRACE_DETACH, v.pid(), nullptr, nullptr), 0);
    EXPECT_TRUE(dir.entries().empty());
    // Without freezing, no ptrace is needed: the dump works.
    EXPECT_EQ(dump(v.pid(), dir / "ok.core", options()), MS_OK) << ms_last_error();
}

// A host whose other threads wait for their children (a JVM's process reaper
// calls waitpid(pid, &status, 0)) collects the tracee's stop notification
// before the freeze does: the freeze must still see the stop and resume it.
TEST(DumpSafety, FreezeSurvivesAnotherThreadReapingTheStop)
{
    Victim v("victim_threads", {"2"});
    std::atomic<int> stops{0};
    pid_t pid = v.pid();
    std::thread reaper([&]() {
        // Spins rather than blocks: already running when the stop happens, it
        // wins the race for the notification more often than the freeze does.
        for (;;) {
            int st;
            pid_t r = waitpid(pid, &st, WNOHANG);
            if (r == 0) {
                sched_yield();
                continue;
            }
            if (r == pid && WIFSTOPPED(st))
                stops++;
            if (r != pid || WIFEXITED(st) || WIFSIGNALED(st))
                break;
        }
    });
    // Who collects a stop first is a race; repeat until the reaper has won a few times.
    TempDir dir;
    std::vector<ms_status> results;
    std::vector<uint32_t> frozen, fp_notes;
    std::string detail;
    for (int round = 0; round < 40 && stops.load() < 3; round++) {
        ms_dump_result res;
        std::string path = dir / ("r" + std::to_string(round) + ".core");
        ms_status st = dump(pid, path, options(MS_DUMP_FREEZE), &res);
        results.push_back(st);
        if (st != MS_OK) {
            detail = ms_last_error();
            break;
        }
        frozen.push_back(res.frozen);
        fp_notes.push_back((uint32_t)Core(path).of_type(NT_PRFPREG).size());
        unlink(path.c_str());
    }
    std::string tracer = proc_status_field(pid, "TracerPid");
    std::string state = proc_status_field(pid, "State");
    v.stop(); // the reaper collects the exit
    reaper.join();
    for (ms_status st : results)
        ASSERT_EQ(st, MS_OK) << detail;
    for (size_t i = 0; i < frozen.size(); i++) {
        EXPECT_EQ(frozen[i], 1u);
        EXPECT_EQ(fp_notes[i], 3u) << "registers of every thread";
    }
    EXPECT_EQ(tracer, "0");
    EXPECT_TRUE(state.rfind("S", 0) == 0 || state.rfind("R", 0) == 0) << state;
    EXPECT_GE(stops.load(), 1) << "in " << results.size() << " dumps the reaper never took a stop notification";
}

int in_child(const std::function<int()> &body)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(body());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(DumpSafety, UnprivilegedCallerGetsAccessDenied)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to run a root victim and switch to nobody";
    Victim v("victim_marker");
    TempDir dir;
    ASSERT_EQ(chmod(dir.path.c_str(), 0777), 0);
    int rc = in_child([&]() {
        if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
            return 10;
        ms_agent *a;
        ms_agent_open(&a);
        ms_dump_options o = options();
        ms_status plain = ms_dump_process(a, v.pid(), (dir / "x.core").c_str(), &o, nullptr);
        o.flags = MS_DUMP_FREEZE;
        ms_status frozen = ms_dump_process(a, v.pid(), (dir / "y.core").c_str(), &o, nullptr);
        ms_agent_close(a);
        return plain == MS_E_ACCESS_DENIED && frozen == MS_E_ACCESS_DENIED ? 0 : 20 + plain;
    });
    EXPECT_EQ(rc, 0);
    EXPECT_TRUE(dir.entries().empty());
    expect_running_untraced(v.pid());
}

// Makes this process's file systems refuse O_TMPFILE as those without it
// do (EOPNOTSUPP), so the library takes its named-file fallback; for a
// forked child only.
bool refuse_o_tmpfile()
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 020000000, 0, 1), // the kernel's __O_TMPFILE; glibc's adds O_DIRECTORY
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EOPNOTSUPP & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// What a dump that was SIGKILLed while it wrote was writing into.
struct KilledDump {
    bool writing = false;   // the child reported written bytes before the kill
    std::string fd_target;  // where its descriptor in the directory pointed
    uint64_t bytes = 0;     // the size of that file at the kill
    int signal = 0;
};

// Dumps the victim from a forked child whose progress callback, once 32 MiB
// are written, tells the test and waits; the test then SIGKILLs the child.
KilledDump kill_mid_dump(pid_t victim, const std::string &dir, const std::string &path, bool no_tmpfile)
{
    KilledDump k;
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return k;
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        if (no_tmpfile && !refuse_o_tmpfile())
            _exit(10);
        ms_agent *a;
        if (ms_agent_open(&a) != MS_OK)
            _exit(11);
        ms_dump_options o = options();
        o.max_region_size = 0;
        o.progress = [](uint64_t done, uint64_t total, void *u) {
            if (done >= (32u << 20) && done < total) {
                char c = 1;
                if (write(*static_cast<int *>(u), &c, 1) == 1)
                    for (;;)
                        pause();
            }
            return 0;
        };
        o.progress_user = &ready[1];
        ms_status st = ms_dump_process(a, victim, path.c_str(), &o, nullptr);
        fprintf(stderr, "dump in the child ended before the kill: %s: %s\n", ms_status_name(st), ms_last_error());
        _exit(12);
    }
    close(ready[1]);
    char c;
    k.writing = read(ready[0], &c, 1) == 1;
    close(ready[0]);
    std::string fds = "/proc/" + std::to_string(child) + "/fd";
    DIR *d = opendir(fds.c_str());
    while (struct dirent *e = d && k.writing ? readdir(d) : nullptr) {
        char target[4096];
        ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        struct stat sb;
        if (strncmp(target, (dir + "/").c_str(), dir.size() + 1) == 0 &&
            fstatat(dirfd(d), e->d_name, &sb, 0) == 0 && S_ISREG(sb.st_mode)) {
            k.fd_target = target;
            k.bytes = (uint64_t)sb.st_blocks * 512;
        }
    }
    if (d)
        closedir(d);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    k.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return k;
}

// A victim with 256 MiB of touched heap and a directory, for dumps killed while they write.
class DumpKilled : public ::testing::Test {
protected:
    Victim v{"victim_pages", {"256", "1"}};
    TempDir dir;
    KilledDump kill_while_writing(bool no_tmpfile)
    {
        KilledDump k = kill_mid_dump(v.pid(), dir.path, dir / "killed.core", no_tmpfile);
        EXPECT_EQ(k.signal, SIGKILL);
        EXPECT_GE(k.bytes, 16u << 20) << k.fd_target;
        return k;
    }
};

TEST_F(DumpKilled, MidWriteLeavesNothing)
{
    KilledDump k = kill_while_writing(false);
    ASSERT_TRUE(k.writing) << "the dump never reported progress";
    // It was writing an unnamed file (O_TMPFILE) in the directory: "/dir/#INODE (deleted)".
    EXPECT_NE(k.fd_target.find("(deleted)"), std::string::npos) << k.fd_target;
    EXPECT_EQ(dir.entries(), std::vector<std::string>{});
    expect_running_untraced(v.pid());
}

TEST_F(DumpKilled, WithoutOTmpfileItsFileIsNamedByTheNextDumpAndKept)
{
    KilledDump k = kill_while_writing(true);
    ASSERT_TRUE(k.writing) << "the dump never reported progress";
    std::vector<std::string> left = dir.entries();
    ASSERT_EQ(left.size(), 1u);
    std::string leftover = left[0];
    EXPECT_EQ(dir / leftover, k.fd_target);
    EXPECT_EQ(leftover.rfind(".killed.core.", 0), 0u) << leftover;
    EXPECT_EQ(leftover.size(), strlen(".killed.core.") + 8 + strlen(".partial")) << leftover;
    struct stat before;
    ASSERT_EQ(stat((dir / leftover).c_str(), &before), 0);
    EXPECT_GE((uint64_t)before.st_blocks * 512, 16u << 20);

    // Another dump's file that is still being written (held locked) is not a leftover.
    std::string live = ".other.core.0badc0de.partial";
    int live_fd = open((dir / live).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT_GE(live_fd, 0);
    ASSERT_EQ(flock(live_fd, LOCK_EX), 0);

    struct Warnings {
        std::vector<std::string> lines;
    } warned;
    Victim small("victim_marker");
    ms_agent *a;
    ASSERT_EQ(ms_agent_open(&a), MS_OK);
    ms_agent_set_log(
        a, [](int32_t level, const char *m, void *u) { static_cast<Warnings *>(u)->lines.push_back(std::to_string(level) + " " + m); },
        &warned, MS_LOG_WARN);
    ms_dump_options o = options();
    EXPECT_EQ(ms_dump_process(a, small.pid(), (dir / "next.core").c_str(), &o, nullptr), MS_OK) << ms_last_error();
    EXPECT_EQ(ms_dump_process(a, small.pid(), (dir / "again.core").c_str(), &o, nullptr), MS_OK) << ms_last_error();
    ms_agent_close(a);
    close(live_fd);

    ASSERT_EQ(warned.lines.size(), 1u) << "one warning, from the first dump into the directory";
    EXPECT_EQ(warned.lines[0].rfind(std::to_string(MS_LOG_WARN) + " " + (dir / leftover) + ":", 0), 0u) << warned.lines[0];
    EXPECT_NE(warned.lines[0].find("killed"), std::string::npos) << warned.lines[0];
    struct stat after;
    ASSERT_EQ(stat((dir / leftover).c_str(), &after), 0) << "the leftover is never deleted";
    EXPECT_EQ(after.st_size, before.st_size);
    EXPECT_EQ(access((dir / "next.core").c_str(), F_OK), 0);
    EXPECT_EQ(access((dir / "again.core").c_str(), F_OK), 0);
}

TEST(DumpSafety, NotEnoughSpaceIsRefusedBeforeWriting)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root for a private tmpfs";
    Victim v("victim_pages", {"8", "1"});
    TempDir dir;
    int rc = in_child([&]() {
        if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return 10;
        if (mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=1m") != 0)
            return 11;
        ms_dump_options o = options();
        ms_status st = dump(v.pid(), dir / "big.core", o);
        bool empty = dir.entries().empty();
        umount(dir.path.c_str());
        return st == MS_E_NO_SPACE && empty ? 0 : 20 + st;
    });
    EXPECT_EQ(rc, 0);
}

TEST(DumpSelection, SuspiciousOnlyKeepsRwxAndSkipsTheRest)
{
    Victim v("victim_rwx");
    TempDir dir;
    std::string path = dir / "s.core";
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), path, options(MS_DUMP_SUSPICIOUS_ONLY), &res), MS_OK) << ms_last_error();
    Core core(path);
    EXPECT_EQ(core.at(v.hex("addr"), 18), "MEMSENTRY-RWX-4e1d");
    ASSERT_NE(core.load_at(v.hex("rwx")), nullptr);
    EXPECT_EQ(core.load_at(v.hex("rwx"))->p_flags, (Elf64_Word)(PF_R | PF_W | PF_X));
    ASSERT_NE(core.load_at(v.hex("plain")), nullptr);
    EXPECT_EQ(core.load_at(v.hex("plain"))->p_filesz, 0u);
    for (auto &ph : core.loads)
        if (ph.p_filesz) {
            EXPECT_TRUE((ph.p_flags & PF_X) != 0) << hex(ph.p_vaddr);
        }
    EXPECT_GT(res.regions_skipped, 5u);
}

TEST(DumpSelection, LargeNonExecutableAndTotalCap)
{
    Victim v("victim_rwx");
    TempDir dir;
    ms_dump_options o = options();
    o.skip_nonexec_over = 64 * 1024;
    std::string path = dir / "n.core";
    ASSERT_EQ(dump(v.pid(), path, o), MS_OK);
    Core core(path);
    EXPECT_EQ(core.load_at(v.hex("plain"))->p_filesz, 0u); // 256 KiB, not executable
    EXPECT_EQ(core.at(v.hex("addr"), 18), "MEMSENTRY-RWX-4e1d");

    ms_dump_options t = options();
    t.max_total_size = 100 * 1024;
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), dir / "t.core", t, &res), MS_OK);
    EXPECT_EQ(res.bytes_dumped, 100u * 1024);
    Core capped(dir / "t.core");
    uint64_t sum = 0;
    for (auto &ph : capped.loads)
        sum += ph.p_filesz;
    EXPECT_EQ(sum, 100u * 1024);
}

TEST(DumpRss, LargeUntouchedMappingIsNotAllocatedByTheDump)
{
    Victim v("victim_pages", {"256", "0", "shared"});
    long before = std::stol(proc_status_field(v.pid(), "VmRSS"));
    TempDir dir;
    std::string path = dir / "rss.core";
    ms_dump_options o = options(MS_DUMP_FREEZE);
    o.max_region_size = 0;
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), path, o, &res), MS_OK) << ms_last_error();
    long after = std::stol(proc_status_field(v.pid(), "VmRSS"));
    EXPECT_LT(after - before, 1024) << "VmRSS " << before << " -> " << after << " kB";
    EXPECT_GE(res.bytes_hole, 256ull << 20);
    // Written sparse: the 256 MiB hole takes no blocks.
    struct stat sb;
    ASSERT_EQ(stat(path.c_str(), &sb), 0);
    EXPECT_GE((uint64_t)sb.st_size, 256ull << 20);
    EXPECT_LT((uint64_t)sb.st_blocks * 512, 64ull << 20);
    Core core(path);
    ASSERT_NE(core.load_at(v.hex("map")), nullptr);
    EXPECT_EQ(core.load_at(v.hex("map"))->p_filesz, 256ull << 20);
}

// Big dumps are streamed by several threads: the file must not depend on it.
TEST(DumpParallel, SameBytesWithOneOrSeveralThreads)
{
    Victim v("victim_pages", {"96", "1"});
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
    TempDir dir;
    for (uint32_t threads : {1u, 3u}) {
        ms_dump_options o = options();
        o.max_region_size = 0;
        o.threads = threads;
        ASSERT_EQ(dump(v.pid(), dir / ("t" + std::to_string(threads) + ".core"), o), MS_OK) << ms_last_error();
    }
    Core one(dir / "t1.core"), three(dir / "t3.core");
    ASSERT_EQ(one.loads.size(), three.loads.size());
    for (size_t i = 0; i < one.loads.size(); i++)
        EXPECT_EQ(one.loads[i].p_filesz, three.loads[i].p_filesz);
    for (uint64_t at = map; at < map + len; at += 1 << 20) {
        std::string a = one.at(at, 1 << 20), b = three.at(at, 1 << 20);
        ASSERT_EQ(a.size(), 1u << 20);
        ASSERT_TRUE(a == b) << "differs in the MiB at " << hex(at);
        uint64_t tag;
        memcpy(&tag, b.data(), 8);
        ASSERT_EQ(tag, at);
    }

    // Raw: regions are shared out whole, each hashed by one thread.
    struct Digests {
        std::vector<std::string> sha;
    } d1, d3;
    for (auto *d : {&d1, &d3}) {
        ms_dump_options o = options(0, MS_DUMP_FORMAT_RAW);
        o.threads = d == &d1 ? 1 : 3;
        o.max_region_size = 0;
        o.on_region = [](const ms_dump_region *r, void *u) {
            static_cast<Digests *>(u)->sha.push_back(r->sha256 ? r->sha256 : "-");
            return 0;
        };
        o.region_user = d;
        ASSERT_EQ(dump(v.pid(), dir / (d == &d1 ? "r1.raw" : "r3.raw"), o), MS_OK) << ms_last_error();
    }
    EXPECT_EQ(d1.sha, d3.sha);
}

// Every page of victim_pages' mapping [map, map+len) in the core at path, as
// the victim wrote it: its own address first, its index's low byte last.
void expect_victim_pages(const std::string &path, uint64_t map, uint64_t len)
{
    Core core(path);
    for (uint64_t at = map; at < map + len; at += 4096) {
        std::string page = core.at(at, 4096);
        ASSERT_EQ(page.size(), 4096u) << hex(at);
        uint64_t tag;
        memcpy(&tag, page.data(), 8);
        ASSERT_EQ(tag, at);
        ASSERT_EQ((uint8_t)page[4095], (uint8_t)((at - map) / 4096)) << hex(at);
    }
}

// Big dumps write part of their pages around the page cache (O_DIRECT,
// whichever way is faster at the moment): the file must not show it, to our
// own parser or to gdb.
TEST(DumpDirect, PagesWrittenAroundThePageCacheAreTheTargetsAndGdbReadsThem)
{
    TempDir dir;
    int probe = open(dir.path.c_str(), O_TMPFILE | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
    if (probe < 0)
        GTEST_SKIP() << "the file system of " << dir.path << " refuses O_DIRECT: " << strerror(errno);
    close(probe);
    Victim v("victim_pages", {"96", "1"});
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
    struct Log {
        std::vector<std::string> lines;
    } log;
    for (uint32_t threads : {1u, 2u}) {
        ms_agent *a;
        ASSERT_EQ(ms_agent_open(&a), MS_OK);
        ms_agent_set_log(
            a, [](int32_t, const char *m, void *u) { static_cast<Log *>(u)->lines.push_back(m); }, &log, MS_LOG_DEBUG);
        ms_dump_options o = options();
        o.max_region_size = 0;
        o.threads = threads;
        std::string path = dir / ("d" + std::to_string(threads) + ".core");
        ASSERT_EQ(ms_dump_process(a, v.pid(), path.c_str(), &o, nullptr), MS_OK) << ms_last_error();
        ms_agent_close(a);
        uint64_t direct = 0;
        for (auto &l : log.lines) {
            size_t at = l.find(" bytes through the page cache, ");
            if (at != std::string::npos)
                direct += std::stoull(l.substr(at + strlen(" bytes through the page cache, ")));
        }
        EXPECT_GT(direct, 0u) << "no page went around the page cache";
        log.lines.clear();
        ASSERT_NO_FATAL_FAILURE(expect_victim_pages(path, map, len)) << "threads " << threads;
        if (threads == 1)
            continue; // gdb once is enough
        uint64_t probe_at = map + len / 2 + 4096 * 7;
        std::string exe = std::string(MS_VICTIM_DIR) + "/victim_pages";
        std::string gdb = run_merged("timeout 120 gdb -nx -batch " + exe + " -c " + path + " -ex 'x/gx " + hex(probe_at) + "'");
        char want[64];
        snprintf(want, sizeof want, "0x%llx:\t0x%016llx", (unsigned long long)probe_at, (unsigned long long)probe_at);
        EXPECT_NE(gdb.find(want), std::string::npos) << gdb;
    }
}

// Page-cache writes go in 64 KiB pieces (evidence.c, PAGE_CACHE_PIECE: small
// page-cache folios, not 2 MiB ones): strace of a dump says so, and the file
// is still the target's page by page.
TEST(DumpPageCache, WritesGoInPiecesOf64KiBAndTheFileIsTheTargets)
{
    if (run("command -v strace").empty())
        GTEST_SKIP() << "needs strace";
    Victim v("victim_pages", {"96", "1"});
    uint64_t map = v.hex("map"), len = std::stoull(v.fact("len"));
    TempDir dir;
    std::string path = dir / "p.core", trace = dir.path + "/trace.txt";
    int go[2];
    ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
    pid_t child = fork();
    if (child == 0) {
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(10);
        ms_dump_options o = options();
        o.max_region_size = 0;
        o.threads = 1;
        _exit(dump(v.pid(), path, o) == MS_OK ? 0 : 11);
    }
    close(go[0]);
    pid_t tracer = fork();
    if (tracer == 0) {
        std::string p = std::to_string(child);
        execlp("strace", "strace", "-qq", "-e", "trace=pwrite64", "-e", "signal=none", "-o", trace.c_str(), "-p",
               p.c_str(), (char *)nullptr);
        _exit(127);
    }
    for (int i = 0; i < 5000 && proc_status_field(child, "TracerPid") == "0"; i++)
        usleep(1000);
    bool traced = proc_status_field(child, "TracerPid") != "0";
    char c = 1;
    EXPECT_EQ(write(go[1], &c, 1), 1);
    close(go[1]);
    int status = 0;
    waitpid(child, &status, 0);
    waitpid(tracer, nullptr, 0);
    ASSERT_TRUE(traced) << "strace never attached";
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

    // pwrite64(FD, "..."..., SIZE, OFFSET) = N; the page-cache descriptor is
    // the one that wrote the header at offset 0 (O_DIRECT writes use another).
    std::istringstream lines(slurp(trace));
    std::string line;
    struct Write {
        int fd;
        uint64_t size, offset;
    };
    std::vector<Write> writes;
    while (std::getline(lines, line)) {
        if (line.rfind("pwrite64(", 0) != 0)
            continue;
        size_t eq = line.rfind(") = ");
        size_t off_comma = line.rfind(", ", eq);
        size_t size_comma = line.rfind(", ", off_comma - 1);
        ASSERT_NE(eq, std::string::npos) << line;
        writes.push_back({std::stoi(line.substr(9)), std::stoull(line.substr(size_comma + 2)),
                          std::stoull(line.substr(off_comma + 2))});
    }
    int cache_fd = -1;
    for (auto &w : writes)
        if (w.offset == 0)
            cache_fd = w.fd;
    ASSERT_NE(cache_fd, -1) << "no header write in " << writes.size() << " pwrite64 calls";
    size_t pieces = 0;
    uint64_t bytes = 0;
    for (auto &w : writes) {
        bytes += w.size;
        if (w.fd != cache_fd)
            continue;
        EXPECT_LE(w.size, 64u << 10) << "a page-cache write of " << w.size << " bytes at " << w.offset;
        pieces += w.size == (64u << 10);
    }
    EXPECT_GE(pieces, 32u) << "the first 4 MiB batch goes through the page cache";
    EXPECT_GE(bytes, len);

    expect_victim_pages(path, map, len);
}

TEST(DumpParallel, TargetExitingStopsEveryThreadAndLeavesNoFile)
{
    Victim v("victim_pages", {"256", "1"});
    TempDir dir;
    ms_dump_options o = options();
    o.max_region_size = 0;
    o.threads = 3;
    struct Ctx {
        pid_t pid;
        bool killed;
    } ctx{v.pid(), false};
    o.progress = [](uint64_t done, uint64_t total, void *u) {
        auto *c = static_cast<Ctx *>(u);
        if (done > 0 && done < total && !c->killed) {
            c->killed = true;
            kill(c->pid, SIGKILL);
            for (int i = 0; i < 500 && proc_status_field(c->pid, "State").rfind("Z", 0) != 0; i++)
                usleep(1000);
        }
        return 0;
    };
    o.progress_user = &ctx;
    ms_status st = dump(v.pid(), dir / "p.core", o);
    if (!ctx.killed)
        GTEST_SKIP() << "the dump finished before the first progress report";
    EXPECT_EQ(st, MS_E_NO_SUCH_PROCESS) << ms_last_error();
    EXPECT_TRUE(dir.entries().empty());
}

TEST(DumpArgs, BadInputGetsOneClearStatus)
{
    Agent agent;
    ms_dump_options o = options();
    EXPECT_EQ(ms_dump_process(nullptr, 1, "/tmp/x", &o, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_dump_process(agent.a, 0, "/tmp/x", &o, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_dump_process(agent.a, 1, nullptr, &o, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_dump_process(agent.a, 1, "", &o, nullptr), MS_E_INVALID_ARGUMENT);
    ms_dump_options bad = o;
    bad.format = 7;
    EXPECT_EQ(ms_dump_process(agent.a, 1, "/tmp/x", &bad, nullptr), MS_E_INVALID_ARGUMENT);
    bad = o;
    bad.flags = 0x8000;
    EXPECT_EQ(ms_dump_process(agent.a, 1, "/tmp/x", &bad, nullptr), MS_E_INVALID_ARGUMENT);
    bad = o;
    bad.threads = 1000;
    EXPECT_EQ(ms_dump_process(agent.a, 1, "/tmp/x", &bad, nullptr), MS_E_INVALID_ARGUMENT);
    bad = o;
    bad.struct_size = 8;
    EXPECT_EQ(ms_dump_process(agent.a, 1, "/tmp/x", &bad, nullptr), MS_E_INVALID_ARGUMENT);
    TempDir dir;
    EXPECT_EQ(ms_dump_process(agent.a, INT32_MAX, (dir / "x").c_str(), &o, nullptr), MS_E_NO_SUCH_PROCESS);
    EXPECT_EQ(ms_dump_process(agent.a, getpid(), (dir / "dir/").c_str(), &o, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_dump_process(agent.a, getpid(), (dir / "missing/x").c_str(), &o, nullptr), MS_E_IO);
    o.flags = MS_DUMP_FREEZE;
    EXPECT_EQ(ms_dump_process(agent.a, getpid(), (dir / "self").c_str(), &o, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_TRUE(dir.entries().empty());
    EXPECT_STREQ(ms_dump_region_status_name(MS_DUMP_REGION_TRUNCATED), "truncated");
    EXPECT_STREQ(ms_dump_region_status_name(99), "unknown");
}

TEST(DumpCore, ExtendedSegmentCountUsesSectionZero)
{
    std::vector<ms_core_segment> segs(70000);
    for (size_t i = 0; i < segs.size(); i++)
        segs[i] = {0x10000 + i * 0x2000, 0x1000, 0, 0x1000, MS_PERM_READ};
    ms_bytes out{};
    ASSERT_EQ(ms__core_header(segs.data(), segs.size(), 0, 0, 4096, &out), MS_OK);
    ASSERT_EQ(out.len, ms__core_header_size(segs.size()));
    Elf64_Ehdr eh;
    memcpy(&eh, out.p, sizeof eh);
    EXPECT_EQ(eh.e_phnum, PN_XNUM);
    EXPECT_EQ(eh.e_shnum, 1);
    Elf64_Shdr sh;
    memcpy(&sh, out.p + eh.e_shoff, sizeof sh);
    EXPECT_EQ(sh.sh_info, 70001u);
    ms__bytes_free(&out);
}

// ---- a target that attacks its inspector (issue 18) ----------------------

// The regions of pid, copied (paths kept alive).
struct RegionCopy {
    ms_region r;
    std::string path;
};

std::vector<RegionCopy> regions_of(pid_t pid)
{
    std::vector<RegionCopy> out;
    Agent agent;
    ms_region_list(
        agent.a, pid,
        [](const ms_region *r, void *u) {
            static_cast<std::vector<RegionCopy> *>(u)->push_back({*r, r->path});
            return 0;
        },
        &out);
    for (auto &c : out)
        c.r.path = c.path.c_str();
    return out;
}

const ms_region *region_at(const std::vector<RegionCopy> &rs, uint64_t start)
{
    for (auto &c : rs)
        if (c.r.start == start)
            return &c.r;
    return nullptr;
}

// Root without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE: /proc/PID/map_files
// is refused (as in a container), ptrace and /proc/PID/mem are not.
bool drop_map_files_caps()
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return false;
    for (int cap : {CAP_SYS_ADMIN, 40 /* CAP_CHECKPOINT_RESTORE */}) {
        d[cap / 32].effective &= ~(1u << (cap % 32));
        d[cap / 32].permitted &= ~(1u << (cap % 32));
    }
    return syscall(SYS_capset, &h, d) == 0;
}

// Everything that opens the file behind a region (dump, probe, compare,
// with and without map_files): the symlinks the target planted where its
// maps point are never followed, so the watched file is never opened.
TEST(HostileTarget, PlantedSymlinksAtMappedPathsAreNeverOpened)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root for the victim's mount namespace";
    TempDir dir, watched_dir;
    std::string watched = watched_dir / "watched";
    std::ofstream(watched) << "not for root to open";
    std::string mnt = dir / "mnt";
    ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
    // In our namespace too the maps path DIR/x names a symlink to the watched file.
    ASSERT_EQ(symlink(watched.c_str(), (mnt + "/x").c_str()), 0);
    Victim v("victim_hostile_map", {"symlink", mnt, watched});
    auto rs = regions_of(v.pid());
    const ms_region *file = region_at(rs, v.hex("file")), *del = region_at(rs, v.hex("del"));
    ASSERT_TRUE(file && del);
    EXPECT_EQ(file->kind, MS_REGION_FILE);
    EXPECT_EQ(std::string(file->path), mnt + "/x");
    EXPECT_EQ(del->kind, MS_REGION_DELETED);
    OpenWatch watch(watched);

    auto inspect_all = [&](const std::string &tag) {
        Agent agent;
        int bad = 0;
        for (const ms_region *r : {file, del}) {
            ms_region_probe_result probe;
            memset(&probe, 0, sizeof probe);
            probe.struct_size = sizeof probe;
            ms_region_probe(agent.a, v.pid(), r, &probe);
            ms_region_compare_file(agent.a, v.pid(), r, nullptr, nullptr, nullptr, nullptr);
        }
        ms_dump_options o = options(0, MS_DUMP_FORMAT_RAW);
        bad += dump(v.pid(), dir / (tag + ".raw"), o) != MS_OK;
        bad += dump(v.pid(), dir / (tag + ".core"), options()) != MS_OK;
        return bad;
    };
    EXPECT_EQ(in_child([&]() { return drop_map_files_caps() ? inspect_all("nocaps") : 99; }), 0);
    EXPECT_EQ(inspect_all("root"), 0);
    EXPECT_EQ(watch.opens(), 0) << "root opened the file a planted symlink points to";
    // With map_files the untouched pages still come from the very file mapped.
    std::string raw = slurp(dir / "root.raw");
    size_t first = raw.find("MS_PLANTED");
    ASSERT_NE(first, std::string::npos);
    EXPECT_NE(raw.find("MS_PLANTED", first + 1), std::string::npos) << "both regions";
}

// A tmpfs mounted on /dev in the target's own mount namespace holds plain
// files: /dev/payload mapped executable is memory like any other and its
// bytes are in the dump. Whether a region is a device comes from VmFlags.
TEST(HostileTarget, PayloadOnATmpfsMountedOnDevIsDumped)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root for the victim's mount namespace";
    Victim v("victim_hostile_map", {"devtmpfs"});
    TempDir dir;
    struct Seen {
        uint64_t start;
        ms_dump_region r;
        std::string path;
    } seen{v.hex("dev"), {}, ""};
    ms_dump_options o = options(0, MS_DUMP_FORMAT_RAW);
    o.on_region = [](const ms_dump_region *r, void *u) {
        auto *s = static_cast<Seen *>(u);
        if (r->region->start == s->start) {
            s->r = *r;
            s->path = r->region->path;
        }
        return 0;
    };
    o.region_user = &seen;
    ASSERT_EQ(dump(v.pid(), dir / "dev.raw", o), MS_OK) << ms_last_error();
    EXPECT_EQ(seen.path, "/dev/payload");
    EXPECT_EQ(seen.r.status, MS_DUMP_REGION_OK) << seen.r.reason;
    EXPECT_NE(slurp(dir / "dev.raw").find("MS_DEV_PAYLOAD"), std::string::npos);
    EXPECT_NE(slurp(dir / "dev.raw.json").find("/dev/payload"), std::string::npos);
}

// Every thread of pid untraced and out of any ptrace stop, allowing the
// kernel the moment it takes to release the tracees of a thread that ended.
bool all_threads_released(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        bool released = true;
        DIR *d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
        while (struct dirent *e = d ? readdir(d) : nullptr) {
            if (e->d_name[0] == '.')
                continue;
            std::string task = std::to_string(pid) + "/task/" + e->d_name;
            std::ifstream st("/proc/" + task + "/status");
            std::string line;
            while (std::getline(st, line))
                if ((line.rfind("TracerPid:", 0) == 0 && line != "TracerPid:\t0") ||
                    line.find("(tracing stop)") != std::string::npos)
                    released = false;
        }
        if (d)
            closedir(d);
        if (released)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

// Threads waiting in vfork() cannot be stopped: the freeze gives up at its
// one deadline (not per thread), says why, leaves every thread untraced and
// running, and the dump without freeze then works.
TEST(HostileTarget, ThreadsStuckInVforkCannotStallTheFreeze)
{
    Victim v("victim_vfork_stuck", {"4"});
    TempDir dir;
    auto t0 = std::chrono::steady_clock::now();
    ms_status st = dump(v.pid(), dir / "frozen.core", options(MS_DUMP_FREEZE));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string detail = ms_last_error();
    EXPECT_EQ(st, MS_E_TIMEOUT) << detail;
    EXPECT_NE(detail.find("uninterruptible"), std::string::npos) << detail;
    EXPECT_LT(seconds, 10.0) << "four stuck threads cost 10 s each before";
    EXPECT_TRUE(dir.entries().empty());
    EXPECT_TRUE(all_threads_released(v.pid()));
    ms_dump_result res;
    ASSERT_EQ(dump(v.pid(), dir / "running.core", options(), &res), MS_OK) << ms_last_error();
    EXPECT_EQ(res.frozen, 0u);
    EXPECT_EQ(res.threads, 5u);
    // The parents resume when their children go, and the victim exits normally.
    int status = v.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// Names in the raw manifest read as Java's BytesText writes them: the byte
// 0xff as \xff, the character U+00FF as itself, the text \xff as \\xff, and
// control characters JSON-escaped (python3's json is the oracle).
TEST(HostileTarget, ManifestNamesTellBytesFromLookalikeText)
{
    TempDir dir, out;
    Victim v("victim_hostile_names", {dir.path});
    ASSERT_EQ(dump(v.pid(), out / "n.raw", options(0, MS_DUMP_FORMAT_RAW)), MS_OK) << ms_last_error();
    std::string script = "import json,sys\n"
                         "m=json.load(open(sys.argv[1]))\n"
                         "by={int(r['start'],16):r['path'] for r in m['regions']}\n"
                         "for a in sys.argv[2:]: print(ascii(by[int(a,16)]))\n"
                         "print(ascii(m['process']['name']))\n";
    std::string got = run("python3 -c \"" + script + "\" '" + (out / "n.raw.json") + "' " + v.fact("esc") + " " +
                          v.fact("ff") + " " + v.fact("yy") + " " + v.fact("bsx"));
    std::string d = dir.path;
    EXPECT_EQ(got, "'" + d + "/esc\\x1b[2J\\x1b[H\\u202e'\n"
                   "'" + d + "/name\\\\xff'\n"
                   "'" + d + "/name\\xff'\n"
                   "'" + d + "/name\\\\\\\\xff'\n"
                   "'n\\n\\x1b[2J\\x1b]0;t\\x07'\n");
}

} // namespace
