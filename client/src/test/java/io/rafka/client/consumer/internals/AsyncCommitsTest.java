package io.rafka.client.consumer.internals;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AsyncCommitsTest {

    @Test
    void commitsRunInOrderOffThePollThreadAndCallbacksOnlyWhenThePollThreadAsks() throws Exception {
        try (AsyncCommits commits = new AsyncCommits()) {
            CountDownLatch release = new CountDownLatch(1);
            List<String> ran = new ArrayList<>();
            List<String> called = new ArrayList<>();
            Thread caller = Thread.currentThread();
            commits.start(executor -> CompletableFuture.runAsync(() -> {
                assertTrue(Thread.currentThread() != caller);
                await(release);
                ran.add("first");
            }, executor), (ok, error) -> called.add("first " + error));
            commits.start(executor -> CompletableFuture.runAsync(() -> {
                ran.add("second");
                throw new IllegalStateException("refused");
            }, executor), (ok, error) -> called.add("second " + error.getClass().getSimpleName()));
            assertEquals(2, commits.inFlight(), "start returned while the first commit still waits");
            commits.runCallbacks();
            assertEquals(List.of(), called);
            release.countDown();
            commits.awaitInFlight(5_000, () -> false);
            assertEquals(List.of("first", "second"), ran);
            assertEquals(List.of("first null", "second IllegalStateException"), called);
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

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
