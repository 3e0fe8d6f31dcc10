package io.rafka.client.consumer;

import io.rafka.common.TopicPartition;

import java.util.Map;

/**
 * The outcome of {@link Consumer#commitAsync}, called on the poll thread by a later {@code poll},
 * {@code commitSync} or {@code close} (as in Kafka), never from the commit's own thread.
 *
 * <pre>{@code
 * consumer.commitAsync((offsets, error) -> { if (error != null) log.warn("commit failed", error); });
 * }</pre>
 */
@FunctionalInterface
public interface OffsetCommitCallback {
    /** @param error null on success, else a {@link ConsumerException} */
    void onComplete(Map<TopicPartition, OffsetAndMetadata> offsets, Exception error);
}
