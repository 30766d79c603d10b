package dev.memsentry.agent;

/** Hears process events on the source's thread; returning false ends {@link ProcessEventSource#run}. Keep it quick. */
@FunctionalInterface
public interface ProcessEventListener {
    boolean onEvent(ProcessEvent event);
}
