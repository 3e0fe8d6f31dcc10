package io.rafka.server.broker;

import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class FetchWaitersTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @Test
    void wakesRegisteredWaitersOnceAndNotCancelledOnes() {
        FetchWaiters waiters = new FetchWaiters(2, Runnable::run);
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        FetchWaiters.Waiter wa = waiters.register(Set.of(TP), a::incrementAndGet);
        FetchWaiters.Waiter wb = waiters.register(Set.of(TP, new TopicPartition("t", 1)), b::incrementAndGet);
        assertNotNull(wa);
        assertNull(waiters.register(Set.of(TP), () -> { }), "fetch.max.waiters = 2");
        waiters.onAppend(TP);
        waiters.onAppend(new TopicPartition("t", 1));
        wa.cancel();
        wa.cancel();
        waiters.onAppend(TP);
        assertEquals(1, a.get());
        assertEquals(3, b.get());
        assertEquals(1, waiters.size());
        wb.cancel();
        assertEquals(0, waiters.size());
        waiters.onAppend(TP);
        assertEquals(3, b.get());
    }

    /** A waiter registered while another one's cancel empties the partition's set must still be woken. */
    @Test
    void registrationRacingACancelIsNotLost() throws Exception {
        FetchWaiters waiters = new FetchWaiters(10, Runnable::run);
        long deadline = System.currentTimeMillis() + 3_000;
        for (int i = 0; i < 20_000 && System.currentTimeMillis() < deadline; i++) {
            FetchWaiters.Waiter leaving = waiters.register(Set.of(TP), () -> { });
            AtomicInteger woken = new AtomicInteger();
            CyclicBarrier start = new CyclicBarrier(2);
            FetchWaiters.Waiter[] staying = new FetchWaiters.Waiter[1];
            Thread t = new Thread(() -> {
                await(start);
                staying[0] = waiters.register(Set.of(TP), woken::incrementAndGet);
            });
            t.start();
            await(start);
            leaving.cancel();
            t.join();
            waiters.onAppend(TP);
            assertEquals(1, woken.get(), "iteration " + i + ": the registered waiter was woken");
            staying[0].cancel();
        }
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
