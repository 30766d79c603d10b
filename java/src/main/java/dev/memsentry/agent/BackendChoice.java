package dev.memsentry.agent;

/** The global {@code --backend} option. */
public enum BackendChoice {
    AUTO, NATIVE, STUB
}
