package io.rafka.coordinator;

/**
 * Settings of the group coordinator (broker configs {@code group.*}; see docs/groups.md).
 *
 * @param coordinatorPartitions      partitions of {@code __consumer_offsets}; fixed once the topic exists, since a
 *                                   group's partition is hash(group id) mod this
 * @param sessionTimeoutMs           a member that sends no heartbeat for this long is removed (its default)
 * @param minSessionTimeoutMs        lowest session timeout a member may ask for
 * @param maxSessionTimeoutMs        highest session timeout a member may ask for
 * @param heartbeatIntervalMs        how often members send heartbeats
 * @param streamGraceMs              a member whose Heartbeat stream broke (its process died, its connection reset) is
 *                                   removed after this, unless it resumes on a new stream
 * @param rebalanceTimeoutMs         default time a member has to release revoked partitions before it is fenced
 * @param maxGroupSize               members per group
 * @param offsetMetadataMaxBytes     longest metadata string of a committed offset
 * @param offsetsRetentionMs         an empty group's offsets are removed this long after its last commit
 * @param checkpointRecords          a coordinator partition is checkpointed (every live key written again, so the
 *                                   records before can be deleted) once this many records (and twice its live
 *                                   keys) were written since the last checkpoint: what bounds a failover's replay
 * @param maxWriteBytesInFlight      bytes of group records a coordinator partition has awaiting commit at most (the
 *                                   partition's {@code partition.max.in.flight.bytes}); more wait in the coordinator,
 *                                   and offset commits are refused with BUSY while more than this waits
 * @param maxGroups                  groups one coordinator partition holds at most (members or committed offsets);
 *                                   a join or commit that would make one more is refused with POLICY_VIOLATION
 */
public record GroupConfig(int coordinatorPartitions, int sessionTimeoutMs, int minSessionTimeoutMs,
                          int maxSessionTimeoutMs, int heartbeatIntervalMs, int streamGraceMs, int rebalanceTimeoutMs,
                          int maxGroupSize, int offsetMetadataMaxBytes, long offsetsRetentionMs, long checkpointRecords,
                          long maxWriteBytesInFlight, int maxGroups) {
    public static final String TOPIC = "__consumer_offsets";

    public static GroupConfig defaults() {
        return new GroupConfig(16, 45_000, 1_000, 300_000, 500, 500, 60_000, 1_000, 4_096,
                7L * 24 * 60 * 60 * 1000, 10_000, 32L << 20, 10_000);
    }

    public GroupConfig {
        if (coordinatorPartitions < 1 || minSessionTimeoutMs < 1 || maxSessionTimeoutMs < minSessionTimeoutMs
                || sessionTimeoutMs < minSessionTimeoutMs || sessionTimeoutMs > maxSessionTimeoutMs
                || heartbeatIntervalMs < 1 || heartbeatIntervalMs >= minSessionTimeoutMs || streamGraceMs < 0
                || rebalanceTimeoutMs < 1 || maxGroupSize < 1 || offsetMetadataMaxBytes < 0
                || offsetMetadataMaxBytes > 16_384 || offsetsRetentionMs < 1 || checkpointRecords < 1
                || maxWriteBytesInFlight < 1 || maxGroups < 1) {
            throw new IllegalArgumentException("inconsistent group settings (timeouts, sizes or partition count)");
        }
    }
}
