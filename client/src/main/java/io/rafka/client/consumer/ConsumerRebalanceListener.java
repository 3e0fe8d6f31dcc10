package io.rafka.client.consumer;

import io.rafka.common.TopicPartition;

import java.util.Collection;

/**
 * Called on the poll thread, inside {@link Consumer#poll}, when the group moves partitions (Rafka's
 * coordinator assigns incrementally: only the partitions that move are named).
 *
 * <pre>{@code
 * consumer.subscribe(List.of("orders"), new ConsumerRebalanceListener() {
 *     public void onPartitionsRevoked(Collection<TopicPartition> partitions) { consumer.commitSync(); }
 *     public void onPartitionsAssigned(Collection<TopicPartition> partitions) { }
 * });
 * }</pre>
 */
public interface ConsumerRebalanceListener {

    /**
     * The partitions are about to move to another member. They are still owned here, so a commit (commitSync)
     * from this method counts; the consumer commits their positions right after anyway.
     */
    void onPartitionsRevoked(Collection<TopicPartition> partitions);

    /** The partitions are now this consumer's; positions are set (committed offset or auto.offset.reset). */
    void onPartitionsAssigned(Collection<TopicPartition> partitions);

    /**
     * The coordinator fenced this member (it missed its session): the partitions may be someone else's already
     * and their positions were not committed. By default the same as revoked, as in Kafka.
     */
    default void onPartitionsLost(Collection<TopicPartition> partitions) {
        onPartitionsRevoked(partitions);
    }
}
