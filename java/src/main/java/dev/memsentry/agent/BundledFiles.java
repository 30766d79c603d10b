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
import java.util.HexFormat;

/**
 * Native programs shipped in the jar beside the library ({@code native/<os>-<arch>/NAME} with
 * {@code NAME.sha256}), extracted into a fresh 0700 directory and checked before they are run.
 */
public final class BundledFiles {
    private BundledFiles() {
    }

    /** An extracted file; closing deletes it and its directory. */
    public record Extracted(Path path, Path dir) implements AutoCloseable {
        @Override
        public void close() {
            try {
                Files.deleteIfExists(path);
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                path.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
            }
        }
    }

    public static Extracted extractExecutable(String name, Path tempParent) throws IOException {
        String resource = "native/" + NativeLoader.platformDirectory(System.getProperty("os.name"),
            System.getProperty("os.arch")) + "/" + name;
        ClassLoader loader = BundledFiles.class.getClassLoader();
        byte[] expected;
        try (InputStream sum = loader.getResourceAsStream(resource + ".sha256")) {
            if (sum == null) {
                throw new IOException(resource + " is not in the jar (built without the native part, or not for this platform)");
            }
            expected = HexFormat.of().parseHex(new String(sum.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")[0]);
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable checksum of " + resource);
        }
        Files.createDirectories(tempParent);
        Path dir = Files.createTempDirectory(tempParent, "memsentry-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve(name);
        Extracted extracted = new Extracted(file, dir);
        try (InputStream in = loader.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException(resource + " has a checksum but is missing from the jar");
            }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (DigestOutputStream out = new DigestOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), sha)) {
                in.transferTo(out);
            }
            if (!MessageDigest.isEqual(expected, sha.digest())) {
                throw new IOException(resource + " does not match its checksum: the jar is corrupt");
            }
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r-x------"));
            return extracted;
        } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
            extracted.close();
            throw e instanceof IOException io ? io : new IOException(e.toString());
        }
    }
}
