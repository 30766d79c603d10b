package dev.memsentry.agent;

import java.util.HexFormat;

/** One page of a file mapping whose bytes differ from the mapped file (at most 16 sample bytes each). */
public record CodeDiff(long page, long firstDiff, int diffBytes, byte[] mem, byte[] file) {
    public CodeDiff {
        mem = mem.clone();
        file = file.clone();
    }

    @Override
    public byte[] mem() {
        return mem.clone();
    }

    @Override
    public byte[] file() {
        return file.clone();
    }

    public String memHex() {
        return HexFormat.of().formatHex(mem);
    }

    public String fileHex() {
        return HexFormat.of().formatHex(file);
    }
}
