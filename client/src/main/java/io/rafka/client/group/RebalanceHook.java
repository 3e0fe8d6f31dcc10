package io.rafka.client.group;

import io.rafka.common.TopicPartition;

import java.util.Set;

/**
 * What a {@link GroupMember} tells its user about ownership changes, on the poll thread (the SDK consumer's
 * {@code ConsumerRebalanceListener} sits on it). Revoked comes while the partitions are still owned, before
 * their positions are committed; lost comes after a fence, when another member may own them already.
 */
public interface RebalanceHook {

    RebalanceHook NONE = new RebalanceHook() {
    };

    default void onRevoked(Set<TopicPartition> partitions) {
    }

    default void onAssigned(Set<TopicPartition> partitions) {
    }

    default void onLost(Set<TopicPartition> partitions) {
    }
}
