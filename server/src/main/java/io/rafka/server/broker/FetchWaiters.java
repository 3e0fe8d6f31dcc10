package io.rafka.server.broker;

import io.rafka.common.TopicPartition;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fetches and subscriptions waiting for data, woken when a partition's high watermark moves.
 *
 * <p>The replication layer calls {@link #onAppend} on its applying thread, so waking only flags a waiter
 * and hands its work to {@code executor}; a waiter woken many times before it runs runs once. The number of
 * waiters is bounded ({@code fetch.max.waiters}): {@link #register} refuses beyond it.
 */
public final class FetchWaiters {
    private final Map<TopicPartition, Set<Waiter>> byPartition = new ConcurrentHashMap<>();
    private final AtomicInteger count = new AtomicInteger();
    private final int maxWaiters;
    private final Executor executor;

    public FetchWaiters(int maxWaiters, Executor executor) {
        this.maxWaiters = maxWaiters;
        this.executor = executor;
    }

    /** One waiting fetch: runs {@code onData} (on the executor) once per wake-up while registered. */
    public final class Waiter {
        private final Set<TopicPartition> partitions;
        private final Runnable onData;
        private final AtomicBoolean scheduled = new AtomicBoolean();
        private final AtomicBoolean registered = new AtomicBoolean(true);

        private Waiter(Set<TopicPartition> partitions, Runnable onData) {
            this.partitions = partitions;
            this.onData = onData;
        }

        void wake() {
            if (registered.get() && scheduled.compareAndSet(false, true)) {
                try {
                    executor.execute(() -> {
                        scheduled.set(false);
                        if (registered.get()) {
                            onData.run();
                        }
                    });
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    scheduled.set(false); // the broker is stopping; the waiter is answered by the shutdown
                }
            }
        }

        /** Stops wake-ups; idempotent. */
        public void cancel() {
            if (registered.compareAndSet(true, false)) {
                for (TopicPartition tp : partitions) {
                    byPartition.computeIfPresent(tp, (k, set) -> {
                        set.remove(this);
                        return set.isEmpty() ? null : set;
                    });
                }
                count.decrementAndGet();
            }
        }
    }

    /** Registers a waiter, or returns null when {@code fetch.max.waiters} are already waiting. */
    public Waiter register(Set<TopicPartition> partitions, Runnable onData) {
        if (count.incrementAndGet() > maxWaiters) {
            count.decrementAndGet();
            return null;
        }
        Waiter w = new Waiter(Set.copyOf(partitions), onData);
        for (TopicPartition tp : partitions) {
            // Add inside compute: a concurrent cancel may drop an emptied set from the map at any time.
            byPartition.compute(tp, (k, set) -> {
                Set<Waiter> s = set == null ? ConcurrentHashMap.newKeySet() : set;
                s.add(w);
                return s;
            });
        }
        return w;
    }

    public void onAppend(TopicPartition tp) {
        Set<Waiter> waiting = byPartition.get(tp);
        if (waiting != null) {
            waiting.forEach(Waiter::wake);
        }
    }

    /** Wakes every waiter (on shutdown, so they answer with what they have). */
    public void wakeAll() {
        byPartition.values().forEach(set -> set.forEach(Waiter::wake));
    }

    public int size() {
        return count.get();
    }
}
