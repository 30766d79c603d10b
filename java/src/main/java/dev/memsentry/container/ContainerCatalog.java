package dev.memsentry.container;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container names, images and Kubernetes pods from the runtimes' own files on this host, never a
 * daemon, socket or network: Docker's {@code containers/ID/config.v2.json}; the containers/storage
 * of Podman and CRI-O ({@code overlay-containers/containers.json} and each container's
 * {@code userdata/config.json} annotations); containerd's task bundles ({@code config.json} with the
 * CRI annotations). Best effort: a lookup runs on one daemon thread and a caller waits for it at most
 * {@code wait}; what is not known by then is the id alone (the answer is cached when it arrives).
 * Answers are cached per id; an id not found is looked up again after {@link #RETRY}, for
 * containers that start later. Thread-safe.
 */
public final class ContainerCatalog {
    /** Created at the first message: setting slf4j up costs a short command such as ps more than its work. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(ContainerCatalog.class);
    }
    private static final Pattern ID = Pattern.compile("[0-9a-f]{64}");
    /** Bigger metadata files are not read (containers.json grows with the number of containers). */
    static final long FILE_MAX = 32L << 20;
    static final Duration RETRY = Duration.ofSeconds(5);
    /**
     * Paid at most once per container and run, on the thread that first meets it (a scan worker,
     * or the tracer before it attaches). A cold JVM reads a runtime's files in tens of milliseconds;
     * the margin is for a loaded host, where a name missing from the alerts would cost more.
     */
    public static final Duration DEFAULT_WAIT = Duration.ofSeconds(5);

    private final Path dockerRoot;
    private final List<Path> storageRoots;
    private final Path containerdTasks;
    private final Duration wait;
    private final long retryNanos;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    private final Map<Path, Parsed> parsedFiles = new ConcurrentHashMap<>();
    private final ExecutorService lookups = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "memsentry-container-metadata");
        t.setDaemon(true);
        return t;
    });

    private record Entry(Future<ContainerMetadata> answer, long at) {
    }

    private record Parsed(long modified, long size, JsonNode tree) {
    }

    public ContainerCatalog(Path dockerRoot, List<Path> storageRoots, Path containerdTasks, Duration wait) {
        this(dockerRoot, storageRoots, containerdTasks, wait, RETRY);
    }

    ContainerCatalog(Path dockerRoot, List<Path> storageRoots, Path containerdTasks, Duration wait, Duration retry) {
        this.retryNanos = retry.toNanos();
        this.dockerRoot = dockerRoot;
        this.storageRoots = List.copyOf(storageRoots);
        this.containerdTasks = containerdTasks;
        this.wait = wait;
    }

    /** The runtimes' default locations on this host. */
    public static ContainerCatalog local() {
        return new ContainerCatalog(Path.of("/var/lib/docker"),
            List.of(Path.of("/var/lib/containers/storage"), Path.of("/run/containers/storage")),
            Path.of("/run/containerd/io.containerd.runtime.v2.task"), DEFAULT_WAIT);
    }

    /** What the runtime's files say about container id, or {@link ContainerMetadata#NONE}; waits at most the catalog's wait. */
    public ContainerMetadata lookup(String id) {
        return lookup(id, wait);
    }

    /** As {@link #lookup(String)}, waiting at most wait. */
    public ContainerMetadata lookup(String id, Duration wait) {
        if (id == null || !ID.matcher(id).matches()) {
            return ContainerMetadata.NONE;
        }
        long now = System.nanoTime();
        Entry e = cache.compute(id, (k, old) -> old != null && !stale(old, now) ? old
            : new Entry(lookups.submit(() -> read(k)), now));
        try {
            return e.answer().get(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException slow) {
            Log.LOG.debug("container {}: metadata not read within {} ms", id, wait.toMillis());
            return ContainerMetadata.NONE;
        } catch (InterruptedException intr) {
            Thread.currentThread().interrupt();
            return ContainerMetadata.NONE;
        } catch (ExecutionException failed) {
            Log.LOG.debug("container {}: metadata: {}", id, failed.getCause().toString());
            return ContainerMetadata.NONE;
        }
    }

    private boolean stale(Entry e, long now) {
        if (!e.answer().isDone() || now - e.at() < retryNanos) {
            return false;
        }
        try {
            return e.answer().get().isEmpty();
        } catch (InterruptedException | ExecutionException ex) {
            return true;
        }
    }

    /** Synchronous: every source in turn, the first that knows the container first. */
    ContainerMetadata read(String id) {
        long t0 = System.nanoTime();
        ContainerMetadata m = readAll(id);
        Log.LOG.debug("container {}: metadata read in {} ms", id, (System.nanoTime() - t0) / 1_000_000);
        return m;
    }

    private ContainerMetadata readAll(String id) {
        ContainerMetadata m = docker(id);
        // The Kubernetes annotations (CRI-O keeps them under the run root) before the storage's own names.
        for (Path root : storageRoots) {
            m = m.or(storageAnnotations(root, id));
        }
        for (Path root : storageRoots) {
            m = m.or(storageList(root, id));
        }
        return m.or(containerd(id));
    }

    private ContainerMetadata docker(String id) {
        JsonNode c = readJson(dockerRoot.resolve("containers").resolve(id).resolve("config.v2.json"), false);
        if (c == null) {
            return ContainerMetadata.NONE;
        }
        String name = text(c.path("Name"));
        if (name != null && name.startsWith("/")) {
            name = name.substring(1);
        }
        JsonNode labels = c.path("Config").path("Labels");
        String k8sName = text(labels.path("io.kubernetes.container.name"));
        return new ContainerMetadata(k8sName != null ? k8sName : name, text(c.path("Config").path("Image")),
            text(labels.path("io.kubernetes.pod.name")), text(labels.path("io.kubernetes.pod.namespace")));
    }

    /** Podman and CRI-O: the storage's container list (names, and the image in its metadata). */
    private ContainerMetadata storageList(Path root, String id) {
        JsonNode list = readJson(root.resolve("overlay-containers").resolve("containers.json"), true);
        if (list == null || !list.isArray()) {
            return ContainerMetadata.NONE;
        }
        for (JsonNode c : list) {
            if (!id.equals(c.path("id").asText())) {
                continue;
            }
            JsonNode meta = parse(text(c.path("metadata")));
            String name = meta != null ? text(meta.path("name")) : null;
            if (name == null && c.path("names").isArray() && !c.path("names").isEmpty()) {
                name = text(c.path("names").get(0));
            }
            return new ContainerMetadata(name, meta != null ? text(meta.path("image-name")) : null,
                meta != null ? text(meta.path("pod-name")) : null, null);
        }
        return ContainerMetadata.NONE;
    }

    /** CRI-O: the container's OCI config with the Kubernetes annotations. */
    private ContainerMetadata storageAnnotations(Path root, String id) {
        JsonNode config = readJson(root.resolve("overlay-containers").resolve(id).resolve("userdata").resolve("config.json"),
            false);
        if (config == null) {
            return ContainerMetadata.NONE;
        }
        JsonNode a = config.path("annotations");
        return new ContainerMetadata(text(a.path("io.kubernetes.container.name")),
            text(a.path("io.kubernetes.cri-o.ImageName")), text(a.path("io.kubernetes.pod.name")),
            text(a.path("io.kubernetes.pod.namespace")));
    }

    /** containerd: the task bundle of the container in any namespace (k8s.io, default, moby, ...). */
    private ContainerMetadata containerd(String id) {
        if (!Files.isDirectory(containerdTasks)) {
            return ContainerMetadata.NONE;
        }
        try (DirectoryStream<Path> namespaces = Files.newDirectoryStream(containerdTasks)) {
            for (Path ns : namespaces) {
                JsonNode config = readJson(ns.resolve(id).resolve("config.json"), false);
                if (config == null) {
                    continue;
                }
                JsonNode a = config.path("annotations");
                String name = text(a.path("io.kubernetes.cri.container-name"));
                return new ContainerMetadata(name != null ? name : text(a.path("nerdctl/name")),
                    text(a.path("io.kubernetes.cri.image-name")), text(a.path("io.kubernetes.cri.sandbox-name")),
                    text(a.path("io.kubernetes.cri.sandbox-namespace")));
            }
        } catch (IOException | RuntimeException e) {
            Log.LOG.debug("containerd tasks {}: {}", containerdTasks, e.toString());
        }
        return ContainerMetadata.NONE;
    }

    /**
     * A regular file (no symbolic link) of at most {@link #FILE_MAX} bytes as JSON, or null. Shared
     * lists (containers.json) are kept parsed while their size and time are unchanged.
     */
    private JsonNode readJson(Path file, boolean keep) {
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!attrs.isRegularFile() || attrs.size() > FILE_MAX) {
                return null;
            }
            long modified = attrs.lastModifiedTime().toMillis();
            Parsed p = keep ? parsedFiles.get(file) : null;
            if (p != null && p.modified() == modified && p.size() == attrs.size()) {
                return p.tree();
            }
            JsonNode tree = Json.mapper().readTree(Files.readAllBytes(file));
            if (keep) {
                parsedFiles.put(file, new Parsed(modified, attrs.size(), tree));
            }
            return tree;
        } catch (IOException | RuntimeException e) {
            return null; // absent (the usual case for runtimes not installed) or unreadable
        }
    }

    private static JsonNode parse(String json) {
        if (json == null) {
            return null;
        }
        try {
            return Json.mapper().readTree(json);
        } catch (IOException e) {
            return null;
        }
    }

    private static String text(JsonNode n) {
        return n != null && n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
    }
}
