package io.rafka.client.consumer.internals;

import io.rafka.client.internals.ClientException;
import io.rafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * The consumer's commits that do not run on the poll thread: each runs on one commit thread, in the order started,
 * so a later commit never lands before an earlier one, {@code commitSync}'s included ({@link #startInOrder}). The
 * outcome of an asynchronous commit is queued for the poll thread, which runs the user's callbacks in
 * {@link #runCallbacks} (Kafka runs them in poll too: a callback may touch the consumer).
 *
 * <p>Bounded: an asynchronous commit started while another of the same source still waits for the thread joins
 * it (its offsets over the waiting one's, partition by partition, as running both in turn would leave them), and
 * both callbacks get that commit's outcome; so a consumer committing at every poll while the coordinator is slow
 * has at most one commit running and one waiting, not one per poll. The commit thread is a daemon and starts on
 * the first commit.
 *
 * <p>Each commit carries, per partition, the source's ownership mark from when it was made ({@code mark}), so the
 * source can leave out a partition lost and taken again before the commit was sent ({@link Committer}). Thread-safe.
 */
public final class AsyncCommits implements AutoCloseable {

    /**
     * Makes a commit, on the commit thread; throws if it failed. {@code madeAt} holds, per partition, the mark given
     * when the offset was committed.
     */
    public interface Committer {
        void commit(Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata, Map<TopicPartition, Long> madeAt);
    }

    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "rafka-consumer-commit");
        thread.setDaemon(true);
        return thread;
    });
    /** Commits not started yet, oldest first. */
    private final Deque<Commit> waiting = new ArrayDeque<>();
    private final Set<Commit> unfinished = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Runnable> callbacks = new ConcurrentLinkedQueue<>();

    private static final class Commit {
        final Object source;
        final Committer committer;
        final Map<TopicPartition, Long> offsets;
        final Map<TopicPartition, String> metadata;
        final Map<TopicPartition, Long> madeAt = new HashMap<>();
        /** Whether later asynchronous commits may join it (not commitSync's: its caller waits for its own). */
        final boolean joinable;
        final List<BiConsumer<Void, Throwable>> onDone = new ArrayList<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Commit(Object source, Committer committer, Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata,
               long mark, boolean joinable) {
            this.source = source;
            this.committer = committer;
            this.offsets = new HashMap<>(offsets);
            this.metadata = new HashMap<>(metadata);
            offsets.keySet().forEach(tp -> madeAt.put(tp, mark));
            this.joinable = joinable;
        }

        void join(Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata, long mark) {
            offsets.forEach((tp, offset) -> {
                this.offsets.put(tp, offset);
                this.madeAt.put(tp, mark);
                String m = metadata.get(tp);
                if (m == null) {
                    this.metadata.remove(tp);
                } else {
                    this.metadata.put(tp, m);
                }
            });
        }
    }

    /**
     * Starts an asynchronous commit of {@code offsets} (with {@code metadata}) through {@code committer}, and queues
     * {@code onDone(null | failure)} for the poll thread once it ended. {@code source} tells which commits may join:
     * those of the same source. {@code mark}: the source's ownership mark now.
     */
    public void start(Object source, Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata, long mark,
                      Committer committer, BiConsumer<Void, Throwable> onDone) {
        synchronized (waiting) {
            Commit last = waiting.peekLast();
            if (last != null && last.joinable && java.util.Objects.equals(last.source, source)) {
                last.join(offsets, metadata, mark);
                last.onDone.add(onDone);
                return;
            }
            Commit commit = new Commit(source, committer, offsets, metadata, mark, true);
            commit.onDone.add(onDone);
            enqueue(commit);
        }
    }

    /** Runs a commit on the commit thread after every commit started before it; its future tells the outcome. */
    public CompletableFuture<Void> startInOrder(Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata,
                                                long mark, Committer committer) {
        Commit commit = new Commit(null, committer, offsets, metadata, mark, false);
        synchronized (waiting) {
            enqueue(commit);
        }
        return commit.done;
    }

    private void enqueue(Commit commit) {
        waiting.add(commit);
        unfinished.add(commit);
        try {
            executor.execute(this::runNext);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            waiting.remove(commit);
            end(commit, new ClientException("CLOSED", "the consumer is closed: the commit was not sent"));
        }
    }

    private void runNext() {
        Commit commit;
        synchronized (waiting) {
            commit = waiting.poll();
        }
        if (commit == null) {
            return;
        }
        Throwable error = null;
        try {
            commit.committer.commit(commit.offsets, commit.metadata, commit.madeAt);
        } catch (RuntimeException e) {
            error = e;
        }
        end(commit, error);
    }

    /** Queues the commit's callbacks, then completes it (so one waiting on it finds them queued). */
    private void end(Commit commit, Throwable error) {
        for (BiConsumer<Void, Throwable> onDone : commit.onDone) {
            callbacks.add(() -> onDone.accept(null, error));
        }
        unfinished.remove(commit);
        if (error == null) {
            commit.done.complete(null);
        } else {
            commit.done.completeExceptionally(error);
        }
    }

    /** Runs the callbacks of the commits that ended, on the caller's (poll) thread. */
    public void runCallbacks() {
        Runnable callback;
        while ((callback = callbacks.poll()) != null) {
            callback.run();
        }
    }

    /** Waits for the commits started so far, at most {@code timeoutMs}, then runs the callbacks of those that ended. */
    public void awaitInFlight(long timeoutMs, Supplier<Boolean> interrupted) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (Commit commit : List.copyOf(unfinished)) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || interrupted.get()) {
                break;
            }
            try {
                commit.done.get(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception failedOrTimedOut) {
                // its callback says so
            }
        }
        runCallbacks();
    }

    /** Commits started and not ended (one that others joined counts once). */
    public int inFlight() {
        return unfinished.size();
    }

    /**
     * Stops taking commits; those still waiting for the thread fail (CLOSED) and every callback queued runs here.
     * A commit already running ends on its own (its callback is not run).
     */
    @Override
    public void close() {
        List<Commit> dropped;
        synchronized (waiting) {
            executor.shutdown();
            dropped = new ArrayList<>(waiting);
            waiting.clear();
        }
        for (Commit commit : dropped) {
            end(commit, new ClientException("CLOSED", "the consumer closed before this commit was sent"));
        }
        runCallbacks();
    }
}
