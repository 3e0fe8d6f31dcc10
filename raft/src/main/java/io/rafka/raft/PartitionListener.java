package io.rafka.raft;

import io.rafka.common.TopicPartition;

/**
 * What code above Raft hears about the partition replicas of a {@link RaftNode}. Called on Ratis's threads:
 * implementations must be quick and must not block or call back into the node synchronously; hand longer
 * work to an executor of your own. A listener that throws is logged and otherwise ignored.
 *
 * <pre>{@code
 * node.addListener(new PartitionListener() {
 *     public void onCommittedAppend(TopicPartition tp) { fetchWaiters.wake(tp); }
 * });
 * }</pre>
 */
public interface PartitionListener {
    /** This node now leads {@code tp} and accepts appends for it (its high watermark is the log end). */
    default void onLeader(TopicPartition tp) {
    }

    /** This node stopped leading {@code tp}; appends in flight fail with NOT_LEADER. */
    default void onResign(TopicPartition tp) {
    }

    /** Records of {@code tp} were committed here: its high watermark moved. */
    default void onCommittedAppend(TopicPartition tp) {
    }
}
