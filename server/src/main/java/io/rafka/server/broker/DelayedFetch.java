package io.rafka.server.broker;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One long-poll fetch from arrival to answer. Reads all partitions; if they hold too little it registers with
 * {@link FetchWaiters} and a timer and reads again on every commit of one of them, until there is enough,
 * an error, the deadline, shutdown, or the caller cancels the future. Completes exactly once; attempts are
 * serialized by the monitor, as commits and the timer wake it from different threads.
 */
final class DelayedFetch {
    private final ReplicaManager replicas;
    private final List<FetchPartition> partitions;
    private final int minBytes;
    private final int maxBytes;
    private final boolean decode;
    private final long deadlineNs;
    private final ScheduledExecutorService timer;
    private final ReadBufferPool.Lease buffers;
    private final CompletableFuture<List<PartitionRead>> result = new CompletableFuture<>();
    private FetchWaiters.Waiter waiter;
    private ScheduledFuture<?> timeout;

    DelayedFetch(ReplicaManager replicas, List<FetchPartition> partitions, int minBytes, int maxBytes, boolean decode,
                 long deadlineNs, ScheduledExecutorService timer, ReadBufferPool.Lease buffers) {
        this.replicas = replicas;
        this.partitions = partitions;
        this.minBytes = minBytes;
        this.maxBytes = maxBytes;
        this.decode = decode;
        this.deadlineNs = deadlineNs;
        this.timer = timer;
        this.buffers = buffers;
    }

    CompletableFuture<List<PartitionRead>> start() {
        result.whenComplete((r, e) -> cleanup()); // also on the caller's cancel
        attempt();
        return result;
    }

    private synchronized void attempt() {
        if (result.isDone()) {
            return;
        }
        List<PartitionRead> reads = new ArrayList<>(partitions.size());
        int budget = maxBytes;
        int total = 0;
        boolean failed = false;
        for (FetchPartition p : partitions) {
            PartitionRead read = replicas.read(p, budget, decode, buffers);
            reads.add(read);
            // An empty result costs its entry too, but is not charged: partitions listed after many idle ones still
            // get data (their entries are bounded by the request's size, as its partitions are).
            budget -= read.bytes() + (read.failed() || read.bytes() > 0 ? read.entryBytes() : 0);
            total += read.bytes();
            failed |= read.failed();
        }
        if (total >= minBytes || failed || replicas.isClosing() || System.nanoTime() >= deadlineNs) {
            result.complete(reads);
            return;
        }
        if (waiter == null) {
            Set<TopicPartition> watched = new HashSet<>();
            partitions.forEach(p -> watched.add(new TopicPartition(p.topic(), p.partition())));
            try {
                waiter = replicas.watch(watched, this::attempt);
            } catch (RuntimeException e) {
                // No place to wait in (fetch.max.waiters): what was read is the answer, as at the deadline; BUSY
                // only when there is nothing.
                if (total > 0) {
                    result.complete(reads);
                } else {
                    buffers.release();
                    result.completeExceptionally(e);
                }
                return;
            }
            buffers.release(); // too little: these reads are dropped, the next attempt reads again
            timeout = timer.schedule(this::attempt, Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS);
            attempt(); // data may have arrived between the read and the registration
            return;
        }
        buffers.release(); // too little: these reads are dropped, the next attempt reads again
    }

    private synchronized void cleanup() {
        if (waiter != null) {
            waiter.cancel();
        }
        if (timeout != null) {
            timeout.cancel(false);
        }
    }
}
