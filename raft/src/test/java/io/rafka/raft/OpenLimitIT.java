package io.rafka.raft;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.rafka.raft.HibernationIT.awaitHibernated;
import static io.rafka.raft.HibernationIT.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bound on open partitions per node (maxOpenPartitions = 4 here, idle threshold 60 s so nothing hibernates on
 * its own): a wake-up beyond it hibernates the least recently written idle partition its node leads; with none
 * idle it fails with a retriable BUSY and opens nothing; once room frees, the same write succeeds. Every
 * acknowledged record is read back from every replica.
 */
class OpenLimitIT {
    private static final int MAX_OPEN = 4;

    @TempDir
    Path tmp;

    private MiniCluster start() throws Exception {
        return MiniCluster.start(3, tmp, b -> b.hibernateAfterMs(60_000).maxOpenPartitions(MAX_OPEN));
    }

    private static void write(MiniCluster cluster, TopicPartition tp, String value, Map<TopicPartition, List<String>> acked) {
        cluster.append(tp, TestBatches.batch(CompressionType.NONE, value, 1), Acks.ALL, 60_000);
        acked.computeIfAbsent(tp, t -> new ArrayList<>()).add(value + "-0");
    }

    private static void awaitAtMostOpen(MiniCluster cluster, int max) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (true) {
            List<Integer> open = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                open.add(cluster.node(i).openPartitions().size());
            }
            if (open.stream().allMatch(n -> n <= max)) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("open partitions per node " + open + ", bound " + max);
            }
            Thread.sleep(50);
        }
    }

    private static void assertEveryRecordOnEveryReplica(MiniCluster cluster, Map<TopicPartition, List<String>> acked) {
        for (var e : acked.entrySet()) {
            cluster.awaitReplicated(e.getKey(), e.getValue().size(), 30_000);
            for (int i = 0; i < 3; i++) {
                assertEquals(e.getValue(), values(cluster, i, e.getKey()), "node " + i + ", " + e.getKey() + ": every record once");
            }
        }
    }

    @Test
    void aWakeUpBeyondTheBoundHibernatesTheLeastRecentlyWrittenIdlePartitionOfItsNode() throws Exception {
        try (MiniCluster cluster = start()) {
            List<TopicPartition> tps = cluster.createHibernatedPartitions("room", 6, 3);
            Map<TopicPartition, List<String>> acked = new LinkedHashMap<>();
            for (int p = 0; p < MAX_OPEN; p++) {
                write(cluster, tps.get(p), "first" + p, acked);
            }
            for (int i = 0; i < 3; i++) {
                assertEquals(MAX_OPEN, cluster.node(i).openPartitions().size(), "node " + i + " holds the four open");
            }
            // The node that leads the oldest written partition wakes a fifth; everything else it leads was just
            // written again, so the oldest is the one partition it may close to make room.
            TopicPartition oldest = tps.get(0);
            int waker = cluster.leaderIndex(oldest);
            Thread.sleep(1_200);
            for (int p = 1; p < MAX_OPEN; p++) {
                if (cluster.leaderIndex(tps.get(p)) == waker) {
                    write(cluster, tps.get(p), "again" + p, acked);
                }
            }
            TopicPartition fifth = tps.get(4);
            try {
                cluster.node(waker).append(fifth, TestBatches.batch(CompressionType.NONE, "fifth", 1), Acks.ALL).join();
                acked.computeIfAbsent(fifth, t -> new ArrayList<>()).add("fifth-0");
            } catch (CompletionException e) {
                // Another replica won the election after the wake-up: nothing was written; write it there.
                assertTrue(e.getCause() instanceof io.rafka.common.NotLeaderException, String.valueOf(e.getCause()));
                write(cluster, fifth, "fifth", acked);
            }
            awaitHibernated(cluster, oldest, 20_000);
            assertTrue(cluster.node(waker).hibernationCounts().hibernatedEarly() >= 1, "counted as an early hibernation");
            for (int p = 1; p <= 4; p++) {
                for (int i = 0; i < 3; i++) {
                    assertFalse(cluster.node(i).status(tps.get(p)).hibernated(), tps.get(p) + " stays open on node " + i);
                }
            }
            awaitAtMostOpen(cluster, MAX_OPEN);
            // The partition that made room wakes again for its next write (and another makes room for it).
            Thread.sleep(1_200);
            write(cluster, oldest, "back", acked);
            awaitAtMostOpen(cluster, MAX_OPEN);
            assertEveryRecordOnEveryReplica(cluster, acked);
        }
    }

    @Test
    void withEveryOpenPartitionBusyAWakeUpFailsWithBusyAndOpensNothingUntilRoomFrees() throws Exception {
        try (MiniCluster cluster = start()) {
            List<TopicPartition> tps = cluster.createHibernatedPartitions("full", 5, 3);
            Map<TopicPartition, List<String>> acked = new LinkedHashMap<>();
            for (int p = 0; p < MAX_OPEN; p++) {
                write(cluster, tps.get(p), "w" + p + "x0", acked);
            }
            // Keep the four open partitions written (never a second idle) while a fifth asks to wake.
            AtomicBoolean writing = new AtomicBoolean(true);
            ExecutorService writer = Executors.newSingleThreadExecutor();
            Future<?> load = writer.submit(() -> {
                for (int n = 1; writing.get() && n < 2_000; n++) {
                    for (int p = 0; p < MAX_OPEN; p++) {
                        write(cluster, tps.get(p), "w" + p + "x" + n, acked);
                    }
                    MiniCluster.sleep(100);
                }
                return null;
            });
            try {
                TopicPartition fifth = tps.get(4);
                int waker = cluster.leaderIndex(fifth);
                long start = System.nanoTime();
                CompletionException e = assertThrows(CompletionException.class, () -> cluster.node(waker)
                        .append(fifth, TestBatches.batch(CompressionType.NONE, "refused", 1), Acks.ALL).join());
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertTrue(e.getCause() instanceof RafkaException r && r.errorCode() == ErrorCode.BUSY && r.retriable(),
                        "a retriable BUSY: " + e.getCause());
                assertTrue(e.getCause().getMessage().contains("partition.max.open"), e.getCause().getMessage());
                assertTrue(tookMs >= 4_000 && tookMs < 15_000, "refused after waiting a few seconds for room: " + tookMs + " ms");
                assertEquals(1, cluster.node(waker).hibernationCounts().wakesRefused());
                for (int i = 0; i < 3; i++) {
                    assertTrue(cluster.node(i).status(fifth).hibernated(), "nothing opened on node " + i);
                    assertTrue(cluster.node(i).openPartitions().size() <= MAX_OPEN, "node " + i);
                }
            } finally {
                writing.set(false);
                load.get(60, TimeUnit.SECONDS);
                writer.shutdown();
            }
            // The writes stopped: the same write now finds room (a partition idle for a second hibernates for it).
            write(cluster, tps.get(4), "later", acked);
            awaitAtMostOpen(cluster, MAX_OPEN);
            assertEveryRecordOnEveryReplica(cluster, acked);
        }
    }
}
