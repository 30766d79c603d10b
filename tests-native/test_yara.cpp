// The YARA engine against its oracle: `yara -s RULES PID` (YARA 4.2.3) on the
// same live victim must report the same rules, tags and string matches at the
// same addresses. Also: compile errors with file, line and message, compiled
// rules, a folder of rules, the scan never faulting in the target, and YARA
// off when libyara cannot be loaded.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memsentry/memsentry.h>

#include "open_watch.hpp"
#include "test_support.hpp"
#include "victim.hpp"

namespace {

const std::string kRules = MS_TEST_RULES_DIR;
const std::string kMarkers = kRules + "/good/markers.yar";
const std::string kElf = kRules + "/good/elf.yar";

// One reported rule: "namespace:rule", its tags, and (string, address) pairs.
struct Hit {
    std::string rule;
    std::string tags;
    std::set<std::pair<std::string, uint64_t>> strings;
    bool operator==(const Hit &o) const { return rule == o.rule && tags == o.tags && strings == o.strings; }
};
using Hits = std::map<std::string, Hit>;

// `yara -s -e -g [--max-process-memory-chunk=N] FILES PID`, parsed.
Hits yara_cli(const std::vector<std::string> &files, pid_t pid, uint64_t chunk = 0)
{
    std::string cmd = "yara -s -e -g";
    if (chunk)
        cmd += " --max-process-memory-chunk=" + std::to_string(chunk);
    for (auto &f : files)
        cmd += " '" + f + "'";
    cmd += " " + std::to_string(pid) + " 2>&1";
    int status = -1;
    std::string out = run(cmd, &status);
    EXPECT_EQ(status, 0) << cmd << "\n" << out;
    Hits hits;
    std::istringstream lines(out);
    std::string line;
    Hit *current = nullptr;
    while (std::getline(lines, line)) {
        if (line.rfind("0x", 0) == 0 && current) {
            size_t c1 = line.find(':');
            size_t c2 = line.find(": ", c1 + 1);
            if (c1 == std::string::npos || c2 == std::string::npos) {
                ADD_FAILURE() << "unparsed yara line: " << line;
                continue;
            }
            current->strings.insert({line.substr(c1 + 1, c2 - c1 - 1), std::stoull(line.substr(0, c1), nullptr, 16)});
            continue;
        }
        // "namespace:rule [tag,tag] PID"
        size_t sp = line.find(' ');
        size_t open = line.find('[');
        size_t close = line.find(']');
        if (sp == std::string::npos || open == std::string::npos || close == std::string::npos) {
            ADD_FAILURE() << "unparsed yara line: " << line;
            continue;
        }
        Hit h{line.substr(0, sp), line.substr(open + 1, close - open - 1), {}};
        current = &(hits[h.rule] = h);
    }
    return hits;
}

struct Rules {
    ms_agent *agent = nullptr;
    ms_yara_rules *rules = nullptr;
    std::vector<std::tuple<int, std::string, int, std::string>> diags;
    ms_status status = MS_E_INTERNAL;
    std::string error;

