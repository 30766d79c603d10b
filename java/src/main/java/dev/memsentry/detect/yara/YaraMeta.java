package dev.memsentry.detect.yara;

/** One metadata entry of a rule; value is a Long, a String or a Boolean. */
public record YaraMeta(String identifier, Object value) {
}
