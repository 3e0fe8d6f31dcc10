package io.rafka.client.consumer.internals;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The consumer's asynchronous commits: each runs on one commit thread (in the order started, so a later commit
 * never lands before an earlier one), and its outcome is queued for the poll thread, which runs the user's
 * callbacks in {@link #runCallbacks} (Kafka runs them in poll too: a callback may touch the consumer). The
 * commit thread is a daemon and starts on the first commit. Thread-safe.
 */
public final class AsyncCommits implements AutoCloseable {

    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "rafka-consumer-commit");
        thread.setDaemon(true);
        return thread;
    });
    private final Set<CompletableFuture<Void>> inFlight = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Runnable> callbacks = new ConcurrentLinkedQueue<>();

    /**
     * Starts {@code commit} (which returns the commit's future, given the executor) and queues
     * {@code onDone(null | failure)} for the poll thread.
     */
    public void start(java.util.function.Function<ExecutorService, CompletableFuture<Void>> commit,
                      BiConsumer<Void, Throwable> onDone) {
        // Waiting on "done" (not the commit) means its callback is queued by the time the wait ends.
        CompletableFuture<Void> done = commit.apply(executor).handle((ok, error) -> {
            callbacks.add(() -> onDone.accept(null, unwrap(error)));
            return null;
        });
        inFlight.add(done);
        done.whenComplete((ok, error) -> inFlight.remove(done));
    }

    /** Runs the callbacks of the commits that ended, on the caller's (poll) thread. */
    public void runCallbacks() {
        Runnable callback;
        while ((callback = callbacks.poll()) != null) {
            callback.run();
        }
    }

    /** Waits for the commits in flight, at most {@code timeoutMs}, then runs their callbacks. */
    public void awaitInFlight(long timeoutMs, Supplier<Boolean> interrupted) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (CompletableFuture<Void> future : Set.copyOf(inFlight)) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || interrupted.get()) {
                break;
            }
            try {
                future.get(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception failedOrTimedOut) {
                // its callback says so
            }
        }
        runCallbacks();
    }

    public int inFlight() {
        return inFlight.size();
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
    }
}
