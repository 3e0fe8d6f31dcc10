package io.rafka.raft.internal;

import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AppendQueueTest {

    /** A hand-off to Ratis that does not return until let go (a division lock held, a full log queue). */
    private static final class StuckSender implements AppendQueue.Sender {
        final ExecutorService executor = Executors.newSingleThreadExecutor();
        final CountDownLatch release = new CountDownLatch(1);
        final List<PendingEntry> sent = new ArrayList<>();

        @Override
        public Executor executor() {
            return executor;
        }

        @Override
        public int maxEntriesInFlight() {
            return 1;
        }

        @Override
        public int maxEntryBytes() {
            return 1 << 20;
        }

        @Override
        public CompletableFuture<List<AppendReply>> send(PendingEntry entry) {
            synchronized (sent) {
                sent.add(entry);
            }
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            List<AppendReply> replies = new ArrayList<>();
            entry.parts.forEach(p -> replies.add(new AppendReply(io.rafka.common.ErrorCode.NONE, 0, 0, -1)));
            return CompletableFuture.completedFuture(replies);
        }
    }

    private static AppendQueue.Waiting waiting(CompletableFuture<AppendReply> reply) {
        return new AppendQueue.Waiting(PendingAppend.copyOf(0, TestBatches.sized(1, 1000, 1L), 1 << 20, 1 << 20), reply);
    }

    @Test
    void appendsAnsweredWhileTheyWaitLeaveTheQueueAtOnceAndAreNeverSent() throws Exception {
        AppendQueue queue = new AppendQueue();
        StuckSender sender = new StuckSender();
        try {
            queue.add(waiting(new CompletableFuture<>()), sender);   // taken by the drain, which then sticks in send
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sent(sender) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(1, sent(sender));
            List<CompletableFuture<AppendReply>> timedOut = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                CompletableFuture<AppendReply> reply = new CompletableFuture<>();
                timedOut.add(reply);
                queue.add(waiting(reply), sender);
            }
            assertEquals(100, queue.waiting());
            timedOut.forEach(r -> r.completeExceptionally(new TimeoutException()));
            assertEquals(0, queue.waiting(), "their callers' budgets were given back: their bytes must not stay queued");

            CompletableFuture<AppendReply> last = new CompletableFuture<>();
            queue.add(waiting(last), sender);
            sender.release.countDown();
            last.get(10, TimeUnit.SECONDS);
            assertEquals(2, sent(sender));
            synchronized (sender.sent) {
                assertEquals(1, sender.sent.get(1).parts.size(), "the answered appends were not sent");
            }
        } finally {
            sender.release.countDown();
            sender.executor.shutdownNow();
            assertTrue(sender.executor.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    private static int sent(StuckSender sender) {
        synchronized (sender.sent) {
            return sender.sent.size();
        }
    }
}
