package dev.memsentry.agent;

/** One entry of the configurable protected list: an executable name, or a path when {@code path}. */
public record ProtectedEntry(String entry, boolean path) {
}
