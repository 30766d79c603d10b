package dev.memsentry.detect;

import dev.memsentry.output.Json;
import com.fasterxml.jackson.databind.JsonNode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.detect.yara.YaraMatch;
import dev.memsentry.detect.yara.YaraStringMatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One YARA alert per matching region: grouping, order and the cap. */
class YaraDetectorTest {
    /** memsentry.yara as it is written, read back. */
    private static JsonNode yara(Finding f) throws Exception {
        return Json.mapper().readTree(f.yara().toString());
    }

    private static final Path RULES = Path.of("rules.yar");

    private static Region region(long start, int perms, RegionKind kind) {
        return new Region(start, start + 0x1000, 0, 0, 0, 0, perms, kind, "");
    }

    private static YaraStringMatch at(long address) {
        return new YaraStringMatch("$m", address, 4, new byte[] {1, 2, 3, 4});
    }

    private static YaraMatch match(List<YaraStringMatch> strings) {
        return new YaraMatch(42, "marker", "default", List.of(), List.of(), strings, strings.size());
    }

    @Test
    void eachRegionGetsItsOwnStringsExecutableRegionsFirst() throws Exception {
        Region heap = region(0x1000, Region.READ | Region.WRITE, RegionKind.HEAP);
        Region image = region(0x9000, Region.READ | Region.EXEC, RegionKind.ANONYMOUS);
        List<Finding> f = YaraDetector.findings(match(List.of(at(0x1010), at(0x1020), at(0x9100))), RULES,
            List.of(heap, image));
        assertEquals(2, f.size());
        assertEquals(image, f.get(0).region());
        assertEquals(1, yara(f.get(0)).get("strings").size());
        assertEquals(0x100, yara(f.get(0)).at("/strings/0/offset").asLong());
        assertEquals(heap, f.get(1).region());
        assertEquals(2, yara(f.get(1)).get("strings").size());
        assertEquals(2, yara(f.get(1)).get("regions_total").asInt());
        assertFalse(yara(f.get(1)).has("regions_truncated"));
        assertTrue(f.get(0).message().contains("0x9000"), f.get(0).message());
    }

    @Test
    void atMostSixteenRegionsAndTheCutIsSaid() throws Exception {
        List<Region> regions = new ArrayList<>();
        List<YaraStringMatch> strings = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            regions.add(region(0x100000L + i * 0x1000L, Region.READ, RegionKind.ANONYMOUS));
            strings.add(at(0x100000L + i * 0x1000L + 8));
        }
        List<Finding> f = YaraDetector.findings(match(strings), RULES, regions);
        assertEquals(YaraDetector.MAX_REGIONS_PER_RULE, f.size());
        assertTrue(yara(f.get(0)).get("regions_truncated").asBoolean());
        assertEquals(20, yara(f.get(0)).get("regions_total").asInt());
        assertTrue(f.get(0).message().contains("20 regions matched"), f.get(0).message());
    }

    @Test
    void aRuleWithoutStringsIsOneAlertWithoutARegion() throws Exception {
        List<Finding> f = YaraDetector.findings(match(List.of()), RULES, List.of());
        assertEquals(1, f.size());
        assertNull(f.get(0).region());
    }
}
