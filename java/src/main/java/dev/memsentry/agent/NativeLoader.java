package dev.memsentry.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Finds and loads the C library, in the order the well-kept JNI projects use:
 * <ol>
 *   <li>an explicit override ({@value #PATH_PROPERTY} or {@value #PATH_ENV}); when set, nothing
 *       else is tried, so a packager's choice never falls through silently; as root it must be a
 *       file only root can change ({@link TrustedCode}), or nothing is loaded at all;</li>
 *   <li>the copy bundled in the jar under {@code native/<os>-<arch>/} ({@link BundledFiles}): as
 *       root, from root's cache {@value #CACHE_DIR} in the extraction directory, extracted there
 *       (checked against its SHA-256) once per content; otherwise, or when the cache is not root's
 *       own, checked against its SHA-256, extracted into a fresh 0700 directory and deleted once
 *       loaded;</li>
 *   <li>{@code System.loadLibrary("memsentry")} from java.library.path.</li>
 * </ol>
 * Every attempt and its reason is recorded for {@code doctor}.
 */
public final class NativeLoader {
    public static final String PATH_PROPERTY = "memsentry.native.path";
    public static final String PATH_ENV = "MEMSENTRY_NATIVE_LIB";
    public static final String TMPDIR_PROPERTY = "memsentry.native.tmpdir";
    /** Root's cache of the extracted library, in the extraction directory. */
    public static final String CACHE_DIR = "memsentry-native-cache";

    /** One attempt to load the library and what came of it. */
    public record Attempt(String source, boolean loaded, String detail) {
    }

    /** The outcome: whether it loaded, from where, and every attempt on the way. */
    public record Result(boolean loaded, String loadedFrom, List<Attempt> attempts) {
        public String failureSummary() {
            StringBuilder sb = new StringBuilder();
            for (Attempt a : attempts) {
                if (!a.loaded()) {
                    sb.append(sb.length() == 0 ? "" : "; ").append(a.source()).append(": ").append(a.detail());
                }
            }
            return sb.toString();
        }
    }

    /**
     * Where to look; the defaults read system properties and the environment. cacheDir: root's
     * cache of the bundled library, or null to extract it afresh every time; warn: where a cache
     * that cannot be used is told.
     */
    public record Config(String overridePath, String resourceRoot, Path tempParent, Consumer<String> loadFile,
                         Consumer<String> loadLibrary, ClassLoader resources, Path cacheDir, Consumer<String> warn) {
        /** Without a cache. */
        public Config(String overridePath, String resourceRoot, Path tempParent, Consumer<String> loadFile,
                      Consumer<String> loadLibrary, ClassLoader resources) {
            this(overridePath, resourceRoot, tempParent, loadFile, loadLibrary, resources, null, NativeLoader::warn);
        }

        public static Config fromEnvironment() {
            String override = System.getProperty(PATH_PROPERTY);
            if (override == null || override.isBlank()) {
                override = System.getenv(PATH_ENV);
            }
            Path tmp = Path.of(System.getProperty(TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir")));
            return new Config(override == null || override.isBlank() ? null : override, BundledFiles.platformRoot(),
                tmp, NativeLoader::loadCheckedFile, NativeLoader::loadFromLibraryPath, NativeLoader.class.getClassLoader(),
                TrustedCode.runningAsRoot() ? tmp.resolve(CACHE_DIR) : null, NativeLoader::warn);
        }
    }

    /**
     * System.loadLibrary behind a method of ours: a reference to the caller-sensitive JDK method
     * itself makes the JVM spin an invoker class, which costs every start tens of milliseconds.
     */
    private static void loadFromLibraryPath(String name) {
        System.loadLibrary(name);
    }

    /** slf4j only when there is something to say: setting it up costs every start. */
    private static void warn(String message) {
        org.slf4j.LoggerFactory.getLogger(NativeLoader.class).warn(message);
    }

    private static Result cached;

    /**
     * System.load, after checking that the file is an ELF or PE image at all: a stray file gets
     * one clear reason instead of the dynamic loader's (and the JVM's) noise.
     */
    static void loadCheckedFile(String path) {
        byte[] magic = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(Path.of(path))) {
            n = in.readNBytes(magic, 0, 4);
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("cannot read " + path + ": " + e.getMessage());
        }
        boolean elf = n == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        boolean pe = n >= 2 && magic[0] == 'M' && magic[1] == 'Z';
        if (!elf && !pe) {
            throw new UnsatisfiedLinkError(path + " is not a shared library (no ELF or PE header)");
        }
        System.load(path);
    }

    private NativeLoader() {
    }

    /** Loads the library once per JVM; later calls return the first outcome. */
    public static synchronized Result loadOnce() {
        if (cached == null) {
            Config config = Config.fromEnvironment();
            if (config.overridePath() != null) {
                // Refused outright, never a fall-back to the stub: the override was asked for.
                TrustedCode.require("-D" + PATH_PROPERTY + " / " + PATH_ENV, Path.of(config.overridePath()));
            }
            cached = load(config);
        }
        return cached;
    }

    public static String libraryFileName(String osName) {
        return osName(osName).equals("windows") ? "memsentry.dll" : "libmemsentry.so";
    }

    /** "linux-x86_64", "windows-x86_64", "linux-aarch64", ... */
    public static String platformDirectory(String osName, String osArch) {
        String arch = osArch.toLowerCase(Locale.ROOT);
        arch = switch (arch) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName(osName) + "-" + arch;
    }

    private static String osName(String osName) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("windows")) {
            return "windows";
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            return "macos";
        }
        return os.startsWith("linux") ? "linux" : os.replace(' ', '_');
    }

    public static Result load(Config config) {
        List<Attempt> attempts = new ArrayList<>();
        if (config.overridePath() != null) {
            String source = "override " + config.overridePath();
            Attempt a = tryLoad(source, () -> config.loadFile().accept(Path.of(config.overridePath()).toAbsolutePath().toString()));
            attempts.add(a);
            return new Result(a.loaded(), a.loaded() ? config.overridePath() : null, List.copyOf(attempts));
        }
        Attempt bundled = loadBundled(config);
        attempts.add(bundled);
        if (bundled.loaded()) {
            return new Result(true, "jar:" + config.resourceRoot(), List.copyOf(attempts));
        }
        Attempt system = tryLoad("java.library.path", () -> config.loadLibrary().accept("memsentry"));
        attempts.add(system);
        return new Result(system.loaded(), system.loaded() ? "java.library.path" : null, List.copyOf(attempts));
    }

    private interface Loading {
        void run() throws IOException;
    }

    private static Attempt tryLoad(String source, Loading loading) {
        try {
            loading.run();
            return new Attempt(source, true, "loaded");
        } catch (UnsatisfiedLinkError | IOException | SecurityException | IllegalStateException e) {
            return new Attempt(source, false, oneLine(e));
        } catch (RuntimeException e) {
            // Java 24+ throws IllegalCallerException when native access is not enabled.
            return new Attempt(source, false, e.getClass().getSimpleName() + ": " + oneLine(e));
        }
    }

    private static String oneLine(Throwable e) {
        String m = Objects.requireNonNullElse(e.getMessage(), e.getClass().getSimpleName());
        return m.replace('\n', ' ');
    }

    private static Attempt loadBundled(Config config) {
        String osName = config.resourceRoot().contains("windows") ? "windows" : "linux";
        String source = "bundled " + config.resourceRoot() + "/" + libraryFileName(osName);
        BundledFiles.Extracted extracted = null;
        try {
            BundledFiles.Entry entry = BundledFiles.find(config.resources(), config.resourceRoot(), libraryFileName(osName));
            if (config.cacheDir() != null) {
                try {
                    extracted = BundledFiles.cached(entry, config.cacheDir(), config.warn());
                } catch (IOException e) {
                    config.warn().accept("not using the cache " + config.cacheDir() + ": " + oneLine(e));
                }
            }
            if (extracted == null) {
                extracted = BundledFiles.extract(entry, config.tempParent());
            }
        } catch (IOException e) {
            return new Attempt(source, false, oneLine(e) + (e instanceof FileSystemException
                ? " (extracting into " + config.tempParent() + "; set -D" + TMPDIR_PROPERTY + "=DIR)" : ""));
        }
        try (BundledFiles.Extracted library = extracted) {
            String path = library.path().toString();
            Attempt a = tryLoad(source, () -> config.loadFile().accept(path));
            return a.loaded() && library.cached() ? new Attempt(source, true, "loaded from the cache " + path) : a;
        }
    }
}
