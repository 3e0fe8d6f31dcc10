package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.PartitionSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class PartitionMetadataFileTest {
    @TempDir
    Path dataDir;

    private static final List<NodeAddress> THREE = List.of(new NodeAddress("n1", "127.0.0.1", 9091),
            new NodeAddress("n2", "10.0.0.2", 9092), new NodeAddress("n3", "host-3", 9093));

    @Test
    void specsReadBackAsWrittenAndARewriteReplacesTheFile() throws Exception {
        PartitionSpec a = new PartitionSpec(new TopicPartition("orders", 0), UUID.randomUUID(), THREE);
        PartitionSpec b = new PartitionSpec(new TopicPartition("my.topic-x", 12), UUID.randomUUID(), THREE.subList(0, 1));
        PartitionMetadataFile.write(dataDir, a);
        PartitionMetadataFile.write(dataDir, b);
        List<PartitionSpec> read = PartitionMetadataFile.readAll(dataDir).stream()
                .sorted(Comparator.comparing(s -> s.topicPartition().topic())).toList();
        assertEquals(List.of(b, a), read);

        PartitionSpec moved = new PartitionSpec(a.topicPartition(), a.topicId(), THREE.subList(1, 3));
        PartitionMetadataFile.write(dataDir, moved);
        assertEquals(moved, PartitionMetadataFile.readAll(dataDir).stream()
                .filter(s -> s.topicPartition().equals(a.topicPartition())).findFirst().orElseThrow());
        assertFalse(Files.exists(dataDir.resolve("orders-0").resolve(PartitionMetadataFile.NAME + ".tmp")));
    }

    @Test
    void foldersWithoutACompleteFileAreNotPartitions() throws Exception {
        Files.createDirectories(dataDir.resolve("raft"));
        Files.createDirectories(dataDir.resolve("orders-1"));
        Files.writeString(dataDir.resolve("orders-1").resolve(PartitionMetadataFile.NAME), "version: 0\nreplicas: \n");
        Files.createDirectories(dataDir.resolve("orders-2"));
        Files.writeString(dataDir.resolve("orders-2").resolve(PartitionMetadataFile.NAME),
                "version: 0\ntopic_id: " + UUID.randomUUID() + "\n");
        assertEquals(List.of(), PartitionMetadataFile.readAll(dataDir));
    }
}
