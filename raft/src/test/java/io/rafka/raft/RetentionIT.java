package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retention on running replicas: the log start a replica reports (ListOffsets earliest, fetch answers, /status) moves
 * when its segments go, not at the next write. A partition nobody writes to any more would otherwise send consumers
 * that reset to "earliest" to an offset that is gone, again and again.
 */
class RetentionIT {
    private static final LogConfig SMALL_SEGMENTS = LogConfig.defaults().withOverrides(Map.of("segment.bytes", "1024"));

    @TempDir
    Path tmp;

    @Test
    void retentionMovesTheReportedLogStartOfAnIdlePartitionOnEveryReplica() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.logConfig(SMALL_SEGMENTS))) {
            TopicPartition tp = written(cluster, "expiring");
            for (int i = 0; i < 3; i++) {
                assertTrue(cluster.node(i).updateLogConfig(tp, SMALL_SEGMENTS.withOverrides(Map.of("retention.ms", "1"))),
                        "node " + i + " runs the replica");
                assertTrue(cluster.node(i).enforceRetention() > 0, "node " + i + " deleted expired segments");
                assertReportsItsRealStart(cluster, i, tp);
            }
        }
    }

    @Test
    void deletingSegmentsBelowAnOffsetMovesTheReportedLogStart() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.logConfig(SMALL_SEGMENTS))) {
            TopicPartition tp = written(cluster, "checkpointed");
            for (int i = 0; i < 3; i++) {
                assertTrue(cluster.node(i).deleteSegmentsBelow(tp, 20) > 0, "node " + i + " deleted segments below 20");
                assertReportsItsRealStart(cluster, i, tp);
            }
        }
    }

    /** 24 records in 12 batches of ~500 bytes, so several 1 KiB segments; every replica has applied them all. */
    private static TopicPartition written(MiniCluster cluster, String topic) throws Exception {
        TopicPartition tp = cluster.createPartition(topic, 0, 3);
        for (int b = 0; b < 12; b++) {
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "x".repeat(200) + b, 2), Acks.ALL);
        }
        long deadline = System.currentTimeMillis() + 10_000;
        for (int i = 0; i < 3; i++) {
            while (cluster.node(i).status(tp).highWatermark() < 24) {
                assertTrue(System.currentTimeMillis() < deadline, "node " + i + " applied every record: "
                        + cluster.node(i).status(tp));
                Thread.sleep(10);
            }
        }
        return tp;
    }

    private static void assertReportsItsRealStart(MiniCluster cluster, int i, TopicPartition tp) {
        PartitionStatus s = cluster.node(i).status(tp);
        assertTrue(s.logStartOffset() > 0, "node " + i + " reports the start retention moved, with no write since: " + s);
        assertEquals(24, s.highWatermark());
        // Read from the reported start: it must hold data, and everything from there to the high watermark is there.
        List<String> left = HibernationIT.values(cluster, i, tp);
        assertEquals(24 - s.logStartOffset(), left.size(), "node " + i + " serves what is left: " + left);
        assertEquals("x".repeat(200) + 11 + "-1", left.get(left.size() - 1));
    }
}