    explicit Rules(const std::string &path, uint32_t flags = 0)
    {
        EXPECT_EQ(ms_agent_open(&agent), MS_OK);
        ms_yara_compile_options o{};
        o.struct_size = sizeof o;
        o.flags = flags;
        o.user_data = this;
        o.on_diagnostic = [](const ms_yara_diagnostic *d, void *ud) {
            static_cast<Rules *>(ud)->diags.emplace_back(d->level, d->file, d->line, d->message);
            return 0;
        };
        status = ms_yara_rules_compile(agent, path.c_str(), &o, &rules);
        error = ms_last_error();
    }
    ~Rules()
    {
        ms_yara_rules_close(rules);
        ms_agent_close(agent);
    }
    Rules(const Rules &) = delete;
    Rules &operator=(const Rules &) = delete;
};

struct ScanResult {
    ms_status status;
    std::string error;
    Hits hits;
    std::map<std::string, std::vector<ms_yara_meta>> metas_seen;
    std::map<std::string, std::string> first_data; // rule -> data of its first string match
    ms_yara_scan_stats stats;
};

ScanResult scan_with(ms_yara_scanner *s, pid_t pid, uint64_t max_block = 0, const volatile int32_t *cancel = nullptr,
                     bool stop_at_first = false, uint32_t flags = 0)
{
    ScanResult r{};
    ms_yara_scan_options o{};
    o.struct_size = sizeof o;
    o.max_block_size = max_block;
    o.timeout_seconds = 120;
    o.cancel = cancel;
    o.flags = flags;
    r.stats.struct_size = sizeof r.stats;
    struct Ctx {
        ScanResult *r;
        bool stop;
    } ctx{&r, stop_at_first};
    r.status = ms_yara_scan_process(
        s, pid, &o,
        [](const ms_yara_match *m, void *ud) {
            auto *c = static_cast<Ctx *>(ud);
            Hit h;
            h.rule = std::string(m->rule_namespace) + ":" + m->rule;
            for (uint32_t i = 0; i < m->tag_count; i++)
                h.tags += (i ? "," : "") + std::string(m->tags[i]);
            for (uint32_t i = 0; i < m->string_count; i++)
                h.strings.insert({m->strings[i].identifier, m->strings[i].address});
            EXPECT_EQ(m->string_count, m->string_total);
            if (m->string_count)
                c->r->first_data[h.rule] =
                    std::string(reinterpret_cast<const char *>(m->strings[0].data), m->strings[0].data_length);
            c->r->metas_seen[h.rule].assign(m->metas, m->metas + m->meta_count);
            c->r->hits[h.rule] = h;
            return c->stop ? 1 : 0;
        },
        &ctx, &r.stats);
    r.error = ms_last_error();
    return r;
}

ScanResult scan(ms_yara_rules *rules, pid_t pid, uint64_t max_block = 0, const volatile int32_t *cancel = nullptr,
                bool stop_at_first = false, uint32_t flags = 0)
{
    ms_yara_scanner *s = nullptr;
    EXPECT_EQ(ms_yara_scanner_open(rules, &s), MS_OK) << ms_last_error();
    ScanResult r = scan_with(s, pid, max_block, cancel, stop_at_first, flags);
    ms_yara_scanner_close(s);
    return r;
}

std::string describe(const Hits &hits)
{
    std::ostringstream o;
    for (auto &[name, h] : hits) {
        o << name << " [" << h.tags << "]\n";
        for (auto &[id, addr] : h.strings)
            o << "  0x" << std::hex << addr << std::dec << " " << id << "\n";
    }
    return o.str();
}

// Bit 63 (present) or 62 (swapped) of the pagemap entry of addr in pid.
bool page_in_memory(pid_t pid, uint64_t addr)
{
    std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return false;
    uint64_t entry = 0;
    fseeko(f, static_cast<off_t>(addr / 4096 * 8), SEEK_SET);
    size_t n = fread(&entry, sizeof entry, 1, f);
    fclose(f);
    return n == 1 && (entry & (3ull << 62)) != 0;
}

class Yara : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (ms_yara_available() != MS_OK)
            FAIL() << "libyara is required here (ci/install-deps.sh installs libyara9): " << ms_last_error();
    }
};

TEST_F(Yara, MatchesEqualYaraOnTheSameProcess)
{
    Victim v("victim_yara");
    Rules rules(kMarkers);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ScanResult ours = scan(rules.rules, v.pid());
    ASSERT_EQ(ours.status, MS_OK) << ours.error;
    Hits oracle = yara_cli({kMarkers}, v.pid());
    EXPECT_EQ(ours.hits, oracle) << "memsentry:\n" << describe(ours.hits) << "yara:\n" << describe(oracle);

    // And both found what the victim planted, where it planted it.
    ASSERT_TRUE(ours.hits.count("default:heap_alpha"));
    EXPECT_EQ(ours.hits["default:heap_alpha"].strings,
              (std::set<std::pair<std::string, uint64_t>>{{"$alpha", v.hex("alpha")}}));
    EXPECT_EQ(ours.hits["default:heap_alpha"].tags, "victim,heap");
    EXPECT_EQ(ours.first_data["default:heap_alpha"], "MEMSENTRY-YARA-ALPHA-4242");
    ASSERT_TRUE(ours.hits.count("default:straddling_beta"));
    EXPECT_TRUE(ours.hits["default:straddling_beta"].strings.count({"$beta", v.hex("beta")}));
    ASSERT_TRUE(ours.hits.count("default:rodata_string"));
    EXPECT_TRUE(ours.hits["default:rodata_string"].strings.count({"$ro", v.hex("rodata")}));
    ASSERT_TRUE(ours.hits.count("default:memfd_marker"));
    EXPECT_TRUE(ours.hits["default:memfd_marker"].strings.count({"$m", v.hex("memfd")}));
    // A private string is not reported.
    ASSERT_TRUE(ours.hits.count("default:private_string_hidden"));
    for (auto &s : ours.hits["default:private_string_hidden"].strings)
        EXPECT_EQ(s.first, "$shown");

    auto &metas = ours.metas_seen["default:heap_alpha"];
    ASSERT_EQ(metas.size(), 3u);
    EXPECT_STREQ(metas[0].identifier, "description");
    EXPECT_EQ(metas[0].type, MS_YARA_META_STRING);
    EXPECT_STREQ(metas[0].string, "the heap marker");
    EXPECT_EQ(metas[1].type, MS_YARA_META_INTEGER);
    EXPECT_EQ(metas[1].integer, 70);
    EXPECT_EQ(metas[2].type, MS_YARA_META_BOOLEAN);
    EXPECT_EQ(metas[2].integer, 1);
    EXPECT_EQ(ours.stats.rules_matched, ours.hits.size());
    EXPECT_GT(ours.stats.blocks, 10u);
    EXPECT_GT(ours.stats.bytes_read, 0u);
}

