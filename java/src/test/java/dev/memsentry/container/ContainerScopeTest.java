package dev.memsentry.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.ContainerFacts;
import org.junit.jupiter.api.Test;

class ContainerScopeTest {
    private static final String ID = "8e2c4a6f0b1d3e5f7a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";

    private static Container container(String id, String name) {
        return new Container(new ContainerFacts(ContainerFacts.ID, id, "podman", "", 1, 0, 0, 0),
            new ContainerMetadata(name, null, null, null));
    }

    @Test
    void idPrefixesMatchAsTheRuntimesAcceptThem() {
        for (String v : new String[] {"8", "8e2c4a6f0b1d", "8E2C4A6F0B1D", ID}) {
            ContainerScope s = ContainerScope.parse("container:" + v);
            assertTrue(s.byId(), v);
            assertTrue(s.matches(container(ID, "web")), v);
            assertTrue(s.matchesId(container(ID, null).facts()), v);
            assertFalse(s.matches(container("9" + ID.substring(1), "web")), v);
        }
        assertFalse(ContainerScope.parse("container:" + ID + "0").byId(), "65 digits are no id");
    }

    @Test
    void aNameMatchesTheRuntimesNameOnly() {
        ContainerScope s = ContainerScope.parse("container:web-1");
        assertFalse(s.byId());
        assertTrue(s.matches(container(ID, "web-1")));
        assertFalse(s.matches(container(ID, "web-10")));
        assertFalse(s.matches(container(ID, null)), "no metadata: no name to match");
        assertFalse(s.matches(null));
        assertEquals("container:web-1", s.toString());
    }

    @Test
    void aProcessOutsideAnyContainerNeverMatches() {
        ContainerFacts host = new ContainerFacts(ContainerFacts.CGROUP_READ, "", "none", "", 42, 0, 0, 0);
        assertFalse(ContainerScope.parse("container:8").matchesId(host));
        assertFalse(ContainerScope.parse("container:8").matchesId(null));
    }

    @Test
    void malformedScopesAreOneLineErrors() {
        for (String bad : new String[] {"container:", "tree:1", "container:a b", "container:x\ty", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ContainerScope.parse(bad));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
