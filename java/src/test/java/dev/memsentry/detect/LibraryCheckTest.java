package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.ModuleInfo;
import org.junit.jupiter.api.Test;

class LibraryCheckTest {
    @Test
    void aProgramsTreeIsItsDirectoryOrTheOneAboveBin() {
        String py = "/root/.pyenv/versions/3.11.7/bin/python3.11";
        assertTrue(LibraryCheck.inProgramTree(py, "/root/.pyenv/versions/3.11.7/lib/python3.11/lib-dynload/_struct.so"));
        assertFalse(LibraryCheck.inProgramTree(py, "/root/.pyenv/versions/3.12.0/lib/x.so"));
        assertTrue(LibraryCheck.inProgramTree("/opt/app/app", "/opt/app/plugins/p.so"));
        assertFalse(LibraryCheck.inProgramTree("/opt/app/app", "/opt/other/p.so"));
        assertFalse(LibraryCheck.inProgramTree("/usr/bin/python3", "/root/.cache/x.so"), "/usr is no program's tree");
        assertFalse(LibraryCheck.inProgramTree("/bin/sh", "/tmp/x.so"), "never the whole file system");
        assertFalse(LibraryCheck.inProgramTree("/opt/app/app (deleted)", "/opt/app/p.so"));
        assertFalse(LibraryCheck.inProgramTree("/opt/app/app", "/opt/app/../../tmp/p.so"));
    }

    @Test
    void onlyASharedObjectOutsideAKnownClosureIsLoadedAtRunTime() {
        int known = ModuleInfo.CLOSURE_KNOWN | ModuleInfo.ELF;
        assertTrue(module(known, 3).loadedAtRunTime());
        assertFalse(module(known | ModuleInfo.NEEDED, 3).loadedAtRunTime());
        assertFalse(module(known | ModuleInfo.MAIN, 3).loadedAtRunTime());
        assertFalse(module(known | ModuleInfo.INTERP, 3).loadedAtRunTime());
        assertFalse(module(known, 2).loadedAtRunTime(), "an executable is not dlopen()ed");
        assertFalse(module(ModuleInfo.ELF, 3).loadedAtRunTime(), "unknown closure: nothing is called run-time");
        assertEquals("every user", LibraryCheck.who(module(ModuleInfo.WORLD_WRITABLE | ModuleInfo.OWNER_SELF, 3)));
        assertEquals("another user", LibraryCheck.who(module(ModuleInfo.OWNER_OTHER, 3)));
    }

    private static ModuleInfo module(int flags, int elfType) {
        return new ModuleInfo(0x1000, 0x2000, 7, 8, 1, flags, 0, 0100755, 0, elfType, "/x/lib.so", "", "");
    }
}
