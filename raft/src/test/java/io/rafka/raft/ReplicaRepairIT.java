package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.PartitionStateMachine;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A replica whose partition log lost committed records on disk (issue 12, point 3: a segment cut short, as a
 * lost write-back or a careless hand leaves it) repairs itself: it copies the missing records from another
 * replica, with no operator action, while the partition keeps taking writes, and ends byte-identical.
 */
class ReplicaRepairIT {
    @TempDir
    Path tmp;

    @Test
    void aReplicaWhoseLogLostCommittedRecordsCopiesThemBackByItself() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("repair", 0, 3);
            append(cluster, tp, "before-snapshot", 100);
            int damaged = (cluster.leaderIndex(tp) + 1) % 3;
            cluster.awaitReplicated(tp, 500, 30_000);
            cluster.node(damaged).snapshot(tp);  // the snapshot says records up to offset 500 are in the log
            append(cluster, tp, "after-snapshot", 100);
            cluster.awaitReplicated(tp, 1000, 30_000);
            long copiesBefore = PartitionStateMachine.catchUpsCompleted();

            cluster.kill(damaged);
            Path segment = onlySegment(cluster.dataDir(damaged).resolve(tp.dirName()));
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 3);  // loses records below the snapshot's high watermark and after it
            }
            cluster.restart(damaged);
            append(cluster, tp, "while-repairing", 50);

            cluster.awaitReplicated(tp, 1250, 60_000);
            RaftNode repaired = cluster.node(damaged);
            assertFalse(repaired.status(tp).repairing());
            assertTrue(PartitionStateMachine.catchUpsCompleted() > copiesBefore, "the missing records were copied");
            RaftNode leader = cluster.node(cluster.leaderIndex(tp));
            assertEquals(leader.read(tp, 0, Integer.MAX_VALUE).records(), repaired.read(tp, 0, Integer.MAX_VALUE).records(),
                    "byte-identical to the leader");
            assertEquals(1250, repaired.status(tp).highWatermark());

            // The partition goes on taking writes, the repaired replica among those acknowledging them.
            append(cluster, tp, "after", 1);
            cluster.awaitReplicated(tp, 1255, 30_000);
        }
    }

    private static void append(MiniCluster cluster, TopicPartition tp, String prefix, int batches) {
        for (int i = 0; i < batches; i++) {
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, prefix + "-" + i, 5), Acks.ALL);
        }
    }

    private static Path onlySegment(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> logs = files.filter(p -> p.getFileName().toString().endsWith(".log")).toList();
            assertEquals(1, logs.size(), logs.toString());
            return logs.get(0);
        }
    }
}
