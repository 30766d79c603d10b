// The /proc/<pid>/maps parser and line reader against hand-written lines,
// including the shapes hostile or unusual processes produce.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

extern "C" {
#include "linux/maps_parse.h"
#include "linux/procfs.h"
}

namespace {

struct Parsed {
    ms_status status;
    ms_region region;
    std::string path;
};

Parsed parse(const std::string &line)
{
    std::string copy = line;
    Parsed p{};
    p.status = ms__maps_parse_line(copy.c_str(), copy.size(), &p.region);
    if (p.status == MS_OK)
        p.path = p.region.path;
    return p;
}

TEST(MapsParse, FileBackedLine)
{
    auto p = parse("55d4c5a00000-55d4c5a02000 r-xp 00001000 08:01 1234567                    /usr/bin/cat");
    ASSERT_EQ(p.status, MS_OK);
    EXPECT_EQ(p.region.start, 0x55d4c5a00000ull);
    EXPECT_EQ(p.region.end, 0x55d4c5a02000ull);
    EXPECT_EQ(p.region.perms, MS_PERM_READ | MS_PERM_EXEC | MS_PERM_PRIVATE);
    EXPECT_EQ(p.region.offset, 0x1000ull);
    EXPECT_EQ(p.region.dev_major, 8u);
    EXPECT_EQ(p.region.dev_minor, 1u);
    EXPECT_EQ(p.region.inode, 1234567ull);
    EXPECT_EQ(p.path, "/usr/bin/cat");
    EXPECT_EQ(p.region.kind, MS_REGION_FILE);
}

TEST(MapsParse, AnonymousWithAndWithoutTrailingSpace)
{
    for (const char *line : {"7f0000000000-7f0000021000 rw-p 00000000 00:00 0",
                             "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ",
                             "7f0000000000-7f0000021000 rw-p 00000000 00:00 0                          "}) {
        auto p = parse(line);
        ASSERT_EQ(p.status, MS_OK) << line;
        EXPECT_EQ(p.path, "");
        EXPECT_EQ(p.region.kind, MS_REGION_ANONYMOUS);
        EXPECT_EQ(p.region.perms, MS_PERM_READ | MS_PERM_WRITE | MS_PERM_PRIVATE);
    }
}

TEST(MapsParse, PathWithSpacesAndDeletedSuffix)
{
    auto p = parse("7f2000000000-7f2000001000 r-xp 00001000 fd:00 99 /tmp/a path  with spaces (deleted)");
    ASSERT_EQ(p.status, MS_OK);
    EXPECT_EQ(p.path, "/tmp/a path  with spaces (deleted)");
    EXPECT_EQ(p.region.kind, MS_REGION_DELETED);
    EXPECT_EQ(p.region.dev_major, 0xfdu);
}

TEST(MapsParse, MemfdIsMemfdEvenThoughDeleted)
{
    auto p = parse("7f1000000000-7f1000001000 r-xs 00000000 00:01 42   /memfd:payload (deleted)");
    ASSERT_EQ(p.status, MS_OK);
    EXPECT_EQ(p.region.kind, MS_REGION_MEMFD);
    EXPECT_EQ(p.region.perms & MS_PERM_PRIVATE, 0u);
}

TEST(MapsParse, SpecialKinds)
{
    struct {
        const char *path;
        int32_t kind;
    } cases[] = {
        {"[heap]", MS_REGION_HEAP},           {"[stack]", MS_REGION_STACK},
        {"[stack:1234]", MS_REGION_STACK},    {"[vdso]", MS_REGION_VDSO},
        {"[vvar]", MS_REGION_VVAR},           {"[vvar_vclock]", MS_REGION_VVAR},
        {"[vsyscall]", MS_REGION_VSYSCALL},   {"[anon:jit code]", MS_REGION_ANONYMOUS},
        {"[anon_shmem:x]", MS_REGION_ANONYMOUS}, {"[heap2]", MS_REGION_ANONYMOUS},
        {"/dev/zero (deleted)", MS_REGION_ANONYMOUS},
        {"/SYSV00000000 (deleted)", MS_REGION_SHM},
    };
    for (auto &c : cases) {
        std::string line = std::string("7f3000000000-7f3000002000 rw-p 00000000 00:05 7 ") + c.path;
        auto p = parse(line);
        ASSERT_EQ(p.status, MS_OK) << c.path;
        EXPECT_EQ(p.region.kind, c.kind) << c.path;
        EXPECT_EQ(p.path, c.path);
    }
}

TEST(MapsParse, VsyscallAboveTwoToThe63)
{
    auto p = parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
    ASSERT_EQ(p.status, MS_OK);
    EXPECT_EQ(p.region.start, 0xffffffffff600000ull);
    EXPECT_EQ(p.region.perms, MS_PERM_EXEC | MS_PERM_PRIVATE);
}

TEST(MapsParse, RejectsMalformedAndTruncatedLines)
{
    const char *bad[] = {
        "",
        "7f00",
        "7f0000000000-",
        "7f0000000000-7f0000021000",
        "7f0000000000-7f0000021000 rw-",
        "7f0000000000-7f0000021000 rw-p",
        "7f0000000000-7f0000021000 rw-p 0000",
        "7f0000000000-7f0000021000 rw-p 00000000 00:",
        "7f0000000000-7f0000021000 rw-p 00000000 00:00",
        "7f0000000000-7f0000021000 rwzp 00000000 00:00 0",
        "7f0000000000-7f0000021000 rw-q 00000000 00:00 0",
        "7f0000021000-7f0000000000 rw-p 00000000 00:00 0",  // inverted
        "7f0000000000-7f0000000000 rw-p 00000000 00:00 0",  // empty
        "17f0000000000000-7f0000021000 rw-p 00000000 00:00 0", // 17 hex digits
        "7f0000000000-7f0000021000 rw-p 00000000 00:00 99999999999999999999999",
        "7f0000000000-7f0000021000 rw-p 00000000 100000000:00 0",
        "7f0000000000-7f0000021000 rw-p 00000000 00:00 0x12",
        "g0000000000-7f0000021000 rw-p 00000000 00:00 0",
    };
    for (const char *line : bad)
        EXPECT_EQ(parse(line).status, MS_E_MALFORMED) << '"' << line << '"';
}

TEST(MapsParse, NulInsidePathIsRejected)
{
    std::string line = "7f0000000000-7f0000021000 r--p 00000000 08:01 5 /lib/x";
    line += '\0';
    line += "y";
    ms_region r;
    EXPECT_EQ(ms__maps_parse_line(line.c_str(), line.size(), &r), MS_E_MALFORMED);
}

std::vector<std::string> read_lines(const std::string &input, int *malformed)
{
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    std::thread writer([&] {
        size_t done = 0;
        while (done < input.size()) {
            ssize_t n = write(fds[1], input.data() + done, input.size() - done);
            if (n <= 0)
                break;
            done += (size_t)n;
        }
        close(fds[1]);
    });
    ms_line_reader r;
    ms__line_reader_init(&r, fds[0]);
    std::vector<std::string> lines;
    *malformed = 0;
    for (;;) {
        char *line;
        size_t len;
        ms_status st = ms__line_reader_next(&r, &line, &len);
        if (st == MS_E_MALFORMED) {
            (*malformed)++;
            continue;
        }
        EXPECT_EQ(st, MS_OK);
        if (st != MS_OK || !line)
            break;
        lines.emplace_back(line, len);
    }
    ms__line_reader_close(&r);
    writer.join();
    return lines;
}

TEST(LineReader, SplitsLinesAndKeepsUnterminatedLast)
{
    int malformed;
    auto lines = read_lines("a\nbb\n\nccc", &malformed);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "a");
    EXPECT_EQ(lines[2], "");
    EXPECT_EQ(lines[3], "ccc");
    EXPECT_EQ(malformed, 0);
}

