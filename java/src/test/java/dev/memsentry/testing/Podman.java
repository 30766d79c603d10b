package dev.memsentry.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Real containers for the tests, run by Podman with runc and cgroupfs (crun refuses this kind of host's
 * hybrid cgroup layout), without network and without a registry: images are imported from a root file
 * system the test builds (a static busybox and static victims). Every image and container made here is
 * removed by {@link Image#close()} and {@link Container#close()}.
 */
public final class Podman {
    private static final List<String> GLOBAL = List.of("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs");
    /** podman run's own options: no network, and the limits runc may set here (not above the host's). */
    private static final List<String> RUN = List.of("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
        "--ulimit", "nproc=1024:1024");
    private static String unavailable; // null: not probed yet; "": works
    private static final Path BUSYBOX = Path.of("/bin/busybox");

    private Podman() {
    }

    /** Why containers cannot run here, or null when they can: one image import and one container run. */
    public static synchronized String unavailable() {
        if (unavailable == null) {
            unavailable = probe();
        }
        return unavailable.isEmpty() ? null : unavailable;
    }

    private static String probe() {
        if (!Files.isExecutable(BUSYBOX)) {
            return "no static busybox at " + BUSYBOX + " (Debian package busybox-static)";
        }
        try (Image image = Image.build(new RootFs())) {
            List<String> args = new ArrayList<>(RUN);
            args.addAll(List.of(image.tag(), "/bin/true"));
            Result r = run(args, 60);
            return r.code() == 0 ? "" : "podman cannot start a container: " + r.err().strip();
        } catch (IOException | RuntimeException e) {
            return "podman cannot build or run an image: " + e.getMessage();
        }
    }

    record Result(int code, String out, String err) {
    }

    static Result run(List<String> args, int timeoutSeconds) throws IOException {
        List<String> cmd = new ArrayList<>(GLOBAL);
        cmd.addAll(args);
        Path errFile = Files.createTempFile("podman", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(errFile.toFile()).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no answer in " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), Files.readString(errFile));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            Files.deleteIfExists(errFile);
        }
    }

    static String check(List<String> args) throws IOException {
        Result r = run(args, 120);
        if (r.code() != 0) {
            throw new IOException("podman " + String.join(" ", args) + ": " + r.err().strip());
        }
        return r.out().strip();
    }

    /** A root file system being put together: a static busybox (sh, sleep, cat) and whatever the test adds. */
    public static final class RootFs implements AutoCloseable {
        private final Path dir;

        public RootFs() throws IOException {
            dir = Files.createTempDirectory("memsentry-rootfs");
            add(BUSYBOX, "/bin/busybox");
            for (String applet : List.of("sh", "sleep", "cat", "true")) {
                Files.createSymbolicLink(dir.resolve("bin").resolve(applet), Path.of("busybox"));
            }
        }

        /** Copies file to path inside the image (parents created, mode kept). */
        public RootFs add(Path file, String path) throws IOException {
            Path target = dir.resolve(path.substring(1));
            Files.createDirectories(target.getParent());
            Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
            return this;
        }

        /** Writes bytes to path inside the image. */
        public RootFs write(String path, byte[] bytes) throws IOException {
            Path target = dir.resolve(path.substring(1));
            Files.createDirectories(target.getParent());
            Files.write(target, bytes);
            return this;
        }

        @Override
        public void close() throws IOException {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** An image imported from a root file system, removed (with its containers) on close. */
    public record Image(String tag) implements AutoCloseable {
        public static Image build(RootFs root) throws IOException {
            try (root) {
                Path tar = Files.createTempFile("memsentry-rootfs", ".tar");
                try {
                    Process p = new ProcessBuilder("tar", "-C", root.dir.toString(), "-cf", tar.toString(), ".")
                        .redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    if (p.waitFor() != 0) {
                        throw new IOException("tar: " + out);
                    }
                    String tag = "localhost/memsentry-test-" + UUID.randomUUID().toString().substring(0, 8) + ":latest";
                    check(List.of("import", tar.toString(), tag));
                    return new Image(tag);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                } finally {
                    Files.deleteIfExists(tar);
                }
            }
        }

        /**
         * Runs command in a new container with its standard input attached (the victims end when it
         * closes) and waits for its READY line.
         */
        public Container start(String... command) throws IOException {
            String name = "memsentry-test-" + UUID.randomUUID().toString().substring(0, 8);
            List<String> cmd = new ArrayList<>(GLOBAL);
            cmd.addAll(RUN);
            cmd.addAll(List.of("-i", "--name", name, tag));
            cmd.addAll(List.of(command));
            Container c = new Container(name, Victim.startCommand(name, cmd));
            try {
                c.id = check(List.of("inspect", "-f", "{{.Id}}", name));
                c.hostPid = Long.parseLong(check(List.of("inspect", "-f", "{{.State.Pid}}", name)));
                return c;
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }

        @Override
        public void close() {
            try {
                run(List.of("rmi", "-f", tag), 60);
            } catch (IOException e) {
                // nothing more to do: the image stays, the test's own failure is reported
            }
        }
    }

    /** A running container whose main process printed READY. */
    public static final class Container implements AutoCloseable {
        private final String name;
        private final Victim main;
        private String id;
        private long hostPid;

        private Container(String name, Victim main) {
            this.name = name;
            this.main = main;
        }

        public String name() {
            return name;
        }

        /** The full 64-digit id. */
        public String id() {
            return id;
        }

        /** The main process's pid on the host (its pid inside is in the READY line). */
        public long hostPid() {
            return hostPid;
        }

        public String fact(String key) {
            return main.fact(key);
        }

        /** Runs command in the container with `podman exec -i`; it ends when the victim's stdin closes. */
        public Victim exec(String... command) throws IOException {
            List<String> cmd = new ArrayList<>(GLOBAL);
            cmd.addAll(List.of("exec", "-i", name));
            cmd.addAll(List.of(command));
            return Victim.startCommand(name + "-exec", cmd);
        }

        /** Closes the main process's standard input (the victim ends), then removes the container. */
        @Override
        public void close() {
            main.close();
            try {
                run(List.of("rm", "-f", "-t", "0", name), 60);
            } catch (IOException e) {
                // the image's removal (rmi -f) takes the container with it
            }
        }
    }
}
