package io.rafka.client.consumer.internals;

import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AsyncCommitsTest {

    private static final TopicPartition P0 = new TopicPartition("t", 0);
    private static final TopicPartition P1 = new TopicPartition("t", 1);

    /** A committer that notes what it was asked, waits for {@code release} on its first call and fails on "fail". */
    private static AsyncCommits.Committer recording(List<String> ran, CountDownLatch release, Thread pollThread) {
        return (offsets, metadata, madeAt) -> {
            assertTrue(Thread.currentThread() != pollThread, "commits run off the poll thread");
            boolean first = ran.isEmpty();
            ran.add(new java.util.TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString)) {{ putAll(offsets); }}
                    + (metadata.isEmpty() ? "" : " " + metadata.values()));
            if (first) {
                await(release);
            }
            if (metadata.containsValue("fail")) {
                throw new IllegalStateException("refused");
            }
        };
    }

    @Test
    void commitsRunInOrderOffThePollThreadAndCallbacksOnlyWhenThePollThreadAsks() throws Exception {
        try (AsyncCommits commits = new AsyncCommits()) {
            CountDownLatch release = new CountDownLatch(1);
            List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<String> called = new ArrayList<>();
            AsyncCommits.Committer committer = recording(ran, release, Thread.currentThread());
            commits.start("a", Map.of(P0, 1L), Map.of(), 0, committer, (ok, error) -> called.add("first " + error));
            commits.start("b", Map.of(P0, 2L), Map.of(P0, "fail"), 0, committer,
                    (ok, error) -> called.add("second " + error.getClass().getSimpleName()));
            assertEquals(2, commits.inFlight(), "start returned while the first commit still waits");
            commits.runCallbacks();
            assertEquals(List.of(), called);
            release.countDown();
            commits.awaitInFlight(5_000, () -> false);
            assertEquals(List.of("{t-0=1}", "{t-0=2} [fail]"), ran);
            assertEquals(List.of("first null", "second IllegalStateException"), called);
        }
    }

    @Test
    void commitsStartedWhileOneWaitsJoinItSoAtMostOneWaits() throws Exception {
        try (AsyncCommits commits = new AsyncCommits()) {
            CountDownLatch release = new CountDownLatch(1);
            List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<String> called = new ArrayList<>();
            AsyncCommits.Committer committer = recording(ran, release, Thread.currentThread());
            commits.start("s", Map.of(P0, 1L), Map.of(), 0, committer, (ok, error) -> called.add("c0"));
            awaitRunning(ran);
            for (int i = 1; i <= 1_000; i++) {
                int n = i;
                // every poll commits its positions: partition 1 only from the 500th on, with metadata at the end
                Map<TopicPartition, Long> offsets = n < 500 ? Map.of(P0, (long) n) : Map.of(P0, (long) n, P1, (long) n);
                commits.start("s", offsets, n == 1_000 ? Map.of(P1, "last") : Map.of(), 0, committer,
                        (ok, error) -> called.add("c" + n + (error == null ? "" : " " + error)));
            }
            assertEquals(2, commits.inFlight(), "one running, one waiting that the others joined");
            release.countDown();
            commits.awaitInFlight(5_000, () -> false);
            assertEquals(List.of("{t-0=1}", "{t-0=1000, t-1=1000} [last]"), ran, "two commits made, the newest offsets won");
            assertEquals(1_001, called.size());
            assertEquals(java.util.stream.IntStream.rangeClosed(0, 1_000).mapToObj(i -> "c" + i).toList(), called,
                    "every callback, in order, with its commit's outcome");
        }
    }

    @Test
    void aCommitInOrderIsNeverOvertakenAndNothingJoinsIt() throws Exception {
        try (AsyncCommits commits = new AsyncCommits()) {
            CountDownLatch release = new CountDownLatch(1);
            List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
            AsyncCommits.Committer committer = recording(ran, release, Thread.currentThread());
            commits.start("s", Map.of(P0, 1L), Map.of(), 0, committer, (ok, error) -> { });
            awaitRunning(ran);
            commits.start("s", Map.of(P0, 2L), Map.of(), 0, committer, (ok, error) -> { });
            CompletableFuture<Void> sync = commits.startInOrder(Map.of(P0, 3L), Map.of(), 0, committer);
            commits.start("s", Map.of(P0, 4L), Map.of(), 0, committer, (ok, error) -> { });
            assertTrue(!sync.isDone());
            release.countDown();
            sync.get(5, TimeUnit.SECONDS);
            commits.awaitInFlight(5_000, () -> false);
            assertEquals(List.of("{t-0=1}", "{t-0=2}", "{t-0=3}", "{t-0=4}"), ran);
        }
    }

    /**
     * Each partition of a commit carries the ownership mark of the call that gave its offset: a commit that joins a
     * waiting one brings its own mark for the partitions it sets, and leaves the others' as they were.
     */
    @Test
    void aJoinedCommitCarriesEachPartitionsMarkFromTheCallThatGaveItsOffset() throws Exception {
        try (AsyncCommits commits = new AsyncCommits()) {
            CountDownLatch release = new CountDownLatch(1);
            List<Map<TopicPartition, Long>> marks = new java.util.concurrent.CopyOnWriteArrayList<>();
            AsyncCommits.Committer committer = (offsets, metadata, madeAt) -> {
                marks.add(Map.copyOf(madeAt));
                await(release);
            };
            commits.start("s", Map.of(P0, 1L), Map.of(), 10, committer, (ok, error) -> { });
            while (marks.isEmpty()) {
                Thread.sleep(5);   // the first runs (and waits): the next two wait and join
            }
            commits.start("s", Map.of(P0, 2L, P1, 2L), Map.of(), 20, committer, (ok, error) -> { });
            commits.start("s", Map.of(P1, 3L), Map.of(), 30, committer, (ok, error) -> { });
            release.countDown();
            commits.awaitInFlight(5_000, () -> false);
            assertEquals(List.of(Map.of(P0, 10L), Map.of(P0, 20L, P1, 30L)), marks);
        }
    }

    @Test
    void closingFailsTheCommitsNotSentAndRunsTheirCallbacks() {
        CountDownLatch release = new CountDownLatch(1);
        List<String> called = new ArrayList<>();
        AsyncCommits commits = new AsyncCommits();
        try {
            List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
            AsyncCommits.Committer committer = recording(ran, release, Thread.currentThread());
            commits.start("s", Map.of(P0, 1L), Map.of(), 0, committer, (ok, error) -> called.add("running " + error));
            awaitRunning(ran);
            commits.start("other", Map.of(P0, 2L), Map.of(), 0, committer, (ok, error) -> called.add("waiting " + error));
            commits.close();
            assertEquals(List.of("waiting io.rafka.client.internals.ClientException: the consumer closed before this"
                    + " commit was sent"), called, "the running commit ends on its own; the waiting one fails");
            commits.start("s", Map.of(P0, 3L), Map.of(), 0, committer, (ok, error) -> called.add("after " + error));
            commits.runCallbacks();
            assertEquals(2, called.size(), called.toString());
            assertEquals("after io.rafka.client.internals.ClientException: the consumer is closed: the commit was not sent",
                    called.get(1));
        } finally {
            release.countDown();
        }
    }

    @Test
    void ownerLockTurnsASecondThreadAwayAndIsReentrant() throws Exception {
        OwnerLock lock = new OwnerLock();
        lock.acquire();
        lock.acquire();
        assertTrue(!lock.outermost());
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                lock.acquire();
            } catch (Throwable t) {
                other.set(t);
            }
        });
        thread.start();
        thread.join(5_000);
        assertInstanceOf(ConcurrentModificationException.class, other.get());
        lock.release();
        lock.release();
        AtomicReference<Throwable> later = new AtomicReference<>();
        Thread again = new Thread(() -> {
            try {
                lock.acquire();
                lock.release();
            } catch (Throwable t) {
                later.set(t);
            }
        });
        again.start();
        again.join(5_000);
        assertEquals(null, later.get(), "free again once the owner released it as often as it took it");
    }

    private static void awaitRunning(List<String> ran) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (ran.isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(1, ran.size(), "the first commit is running");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
