package io.rafka.client.group;

import io.rafka.client.internals.ClientException;
import io.rafka.common.TopicPartition;

import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code auto.offset.reset=none} and the group has no committed offset for partitions it was assigned: the
 * member does not guess where to start. Not retriable (a commit or {@code group reset-offsets} fixes it).
 */
public final class NoOffsetForPartitionException extends ClientException {

    public static final String CODE = "NO_OFFSET_FOR_PARTITION";

    private final List<TopicPartition> partitions;

    public NoOffsetForPartitionException(String groupId, List<TopicPartition> partitions) {
        super(CODE, "group " + groupId + " has no committed offset for "
                + partitions.stream().map(TopicPartition::toString).collect(Collectors.joining(", "))
                + " and the offset reset policy is none", false);
        this.partitions = List.copyOf(partitions);
    }

    public List<TopicPartition> partitions() {
        return partitions;
    }
}
