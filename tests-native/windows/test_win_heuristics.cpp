// Heuristic inputs on Windows against victims that each leave one artifact:
// RWX private memory, a PE image copied into private memory, a read-only image
// section made executable; and a victim with none of them.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <memsentry/memsentry.h>

extern "C" {
#include "windows/heuristics.h"
}

#include "victim_win.hpp"

namespace {

struct Agent {
    ms_agent *a = nullptr;
    Agent() { EXPECT_EQ(ms_agent_open(&a), MS_OK); }
    ~Agent() { ms_agent_close(a); }
};

struct Hint {
    uint64_t start, end;
    uint32_t perms, hints;
    ms_win_pe_facts pe;
    std::string section, path;
    uint32_t section_perms;
};

std::vector<Hint> hints_of(ms_agent *agent, int64_t pid)
{
    std::vector<Hint> out;
    EXPECT_EQ(ms__win_hints(agent, pid, [](const ms_win_hint *h, void *u) {
                  static_cast<std::vector<Hint> *>(u)->push_back({h->region->region.start, h->region->region.end,
                                                                  h->region->region.perms, h->hints, h->pe, h->section,
                                                                  h->region->region.path, h->section_perms});
                  return 0;
              }, &out),
              MS_OK)
        << ms_last_error();
    return out;
}

const Hint *hint_at(const std::vector<Hint> &hints, uint64_t addr)
{
    for (auto &h : hints)
        if (h.start <= addr && addr < h.end)
            return &h;
    return nullptr;
}

std::string describe(const std::vector<Hint> &hints)
{
    std::string s;
    for (auto &h : hints)
        s += "\n  " + std::to_string(h.start) + " hints=" + std::to_string(h.hints) + " section=" + h.section +
             " path=" + h.path;
    return s;
}

TEST(WinPeHeader, AcceptsARealHeaderAndRejectsBrokenOnes)
{
    const auto *self = reinterpret_cast<const uint8_t *>(GetModuleHandleW(nullptr));
    std::vector<uint8_t> buf(self, self + 4096);
    ms_win_pe_facts pe;
    ASSERT_TRUE(ms__win_pe_header(buf.data(), buf.size(), &pe));
    EXPECT_EQ(pe.machine, 0x8664);
    EXPECT_FALSE(pe.dll);
    const auto *nt = reinterpret_cast<const IMAGE_NT_HEADERS *>(self + reinterpret_cast<const IMAGE_DOS_HEADER *>(self)->e_lfanew);
    EXPECT_EQ(pe.size_of_image, nt->OptionalHeader.SizeOfImage);
    EXPECT_EQ(pe.sections, nt->FileHeader.NumberOfSections);

    // Cut right after the signature: the file header no longer fits.
    EXPECT_FALSE(ms__win_pe_header(buf.data(), pe.e_lfanew + 8, &pe));
    std::vector<uint8_t> bad = buf;
    uint32_t beyond = 0x7ffffff0;
    std::memcpy(&bad[0x3c], &beyond, 4); // e_lfanew beyond the buffer
    EXPECT_FALSE(ms__win_pe_header(bad.data(), bad.size(), &pe));
    bad = buf;
    uint32_t odd = 0x41;
    std::memcpy(&bad[0x3c], &odd, 4); // misaligned
    EXPECT_FALSE(ms__win_pe_header(bad.data(), bad.size(), &pe));
    bad = buf;
    bad[pe.e_lfanew + 1] = 'X'; // "PX\0\0"
    EXPECT_FALSE(ms__win_pe_header(bad.data(), bad.size(), &pe));
    EXPECT_FALSE(ms__win_pe_header(reinterpret_cast<const uint8_t *>("MZ"), 2, &pe));
    std::vector<uint8_t> zeros(4096);
    EXPECT_FALSE(ms__win_pe_header(zeros.data(), zeros.size(), &pe));
}

TEST(WinHints, RwxPrivateMemoryIsPrivateExecAndRwx)
{
    Victim v("victim_win_marker");
    Agent agent;
    auto hints = hints_of(agent.a, v.pid());
    const Hint *h = hint_at(hints, v.hex("addr"));
    ASSERT_NE(h, nullptr) << describe(hints);
    EXPECT_EQ(h->hints, MS_WIN_HINT_PRIVATE_EXEC | MS_WIN_HINT_RWX);
    EXPECT_EQ(h->start, v.hex("map"));
}

TEST(WinHints, PeImageInPrivateMemoryIsFound)
{
    Victim v("victim_win_reflective");
    Agent agent;
    auto hints = hints_of(agent.a, v.pid());
    const Hint *h = hint_at(hints, v.hex("image"));
    ASSERT_NE(h, nullptr) << describe(hints);
    EXPECT_EQ(h->start, v.hex("image"));
    EXPECT_EQ(h->hints, MS_WIN_HINT_PRIVATE_EXEC | MS_WIN_HINT_PE_HEADER) << "executable, not writable";
    EXPECT_EQ(h->pe.machine, 0x8664);
    EXPECT_EQ(h->pe.size_of_image, std::stoull(v.fact("size")));
}

TEST(WinHints, ReadOnlySectionMadeExecutableIsFound)
{
    Victim v("victim_win_reprotect");
    Agent agent;
    auto hints = hints_of(agent.a, v.pid());
    const Hint *h = hint_at(hints, v.hex("page"));
    ASSERT_NE(h, nullptr) << describe(hints);
    EXPECT_EQ(h->hints, MS_WIN_HINT_IMAGE_PROTECTION);
    EXPECT_EQ(h->section, v.fact("section"));
    EXPECT_EQ(h->section_perms, MS_PERM_READ);
    EXPECT_TRUE(h->perms & MS_PERM_EXEC);
    // Only that page: the rest of the image matches its section table.
    for (auto &other : hints) {
        if (&other != h) {
            EXPECT_NE(lower(other.path), lower(narrow(v.path()))) << describe(hints);
        }
    }
}

TEST(WinHints, AProcessWithoutArtifactsHasNoHints)
{
    wchar_t dir[MAX_PATH + 1];
    DWORD n = GetTempPathW(MAX_PATH + 1, dir);
    std::wstring file = std::wstring(dir, n) + L"memsentry-hints-" + std::to_wstring(GetCurrentProcessId()) + L".bin";
    HANDLE f = CreateFileW(file.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    ASSERT_NE(f, INVALID_HANDLE_VALUE);
    DWORD wrote;
    WriteFile(f, "MZ-but-a-data-file", 18, &wrote, nullptr);
    CloseHandle(f);
    {
        Victim v("victim_win_mappings", {file});
        Agent agent;
        auto hints = hints_of(agent.a, v.pid());
        EXPECT_TRUE(hints.empty()) << describe(hints);
    }
    DeleteFileW(file.c_str());
}

TEST(WinHints, MissingProcess)
{
    Agent agent;
    EXPECT_EQ(ms__win_hints(agent.a, 0x7ffffffc, [](const ms_win_hint *, void *) { return 0; }, nullptr),
              MS_E_NO_SUCH_PROCESS);
}

// ---- The same facts through the public API, as the detection rules get
// them: kind and perms from ms_region_list, the header and the image
// protection from ms_region_probe.

std::vector<ms_region> regions_of(ms_agent *agent, int64_t pid, std::vector<std::string> *paths)
{
    struct Ctx {
        std::vector<ms_region> regions;
        std::vector<std::string> *paths;
    } ctx{{}, paths};
    EXPECT_EQ(ms_region_list(agent, pid, [](const ms_region *r, void *u) {
                  auto *c = static_cast<Ctx *>(u);
                  c->regions.push_back(*r);
                  c->paths->push_back(r->path);
                  return 0;
              }, &ctx),
              MS_OK)
        << ms_last_error();
    for (size_t i = 0; i < ctx.regions.size(); i++)
        ctx.regions[i].path = (*paths)[i].c_str();
    return ctx.regions;
}

const ms_region *region_holding(const std::vector<ms_region> &regions, uint64_t addr)
{
    for (auto &r : regions)
        if (r.start <= addr && addr < r.end)
            return &r;
    return nullptr;
}

// The regions, each with its probe, of a victim.
struct Probed {
    std::vector<std::string> paths;
    std::vector<ms_region> regions;
    std::vector<ms_region_probe_result> probes;

    Probed(ms_agent *agent, int64_t pid)
    {
        paths.reserve(4096); // the regions point into these strings
        regions = regions_of(agent, pid, &paths);
        for (auto &r : regions) {
            ms_region_probe_result p{};
            p.struct_size = sizeof p;
            EXPECT_EQ(ms_region_probe(agent, pid, &r, &p), MS_OK) << std::hex << r.start << " " << ms_last_error();
            probes.push_back(p);
        }
    }

    size_t at(uint64_t addr) const
    {
        for (size_t i = 0; i < regions.size(); i++)
            if (regions[i].start <= addr && addr < regions[i].end)
                return i;
        return SIZE_MAX;
    }
};

TEST(WinProbe, ReadOnlySectionMadeExecutableIsFlaggedWithItsSection)
{
    Victim v("victim_win_reprotect");
    Agent agent;
    Probed all(agent.a, v.pid());
    size_t i = all.at(v.hex("page"));
    ASSERT_NE(i, SIZE_MAX);
    const ms_region &r = all.regions[i];
    const ms_region_probe_result &p = all.probes[i];
    EXPECT_EQ(r.kind, MS_REGION_FILE);
    EXPECT_TRUE(r.perms & MS_PERM_EXEC);
    EXPECT_EQ(lower(r.path), lower(narrow(v.path())));
    EXPECT_TRUE(p.flags & MS_PROBE_IMAGE_PROTECTION) << std::hex << p.flags;
    EXPECT_EQ(std::string(p.image_section), v.fact("section"));
    EXPECT_EQ(p.image_section_perms, MS_PERM_READ);
    // Every other region, the rest of the victim's image and every DLL, matches its section table.
    for (size_t k = 0; k < all.regions.size(); k++) {
        if (k != i) {
            EXPECT_FALSE(all.probes[k].flags & MS_PROBE_IMAGE_PROTECTION)
                << std::hex << all.regions[k].start << " " << all.regions[k].path << " " << all.probes[k].image_section;
        }
    }
}

TEST(WinProbe, PrivateMemoryArtifactsReachTheRulesAsKindPermsAndHeader)
{
    Agent agent;
    {
        // memory.rwx: private, readable, writable and executable.
        Victim v("victim_win_marker");
        std::vector<std::string> paths;
        auto regions = regions_of(agent.a, v.pid(), &paths);
        const ms_region *r = region_holding(regions, v.hex("addr"));
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->kind, MS_REGION_ANONYMOUS);
        EXPECT_EQ(r->perms, MS_PERM_READ | MS_PERM_WRITE | MS_PERM_EXEC | MS_PERM_PRIVATE);
    }
    {
        // memory.reflective_pe and memory.exec_anonymous: a PE header at the start of
        // private executable memory.
        Victim v("victim_win_reflective");
        Probed all(agent.a, v.pid());
        size_t i = all.at(v.hex("image"));
        ASSERT_NE(i, SIZE_MAX);
        EXPECT_EQ(all.regions[i].start, v.hex("image"));
        EXPECT_EQ(all.regions[i].kind, MS_REGION_ANONYMOUS);
        EXPECT_EQ(all.regions[i].perms, MS_PERM_READ | MS_PERM_EXEC | MS_PERM_PRIVATE);
        EXPECT_EQ(all.probes[i].header, MS_HEADER_PE);
        EXPECT_EQ(all.probes[i].machine, 0x8664);
        EXPECT_EQ(std::string(reinterpret_cast<const char *>(all.probes[i].head), 2), "MZ");
        EXPECT_FALSE(all.probes[i].flags & MS_PROBE_IMAGE_PROTECTION);
    }
}

TEST(WinProbe, ACallerOfTheFirstLayoutGetsNothingPastIt)
{
    Victim v("victim_win_reprotect");
    Agent agent;
    std::vector<std::string> paths;
    auto regions = regions_of(agent.a, v.pid(), &paths);
    const ms_region *r = region_holding(regions, v.hex("page"));
    ASSERT_NE(r, nullptr);
    ms_region_probe_result p;
    memset(&p, 0xa5, sizeof p);
    p.struct_size = offsetof(ms_region_probe_result, image_section_perms);
    ASSERT_EQ(ms_region_probe(agent.a, v.pid(), r, &p), MS_OK) << ms_last_error();
    EXPECT_TRUE(p.flags & MS_PROBE_IMAGE_PROTECTION);
    EXPECT_EQ(p.image_section_perms, 0xa5a5a5a5u) << "written past the caller's struct";
}

} // namespace
