package dev.memsentry.detect;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which files the package manager installed, from dpkg's lists ({@code var/lib/dpkg/info/*.list})
 * in a process's root, read once per root file system (by the root directory's device and inode)
 * and kept for the run. Only paths outside the system library directories are kept: those are the
 * only ones asked about. A root without dpkg owns nothing. Thread-safe.
 */
final class PackageFiles {
    private static final Logger LOG = LoggerFactory.getLogger(PackageFiles.class);
    /** The directories the dynamic loader and the distribution put libraries in (and below them). */
    static final List<String> SYSTEM_LIBRARY_DIRS = List.of("/lib/", "/lib32/", "/lib64/", "/libx32/", "/usr/lib/",
        "/usr/lib32/", "/usr/lib64/", "/usr/libx32/", "/usr/local/lib/", "/usr/local/lib64/");
    private static final long MAX_LIST_BYTES = 64L << 20;
    private static final int MAX_PATHS = 2_000_000;

    private final Map<String, Set<String>> byRoot = new ConcurrentHashMap<>();

    static boolean inSystemLibraryDir(String path) {
        return SYSTEM_LIBRARY_DIRS.stream().anyMatch(path::startsWith);
    }

    /** Whether a package of the process's root installed path (as the process sees it). */
    boolean owns(long pid, String path) {
        Path root = Path.of("/proc", Long.toString(pid), "root");
        String key;
        try {
            Map<String, Object> a = Files.readAttributes(root, "unix:dev,ino");
            key = a.get("dev") + ":" + a.get("ino");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
        Set<String> files = byRoot.computeIfAbsent(key, k -> load(root.resolve("var/lib/dpkg/info")));
        if (files.contains(path)) {
            return true;
        }
        // usrmerge: dpkg may list /lib/x while the kernel names /usr/lib/x, and the other way round.
        return path.startsWith("/usr/") ? files.contains(path.substring(4)) : files.contains("/usr" + path);
    }

    private static Set<String> load(Path info) {
        Set<String> out = new HashSet<>();
        long bytes = 0;
        try (DirectoryStream<Path> lists = Files.newDirectoryStream(info, "*.list")) {
            for (Path list : lists) {
                if (!Files.isRegularFile(list, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                // An InputStreamReader replaces malformed bytes instead of failing the whole list.
                try (BufferedReader r = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(list),
                    StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null && bytes < MAX_LIST_BYTES && out.size() < MAX_PATHS) {
                        bytes += line.length() + 1;
                        if (line.startsWith("/") && !inSystemLibraryDir(line) && !line.startsWith("/usr/share/")) {
                            out.add(line);
                        }
                    }
                } catch (IOException | java.io.UncheckedIOException e) {
                    LOG.debug("{}: {}", list, e.getMessage());
                }
            }
        } catch (IOException | SecurityException e) {
            LOG.debug("no package lists in {}: {}", info, e.getMessage());
        }
        return out;
    }
}
