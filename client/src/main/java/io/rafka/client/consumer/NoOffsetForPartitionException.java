package io.rafka.client.consumer;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;

import java.util.List;

/**
 * {@code auto.offset.reset=none} and the group has no committed offset for partitions the consumer was
 * given: it does not guess where to start. Commit an offset (or {@code seek}) first.
 *
 * <pre>{@code
 * catch (NoOffsetForPartitionException e) { e.partitions().forEach(tp -> consumer.seekToBeginning(List.of(tp))); }
 * }</pre>
 */
public final class NoOffsetForPartitionException extends ConsumerException {
    public static final String CODE = io.rafka.client.group.NoOffsetForPartitionException.CODE;
    private final List<TopicPartition> partitions;

    NoOffsetForPartitionException(List<TopicPartition> partitions, String message, Throwable cause) {
        super(ErrorCode.OFFSET_OUT_OF_RANGE, CODE, message, cause);
        this.partitions = List.copyOf(partitions);
    }

    public List<TopicPartition> partitions() {
        return partitions;
    }
}
