// ms_module_list and the ELF dependency parser under it: DT_NEEDED and
// DT_SONAME as readelf (the oracle) reads them from real files, hostile bytes
// kept in bounds, and the closure and writers of the files real victims map,
// including a library the test injects over ptrace into a directory another
// user owns.
#include <memsentry/memsentry.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "common/elf_deps.h"
}

#include "test_support.hpp"
#include "victim.hpp"

namespace {

struct Module {
    ms_module_info m;
    std::string path, soname, writable_at;
};

std::vector<Module> modules_of(ms_agent *a, pid_t pid)
{
    std::vector<Module> out;
    auto cb = [](const ms_module_info *m, void *ud) -> int {
        static_cast<std::vector<Module> *>(ud)->push_back({*m, m->path, m->soname, m->writable_at});
        return 0;
    };
    EXPECT_EQ(ms_module_list(a, pid, cb, &out), MS_OK);
    return out;
}

const Module *by_name(const std::vector<Module> &ms, const std::string &tail)
{
    for (auto &m : ms)
        if (m.path.size() >= tail.size() && m.path.compare(m.path.size() - tail.size(), tail.size(), tail) == 0)
            return &m;
    return nullptr;
}

// readelf -d: the names in "(NEEDED) ... [name]" and "(SONAME) ... [name]" lines.
void readelf_names(const std::string &file, std::vector<std::string> &needed, std::string &soname)
{
    std::string out = run("readelf -dW '" + file + "' 2>/dev/null");
    size_t at = 0;
    while ((at = out.find('\n', at)) != std::string::npos) {
        size_t end = out.find('\n', at + 1);
        std::string line = out.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
        at++;
        size_t lb = line.find('['), rb = line.rfind(']');
        if (lb == std::string::npos || rb == std::string::npos || rb < lb)
            continue;
        std::string name = line.substr(lb + 1, rb - lb - 1);
        if (line.find("(NEEDED)") != std::string::npos)
            needed.push_back(name);
        else if (line.find("(SONAME)") != std::string::npos)
            soname = name;
    }
}

std::vector<uint8_t> slurp(const std::string &file)
{
    std::ifstream in(file, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

TEST(ElfDeps, NeededAndSonameEqualReadelfOnRealFiles)
{
    std::vector<std::string> files = {MS_VICTIM_DIR "/victim_plain", MS_VICTIM_DIR "/libvictim_code.so",
                                      MS_VICTIM_DIR "/victim_patch"};
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ASSERT_GT(n, 0);
    self[n] = '\0';
    files.push_back(self); // links libstdc++, libgtest, libc ...
    for (const char *lib : {"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"})
        if (access(lib, R_OK) == 0)
            files.push_back(lib);
    for (auto &f : files) {
        std::vector<std::string> needed;
        std::string soname;
        readelf_names(f, needed, soname);
        auto bytes = slurp(f);
        ms_elf_buffer buf = {bytes.data(), bytes.size()};
        ms_elf_info info;
        ASSERT_EQ(ms__elf_parse(ms__elf_read_buffer, &buf, true, &info), MS_OK) << f;
        EXPECT_TRUE(info.flags & MS_ELF_INFO_DYNAMIC) << f;
        EXPECT_FALSE(info.flags & MS_ELF_INFO_TRUNCATED) << f;
        std::vector<std::string> ours(info.needed, info.needed + info.needed_count);
        EXPECT_EQ(ours, needed) << f;
        EXPECT_EQ(info.soname ? std::string(info.soname) : std::string(), soname) << f;
    }
}

TEST(ElfDeps, ProgramsNameTheirInterpreterAndLibrariesDoNot)
{
    auto exe = slurp(MS_VICTIM_DIR "/victim_plain");
    ms_elf_buffer b1 = {exe.data(), exe.size()};
    ms_elf_info info;
    ASSERT_EQ(ms__elf_parse(ms__elf_read_buffer, &b1, false, &info), MS_OK);
    EXPECT_TRUE(info.has_interp);
    std::string interp = info.interp;
    EXPECT_NE(interp.find("/ld-linux"), std::string::npos) << interp;
    EXPECT_EQ(info.needed_count, 0u) << "no dynamic section asked for";
    auto lib = slurp(MS_VICTIM_DIR "/libvictim_code.so");
    ms_elf_buffer b2 = {lib.data(), lib.size()};
    ASSERT_EQ(ms__elf_parse(ms__elf_read_buffer, &b2, true, &info), MS_OK);
    EXPECT_FALSE(info.has_interp);
    EXPECT_EQ(info.type, 3);
}

TEST(ElfDeps, HostileBytesStayInBounds)
{
    auto good = slurp(MS_VICTIM_DIR "/victim_plain");
    ASSERT_GT(good.size(), 64u);
    ms_elf_info info;
    // Every prefix: a truncated file is malformed or gives fewer names, never more.
    for (size_t len : {0ul, 4ul, 51ul, 63ul, 64ul, 200ul, 1000ul, 4096ul}) {
        ms_elf_buffer b = {good.data(), std::min(len, good.size())};
        ms_status st = ms__elf_parse(ms__elf_read_buffer, &b, true, &info);
        EXPECT_TRUE(st == MS_OK || st == MS_E_MALFORMED) << len;
        EXPECT_LE(info.needed_count, (uint32_t)MS_ELF_MAX_NEEDED);
    }
    // A header claiming 65535 program headers of a wrong size, or at an offset that wraps.
    std::vector<uint8_t> bad(good.begin(), good.begin() + 64);
    bad[56] = 0xff, bad[57] = 0xff; // e_phnum
    ms_elf_buffer b = {bad.data(), bad.size()};
    EXPECT_EQ(ms__elf_parse(ms__elf_read_buffer, &b, true, &info), MS_E_MALFORMED);
    bad[56] = 1, bad[57] = 0;
    memset(&bad[32], 0xff, 8); // e_phoff
    EXPECT_EQ(ms__elf_parse(ms__elf_read_buffer, &b, true, &info), MS_E_MALFORMED);
    bad[4] = 3; // class
    EXPECT_EQ(ms__elf_parse(ms__elf_read_buffer, &b, true, &info), MS_E_MALFORMED);
}

TEST(Modules, AProgramsClosureIsItsNeedsAndItsInterpreter)
{
    Agent ag;
    Victim v("victim_plain");
    auto ms = modules_of(ag.a, v.pid());
    const Module *exe = by_name(ms, "/victim_plain");
    const Module *libc = by_name(ms, "/libc.so.6");
    ASSERT_NE(exe, nullptr);
    ASSERT_NE(libc, nullptr);
    EXPECT_TRUE(exe->m.flags & MS_MODULE_MAIN);
    EXPECT_EQ(libc->soname, "libc.so.6");
    bool interp = false;
    for (auto &m : ms) {
        EXPECT_TRUE(m.m.flags & MS_MODULE_CLOSURE_KNOWN) << m.path;
        EXPECT_TRUE(m.m.flags & MS_MODULE_NEEDED) << m.path << " is loaded at start";
        EXPECT_TRUE(m.m.flags & MS_MODULE_ELF) << m.path;
        EXPECT_TRUE(m.m.flags & MS_MODULE_PATH_VERIFIED) << m.path;
        EXPECT_NE(m.m.exec_start, 0u);
        EXPECT_EQ(m.m.process_uid, (uint32_t)geteuid());
        interp |= (m.m.flags & MS_MODULE_INTERP) != 0;
    }
    EXPECT_TRUE(interp);
}

TEST(Modules, ALibraryDlopenedFromDevShmIsNotNeededAndWritableByAll)
{
    Agent ag;
    Victim v("victim_tmpfs_lib");
    auto ms = modules_of(ag.a, v.pid());
    const Module *lib = by_name(ms, v.fact("path"));
    ASSERT_NE(lib, nullptr);
    EXPECT_FALSE(lib->m.flags & MS_MODULE_NEEDED);
    EXPECT_TRUE(lib->m.flags & MS_MODULE_CLOSURE_KNOWN);
    EXPECT_TRUE(lib->m.flags & MS_MODULE_WORLD_WRITABLE);
    EXPECT_TRUE(lib->m.flags & MS_MODULE_PATH_VERIFIED);
    EXPECT_EQ(lib->writable_at, "/dev/shm");
    EXPECT_EQ(lib->soname, "libvictim_code.so");
    EXPECT_EQ(lib->m.elf_type, 3);
    struct stat st;
    ASSERT_EQ(stat(v.fact("path").c_str(), &st), 0);
    EXPECT_EQ(lib->m.inode, (uint64_t)st.st_ino);
    EXPECT_LE(lib->m.start, v.hex("addr"));
}

TEST(Modules, ALibraryInjectedFromADirectoryAnotherUserOwns)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "chown needs root";
#if !defined(__x86_64__)
    GTEST_SKIP() << "the injector is x86-64 only";
#endif
    // Under the build tree (root's, 0755), not /tmp, so the owner is the only writer.
    std::string dir = std::string(MS_VICTIM_DIR) + "/../modules-test-" + std::to_string(getpid());
    std::string lib = dir + "/libplugin.so";
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << strerror(errno);
    ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
    run("cp '" MS_VICTIM_DIR "/libvictim_inject.so' '" + lib + "'");
    {
        Agent ag;
        Victim v("victim_plain");
        std::string out = run("'" MS_HELPER_DIR "/inject_dlopen' " + std::to_string(v.pid()) + " '" + lib + "' 2>&1");
        EXPECT_EQ(out.rfind("INJECTED", 0), 0u) << out;
        auto ms = modules_of(ag.a, v.pid());
        char real[4096];
        ASSERT_NE(realpath(dir.c_str(), real), nullptr);
        const Module *m = by_name(ms, "/libplugin.so");
        ASSERT_NE(m, nullptr);
        EXPECT_FALSE(m->m.flags & MS_MODULE_NEEDED);
        EXPECT_TRUE(m->m.flags & MS_MODULE_OWNER_OTHER);
        EXPECT_FALSE(m->m.flags & MS_MODULE_WORLD_WRITABLE);
        EXPECT_EQ(m->writable_at, std::string(real));
        EXPECT_EQ(m->m.owner_uid, 0u) << "the file is root's; its directory is not";
    }
    unlink((lib + ".ran").c_str());
    unlink(lib.c_str());
    rmdir(dir.c_str());
}

TEST(Modules, BadArgumentsAndAVanishedProcess)
{
    Agent ag;
    auto cb = [](const ms_module_info *, void *) -> int { return 0; };
    EXPECT_EQ(ms_module_list(ag.a, getpid(), nullptr, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_module_list(ag.a, 0, cb, nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_module_list(nullptr, getpid(), cb, nullptr), MS_E_INVALID_ARGUMENT);
    pid_t gone;
    {
        Victim v("victim_plain");
        gone = v.pid();
    }
    EXPECT_EQ(ms_module_list(ag.a, gone, cb, nullptr), MS_E_NO_SUCH_PROCESS);
    auto stop = [](const ms_module_info *, void *) -> int { return 1; };
    EXPECT_EQ(ms_module_list(ag.a, getpid(), stop, nullptr), MS_E_STOPPED);
}

TEST(ProbeProgramHeaders, AnImageCopiedFromAProgramNamesItsInterpreterAndEntry)
{
    Agent ag;
    Victim v("victim_elf_anon");
    ms_region r{};
    auto find = [](const ms_region *x, void *ud) -> int {
        auto *want = static_cast<ms_region *>(ud);
        if (x->start == want->start) {
            uint64_t start = want->start;
            *want = *x;
            want->path = "";
            want->start = start;
            return 1;
        }
        return 0;
    };
    r.start = v.hex("addr");
    ms_region_list(ag.a, v.pid(), find, &r);
    ASSERT_GT(r.end, r.start);
    ms_region_probe_result res{};
    res.struct_size = sizeof res;
    ASSERT_EQ(ms_region_probe(ag.a, v.pid(), &r, &res), MS_OK);
    EXPECT_EQ(res.header, MS_HEADER_ELF);
    EXPECT_TRUE(res.flags & MS_PROBE_ELF_PHDRS);
    EXPECT_TRUE(res.flags & MS_PROBE_ELF_INTERP) << "a copy of a PIE program, which names ld.so";
    std::string out = run("readelf -hW '" MS_VICTIM_DIR "/victim_elf_anon'");
    size_t at = out.find("Entry point address:");
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(res.elf_entry, std::stoull(out.substr(out.find("0x", at)), nullptr, 16));
}
