package io.rafka.coordinator;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.log.LogConfig;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.testing.MockTime;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A coordinator whose one coordinator partition is a real partition log on disk that this broker leads (no Raft
 * group around it), on a test clock; {@link #move} replaces it by a new one that knows the groups only from their
 * records, as when the partition's leadership moves.
 */
final class CoordinatorOnDisk implements AutoCloseable {
    final MockTime time = new MockTime(1_700_000_000_000L);
    final PartitionLog log;
    private final GroupConfig config;
    private final Map<String, Integer> topics;
    GroupCoordinator coordinator;
    /** Appends waiting, in order, while {@link #stall} holds them; written by {@link #release}. */
    private final java.util.ArrayDeque<Stalled> stalled = new java.util.ArrayDeque<>();
    private boolean stalling;

    private record Stalled(long term, ByteBuffer batches, CompletableFuture<Object> answer) {
    }

    /**
     * The partition's Raft term, in which this broker leads it. An append bound to another term is refused as the
     * Raft log refuses it: checked as the write reaches the log, writing nothing.
     */
    volatile long term = 1;

    CoordinatorOnDisk(Path dir, GroupConfig config, Map<String, Integer> topics) {
        this.config = config;
        this.topics = Map.copyOf(topics);
        log = PartitionLog.open(dir.resolve(GroupConfig.TOPIC + "-0"), LogConfig.defaults(), time);
        coordinator = start();
    }

    GroupCoordinator move() {
        coordinator.close();
        coordinator = start();
        return coordinator;
    }

    /**
     * A second coordinator over the same log, loaded now (as another broker leading the partition in a new term,
     * while {@link #coordinator} has not heard that it lost it): {@link #term} moves on by one first.
     */
    GroupCoordinator startAnother() {
        term++;
        return start();
    }

    private GroupCoordinator start() {
        GroupCoordinator c = new GroupCoordinator(config, new Log(), time);
        c.onTopicsChanged(topics);
        c.onLeader(0);
        return c;
    }

    /** From now on appends wait in order, unanswered and unwritten, as behind a Raft commit that does not come. */
    synchronized void stall() {
        stalling = true;
    }

    /**
     * The appends waiting now fail with REQUEST_TIMED_OUT, as Raft's append times out, and stay in the queue: they
     * are still written by {@link #release}, as an entry that timed out may still commit.
     */
    synchronized int timeOutStalled() {
        for (Stalled s : stalled) {
            s.answer().completeExceptionally(new RafkaException(ErrorCode.REQUEST_TIMED_OUT, "not committed in time"));
        }
        return stalled.size();
    }

    synchronized int stalledAppends() {
        return stalled.size();
    }

    /** Writes the waiting appends in order (answering those not timed out) and stops stalling. */
    void release() {
        java.util.List<Stalled> due;
        synchronized (this) {
            stalling = false;
            due = java.util.List.copyOf(stalled);
            stalled.clear();
        }
        for (Stalled s : due) {
            write(s.term(), s.batches()).whenComplete((r, e) -> {
                if (e != null) {
                    s.answer().completeExceptionally(e);
                } else {
                    s.answer().complete(r);
                }
            });
        }
    }

    /** Writes an append that reached the log: refused, as Raft refuses it, if bound to a term not current. */
    private CompletableFuture<Object> write(long term, ByteBuffer batches) {
        if (term != this.term) {
            return CompletableFuture.failedFuture(new RafkaException(ErrorCode.NOT_LEADER, "an append for term "
                    + term + " in term " + this.term));
        }
        try {
            return CompletableFuture.completedFuture(log.append(batches, 0, time.milliseconds()));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public void close() {
        coordinator.close();
        log.close();
    }

    private final class Log implements CoordinatorLog {
        @Override
        public CompletableFuture<?> append(int partition, long term, ByteBuffer batches) {
            synchronized (CoordinatorOnDisk.this) {
                if (stalling) {
                    Stalled s = new Stalled(term, ByteBuffer.allocate(batches.remaining()).put(batches.duplicate()).flip(),
                            new CompletableFuture<>());
                    stalled.add(s);
                    return s.answer();
                }
            }
            return write(term, batches);
        }

        @Override
        public Chunk read(int partition, long offset, int maxBytes) {
            long end = log.logEndOffset();
            long from = Math.max(offset, log.logStartOffset());
            if (maxBytes == 0 || from >= end) {
                return new Chunk(ByteBuffer.allocate(0), log.logStartOffset(), end);
            }
            LogReadResult r = log.read(from, maxBytes, end);
            return new Chunk(r.records(), r.logStartOffset(), end);
        }

        @Override
        public long leaderTerm(int partition) {
            return term;
        }
    }
}