TEST_F(Yara, ManyMatchesAcrossMappingsAndMemoryReadsEqualYara)
{
    // ELF headers in every mapped binary and library (file-backed blocks),
    // and a condition that reads memory again through uint16().
    Victim v("victim_yara");
    Rules rules(kElf);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ScanResult ours = scan(rules.rules, v.pid());
    ASSERT_EQ(ours.status, MS_OK) << ours.error;
    Hits oracle = yara_cli({kElf}, v.pid());
    EXPECT_EQ(ours.hits, oracle) << "memsentry:\n" << describe(ours.hits) << "yara:\n" << describe(oracle);
    ASSERT_TRUE(ours.hits.count("default:elf_headers_in_memory"));
    EXPECT_GE(ours.hits["default:elf_headers_in_memory"].strings.size(), 3u);
    EXPECT_GT(ours.stats.block_fetches, ours.stats.blocks) << "uint16() should fetch blocks again";
}

TEST_F(Yara, LargeBlocksStreamedWhileScannedEqualYaraAndWholeReads)
{
    // A 48 MiB heap of random bytes: one block, streamed by the filler thread
    // while libyara scans it, and read whole with streaming off.
    Victim v("victim_bigheap", {"48"});
    const std::string rules_file = kRules + "/big/markers.yar";
    Rules rules(rules_file);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ScanResult streamed = scan(rules.rules, v.pid());
    ASSERT_EQ(streamed.status, MS_OK) << streamed.error;
    ScanResult whole = scan(rules.rules, v.pid(), 0, nullptr, false, MS_YARA_SCAN_NO_STREAMING);
    ASSERT_EQ(whole.status, MS_OK) << whole.error;
    Hits oracle = yara_cli({rules_file}, v.pid());
    EXPECT_EQ(streamed.hits, oracle) << "memsentry:\n" << describe(streamed.hits) << "yara:\n" << describe(oracle);
    EXPECT_EQ(whole.hits, oracle);
    std::set<std::pair<std::string, uint64_t>> planted;
    for (int i = 0; i < 4; i++)
        planted.insert({"$m", v.hex("marker" + std::to_string(i))});
    EXPECT_EQ(streamed.hits["default:big_heap_marker"].strings, planted);
    EXPECT_GE(streamed.stats.bytes_read, 48ull << 20);
    EXPECT_EQ(streamed.stats.bytes_read, whole.stats.bytes_read);
}

TEST_F(Yara, ReusedBlockBufferCarriesNothingIntoTheNextProcess)
{
    // One scanner, blocks read whole into the buffer it keeps: first a 48 MiB
    // heap of random bytes with the bench markers, then a process whose
    // 64 MiB untouched mapping reuses those pages and must read as zeros.
    Victim big("victim_bigheap", {"48"});
    Victim other("victim_yara");
    const std::string rules_file = kRules + "/big/any_marker.yar";
    Rules rules(rules_file);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ms_yara_scanner *s = nullptr;
    ASSERT_EQ(ms_yara_scanner_open(rules.rules, &s), MS_OK) << ms_last_error();
    for (int pass = 0; pass < 2; pass++) {
        ScanResult first = scan_with(s, big.pid(), 0, nullptr, false, MS_YARA_SCAN_NO_STREAMING);
        ASSERT_EQ(first.status, MS_OK) << first.error;
        EXPECT_EQ(first.hits["default:big_heap_any_marker"].strings.size(), 4u);
        ScanResult second = scan_with(s, other.pid(), 0, nullptr, false, MS_YARA_SCAN_NO_STREAMING);
        ASSERT_EQ(second.status, MS_OK) << second.error;
        Hits oracle = yara_cli({rules_file}, other.pid());
        EXPECT_EQ(second.hits, oracle) << "memsentry:\n" << describe(second.hits) << "yara:\n" << describe(oracle);
        EXPECT_FALSE(second.hits.count("default:big_heap_any_marker"));
        EXPECT_GE(second.stats.bytes_zero, 64ull << 20);
    }
    ms_yara_scanner_close(s);
}

