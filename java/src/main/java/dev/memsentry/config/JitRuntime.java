package dev.memsentry.config;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;

/**
 * A runtime that legitimately generates code (a JVM, node, .NET, a browser, LuaJIT, PyPy). A
 * process is one when a library it maps from a regular file matches one of {@code libraries}, or
 * its executable's file name matches one of {@code executables} (glob patterns on file names).
 * The library test is the stronger one: an attacker names an implant "java" more easily than it
 * maps a real libjvm.so; either way only the JIT-sensitive findings are lowered, never dropped.
 */
public record JitRuntime(String name, List<String> libraries, List<String> executables) {
    public JitRuntime {
        libraries = List.copyOf(libraries);
        executables = List.copyOf(executables);
    }

    public static final List<JitRuntime> DEFAULTS = List.of(
        new JitRuntime("jvm", List.of("libjvm.so"), List.of("java")),
        new JitRuntime("node", List.of("libnode.so*"), List.of("node", "nodejs")),
        new JitRuntime("dotnet", List.of("libcoreclr.so", "libclrjit.so"), List.of("dotnet")),
        new JitRuntime("chromium", List.of("libcef.so", "libv8.so*"),
            List.of("chrome", "chromium", "chromium-browser", "electron")),
        new JitRuntime("firefox", List.of("libxul.so"), List.of("firefox", "firefox-esr", "firefox-bin")),
        new JitRuntime("luajit", List.of("libluajit-5.1.so*"), List.of("luajit", "luajit-*")),
        new JitRuntime("pypy", List.of("libpypy*-c.so*"), List.of("pypy", "pypy3", "pypy3.*")));

    public boolean matchesLibrary(String fileName) {
        return matchesAny(libraries, fileName);
    }

    public boolean matchesExecutable(String fileName) {
        return matchesAny(executables, fileName);
    }

    private static final java.util.Map<String, PathMatcher> MATCHERS = new java.util.concurrent.ConcurrentHashMap<>();

    private static boolean matchesAny(List<String> globs, String fileName) {
        if (fileName.isEmpty() || fileName.indexOf('\0') >= 0) {
            return false;
        }
        Path name;
        try {
            name = Path.of(fileName);
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
        for (String g : globs) {
            PathMatcher m = MATCHERS.computeIfAbsent(g, x -> FileSystems.getDefault().getPathMatcher("glob:" + x));
            if (m.matches(name)) {
                return true;
            }
        }
        return false;
    }

    /** A glob must be a file name pattern: no path separator, not empty. */
    static String checkGlob(String glob) {
        if (glob.isBlank() || glob.contains("/")) {
            throw new IllegalArgumentException("'" + glob + "' must be a file name pattern (no '/')");
        }
        FileSystems.getDefault().getPathMatcher("glob:" + glob);
        return glob;
    }
}
