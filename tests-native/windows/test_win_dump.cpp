// Windows dumps against live victims: the raw format with its manifest (the
// marker at its offset, checksums recomputed here, skipped and capped regions,
// evidence-file rules) and the minidump (signature, the marker region in the
// memory list, the module list).
#include <gtest/gtest.h>

#include <aclapi.h>
#include <dbghelp.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <memsentry/memsentry.h>

extern "C" {
#include "windows/dump.h"
}

#include "victim_win.hpp"

namespace {

// An independent SHA-256 (FIPS 180-4), so the manifest's digests, computed
// with BCrypt, are checked against other code.
std::string sha256_hex(const unsigned char *data, size_t len)
{
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::vector<unsigned char> m(data, data + len);
    m.push_back(0x80);
    while (m.size() % 64 != 56)
        m.push_back(0);
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 7; i >= 0; i--)
        m.push_back((unsigned char)(bits >> (i * 8)));
    auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    for (size_t off = 0; off < m.size(); off += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
                   (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    char out[65];
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
    return out;
}

// A small per-region cap where a test needs only some regions: a Wine
// process holds about 24 MB, and every byte goes through Wine.
const ms_win_dump_options kSmall{64 * 1024, false};

struct Agent {
    ms_agent *a = nullptr;
    Agent() { EXPECT_EQ(ms_agent_open(&a), MS_OK); }
    ~Agent() { ms_agent_close(a); }
};

// A fresh directory under %TEMP%, removed with its files at the end.
class TempDir {
public:
    TempDir()
    {
        static int counter;
        wchar_t base[MAX_PATH + 1];
        DWORD n = GetTempPathW(MAX_PATH + 1, base);
        path_ = std::wstring(base, n) + L"memsentry-dump-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
                std::to_wstring(++counter);
        if (!CreateDirectoryW(path_.c_str(), nullptr))
            throw std::runtime_error("CreateDirectory " + narrow(path_));
    }
    ~TempDir()
    {
        for (auto &f : files())
            DeleteFileW((path_ + L"\\" + widen(f)).c_str());
        RemoveDirectoryW(path_.c_str());
    }
    std::string file(const std::string &name) const { return narrow(path_) + "\\" + name; }
    std::vector<std::string> files() const
    {
        std::vector<std::string> out;
        WIN32_FIND_DATAW fd;
        HANDLE h = FindFirstFileW((path_ + L"\\*").c_str(), &fd);
        if (h == INVALID_HANDLE_VALUE)
            return out;
        do {
            std::wstring name = fd.cFileName;
            if (name != L"." && name != L"..")
                out.push_back(narrow(name));
        } while (FindNextFileW(h, &fd));
        FindClose(h);
        return out;
    }

private:
    std::wstring path_;
};

std::string read_file(const std::string &path)
{
    std::ifstream in(widen(path).c_str(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string &path, const std::string &content)
{
    std::ofstream out(widen(path).c_str(), std::ios::binary);
    out << content;
}

struct ManifestRegion {
    uint64_t start = 0, end = 0, file_offset = 0, bytes = 0, bytes_read = 0;
    std::string perms, kind, type, status, reason, sha256, path;
};

std::string field(const std::string &line, const std::string &name)
{
    std::smatch m;
    std::regex str("\"" + name + "\":\"((?:[^\"\\\\]|\\\\.)*)\"");
    if (std::regex_search(line, m, str))
        return m[1];
    std::regex num("\"" + name + "\":([0-9]+)");
    if (std::regex_search(line, m, num))
        return m[1];
    return "";
}

// The manifest holds one region object per line (its documented layout).
std::vector<ManifestRegion> parse_manifest(const std::string &json)
{
    std::vector<ManifestRegion> out;
    std::istringstream lines(json);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("{\"start\":", 0) != 0)
            continue;
        ManifestRegion r;
        r.start = std::stoull(field(line, "start"), nullptr, 16);
        r.end = std::stoull(field(line, "end"), nullptr, 16);
        r.file_offset = std::stoull(field(line, "file_offset"));
        r.bytes = std::stoull(field(line, "bytes"));
        r.bytes_read = std::stoull(field(line, "bytes_read"));
        r.perms = field(line, "perms");
        r.kind = field(line, "kind");
        r.type = field(line, "type");
        r.status = field(line, "status");
        r.reason = field(line, "reason");
        r.sha256 = field(line, "sha256");
        r.path = field(line, "path");
        out.push_back(r);
    }
    return out;
}

const ManifestRegion *holding(const std::vector<ManifestRegion> &regions, uint64_t addr)
{
    for (auto &r : regions)
        if (r.start <= addr && addr < r.end)
            return &r;
    return nullptr;
}

// Every kept region's bytes follow the previous one's, fill the file, and
// hash to the manifest's digest; regions without bytes are skipped ones.
void expect_back_to_back_with_digests(const std::string &data, const std::vector<ManifestRegion> &regions)
{
    uint64_t expected_offset = 0;
    for (auto &reg : regions) {
        if (reg.bytes == 0) {
            EXPECT_EQ(reg.status, "skipped") << std::hex << reg.start;
            continue;
        }
        EXPECT_EQ(reg.file_offset, expected_offset) << "regions are back to back";
        ASSERT_LE(reg.file_offset + reg.bytes, data.size());
        EXPECT_EQ(sha256_hex(reinterpret_cast<const unsigned char *>(data.data()) + reg.file_offset, reg.bytes),
                  reg.sha256)
            << std::hex << reg.start;
        expected_offset += reg.bytes;
    }
    EXPECT_EQ(expected_offset, data.size());
}

TEST(WinDumpSha256, OracleKnownAnswers)
{
    EXPECT_EQ(sha256_hex(reinterpret_cast<const unsigned char *>("abc"), 3),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(nullptr, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(WinDumpRaw, MarkerIsAtItsOffsetAndEveryDigestMatches)
{
    Victim v("victim_win_marker", {L"RAW-DUMP-MARKER-51c2"});
    TempDir dir;
    Agent agent;
    std::string out = dir.file("victim.raw");
    ms_win_dump_options o{0, false};
    ms_win_dump_summary sum;
    ASSERT_EQ(ms__win_dump_raw(agent.a, v.pid(), out.c_str(), &o, &sum), MS_OK) << ms_last_error();
    EXPECT_EQ(dir.files().size(), 2u) << "the dump and its manifest, nothing else";
    std::string data = read_file(out);
    auto regions = parse_manifest(read_file(out + ".json"));
    ASSERT_EQ(regions.size(), sum.regions);
    EXPECT_EQ(data.size(), sum.bytes_written);

    const ManifestRegion *r = holding(regions, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->start, v.hex("map"));
    EXPECT_EQ(r->perms, "rwxp");
    EXPECT_EQ(r->kind, "anonymous");
    EXPECT_EQ(r->type, "private");
    EXPECT_EQ(r->status, "ok");
    EXPECT_EQ(r->bytes, r->end - r->start);
    EXPECT_EQ(r->bytes_read, r->bytes);
    size_t at = r->file_offset + (v.hex("addr") - r->start);
    ASSERT_LE(at + 20, data.size());
    EXPECT_EQ(data.substr(at, 20), "RAW-DUMP-MARKER-51c2");

    expect_back_to_back_with_digests(data, regions);
}

TEST(WinDumpRaw, GuardPagesAreSkippedWithTheirReasonAndFileViewsKept)
{
    TempDir dir;
    std::string mapped = dir.file("mapped.bin");
    write_file(mapped, std::string(4096, 'V'));
    Victim v("victim_win_mappings", {widen(mapped)});
    Agent agent;
    std::string out = dir.file("mappings.raw");
    ASSERT_EQ(ms__win_dump_raw(agent.a, v.pid(), out.c_str(), &kSmall, nullptr), MS_OK) << ms_last_error();
    auto regions = parse_manifest(read_file(out + ".json"));
    const ManifestRegion *guard = holding(regions, v.hex("guard"));
    ASSERT_NE(guard, nullptr);
    EXPECT_EQ(guard->status, "skipped");
    EXPECT_EQ(guard->bytes, 0u);
    EXPECT_NE(guard->reason.find("guard"), std::string::npos) << guard->reason;
    const ManifestRegion *view = holding(regions, v.hex("file_view"));
    ASSERT_NE(view, nullptr);
    EXPECT_EQ(view->kind, "file");
    EXPECT_EQ(view->type, "mapped");
    EXPECT_EQ(view->perms, "r--s");
    EXPECT_EQ(read_file(out).substr(view->file_offset, 4096), std::string(4096, 'V'));
    // Backslashes of the path are escaped in the JSON.
    EXPECT_NE(view->path.find("\\\\mapped.bin"), std::string::npos) << view->path;
}

TEST(WinDumpRaw, RegionsOverTheCapAreTruncated)
{
    Victim v("victim_win_marker");
    TempDir dir;
    Agent agent;
    std::string out = dir.file("capped.raw");
    ms_win_dump_options o{4096, false};
    ms_win_dump_summary sum;
    ASSERT_EQ(ms__win_dump_raw(agent.a, v.pid(), out.c_str(), &o, &sum), MS_OK) << ms_last_error();
    auto regions = parse_manifest(read_file(out + ".json"));
    const ManifestRegion *r = holding(regions, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status, "truncated");
    EXPECT_EQ(r->bytes, 4096u);
    EXPECT_GE(sum.regions_truncated, 1u);
    for (auto &reg : regions)
        EXPECT_LE(reg.bytes, 4096u);
    // What is kept is the region's first page: all zeros in this victim.
    EXPECT_EQ(read_file(out).substr(r->file_offset, 4096), std::string(4096, '\0'));
}

TEST(WinDumpRaw, ExistingOutputIsNeverReplacedWithoutForce)
{
    Victim v("victim_win_marker");
    TempDir dir;
    Agent agent;
    std::string out = dir.file("exists.raw");
    write_file(out, "previous evidence");
    EXPECT_EQ(ms__win_dump_raw(agent.a, v.pid(), out.c_str(), &kSmall, nullptr), MS_E_EXISTS);
    EXPECT_EQ(read_file(out), "previous evidence");
    EXPECT_EQ(dir.files().size(), 1u) << "no temporary file left behind";

    // An existing manifest also blocks, and the data file is not created.
    std::string out2 = dir.file("manifest-exists.raw");
    write_file(out2 + ".json", "{}");
    EXPECT_EQ(ms__win_dump_raw(agent.a, v.pid(), out2.c_str(), &kSmall, nullptr), MS_E_EXISTS);
    EXPECT_EQ(dir.files().size(), 2u);

    ms_win_dump_options force{kSmall.max_region_size, true};
    ASSERT_EQ(ms__win_dump_raw(agent.a, v.pid(), out.c_str(), &force, nullptr), MS_OK) << ms_last_error();
    EXPECT_NE(read_file(out), "previous evidence");
}

TEST(WinDumpRaw, MissingProcessLeavesNothing)
{
    TempDir dir;
    Agent agent;
    EXPECT_EQ(ms__win_dump_raw(agent.a, 0x7ffffffc, dir.file("none.raw").c_str(), nullptr, nullptr),
              MS_E_NO_SUCH_PROCESS);
    EXPECT_TRUE(dir.files().empty());
}

// Windows applies the owner-only DACL the file is created with. Wine does not
// (it derives the Linux mode from its umask and reports a DACL for SYSTEM and
// the owner), so what holds on both is asserted: no entry grants anyone but
// the owner or LocalSystem. On Windows the DACL is exactly the owner's entry.
TEST(WinDumpRaw, EvidenceGrantsNobodyButItsOwner)
{
    Victim v("victim_win_marker");
    TempDir dir;
    Agent agent;
    std::string out = dir.file("acl.raw");
    ASSERT_EQ(ms__win_dump_raw(agent.a, v.pid(), out.c_str(), &kSmall, nullptr), MS_OK) << ms_last_error();
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR sd = nullptr;
    ASSERT_EQ(GetNamedSecurityInfoW(widen(out).c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr, nullptr,
                                    &dacl, nullptr, &sd),
              (DWORD)ERROR_SUCCESS);
    ASSERT_NE(dacl, nullptr) << "a NULL DACL would grant everyone";
    HANDLE token;
    ASSERT_TRUE(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    unsigned char user[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    DWORD size;
    ASSERT_TRUE(GetTokenInformation(token, TokenUser, user, sizeof user, &size));
    CloseHandle(token);
    unsigned char system_sid[SECURITY_MAX_SID_SIZE];
    size = sizeof system_sid;
    ASSERT_TRUE(CreateWellKnownSid(WinLocalSystemSid, nullptr, system_sid, &size));
    bool owner_entry = false;
    for (WORD i = 0; i < dacl->AceCount; i++) {
        void *ace = nullptr;
        ASSERT_TRUE(GetAce(dacl, i, &ace));
        auto *allowed = static_cast<ACCESS_ALLOWED_ACE *>(ace);
        if (allowed->Header.AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        PSID sid = reinterpret_cast<PSID>(&allowed->SidStart);
        bool owner = EqualSid(sid, reinterpret_cast<TOKEN_USER *>(user)->User.Sid);
        owner_entry |= owner;
        EXPECT_TRUE(owner || EqualSid(sid, system_sid)) << "entry " << i << " grants another account";
    }
    EXPECT_TRUE(owner_entry);
    LocalFree(sd);
}

// A minidump's streams, from its directory.
struct Minidump {
    std::string bytes;
    const MINIDUMP_HEADER *header() const { return reinterpret_cast<const MINIDUMP_HEADER *>(bytes.data()); }
    const void *stream(ULONG32 type, ULONG32 *size) const
    {
        auto *dir = reinterpret_cast<const MINIDUMP_DIRECTORY *>(bytes.data() + header()->StreamDirectoryRva);
        for (ULONG32 i = 0; i < header()->NumberOfStreams; i++)
            if (dir[i].StreamType == type) {
                *size = dir[i].Location.DataSize;
                return bytes.data() + dir[i].Location.Rva;
            }
        return nullptr;
    }
};

// A minidump of a marker victim: the signature, the marker at addr in the
// memory list, the victim's executable in the module list (what Wine's
// dbghelp writes faithfully, /work/shared/WINE.md).
void expect_minidump_of_marker(const std::string &path, uint64_t addr, const std::string &marker,
                               const std::string &exe_name)
{
    Minidump md{read_file(path)};
    ASSERT_GE(md.bytes.size(), sizeof(MINIDUMP_HEADER));
    EXPECT_EQ(md.bytes.substr(0, 4), "MDMP");

    ULONG32 size = 0;
    auto *mem = static_cast<const MINIDUMP_MEMORY64_LIST *>(md.stream(Memory64ListStream, &size));
    ASSERT_NE(mem, nullptr) << "a full-memory dump has a Memory64ListStream";
    uint64_t rva = mem->BaseRva;
    bool found = false;
    for (ULONG64 i = 0; i < mem->NumberOfMemoryRanges; i++) {
        const MINIDUMP_MEMORY_DESCRIPTOR64 &d = mem->MemoryRanges[i];
        if (d.StartOfMemoryRange <= addr && addr < d.StartOfMemoryRange + d.DataSize) {
            size_t at = rva + (addr - d.StartOfMemoryRange);
            ASSERT_LE(at + marker.size(), md.bytes.size());
            EXPECT_EQ(md.bytes.substr(at, marker.size()), marker);
            found = true;
        }
        rva += d.DataSize;
    }
    EXPECT_TRUE(found) << "marker region not in the memory list";

    auto *modules = static_cast<const MINIDUMP_MODULE_LIST *>(md.stream(ModuleListStream, &size));
    ASSERT_NE(modules, nullptr);
    bool exe = false;
    for (ULONG32 i = 0; i < modules->NumberOfModules; i++) {
        auto *name = reinterpret_cast<const MINIDUMP_STRING *>(md.bytes.data() + modules->Modules[i].ModuleNameRva);
        std::wstring w(name->Buffer, name->Length / sizeof(WCHAR));
        if (lower(narrow(w)).find(exe_name) != std::string::npos)
            exe = true;
    }
    EXPECT_TRUE(exe) << "the victim's executable is not in the module list";
}

// The full minidump is checked through the public API below (one minidump
// less under Wine, a few seconds each).
TEST(WinDumpMinidump, ExistingOutputIsRefused)
{
    Victim v("victim_win_marker");
    TempDir dir;
    Agent agent;
    std::string out = dir.file("exists.dmp");
    write_file(out, "keep");
    EXPECT_EQ(ms__win_dump_minidump(agent.a, v.pid(), out.c_str(), false), MS_E_EXISTS);
    EXPECT_EQ(read_file(out), "keep");
    EXPECT_EQ(dir.files().size(), 1u);
}

// ---- The same dumps through the public API (ms_dump.h), as the Java agent
// and the Python binding call them.

ms_dump_options public_options(int32_t format, uint32_t flags = 0, uint64_t max_region = 0)
{
    ms_dump_options o;
    ms_dump_options_init(&o);
    o.format = format;
    o.flags = flags;
    o.max_region_size = max_region;
    return o;
}

ms_dump_result empty_result()
{
    ms_dump_result r{};
    r.struct_size = sizeof r;
    return r;
}

TEST(WinDumpPublicApi, RawPutsTheMarkerAtItsManifestOffsetWithMatchingDigests)
{
    Victim v("victim_win_marker", {L"PUBLIC-RAW-MARKER-9d41"});
    TempDir dir;
    Agent agent;
    std::string out = dir.file("public.raw");
    ms_dump_options o = public_options(MS_DUMP_FORMAT_RAW);
    uint64_t reported = 0;
    o.progress = [](uint64_t done, uint64_t, void *u) {
        *static_cast<uint64_t *>(u) = done;
        return 0;
    };
    o.progress_user = &reported;
    ms_dump_result res = empty_result();
    ASSERT_EQ(ms_dump_process(agent.a, v.pid(), out.c_str(), &o, &res), MS_OK) << ms_last_error();
    EXPECT_EQ(dir.files().size(), 2u) << "the dump and its manifest, nothing else";
    std::string data = read_file(out);
    auto regions = parse_manifest(read_file(out + ".json"));
    ASSERT_EQ(regions.size(), res.regions);
    EXPECT_EQ(res.file_size, data.size());
    EXPECT_EQ(res.bytes_dumped, data.size());
    EXPECT_EQ(reported, data.size()) << "one progress report at the end";
    EXPECT_EQ(res.regions_dumped + res.regions_skipped, res.regions);
    const ManifestRegion *r = holding(regions, v.hex("addr"));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status, "ok");
    size_t at = r->file_offset + (v.hex("addr") - r->start);
    ASSERT_LE(at + 22, data.size());
    EXPECT_EQ(data.substr(at, 22), "PUBLIC-RAW-MARKER-9d41");
    expect_back_to_back_with_digests(data, regions);
}

TEST(WinDumpPublicApi, MinidumpHoldsTheMarkerAndIgnoresTheDefaultRegionCap)
{
    Victim v("victim_win_marker", {L"PUBLIC-MDMP-MARKER-77c0"});
    TempDir dir;
    Agent agent;
    std::string out = dir.file("public.dmp");
    // The defaults, format aside: the 10 MB per-region cap does not apply to a minidump.
    ms_dump_options o;
    ms_dump_options_init(&o);
    o.format = MS_DUMP_FORMAT_MINIDUMP;
    ms_dump_result res = empty_result();
    ASSERT_EQ(ms_dump_process(agent.a, v.pid(), out.c_str(), &o, &res), MS_OK) << ms_last_error();
    EXPECT_EQ(dir.files().size(), 1u) << "no manifest, no temporary file";
    EXPECT_EQ(res.file_size, read_file(out).size());
    EXPECT_EQ(res.regions, 0u) << "a minidump reports its file size only";
    expect_minidump_of_marker(out, v.hex("addr"), "PUBLIC-MDMP-MARKER-77c0", "victim_win_marker.exe");
}

TEST(WinDumpPublicApi, ExistingFilesAreRefusedWithoutForceInBothFormats)
{
    Victim v("victim_win_marker");
    TempDir dir;
    Agent agent;
    for (int32_t format : {MS_DUMP_FORMAT_RAW, MS_DUMP_FORMAT_MINIDUMP}) {
        SCOPED_TRACE(format);
        std::string out = dir.file("exists-" + std::to_string(format));
        write_file(out, "previous evidence");
        ms_dump_options o = public_options(format, 0, 64 * 1024);
        EXPECT_EQ(ms_dump_process(agent.a, v.pid(), out.c_str(), &o, nullptr), MS_E_EXISTS);
        EXPECT_NE(std::string(ms_last_error()).find("exists"), std::string::npos) << ms_last_error();
        EXPECT_EQ(read_file(out), "previous evidence");
        o.flags = MS_DUMP_FORCE;
        ASSERT_EQ(ms_dump_process(agent.a, v.pid(), out.c_str(), &o, nullptr), MS_OK) << ms_last_error();
        std::string now = read_file(out);
        EXPECT_NE(now, "previous evidence");
        if (format == MS_DUMP_FORMAT_MINIDUMP) {
            EXPECT_EQ(now.substr(0, 4), "MDMP");
        }
    }
    // The two files, the raw manifest; no temporary file stayed.
    EXPECT_EQ(dir.files().size(), 3u);
}

TEST(WinDumpPublicApi, MissingProcessIsNoSuchProcessAndLeavesNothing)
{
    TempDir dir;
    Agent agent;
    for (int32_t format : {MS_DUMP_FORMAT_RAW, MS_DUMP_FORMAT_MINIDUMP}) {
        ms_dump_options o = public_options(format);
        EXPECT_EQ(ms_dump_process(agent.a, 0x7ffffffc, dir.file("none").c_str(), &o, nullptr), MS_E_NO_SUCH_PROCESS)
            << format;
    }
    EXPECT_TRUE(dir.files().empty());
}

TEST(WinDumpPublicApi, WhatTheWindowsDumpersLackIsUnsupported)
{
    Victim v("victim_win_marker");
    TempDir dir;
    Agent agent;
    ms_dump_options core = public_options(MS_DUMP_FORMAT_CORE);
    EXPECT_EQ(ms_dump_process(agent.a, v.pid(), dir.file("x.core").c_str(), &core, nullptr), MS_E_UNSUPPORTED);
    EXPECT_NE(std::string(ms_last_error()).find("Linux-only"), std::string::npos) << ms_last_error();
    ms_dump_options freeze = public_options(MS_DUMP_FORMAT_MINIDUMP, MS_DUMP_FREEZE);
    EXPECT_EQ(ms_dump_process(agent.a, v.pid(), dir.file("x.dmp").c_str(), &freeze, nullptr), MS_E_UNSUPPORTED);
    EXPECT_TRUE(dir.files().empty());
}

} // namespace
