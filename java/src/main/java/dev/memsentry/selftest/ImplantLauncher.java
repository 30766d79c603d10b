package dev.memsentry.selftest;

import dev.memsentry.agent.BundledFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts memsentry-implant (shipped in the jar beside the library, checked against its SHA-256)
 * from a private directory. Every implant is a child of this JVM and dies with it.
 */
final class ImplantLauncher implements AutoCloseable {
    static final String MARKER = "MEMSENTRY-SELFTEST-IMPLANT";
    /** Where the marker sits in the shellcode and RWX pages (memsentry_implant.c). */
    static final int MARKER_OFFSET = 64;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);

    private final BundledFiles.Extracted binary;

    private ImplantLauncher(BundledFiles.Extracted binary) {
        this.binary = binary;
    }

    /** @throws IOException when the jar holds no implant for this platform or it cannot be extracted */
    static ImplantLauncher extract(Path tempParent) throws IOException {
        return new ImplantLauncher(BundledFiles.extractExecutable("memsentry-implant", tempParent));
    }

    Implant start(String mode) throws IOException {
        Process p = new ProcessBuilder(List.of(binary.path().toString(), mode, String.valueOf(ProcessHandle.current().pid())))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
        String line;
        try {
            line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return null;
                }
            }).get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("the " + mode + " implant did not start within " + READY_TIMEOUT.toSeconds() + " s");
        }
        String[] words = line == null ? new String[0] : line.split(" ");
        if (words.length != 3 || !words[0].equals("ready")) {
            p.destroyForcibly();
            throw new IOException("the " + mode + " implant did not start (exit " + exitOf(p) + ")");
        }
        long address = words[1].equals("(nil)") ? 0 : Long.parseUnsignedLong(words[1].replaceFirst("^0x", ""), 16);
        return new Implant(mode, p, Long.parseLong(words[2]), address);
    }

    private static String exitOf(Process p) {
        try {
            return p.waitFor(1, TimeUnit.SECONDS) ? String.valueOf(p.exitValue()) : "none";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "none";
        }
    }

    @Override
    public void close() {
        binary.close();
    }
}