TEST_F(Yara, SmallBlocksSplitMappingsAsYaraDoes)
{
    // 64 KiB blocks: the beta marker straddles a block boundary, so neither
    // yara nor memsentry may find it, and everything else must still agree.
    Victim v("victim_yara");
    Rules rules(kMarkers);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    const uint64_t chunk = 64 * 1024;
    ScanResult ours = scan(rules.rules, v.pid(), chunk);
    ASSERT_EQ(ours.status, MS_OK) << ours.error;
    Hits oracle = yara_cli({kMarkers}, v.pid(), chunk);
    EXPECT_EQ(ours.hits, oracle) << "memsentry:\n" << describe(ours.hits) << "yara:\n" << describe(oracle);
    EXPECT_FALSE(ours.hits.count("default:straddling_beta"));
    EXPECT_TRUE(ours.hits.count("default:heap_alpha"));
}

TEST_F(Yara, ScanNeverFaultsInTheTarget)
{
    Victim v("victim_yara");
    uint64_t untouched = v.hex("untouched");
    uint64_t memfd_page = v.hex("memfd") & ~4095ull;
    ASSERT_FALSE(page_in_memory(v.pid(), memfd_page));
    ASSERT_FALSE(page_in_memory(v.pid(), untouched));
    Rules rules(kMarkers);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ScanResult ours = scan(rules.rules, v.pid());
    ASSERT_EQ(ours.status, MS_OK) << ours.error;
    EXPECT_TRUE(ours.hits.count("default:memfd_marker")) << "read through map_files, not by faulting it in";
    EXPECT_FALSE(page_in_memory(v.pid(), memfd_page));
    uint64_t len = std::stoull(v.fact("untouched_len"));
    for (uint64_t off = 0; off < len; off += 1 << 20)
        ASSERT_FALSE(page_in_memory(v.pid(), untouched + off)) << "offset " << off;
    EXPECT_GE(ours.stats.bytes_zero, len);
}

TEST_F(Yara, MalformedRuleGivesFileLineAndMessage)
{
    std::string broken = kRules + "/bad/broken.yar";
    Rules rules(broken);
    EXPECT_EQ(rules.status, MS_E_MALFORMED);
    EXPECT_EQ(rules.rules, nullptr);
    ASSERT_EQ(rules.diags.size(), 1u);
    auto &[level, file, line, message] = rules.diags[0];
    EXPECT_EQ(level, MS_YARA_DIAG_ERROR);
    EXPECT_EQ(file, broken);
    EXPECT_EQ(line, 9);
    EXPECT_NE(message.find("undefined string \"$undefined_string\""), std::string::npos) << message;
    EXPECT_EQ(rules.error.rfind(broken + "(9): ", 0), 0u) << rules.error;
}

struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/ms-yara-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    void write(const std::string &name, const std::string &text) const { std::ofstream(path + "/" + name) << text; }
};

// yara opens the path a mapping's maps line names; memsentry does not follow
// a symlink the target planted there (in our namespace the path of a file
// the target mapped in its own mount namespace is a symlink to a watched
// file): nothing is opened, and the untouched pages still come from the
// mapped files themselves.
TEST_F(Yara, PlantedSymlinksAtMappedPathsAreNeverOpened)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root for the victim's mount namespace";
    TempDir dir;
    dir.write("watched", "not for root to open");
    dir.write("f.yar", "rule planted { strings: $f = \"MS_PLANTED\" condition: $f }\n");
    std::string mnt = dir.path + "/mnt", watched = dir.path + "/watched";
    ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
    ASSERT_EQ(symlink(watched.c_str(), (mnt + "/x").c_str()), 0);
    Victim v("victim_hostile_map", {"symlink", mnt, watched});
    Rules rules(dir.path + "/f.yar");
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    OpenWatch watch(watched);
    ScanResult r = scan(rules.rules, v.pid());
    ASSERT_EQ(r.status, MS_OK) << r.error;
    EXPECT_EQ(watch.opens(), 0) << "the scan opened the file a planted symlink points to";
    ASSERT_TRUE(r.hits.count("default:planted")) << describe(r.hits);
    std::set<uint64_t> found;
    for (auto &[id, addr] : r.hits["default:planted"].strings)
        found.insert(addr);
    EXPECT_TRUE(found.count(v.hex("file")) && found.count(v.hex("del"))) << describe(r.hits);
}

