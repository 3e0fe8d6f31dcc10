package io.rafka.client.internals;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.GroupPartition;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A group description's log-end offsets and lags where the coordinator could not tell them (-1: its broker holds
 * no replica of the partition), looked up at the partitions' leaders. Shared by the admin client and the CLI.
 */
public final class GroupLogEnds {
    private GroupLogEnds() {
    }

    /**
     * {@code group} with every unknown log-end offset (and its lag) filled from {@code lookup}, as far as the leaders
     * answer within its retry timeout; partitions it finds no offset for (a deleted topic's, a leader that did not
     * answer) keep -1.
     *
     * @throws ClientException a failure that is not the partitions' own (a broker refusing the call itself)
     */
    public static DescribeGroupResponse fill(DescribeGroupResponse group, OffsetLookup lookup) {
        List<TopicPartition> unknown = new ArrayList<>();
        for (GroupPartition p : group.getPartitionsList()) {
            if (p.getLogEndOffset() < 0) {
                unknown.add(new TopicPartition(p.getTopic(), p.getPartition()));
            }
        }
        if (unknown.isEmpty()) {
            return group;
        }
        Map<TopicPartition, Long> ends = lookup.offsetsFound(unknown, PartitionFetcher.LATEST);
        DescribeGroupResponse.Builder filled = group.toBuilder().clearPartitions();
        for (GroupPartition p : group.getPartitionsList()) {
            Long end = ends.get(new TopicPartition(p.getTopic(), p.getPartition()));
            if (p.getLogEndOffset() >= 0 || end == null || end < 0) {
                filled.addPartitions(p);
                continue;
            }
            long lag = p.getCommittedOffset() >= 0 ? Math.max(0, end - p.getCommittedOffset()) : -1;
            filled.addPartitions(p.toBuilder().setLogEndOffset(end).setLag(lag));
        }
        return filled.build();
    }
}
