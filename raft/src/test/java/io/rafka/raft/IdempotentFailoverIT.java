package io.rafka.raft;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A pipelined idempotent producer (five batches in flight, acks=all) whose partition leader crashes while
 * batches are in flight: as a Kafka producer does, it re-sends every unacknowledged batch, same producer id,
 * epoch and sequences, in order, to the new leader and goes on producing. Every request must be answered
 * within the request timeout, every batch acknowledged once, and the log must hold each batch exactly once,
 * in sequence order.
 */
class IdempotentFailoverIT {
    private static final long PRODUCER_ID = 4242L;
    private static final int IN_FLIGHT = 5;
    private static final long REQUEST_TIMEOUT_MS = 4_000;
    /** Slack over the request timeout for a loaded machine before a request counts as unanswered. */
    private static final long ANSWER_SLACK_MS = 4_000;
    /** No new acknowledgement for this long is a wedge. */
    private static final long PROGRESS_TIMEOUT_MS = 45_000;
    private static final int KILLS = Integer.getInteger("idem.kills", 6);
    private static final int BATCHES_PER_ROUND = 30;
    /** Errors a Kafka producer retries; OUT_OF_ORDER only right after an earlier batch of the same burst failed. */
    private static final Set<ErrorCode> RETRIABLE = EnumSet.of(ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE,
            ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.BUSY, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    @TempDir
    Path tmp;

    @Test
    void pipelinedIdempotentProducerSurvivesLeaderCrashes() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.requestTimeoutMs(REQUEST_TIMEOUT_MS))) {
            TopicPartition tp = cluster.createPartition("idem-failover", 0, 3);
            Producer producer = new Producer(cluster, tp);
            producer.produceUntil(BATCHES_PER_ROUND, -1);
            for (int kill = 0; kill < KILLS; kill++) {
                int leader = cluster.leaderIndex(tp);
                // The crash lands while a full window of batches is in flight to the leader.
                producer.produceUntil(producer.acked.size() + BATCHES_PER_ROUND, leader);
                if (!cluster.isUp(leader)) {
                    cluster.restart(leader);
                }
                producer.produceUntil(producer.acked.size() + BATCHES_PER_ROUND / 2, -1);
                // As the broker does periodically: leadership goes back to the preferred replica.
                for (int i = 0; i < cluster.size(); i++) {
                    cluster.node(i).electPreferredLeaders(5_000);
                }
                producer.produceUntil(producer.acked.size() + BATCHES_PER_ROUND / 2, -1);
            }
            int n = producer.acked.size();
            long end = producer.acked.lastEntry().getValue() + 1;
            cluster.awaitReplicated(tp, end, 30_000);
            for (int i = 0; i < cluster.size(); i++) {
                List<Record> records = PartitionReplicationIT.readAll(cluster.node(i), tp, end);
                assertEquals(n, records.size(), "replica n" + i + ": one record per acknowledged batch, no duplicate");
                for (int seq = 0; seq < n; seq++) {
                    Record r = records.get(seq);
                    assertEquals("v" + seq, TestBatches.value(r), "replica n" + i + " at offset " + r.offset());
                    assertEquals((long) producer.acked.get(seq), r.offset(), "batch " + seq + " acknowledged at its offset");
                }
            }
        }
    }

    /** A batch on its way: its sequence, where it went, when. */
    private record InFlight(int seq, int node, long sentNs, CompletableFuture<AppendResult> answer) {
    }

    /**
     * The producer side, as Kafka's: up to {@link #IN_FLIGHT} batches in flight to the leader, a new one sent
     * as soon as the oldest is acknowledged; after a failure every unacknowledged batch is sent again, in order.
     */
    private static final class Producer {
        final MiniCluster cluster;
        final TopicPartition tp;
        /** Sequence to the offset its acknowledgement named. */
        final TreeMap<Integer, Long> acked = new TreeMap<>();
        final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
        /** Refusals since the last acknowledgement, by error (failure diagnostics). */
        final java.util.Map<String, Integer> errors = new java.util.TreeMap<>();
        int nextToSend;

        Producer(MiniCluster cluster, TopicPartition tp) {
            this.cluster = cluster;
            this.tp = tp;
        }

        /**
         * Produces until {@code target} batches are acknowledged. With {@code crash} >= 0, node {@code crash} is
         * killed once a full window is in flight; the batches in flight to it are given up at once, as a client
         * whose connection was reset does.
         */
        void produceUntil(int target, int crash) throws Exception {
            long lastProgressNs = System.nanoTime();
            boolean crashed = crash < 0;
            while (acked.size() < target) {
                int leader = fill(target);
                if (!crashed && inFlight.size() == IN_FLIGHT && leader == crash) {
                    cluster.kill(crash);
                    crashed = true;
                    if (Boolean.getBoolean("idem.fastRestart")) {
                        MiniCluster.sleep(Long.getLong("idem.restartDelayMs", 300));
                        cluster.restart(crash);
                    }
                }
                if (inFlight.isEmpty()) {
                    MiniCluster.sleep(10);
                } else if (takeOldest()) {
                    lastProgressNs = System.nanoTime();
                    errors.clear();
                } else {
                    drain();
                    nextToSend = firstUnacked();
                    MiniCluster.sleep(10);
                }
                if (System.nanoTime() - lastProgressNs > TimeUnit.MILLISECONDS.toNanos(PROGRESS_TIMEOUT_MS)) {
                    dumpThreads();
                    fail("the producer made no progress for " + PROGRESS_TIMEOUT_MS + " ms at sequence " + firstUnacked()
                            + "; answers since: " + errors + "; replicas: " + statuses());
                }
            }
            drain();
            nextToSend = firstUnacked();
        }

        /** Sends batches until the window is full; returns the node they went to (-1: no leader known). */
        private int fill(int target) {
            int leader;
            try {
                leader = cluster.leaderIndex(tp, 200);
            } catch (IllegalStateException e) {
                return -1;
            }
            while (inFlight.size() < IN_FLIGHT && nextToSend < target) {
                int seq = nextToSend++;
                if (acked.containsKey(seq)) {
                    continue;
                }
                CompletableFuture<AppendResult> answer;
                try {
                    answer = cluster.node(leader).append(tp, batch(seq), Acks.ALL);
                } catch (RuntimeException e) {
                    answer = CompletableFuture.failedFuture(e);
                }
                inFlight.addLast(new InFlight(seq, leader, System.nanoTime(), answer));
            }
            return leader;
        }

        /** Takes the oldest answer; false if it was an error (the caller re-sends from the first unacknowledged). */
        private boolean takeOldest() throws Exception {
            InFlight f = inFlight.removeFirst();
            if (!cluster.isUp(f.node())) {
                return false; // the connection to a crashed node is gone: no answer will come
            }
            try {
                AppendResult r = f.answer().get(leftMs(f), TimeUnit.MILLISECONDS);
                assertEquals(r.baseOffset(), r.lastOffset(), "one record per batch");
                Long before = acked.put(f.seq(), r.baseOffset());
                assertTrue(before == null || before == r.baseOffset(), "batch " + f.seq() + " acknowledged at "
                        + before + " and at " + r.baseOffset());
                return true;
            } catch (TimeoutException e) {
                if (!cluster.isUp(f.node())) {
                    return false;
                }
                throw new AssertionError("batch " + f.seq() + " was not answered within "
                        + (REQUEST_TIMEOUT_MS + ANSWER_SLACK_MS) + " ms");
            } catch (ExecutionException e) {
                ErrorCode code = MiniCluster.errorOf(e.getCause());
                errors.merge(code + "@n" + f.node(), 1, Integer::sum);
                boolean allBeforeAcked = acked.headMap(f.seq()).size() == f.seq();
                boolean retriable = RETRIABLE.contains(code) || e.getCause() instanceof IllegalStateException
                        || ((code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code == ErrorCode.UNKNOWN_PRODUCER_ID)
                            && !allBeforeAcked);
                assertTrue(retriable, "batch " + f.seq() + " (all before it acknowledged: " + allBeforeAcked
                        + ") refused: " + e.getCause());
                return false;
            }
        }

        private String statuses() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < cluster.size(); i++) {
                try {
                    b.append(" n").append(i).append('=').append(cluster.isUp(i) ? cluster.node(i).status(tp) : "down");
                } catch (RuntimeException e) {
                    b.append(" n").append(i).append('=').append(e);
                }
            }
            return b.toString();
        }

        private static long leftMs(InFlight f) {
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - f.sentNs());
            return Math.max(1, REQUEST_TIMEOUT_MS + ANSWER_SLACK_MS - waitedMs);
        }

        /** Takes every answer still due (each within the request timeout). */
        private void drain() throws Exception {
            while (!inFlight.isEmpty()) {
                takeOldest();
            }
        }

        private int firstUnacked() {
            int s = 0;
            while (acked.containsKey(s)) {
                s++;
            }
            return s;
        }

        private static ByteBuffer batch(int seq) {
            return new RecordBatchBuilder(CompressionType.NONE).producer(PRODUCER_ID, (short) 0, seq)
                    .append(1_000L, null, ("v" + seq).getBytes(StandardCharsets.UTF_8)).build();
        }
    }

    /** Where every thread of the in-process cluster waits: the diagnosis of a wedge. */
    private static void dumpThreads() {
        StringBuilder b = new StringBuilder("thread dump at the wedge:\n");
        Thread.getAllStackTraces().forEach((t, stack) -> {
            b.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            for (StackTraceElement e : stack) {
                b.append("    at ").append(e).append('\n');
            }
        });
        System.err.println(b);
    }
}