TEST_F(Yara, FolderCompilesEveryRulesFileAndReportsEveryBrokenOne)
{
    TempDir dir;
    dir.write("a_good.yar", "rule a_good { strings: $a = \"MEMSENTRY-YARA-ALPHA-4242\" condition: $a }\n");
    dir.write("b_bad.yar", "rule b_bad {\n condition: nonsense(\n}\n");
    dir.write("c_bad.yara", "rule c_bad { condition: $x }\n");
    dir.write("notes.txt", "not rules");
    Rules bad(dir.path);
    EXPECT_EQ(bad.status, MS_E_MALFORMED);
    std::set<std::string> files;
    for (auto &d : bad.diags)
        files.insert(std::get<1>(d));
    EXPECT_EQ(files, (std::set<std::string>{dir.path + "/b_bad.yar", dir.path + "/c_bad.yara"}));
    EXPECT_NE(bad.error.find("b_bad.yar("), std::string::npos) << bad.error;

    std::remove((dir.path + "/b_bad.yar").c_str());
    std::remove((dir.path + "/c_bad.yara").c_str());
    dir.write("d_more.yara", "rule d_more : x { strings: $r = \"MEMSENTRY-YARA-RODATA-5b1e\" condition: $r }\n");
    Rules good(dir.path);
    ASSERT_EQ(good.status, MS_OK) << good.error;
    uint32_t count = 0;
    EXPECT_EQ(ms_yara_rules_count(good.rules, &count), MS_OK);
    EXPECT_EQ(count, 2u);
    Victim v("victim_yara");
    ScanResult ours = scan(good.rules, v.pid());
    ASSERT_EQ(ours.status, MS_OK) << ours.error;
    Hits oracle = yara_cli({dir.path + "/a_good.yar", dir.path + "/d_more.yara"}, v.pid());
    EXPECT_EQ(ours.hits, oracle) << "memsentry:\n" << describe(ours.hits) << "yara:\n" << describe(oracle);
    EXPECT_EQ(ours.hits.size(), 2u);
}

