package io.rafka.raft;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.testing.TestBatches;
import org.apache.ratis.server.RaftServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An append is answered within the request timeout even when Ratis cannot take it: submitting to a division
 * waits for Ratis's per-division client thread, which waits for the division's lock and its log's lock. Before
 * the fix, {@link RaftNode#append} itself blocked there, so no timeout started and a produce stream behind it
 * went silent (issue 12, point 8).
 */
class AppendTimeoutIT {
    private static final long REQUEST_TIMEOUT_MS = 1_000;
    /** How long the division stays unable to take appends: well past the request timeout. */
    private static final long HOLD_MS = 6_000;

    @TempDir
    Path tmp;

    @Test
    void appendsAreAnsweredInTimeWhileTheDivisionCannotTakeThem() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.requestTimeoutMs(REQUEST_TIMEOUT_MS))) {
            TopicPartition tp = cluster.createPartition("stalled", 0, 3);
            cluster.append(tp, batch(0), Acks.ALL);
            int leader = cluster.leaderIndex(tp);
            RaftNode node = cluster.node(leader);
            RaftServer.Division division = node.division(tp);
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            // Ratis takes the division's monitor to append a client request: holding it stands for whatever keeps
            // a division from taking appends (a stuck log worker, a long role change).
            Thread holder = new Thread(() -> {
                synchronized (division) {
                    held.countDown();
                    try {
                        release.await(HOLD_MS, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }, "division-holder");
            holder.start();
            assertTrue(held.await(10, TimeUnit.SECONDS));
            try {
                long startNs = System.nanoTime();
                CompletableFuture<AppendResult> first = node.append(tp, batch(1), Acks.ALL);
                CompletableFuture<AppendResult> second = node.append(tp, batch(2), Acks.ALL);
                long returnedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                assertTrue(returnedMs < REQUEST_TIMEOUT_MS, "append returned after " + returnedMs + " ms");
                for (CompletableFuture<AppendResult> f : List.of(first, second)) {
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> f.get(REQUEST_TIMEOUT_MS + 3_000, TimeUnit.MILLISECONDS));
                    assertEquals(ErrorCode.REQUEST_TIMED_OUT, MiniCluster.errorOf(e.getCause()), e.toString());
                }
                long answeredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                assertTrue(answeredMs < HOLD_MS, "answered after " + answeredMs + " ms, while the division was held");
            } finally {
                release.countDown();
                holder.join();
            }
            // The producer retries both; each is in the log exactly once, in order.
            cluster.append(tp, batch(1), Acks.ALL);
            AppendResult last = cluster.append(tp, batch(2), Acks.ALL);
            cluster.awaitReplicated(tp, last.lastOffset() + 1, 30_000);
            List<String> values = PartitionReplicationIT.readAll(cluster.node(leader), tp, last.lastOffset() + 1).stream()
                    .map(TestBatches::value).toList();
            assertEquals(List.of("v0", "v1", "v2"), values);
        }
    }

    private static ByteBuffer batch(int seq) {
        return new RecordBatchBuilder(CompressionType.NONE).producer(77L, (short) 0, seq)
                .append(1_000L, null, ("v" + seq).getBytes(StandardCharsets.UTF_8)).build();
    }
}
