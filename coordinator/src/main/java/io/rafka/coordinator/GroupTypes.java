package io.rafka.coordinator;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;

import java.util.List;
import java.util.Set;

/** What goes in and out of the {@link GroupCoordinator}: the protocol adapters map their messages to these. */
public final class GroupTypes {
    private GroupTypes() {
    }

    /** One heartbeat of a member (see the GroupService.Heartbeat call in groups.proto for the epochs). */
    public record Heartbeat(String groupId, String memberId, int memberEpoch, String instanceId, List<String> topics,
                            String pattern, AssignorType assignor, Set<TopicPartition> owned, int sessionTimeoutMs,
                            int rebalanceTimeoutMs, String clientId, long acknowledgedVersion) {
        public static final int JOIN = 0;
        public static final int LEAVE = -1;
        public static final int STATIC_LEAVE = -2;
    }

    /** A member's assignment as sent to it. */
    public record Assignment(String memberId, int memberEpoch, int heartbeatIntervalMs, int sessionTimeoutMs,
                             int streamGraceMs, List<TopicPartition> partitions, long version) {
    }

    /** An offset to commit. */
    public record OffsetCommit(TopicPartition partition, long offset, String metadata) {
    }

    /** The outcome of one partition of a commit. */
    public record PartitionResult(TopicPartition partition, ErrorCode error, String message) {
        static PartitionResult ok(TopicPartition tp) {
            return new PartitionResult(tp, ErrorCode.NONE, "");
        }
    }

    public record GroupListing(String groupId, String state, int members) {
    }

    public record MemberDescription(String memberId, String instanceId, String clientId, String host, int memberEpoch,
                                    List<TopicPartition> assignment, List<TopicPartition> target,
                                    List<String> subscribedTopics, String subscribedPattern, boolean connected) {
    }

    /** A partition of a group: its committed offset (-1: none) and owner ("" when unowned). */
    public record GroupPartition(TopicPartition partition, long committedOffset, String metadata, String owner) {
    }

    public record GroupDescription(String groupId, String state, int groupEpoch, AssignorType assignor,
                                   List<MemberDescription> members, List<GroupPartition> partitions) {
    }
}
