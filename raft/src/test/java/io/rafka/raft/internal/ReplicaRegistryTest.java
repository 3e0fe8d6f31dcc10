package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.PartitionSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ReplicaRegistryTest {
    private static final TopicPartition TP = new TopicPartition("orders", 0);
    private static final List<NodeAddress> ONE = List.of(new NodeAddress("n1", "127.0.0.1", 9091));

    @Test
    void aReplicaIsFoundByPartitionAndByGroupAndRegisteredOnce() {
        ReplicaRegistry registry = new ReplicaRegistry("n1");
        PartitionSpec spec = new PartitionSpec(TP, UUID.randomUUID(), ONE);
        ReplicaRegistry.Replica r = registry.register(spec);
        assertSame(r, registry.register(spec), "registering again keeps the replica (and its in-flight bytes)");
        assertSame(r, registry.get(TP));
        assertSame(r, registry.get(ReplicaRegistry.groupId(spec.topicId(), 0)));
        assertEquals(Set.of(TP), registry.partitions());
        assertThrows(UnknownTopicOrPartitionException.class, () -> registry.requireRunning(TP), "no state machine yet");
    }

    @Test
    void forgettingAStaleReplicaLeavesItsSuccessor() {
        ReplicaRegistry registry = new ReplicaRegistry("n1");
        ReplicaRegistry.Replica old = registry.register(new PartitionSpec(TP, UUID.randomUUID(), ONE));
        registry.remove(TP);
        ReplicaRegistry.Replica fresh = registry.register(new PartitionSpec(TP, UUID.randomUUID(), ONE));
        registry.forget(old);
        assertSame(fresh, registry.require(TP));
        registry.forget(fresh);
        assertNull(registry.get(TP));
        assertEquals(0, registry.size());
        assertThrows(UnknownTopicOrPartitionException.class, () -> registry.require(TP));
    }

    @Test
    void groupsDependOnTheTopicIdNotTheName() {
        UUID id = UUID.randomUUID();
        assertEquals(ReplicaRegistry.groupId(id, 3), ReplicaRegistry.groupId(id, 3));
        assertNotEquals(ReplicaRegistry.groupId(id, 3), ReplicaRegistry.groupId(id, 4));
        assertNotEquals(ReplicaRegistry.groupId(id, 3), ReplicaRegistry.groupId(UUID.randomUUID(), 3));
    }
}
