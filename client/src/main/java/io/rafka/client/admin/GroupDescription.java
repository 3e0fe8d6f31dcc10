package io.rafka.client.admin;

import io.rafka.common.TopicPartition;

import java.util.List;
import java.util.Set;

/**
 * A consumer group as its coordinator sees it: state (EMPTY, RECONCILING, STABLE), members with what they own,
 * and per partition the committed offset, the log end and the lag.
 *
 * <pre>{@code
 * long lag = admin.describeGroup("billing").join().partitions().stream().mapToLong(GroupDescription.PartitionState::lag).sum();
 * }</pre>
 */
public record GroupDescription(String groupId, String state, int groupEpoch, List<Member> members,
                               List<PartitionState> partitions) {

    public record Member(String memberId, String instanceId, String clientId, String host, Set<TopicPartition> assignment) {
    }

    /** Offsets are -1 where unknown; owner is the member id, empty when unowned. */
    public record PartitionState(TopicPartition partition, long committedOffset, long logEndOffset, long lag, String owner) {
    }

    /** One line of {@code listGroups}. */
    public record Listing(String groupId, String state, int members) {
    }
}
