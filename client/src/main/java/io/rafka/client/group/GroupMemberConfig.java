package io.rafka.client.group;

import io.rafka.client.internals.PartitionFetcher;
import io.rafka.proto.v1.Assignor;

import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The settings of one {@link GroupMember}, validated here so that a bad one fails before anything is sent.
 * Names follow Kafka's consumer settings where they mean the same ({@code group.id}, {@code group.instance.id},
 * {@code auto.offset.reset}, {@code session.timeout.ms}).
 *
 * @param groupId            the group to join; not empty
 * @param topics             topics subscribed by name
 * @param pattern            a regular expression over topic names in RE2 syntax (the coordinator matches it; checked
 *                           here as a java.util.regex), or empty; topics, pattern or both
 * @param instanceId         static membership: the same id after a restart gets the same partitions back
 * @param clientId           shown by {@code group describe}
 * @param offsetReset        where to start a partition the group has no committed offset for
 * @param assignor           the server-side assignor asked for
 * @param sessionTimeoutMs   0 = the coordinator's {@code group.session.timeout.ms}
 * @param rebalanceTimeoutMs time to release revoked partitions before being fenced; 0 = the coordinator's
 * @param retryTimeoutMs     how long retriable failures (no coordinator, leaders moving) are retried
 */
public record GroupMemberConfig(String groupId, List<String> topics, String pattern, String instanceId, String clientId,
                                OffsetReset offsetReset, Assignor assignor, int sessionTimeoutMs, int rebalanceTimeoutMs,
                                long retryTimeoutMs) {

    /** Kafka's {@code auto.offset.reset}. */
    public enum OffsetReset {
        EARLIEST, LATEST,
        /** No committed offset is an error ({@link NoOffsetForPartitionException}). */
        NONE;

        /** What a position out of range does under this policy ({@link PartitionFetcher#outOfRangeReset}). */
        public long outOfRangeReset() {
            return switch (this) {
                case EARLIEST -> PartitionFetcher.EARLIEST;
                case LATEST -> PartitionFetcher.LATEST;
                case NONE -> PartitionFetcher.NO_RESET;
            };
        }

        public static OffsetReset parse(String text) {
            for (OffsetReset reset : values()) {
                if (reset.name().equalsIgnoreCase(text)) {
                    return reset;
                }
            }
            throw new IllegalArgumentException("offset reset must be earliest, latest or none, not '" + text + "'");
        }
    }

    public static final long DEFAULT_RETRY_TIMEOUT_MS = 30_000;

    public GroupMemberConfig {
        topics = List.copyOf(topics);
        if (groupId == null || groupId.isEmpty()) {
            throw new IllegalArgumentException("the group id is empty");
        }
        if (topics.isEmpty() && pattern.isEmpty()) {
            throw new IllegalArgumentException("subscribe to topics, a pattern or both");
        }
        if (!pattern.isEmpty()) {
            try {
                Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("bad topic pattern: " + e.getDescription());
            }
        }
        if (sessionTimeoutMs < 0 || rebalanceTimeoutMs < 0 || retryTimeoutMs < 0) {
            throw new IllegalArgumentException("timeouts must not be negative");
        }
    }

    /** Topics by name, latest reset, the uniform assignor, the coordinator's timeouts. */
    public static GroupMemberConfig of(String groupId, List<String> topics) {
        return new GroupMemberConfig(groupId, topics, "", "", "rafka", OffsetReset.LATEST, Assignor.ASSIGNOR_UNIFORM,
                0, 0, DEFAULT_RETRY_TIMEOUT_MS);
    }

    public GroupMemberConfig withPattern(String pattern) {
        return new GroupMemberConfig(groupId, topics, pattern, instanceId, clientId, offsetReset, assignor,
                sessionTimeoutMs, rebalanceTimeoutMs, retryTimeoutMs);
    }

    public GroupMemberConfig withInstanceId(String instanceId) {
        return new GroupMemberConfig(groupId, topics, pattern, instanceId, clientId, offsetReset, assignor,
                sessionTimeoutMs, rebalanceTimeoutMs, retryTimeoutMs);
    }

    public GroupMemberConfig withClientId(String clientId) {
        return new GroupMemberConfig(groupId, topics, pattern, instanceId, clientId, offsetReset, assignor,
                sessionTimeoutMs, rebalanceTimeoutMs, retryTimeoutMs);
    }

    public GroupMemberConfig withOffsetReset(OffsetReset offsetReset) {
        return new GroupMemberConfig(groupId, topics, pattern, instanceId, clientId, offsetReset, assignor,
                sessionTimeoutMs, rebalanceTimeoutMs, retryTimeoutMs);
    }

    public GroupMemberConfig withSessionTimeoutMs(int sessionTimeoutMs) {
        return new GroupMemberConfig(groupId, topics, pattern, instanceId, clientId, offsetReset, assignor,
                sessionTimeoutMs, rebalanceTimeoutMs, retryTimeoutMs);
    }

    public GroupMemberConfig withRetryTimeoutMs(long retryTimeoutMs) {
        return new GroupMemberConfig(groupId, topics, pattern, instanceId, clientId, offsetReset, assignor,
                sessionTimeoutMs, rebalanceTimeoutMs, retryTimeoutMs);
    }
}