TEST(LineReader, SkipsOverlongLineAndGoesOn)
{
    std::string longline(MS_LINE_MAX + 100, 'x');
    int malformed;
    auto lines = read_lines("first\n" + longline + "\nlast\n", &malformed);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "first");
    EXPECT_EQ(lines[1], "last");
    EXPECT_EQ(malformed, 1);
}

TEST(LineReader, LongButLegalLineIsWhole)
{
    std::string path(8000, 'p');
    int malformed;
    auto lines = read_lines("7f0000000000-7f0000021000 r--p 00000000 08:01 5 /" + path + "\n", &malformed);
    ASSERT_EQ(lines.size(), 1u);
    auto p = parse(lines[0]);
    ASSERT_EQ(p.status, MS_OK);
    EXPECT_EQ(p.path.size(), path.size() + 1);
}

uint32_t vmflags(const std::string &line, int expect_kind = MS_SMAPS_VMFLAGS)
{
    uint32_t flags = 99;
    EXPECT_EQ(ms__smaps_line_kind(line.c_str(), line.size(), &flags), expect_kind) << line;
    return flags;
}

TEST(SmapsParse, LineKindsAndDeviceFlags)
{
    vmflags("7f0000000000-7f0000001000 r-xp 00000000 00:05 12 /dev/payload", MS_SMAPS_HEADER);
    vmflags("7ffd5b9f0000-7ffd5b9f4000 r--p 00000000 00:00 0                          [vvar]", MS_SMAPS_HEADER);
    vmflags("Size:                  4 kB", MS_SMAPS_OTHER);
    vmflags("VmFlagsX: io", MS_SMAPS_OTHER);
    EXPECT_EQ(vmflags("VmFlags: rd ex mr mw me sd"), 0u);
    EXPECT_EQ(vmflags("VmFlags: rd mr pf io de dd sd"), MS_VMFLAG_IO | MS_VMFLAG_PFNMAP);
    EXPECT_EQ(vmflags("VmFlags: io"), MS_VMFLAG_IO);
    EXPECT_EQ(vmflags("VmFlags: rd pf "), MS_VMFLAG_PFNMAP);
    // Only whole mnemonics count; a hostile process cannot write this line anyway.
    EXPECT_EQ(vmflags("VmFlags: iox pfx xio"), 0u);
    EXPECT_EQ(vmflags("VmFlags:"), 0u);
    EXPECT_EQ(vmflags("VmFlags: i"), 0u);
}

// The kernel's own device mapping in every process: [vvar] is VM_IO|VM_PFNMAP.
TEST(SmapsParse, VvarOfThisProcessIsDeviceMemory)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    ASSERT_NE(f, nullptr);
    char buf[8192];
    bool in_vvar = false, found = false;
    while (fgets(buf, sizeof buf, f)) {
        std::string line(buf);
        if (!line.empty() && line.back() == '\n')
            line.pop_back();
        uint32_t flags;
        int kind = ms__smaps_line_kind(line.c_str(), line.size(), &flags);
        if (kind == MS_SMAPS_HEADER)
            in_vvar = line.find("[vvar]") != std::string::npos;
        else if (kind == MS_SMAPS_VMFLAGS && in_vvar)
            found = (flags & (MS_VMFLAG_IO | MS_VMFLAG_PFNMAP)) != 0;
    }
    fclose(f);
    EXPECT_TRUE(found);
}

} // namespace