TEST_F(Yara, CompiledRulesFromYaracLoad)
{
    TempDir dir;
    std::string compiled = dir.path + "/markers.yarc";
    int status = -1;
    std::string out = run("yarac '" + kMarkers + "' '" + compiled + "' 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
    {
        // Unsafe from an untrusted source (libyara does not validate them): refused unless allowed.
        Rules refused(compiled);
        EXPECT_EQ(refused.status, MS_E_INVALID_ARGUMENT);
        EXPECT_NE(refused.error.find("compiled rules"), std::string::npos) << refused.error;
        EXPECT_EQ(refused.rules, nullptr);
    }
    Rules rules(compiled, MS_YARA_COMPILE_ALLOW_COMPILED); // recognised by its header
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ms_agent *agent;
    ASSERT_EQ(ms_agent_open(&agent), MS_OK);
    ms_yara_rules *loaded = nullptr;
    EXPECT_EQ(ms_yara_rules_load(agent, compiled.c_str(), &loaded), MS_OK) << ms_last_error();
    ms_yara_rules_close(loaded);
    EXPECT_EQ(ms_yara_rules_load(agent, kMarkers.c_str(), &loaded), MS_E_MALFORMED) << "source is not compiled";
    EXPECT_EQ(loaded, nullptr);

    Victim v("victim_yara");
    ScanResult ours = scan(rules.rules, v.pid());
    ASSERT_EQ(ours.status, MS_OK) << ours.error;
    Hits oracle = yara_cli({"-C", compiled}, v.pid());
    EXPECT_EQ(ours.hits, oracle) << "memsentry:\n" << describe(ours.hits) << "yara:\n" << describe(oracle);
    EXPECT_TRUE(ours.hits.count("default:heap_alpha"));
    ms_agent_close(agent);
}

TEST_F(Yara, OneScannerPerThreadOverSharedRules)
{
    Victim v("victim_yara");
    Rules rules(kMarkers);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ScanResult results[3];
    std::vector<std::thread> threads;
    for (auto &r : results)
        threads.emplace_back([&r, &rules, &v] { r = scan(rules.rules, v.pid()); });
    for (auto &t : threads)
        t.join();
    for (auto &r : results) {
        EXPECT_EQ(r.status, MS_OK) << r.error;
        EXPECT_EQ(r.hits, results[0].hits);
    }
    EXPECT_TRUE(results[0].hits.count("default:heap_alpha"));
}

TEST_F(Yara, StopCancelAndVanishedProcess)
{
    Victim v("victim_yara");
    Rules rules(kMarkers);
    ASSERT_EQ(rules.status, MS_OK) << rules.error;
    ScanResult stopped = scan(rules.rules, v.pid(), 0, nullptr, true);
    EXPECT_EQ(stopped.status, MS_E_STOPPED);
    EXPECT_EQ(stopped.hits.size(), 1u);

    volatile int32_t cancel = 1;
    ScanResult cancelled = scan(rules.rules, v.pid(), 0, &cancel);
    EXPECT_EQ(cancelled.status, MS_E_INTERRUPTED) << cancelled.error;
    EXPECT_TRUE(cancelled.hits.empty());

    pid_t gone = v.pid();
    v.stop();
    ScanResult vanished = scan(rules.rules, gone);
    EXPECT_EQ(vanished.status, MS_E_NO_SUCH_PROCESS) << vanished.error;

    ms_yara_scanner *s = nullptr;
    ASSERT_EQ(ms_yara_scanner_open(rules.rules, &s), MS_OK);
    EXPECT_EQ(ms_yara_scan_process(s, 0, nullptr, [](const ms_yara_match *, void *) { return 0; }, nullptr, nullptr),
              MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_yara_scan_process(s, 1, nullptr, nullptr, nullptr, nullptr), MS_E_INVALID_ARGUMENT);
    ms_yara_scanner_close(s);
}

TEST_F(Yara, BadPathsGiveClearErrors)
{
    Rules missing("/nonexistent/rules.yar");
    EXPECT_EQ(missing.status, MS_E_INVALID_ARGUMENT);
    EXPECT_NE(missing.error.find("/nonexistent/rules.yar"), std::string::npos);
    TempDir empty;
    Rules none(empty.path);
    EXPECT_EQ(none.status, MS_E_INVALID_ARGUMENT);
    EXPECT_NE(none.error.find("no .yar or .yara files"), std::string::npos) << none.error;
    ms_agent *agent;
    ASSERT_EQ(ms_agent_open(&agent), MS_OK);
    ms_yara_rules *r = nullptr;
    EXPECT_EQ(ms_yara_rules_compile(nullptr, kMarkers.c_str(), nullptr, &r), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_yara_rules_compile(agent, kMarkers.c_str(), nullptr, nullptr), MS_E_INVALID_ARGUMENT);
    ms_agent_close(agent);
}

// libyara missing: YARA is off with the reason, the rest works. libyara is
// loaded once per process, so this runs in a fresh copy of the test binary
// with MEMSENTRY_LIBYARA pointing at a library that does not exist.
TEST(YaraOff, LibyaraMissingTurnsYaraOffAndRegionsStillWork)
{
    if (!getenv("MEMSENTRY_LIBYARA")) {
        int status = -1;
        std::string out = run("MEMSENTRY_LIBYARA=libyara-memsentry-missing.so.0 /proc/" + std::to_string(getpid()) +
                                  "/exe --gtest_filter=YaraOff.* 2>&1",
                              &status);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
        EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
        return;
    }
    EXPECT_EQ(ms_yara_available(), MS_E_UNSUPPORTED);
    std::string why = ms_last_error();
    EXPECT_EQ(why.rfind("YARA off: cannot load libyara-memsentry-missing.so.0", 0), 0u) << why;
    EXPECT_EQ(std::string(ms_yara_describe()), why);
    ms_agent *agent;
    ASSERT_EQ(ms_agent_open(&agent), MS_OK);
    ms_yara_rules *r = reinterpret_cast<ms_yara_rules *>(1);
    EXPECT_EQ(ms_yara_rules_compile(agent, kMarkers.c_str(), nullptr, &r), MS_E_UNSUPPORTED);
    EXPECT_EQ(r, nullptr);
    EXPECT_NE(std::string(ms_last_error()).find("YARA off"), std::string::npos);
    int regions = 0;
    EXPECT_EQ(ms_region_list(agent, getpid(), [](const ms_region *, void *ud) { return ++*static_cast<int *>(ud), 0; },
                             &regions),
              MS_OK);
    EXPECT_GT(regions, 5);
    ms_agent_close(agent);
}

} // namespace
