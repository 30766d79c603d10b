package dev.memsentry.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** NativeLoader's load function for tests: records each path and the bytes it would have mapped. */
final class RecordingLoad implements Consumer<String> {
    final List<String> paths = new ArrayList<>();
    final List<byte[]> bytes = new ArrayList<>();

    @Override
    public void accept(String path) {
        paths.add(path);
        try {
            bytes.add(Files.readAllBytes(Path.of(path)));
        } catch (IOException e) {
            throw new UnsatisfiedLinkError(e.toString());
        }
    }

    /** A java.library.path lookup that fails the test when reached. */
    static void notFromLibraryPath(String name) {
        throw new UnsatisfiedLinkError("java.library.path must not be reached");
    }
}
