package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The central safety test of replication: idempotent producers append 10,000 batches concurrently while
 * the partition's leader is crashed (no flush, no snapshot) and restarted several times. Afterwards every
 * replica holds every batch exactly once, at the offsets its acknowledgement returned, and the replicas'
 * segment files are identical.
 */
class LeaderFailoverIT {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderFailoverIT.class);
    private static final int PRODUCERS = 8;
    private static final int BATCHES_PER_PRODUCER = 1250;
    private static final int LEADER_KILLS = 3;

    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedBatchSurvivesLeaderCrashesExactlyOnce() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.snapshotThresholdEntries(500).raftSegmentBytes(1024 * 1024))) {
            TopicPartition tp = cluster.createPartition("events", 0, 3);
            cluster.leaderIndex(tp);
            Map<String, long[]> acked = new ConcurrentHashMap<>();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicBoolean producing = new AtomicBoolean(true);
            AtomicInteger done = new AtomicInteger();
            List<Thread> producers = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                long producerId = 1000 + p;
                producers.add(new Thread(() -> {
                    try {
                        for (int seq = 0; seq < BATCHES_PER_PRODUCER; seq++) {
                            ByteBuffer batch = batch(producerId, seq);
                            AppendResult r = cluster.append(tp, batch, Acks.ALL, 120_000);
                            acked.put(producerId + "/" + (seq * 2), new long[] {r.baseOffset(), r.lastOffset()});
                            done.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }, "producer-" + p));
            }
            producers.forEach(Thread::start);

            Thread chaos = new Thread(() -> {
                try {
                    for (int k = 0; k < LEADER_KILLS && producing.get(); k++) {
                        int target = done.get() + 10_000 / (LEADER_KILLS + 1);
                        while (done.get() < Math.min(target, PRODUCERS * BATCHES_PER_PRODUCER - 200) && producing.get()) {
                            Thread.sleep(10);
                        }
                        int leader = cluster.leaderIndex(tp);
                        LOG.info("chaos: crashing leader n{} after {} acknowledged batches", leader, done.get());
                        cluster.kill(leader);
                        Thread.sleep(1500);
                        cluster.restart(leader);
                        LOG.info("chaos: restarted n{}", leader);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }, "chaos");
            chaos.start();
            for (Thread t : producers) {
                t.join(TimeUnit.MINUTES.toMillis(8));
            }
            producing.set(false);
            chaos.join(TimeUnit.MINUTES.toMillis(1));
            assertTrue(failures.isEmpty(), () -> "failure: " + failures.peek());
            assertEquals(PRODUCERS * BATCHES_PER_PRODUCER, acked.size());

            for (int i = 0; i < cluster.size(); i++) {
                if (!cluster.isUp(i)) {
                    cluster.restart(i);
                }
            }
            int leader = cluster.leaderIndex(tp);
            long end = cluster.node(leader).status(tp).highWatermark();
            cluster.awaitReplicated(tp, end, 60_000);

            for (int i = 0; i < cluster.size(); i++) {
                Map<String, long[]> seen = new HashMap<>();
                long next = 0;
                while (next < end) {
                    List<RecordBatch> batches = RecordBatches.split(cluster.node(i).read(tp, next, 1 << 20).records());
                    assertTrue(!batches.isEmpty(), "replica n" + i + " has no data at " + next);
                    for (RecordBatch b : batches) {
                        b.ensureValid();
                        String key = b.producerId() + "/" + b.baseSequence();
                        long[] previous = seen.put(key, new long[] {b.baseOffset(), b.lastOffset()});
                        assertTrue(previous == null, "replica n" + i + " holds batch " + key + " twice: at "
                                + (previous == null ? -1 : previous[0]) + " and " + b.baseOffset());
                        next = b.nextOffset();
                    }
                }
                assertEquals(acked.size(), seen.size(), "replica n" + i + " batch count");
                for (Map.Entry<String, long[]> e : acked.entrySet()) {
                    long[] where = seen.get(e.getKey());
                    assertTrue(where != null, "replica n" + i + " lost acknowledged batch " + e.getKey());
                    assertEquals(e.getValue()[0], where[0], "replica n" + i + " batch " + e.getKey() + " base offset");
                    assertEquals(e.getValue()[1], where[1], "replica n" + i + " batch " + e.getKey() + " last offset");
                }
            }
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
        }
    }

    private static ByteBuffer batch(long producerId, int seq) {
        RecordBatchBuilder b = new RecordBatchBuilder(seq % 2 == 0 ? CompressionType.NONE : CompressionType.LZ4)
                .producer(producerId, (short) 0, seq * 2);
        for (int r = 0; r < 2; r++) {
            b.append(1_700_000_000_000L + seq, null, ("p" + producerId + "-s" + seq + "-r" + r).getBytes(StandardCharsets.UTF_8));
        }
        return b.build();
    }
}
