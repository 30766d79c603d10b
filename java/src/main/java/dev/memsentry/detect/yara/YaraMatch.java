package dev.memsentry.detect.yara;

import java.util.List;
import java.util.Optional;

/**
 * A rule that matched a process: the rule and its namespace, tags and metadata, and its string
 * matches with their addresses (private strings excluded; at most the scan's
 * {@link YaraScanOptions#maxStringMatches()}; {@link #stringTotal()} counts them all).
 */
public record YaraMatch(long pid, String rule, String namespace, List<String> tags, List<YaraMeta> metas,
                        List<YaraStringMatch> strings, int stringTotal) {
    public YaraMatch {
        tags = List.copyOf(tags);
        metas = List.copyOf(metas);
        strings = List.copyOf(strings);
    }

    /** The first metadata value with this identifier. */
    public Optional<Object> meta(String identifier) {
        return metas.stream().filter(m -> m.identifier().equals(identifier)).map(YaraMeta::value).findFirst();
    }

    public boolean truncated() {
        return stringTotal > strings.size();
    }
}
