package dev.memsentry.container;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtimes' own files, laid out as each runtime writes them (real-looking samples; Podman's are
 * exercised for real by ContainerIT).
 */
class ContainerCatalogTest {
    private static final String ID = "8e2c4a6f0b1d3e5f7a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";

    private static ContainerCatalog catalog(Path root) {
        return new ContainerCatalog(root.resolve("docker"), List.of(root.resolve("storage"), root.resolve("run-storage")),
            root.resolve("containerd-tasks"), Duration.ofSeconds(10));
    }

    private static void write(Path file, String text) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    @Test
    void dockerConfigV2GivesNameImageAndKubernetesLabels(@TempDir Path root) throws Exception {
        write(root.resolve("docker/containers/" + ID + "/config.v2.json"), """
            {"ID":"%s","Name":"/k8s_web_web-7d9f_shop_0b1d_0","Config":{"Image":"nginx:1.25",
             "Labels":{"io.kubernetes.container.name":"web","io.kubernetes.pod.name":"web-7d9f",
                       "io.kubernetes.pod.namespace":"shop"}},"State":{"Pid":4242}}""".formatted(ID));
        assertEquals(new ContainerMetadata("web", "nginx:1.25", "web-7d9f", "shop"), catalog(root).lookup(ID));
        write(root.resolve("docker/containers/" + "b".repeat(64) + "/config.v2.json"),
            "{\"Name\":\"/db\",\"Config\":{\"Image\":\"postgres:16\",\"Labels\":null}}");
        assertEquals(new ContainerMetadata("db", "postgres:16", null, null), catalog(root).lookup("b".repeat(64)));
    }

    @Test
    void containersStorageOfPodmanAndCrio(@TempDir Path root) throws Exception {
        write(root.resolve("storage/overlay-containers/containers.json"), """
            [{"id":"%s","names":["k8s_web_web-7d9f_shop_0b1d_0"],"image":"f00d",
              "metadata":"{\\"pod-name\\":\\"web-7d9f\\",\\"pod-id\\":\\"0b1d\\",\\"image-name\\":\\"quay.io/app/web:2\\",\\"name\\":\\"k8s_web_web-7d9f_shop_0b1d_0\\"}"},
             {"id":"%s","names":["quiet"],"image":"f00d","metadata":"{\\"image-name\\":\\"localhost/quiet:latest\\",\\"name\\":\\"quiet\\"}"}]
            """.formatted(ID, "c".repeat(64)));
        write(root.resolve("run-storage/overlay-containers/" + ID + "/userdata/config.json"), """
            {"ociVersion":"1.0.2","annotations":{"io.kubernetes.container.name":"web","io.kubernetes.pod.name":"web-7d9f",
             "io.kubernetes.pod.namespace":"shop","io.kubernetes.cri-o.ImageName":"quay.io/app/web:2"}}""");
        assertEquals(new ContainerMetadata("web", "quay.io/app/web:2", "web-7d9f", "shop"), catalog(root).lookup(ID));
        assertEquals(new ContainerMetadata("quiet", "localhost/quiet:latest", null, null), catalog(root).lookup("c".repeat(64)));
    }

    @Test
    void containerdTaskBundleWithCriAnnotations(@TempDir Path root) throws Exception {
        write(root.resolve("containerd-tasks/k8s.io/" + ID + "/config.json"), """
            {"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container",
             "io.kubernetes.cri.container-name":"web","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.25",
             "io.kubernetes.cri.sandbox-name":"web-7d9f","io.kubernetes.cri.sandbox-namespace":"shop"}}""");
        assertEquals(new ContainerMetadata("web", "docker.io/library/nginx:1.25", "web-7d9f", "shop"), catalog(root).lookup(ID));
    }

    @Test
    void absentBrokenOversizedOrLinkedFilesGiveTheIdAlone(@TempDir Path root) throws Exception {
        ContainerCatalog c = catalog(root);
        assertEquals(ContainerMetadata.NONE, c.lookup(ID), "no runtime installed");
        assertEquals(ContainerMetadata.NONE, c.lookup("../../etc"), "not an id: no path is built from it");
        write(root.resolve("docker/containers/" + ID + "/config.v2.json"), "{not json");
        assertEquals(ContainerMetadata.NONE, catalog(root).lookup(ID));
        Path elsewhere = root.resolve("elsewhere.json");
        write(elsewhere, "{\"Name\":\"/evil\"}");
        Path cfg = root.resolve("docker/containers/" + "d".repeat(64) + "/config.v2.json");
        Files.createDirectories(cfg.getParent());
        Files.createSymbolicLink(cfg, elsewhere);
        assertEquals(ContainerMetadata.NONE, catalog(root).lookup("d".repeat(64)), "a symbolic link is not followed");
    }

    @Test
    void aContainerStartedAfterTheFirstLookupIsFoundLater(@TempDir Path root) throws Exception {
        Duration retry = Duration.ofMillis(1500);
        ContainerCatalog c = new ContainerCatalog(root.resolve("docker"), List.of(), root.resolve("none"),
            Duration.ofSeconds(10), retry);
        assertEquals(ContainerMetadata.NONE, c.lookup(ID));
        write(root.resolve("docker/containers/" + ID + "/config.v2.json"), "{\"Name\":\"/late\",\"Config\":{}}");
        assertEquals(ContainerMetadata.NONE, c.lookup(ID), "the miss is cached for a while");
        Thread.sleep(retry.toMillis() + 100);
        assertEquals("late", c.lookup(ID).name());
    }
}
