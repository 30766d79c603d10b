package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.HeaderKind;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.RegionProbe;
import dev.memsentry.config.ScanConfig;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * memory.image_protection over region facts as the Windows agent reports them (the C side is
 * tested under Wine against victim_win_reprotect, tests-native/windows/test_win_heuristics.cpp).
 */
class ImageProtectionCheckTest {
    private static final String EXE = "C:\\victims\\victim_win_reprotect.exe";

    /** An image view as the Windows agent lists it: a file region, copy-on-write, no inode. */
    private static Region image(String perms, long rva) {
        return new Region(0x140000000L + rva, 0x140001000L + rva, rva, 0, 0, 0, Region.parsePerms(perms),
            RegionKind.FILE, EXE);
    }

    private static RegionProbe exceeded(String section, int sectionPerms) {
        return new RegionProbe(HeaderKind.NONE, RegionProbe.IMAGE_PROTECTION, 0, 0, 0, new byte[0], section,
            sectionPerms);
    }

    @Test
    void executableDataIsAFullSeverityFinding() {
        Region r = image("r-xp", 0x5000);
        Finding f = ImageProtectionCheck.finding(r, exceeded(".rdata", Region.READ));
        assertEquals(BuiltinRules.IMAGE_PROTECTION, f.rule());
        assertEquals(0, f.severityShift());
        assertEquals(r, f.region());
        assertEquals("executable image pages at 0x140005000 of " + EXE + " (r-x) where section .rdata allows r--",
            f.message());
        assertEquals(".rdata", f.details().get("section"));
        assertEquals("r--", f.details().get("section_rights"));
        assertEquals("--x", f.details().get("rights_added"));
        assertEquals(0x5000L, f.details().get("image_offset"));
        assertEquals(Severity.HIGH,
            new DetectionPolicy(ScanConfig.defaults()).severity(f, Optional.empty()));
    }

    @Test
    void writableCodeOrHeadersIsOneStepLower() {
        Finding code = ImageProtectionCheck.finding(image("rw-p", 0x1000), exceeded(".text", Region.READ | Region.EXEC));
        assertEquals(-1, code.severityShift());
        assertEquals("-w-", code.details().get("rights_added"));
        assertEquals(Severity.MEDIUM, new DetectionPolicy(ScanConfig.defaults()).severity(code, Optional.empty()));
        Finding headers = ImageProtectionCheck.finding(image("rwxp", 0), exceeded("headers", Region.READ));
        assertEquals(0, headers.severityShift(), "execute among the added rights: full severity");
        assertEquals("-wx", headers.details().get("rights_added"));
    }

    @Test
    void nothingWithoutTheAgentsFlag() {
        Region r = image("r-xp", 0x1000);
        assertNull(ImageProtectionCheck.finding(r, null), "a probe that failed");
        assertNull(ImageProtectionCheck.finding(r, new RegionProbe(HeaderKind.NONE, 0, 0, 0, 0, new byte[0])));
        // The region lost its extra rights between the listing and the probe.
        assertNull(ImageProtectionCheck.finding(image("r--p", 0x1000), exceeded(".rdata", Region.READ)));
    }

    @Test
    void onlyWindowsImageViewsWithWriteOrExecuteAreProbed() {
        assertTrue(ImageProtectionCheck.candidate(image("r-xp", 0x1000)));
        assertTrue(ImageProtectionCheck.candidate(image("rw-p", 0x3000)));
        assertFalse(ImageProtectionCheck.candidate(image("r--p", 0x2000)), "read-only exceeds no section");
        Region linuxText = new Region(0x7f0000000000L, 0x7f0000001000L, 0x1000, 131077, 8, 1,
            Region.parsePerms("r-xp"), RegionKind.FILE, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assertFalse(ImageProtectionCheck.candidate(linuxText), "a Linux mapping has an inode: never probed");
        Region privateExec = new Region(0x10000, 0x11000, 0, 0, 0, 0, Region.parsePerms("rwxp"),
            RegionKind.ANONYMOUS, "");
        assertFalse(ImageProtectionCheck.candidate(privateExec), "memory.rwx and memory.exec_anonymous cover it");
    }

    @Test
    void theRuleIsBuiltInOnByDefaultAndRuns() {
        assertEquals(Optional.of(BuiltinRules.IMAGE_PROTECTION), BuiltinRules.byId("memory.image_protection"));
        assertTrue(new DetectionPolicy(ScanConfig.defaults()).enabled(BuiltinRules.IMAGE_PROTECTION));
        assertTrue(Check.builtins().stream().anyMatch(c -> c.rules().contains(BuiltinRules.IMAGE_PROTECTION)));
    }
}
