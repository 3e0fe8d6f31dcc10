package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.log.internal.LogFiles;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionReplicationIT {
    @TempDir
    Path tmp;

    @Test
    void replicatesAppendsToEveryReplicaWithIdenticalFiles() throws IOException {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("orders", 0, 3);
            int leader = cluster.leaderIndex(tp);
            long term = cluster.node(leader).status(tp).term();
            long expected = 0;
            for (int i = 0; i < 200; i++) {
                AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.values()[i % 5], "m" + i, 3, 1_000L + i), Acks.ALL);
                assertEquals(expected, r.baseOffset());
                assertEquals(expected + 2, r.lastOffset());
                expected += 3;
            }
            cluster.awaitReplicated(tp, expected, 10_000);
            for (int i = 0; i < 3; i++) {
                List<Record> records = readAll(cluster.node(i), tp, expected);
                assertEquals(600, records.size());
                assertEquals("m199-2", TestBatches.value(records.get(599)));
            }
            assertEquals(term, io.rafka.record.RecordBatches.split(cluster.node(leader).read(tp, 0, 1 << 20).records())
                    .get(0).partitionLeaderEpoch(), "partitionLeaderEpoch is the Raft term");
            assertIdenticalLogs(cluster, tp);
        }
    }

    static List<Record> readAll(RaftNode node, TopicPartition tp, long end) {
        List<Record> out = new ArrayList<>();
        long next = node.status(tp).logStartOffset();
        while (next < end) {
            List<Record> got = TestBatches.records(node.read(tp, next, 1 << 20).records());
            assertTrue(!got.isEmpty(), "no data at " + next);
            for (Record r : got) {
                if (r.offset() >= next) {
                    out.add(r);
                }
            }
            next = got.get(got.size() - 1).offset() + 1;
        }
        return out;
    }

    /** The segment (.log) files of every live replica are the same bytes. */
    static void assertIdenticalLogs(MiniCluster cluster, TopicPartition tp) throws IOException {
        List<Integer> replicas = cluster.replicaIndexes(tp).stream().filter(cluster::isUp).toList();
        Path first = cluster.dataDir(replicas.get(0)).resolve(tp.dirName());
        List<String> names;
        try (var files = Files.list(first)) {
            names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(LogFiles.LOG_SUFFIX)).sorted().toList();
        }
        assertTrue(!names.isEmpty());
        for (int r : replicas.subList(1, replicas.size())) {
            Path other = cluster.dataDir(r).resolve(tp.dirName());
            try (var files = Files.list(other)) {
                assertEquals(names, files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(LogFiles.LOG_SUFFIX)).sorted().toList());
            }
            for (String name : names) {
                assertArrayEquals(Files.readAllBytes(first.resolve(name)), Files.readAllBytes(other.resolve(name)),
                        name + " differs between replicas");
            }
        }
    }
}
