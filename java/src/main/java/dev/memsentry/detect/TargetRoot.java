package dev.memsentry.detect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * A path as a target process sees it, reached from the host through /proc/PID/root. The kernel
 * resolves an absolute symbolic link met on the way from the caller's root, so in a container
 * "/proc/PID/root/lib/x" would reach the host's file when the container's /lib links to "/usr/lib".
 * Here each directory on the way is resolved inside the target's root (as openat2 RESOLVE_IN_ROOT
 * does in the agent); the last component is not followed, as the checks open it without following.
 * A link swapped meanwhile by the target can still redirect the final open: the checks only read
 * small facts through it.
 */
final class TargetRoot {
    private static final int MAX_LINKS = 40; // the kernel's limit for one lookup

    private TargetRoot() {
    }

    /** The host path of path in pid's root, its directories resolved inside that root; empty when unresolvable. */
    static Optional<Path> resolve(long pid, String path) {
        if (!path.startsWith("/")) {
            return Optional.empty();
        }
        Path root = Path.of("/proc", Long.toString(pid), "root");
        Deque<String> todo = new ArrayDeque<>(List.of(path.split("/")));
        List<String> done = new ArrayList<>();
        int links = 0;
        try {
            while (!todo.isEmpty()) {
                String c = todo.pollFirst();
                if (c.isEmpty() || c.equals(".")) {
                    continue;
                }
                if (c.equals("..")) {
                    if (!done.isEmpty()) {
                        done.remove(done.size() - 1);
                    }
                    continue;
                }
                Path here = under(root, done).resolve(c);
                if (!todo.isEmpty() && Files.isSymbolicLink(here)) {
                    if (++links > MAX_LINKS) {
                        return Optional.empty();
                    }
                    String target = Files.readSymbolicLink(here).toString();
                    if (target.startsWith("/")) {
                        done.clear();
                    }
                    String[] parts = target.split("/");
                    for (int i = parts.length - 1; i >= 0; i--) {
                        todo.addFirst(parts[i]);
                    }
                    continue;
                }
                done.add(c);
            }
            return Optional.of(under(root, done));
        } catch (IOException | InvalidPathException | SecurityException e) {
            return Optional.empty();
        }
    }

    private static Path under(Path root, List<String> parts) {
        Path p = root;
        for (String s : parts) {
            p = p.resolve(s);
        }
        return p;
    }
}
