package dev.memsentry.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcessScopeTest {
    @Test
    void parsesTheFourKinds() {
        assertEquals("all", ProcessScope.parse("all").describe());
        assertEquals("container:abc", ProcessScope.parse("container:abc").describe());
        assertEquals("tree:42", ProcessScope.parse("tree:42").describe());
        assertEquals("cgroup:/system.slice/x.service", ProcessScope.parse("cgroup:/system.slice/x.service/").describe());
    }

    @Test
    void refusesWhatIsNotAScope() {
        for (String bad : new String[] {"", "tree:", "tree:-1", "tree:0", "tree:abc", "cgroup:", "cgroup:rel/path",
            "cgroup:/a/../b", "ALL"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProcessScope.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProcessScope.parse("container:"));
        assertTrue(e.getMessage().contains("container id or name"), e.getMessage());
    }

    @Test
    void aTreeFollowsForksAndParentLinksAndForgetsExits() {
        long self = ProcessHandle.current().pid();
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        ProcessScope tree = ProcessScope.parse("tree:" + parent);
        assertTrue(tree.admits(self, -1), "a child found through its parent link");
        ProcessScope other = ProcessScope.parse("tree:" + self);
        assertFalse(other.admits(parent, -1), "the parent is not below its child");
        other.forked(self, 999_999);
        assertTrue(other.admits(999_999, self));
        other.exited(999_999);
        assertFalse(other.admits(999_999, 1));
    }

    @Test
    void aCgroupCoversItselfAndWhatIsBelowOnly() {
        ProcessScope.Cgroup c = (ProcessScope.Cgroup) ProcessScope.parse("cgroup:/system.slice/nginx.service");
        assertTrue(c.covers("0::/system.slice/nginx.service\n"));
        assertTrue(c.covers("0::/system.slice/nginx.service/worker\n"));
        assertFalse(c.covers("0::/system.slice/nginx.service2\n"));
        assertFalse(c.covers("0::/system.slice\n"));
        assertTrue(c.covers("12:pids:/other\n0::/system.slice/nginx.service\n"));
        assertFalse(c.covers("garbage without colons\n"));
    }
}
