package dev.memsentry.container;

/**
 * What a runtime's own files say about a container. Every field may be null: the runtime's files
 * are absent, unreadable, or do not say.
 *
 * @param podName      Kubernetes pod (io.kubernetes.pod.name or the CRI sandbox name)
 * @param podNamespace Kubernetes namespace (io.kubernetes.pod.namespace)
 */
public record ContainerMetadata(String name, String imageName, String podName, String podNamespace) {
    public static final ContainerMetadata NONE = new ContainerMetadata(null, null, null, null);

    boolean isEmpty() {
        return name == null && imageName == null && podName == null && podNamespace == null;
    }

    /** This record's fields, each absent one taken from other. */
    ContainerMetadata or(ContainerMetadata other) {
        return new ContainerMetadata(name != null ? name : other.name, imageName != null ? imageName : other.imageName,
            podName != null ? podName : other.podName, podNamespace != null ? podNamespace : other.podNamespace);
    }
}
