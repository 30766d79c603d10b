package dev.memsentry.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
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
 *   <li>the copy bundled in the jar under {@code native/<os>-<arch>/}, checked against its
 *       SHA-256, extracted into a fresh 0700 directory and deleted once loaded;</li>
 *   <li>{@code System.loadLibrary("memsentry")} from java.library.path.</li>
 * </ol>
 * Every attempt and its reason is recorded for {@code doctor}.
 */
public final class NativeLoader {
    public static final String PATH_PROPERTY = "memsentry.native.path";
    public static final String PATH_ENV = "MEMSENTRY_NATIVE_LIB";
    public static final String TMPDIR_PROPERTY = "memsentry.native.tmpdir";

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

    /** Where to look; the defaults read system properties and the environment. */
    public record Config(String overridePath, String resourceRoot, Path tempParent, Consumer<String> loadFile,
                         Consumer<String> loadLibrary, ClassLoader resources) {
        public static Config fromEnvironment() {
            String override = System.getProperty(PATH_PROPERTY);
            if (override == null || override.isBlank()) {
                override = System.getenv(PATH_ENV);
            }
            String tmp = System.getProperty(TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir"));
            return new Config(override == null || override.isBlank() ? null : override,
                "native/" + platformDirectory(System.getProperty("os.name"), System.getProperty("os.arch")),
                Path.of(tmp), NativeLoader::loadCheckedFile, System::loadLibrary, NativeLoader.class.getClassLoader());
        }
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
        String resource = config.resourceRoot() + "/" + libraryFileName(osName);
        String source = "bundled " + resource;
        byte[] expected;
        try (InputStream sum = config.resources().getResourceAsStream(resource + ".sha256")) {
            if (sum == null) {
                return new Attempt(source, false, "not in the jar (built without the native part, or no build for this platform)");
            }
            expected = HexFormat.of().parseHex(new String(sum.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")[0]);
        } catch (IOException | IllegalArgumentException e) {
            return new Attempt(source, false, "unreadable checksum: " + oneLine(e));
        }
        Path dir = null;
        Path file = null;
        try (InputStream lib = config.resources().getResourceAsStream(resource)) {
            if (lib == null) {
                return new Attempt(source, false, "checksum present but library missing from the jar");
            }
            Files.createDirectories(config.tempParent());
            dir = createPrivateDirectory(config.tempParent());
            file = dir.resolve(libraryFileName(osName));
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (DigestOutputStream out = new DigestOutputStream(
                Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), sha)) {
                lib.transferTo(out);
            }
            if (!MessageDigest.isEqual(expected, sha.digest())) {
                return new Attempt(source, false, "checksum mismatch: the bundled library is corrupt");
            }
            String path = file.toString();
            return tryLoad(source, () -> config.loadFile().accept(path));
        } catch (IOException | NoSuchAlgorithmException e) {
            return new Attempt(source, false, "extraction into " + config.tempParent() + " failed: " + oneLine(e)
                + " (set -D" + TMPDIR_PROPERTY + "=DIR)");
        } finally {
            deleteQuietly(file, dir);
        }
    }

    private static Path createPrivateDirectory(Path parent) throws IOException {
        try {
            return Files.createTempDirectory(parent, "memsentry-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) {
            return Files.createTempDirectory(parent, "memsentry-"); // Windows: ACLs already private to the user
        }
    }

    /** Once loaded, the mapping stays; the file is not needed (Windows keeps it until exit). */
    private static void deleteQuietly(Path file, Path dir) {
        for (Path p : new Path[] {file, dir}) {
            if (p == null) {
                continue;
            }
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                p.toFile().deleteOnExit();
            }
        }
    }
}
