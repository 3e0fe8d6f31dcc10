package io.rafka.raft.internal;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The thread pools a node's partition state machines share, off Ratis's own threads. Daemon threads named
 * after the node, so a thread dump tells which node and which job.
 */
public final class NodeExecutors implements AutoCloseable {
    private static final int CATCH_UP_THREADS = 2;
    private static final int READ_THREADS = 4;
    private static final int CLOSE_THREADS = 4;

    /** Copies leaders' logs and reconciles tails after a restart (slow, rare jobs). */
    final ExecutorService catchUp;
    /**
     * Reads entries' bytes back from partition logs for lagging followers: off Ratis's appender threads, which
     * Ratis interrupts when a leader steps down, and an interrupted FileChannel read closes the segment for good.
     */
    final ExecutorService read;
    /**
     * Hands appends to Ratis, which takes them on one thread per partition behind the partition's Raft locks, so
     * that a caller never waits there. At most one task per partition runs at a time
     * ({@link AppendQueue}), so threads are bounded by the partitions hosted here.
     */
    public final ExecutorService submit;
    /**
     * Closes the Raft divisions of removed replicas: Ratis closes one on the caller's thread, waiting for its
     * threads to stop and its snapshot, so one after another a deleted topic's partitions left a broker at a
     * few per second.
     */
    public final ExecutorService close;
    /** Periodic checks of this node's replicas ({@link StalledFollowerWatch}). */
    public final ScheduledExecutorService watch;

    public NodeExecutors(String nodeId) {
        this.catchUp = pool(CATCH_UP_THREADS, "rafka-catch-up-" + nodeId + "-");
        this.read = pool(READ_THREADS, "rafka-replica-read-" + nodeId + "-");
        this.close = pool(CLOSE_THREADS, "rafka-replica-close-" + nodeId + "-");
        this.submit = Executors.newCachedThreadPool(daemons("rafka-submit-" + nodeId + "-"));
        this.watch = Executors.newSingleThreadScheduledExecutor(daemons("rafka-replica-watch-" + nodeId + "-"));
    }

    private static ExecutorService pool(int threads, String prefix) {
        return Executors.newFixedThreadPool(threads, daemons(prefix));
    }

    private static ThreadFactory daemons(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        catchUp.shutdownNow();
        read.shutdownNow();
        close.shutdownNow();
        submit.shutdownNow();
        watch.shutdownNow();
    }
}
