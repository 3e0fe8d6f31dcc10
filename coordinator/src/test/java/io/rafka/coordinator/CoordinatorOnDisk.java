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
    /** When set, appends wait for it before they reach the log (a slow or stuck Raft commit). */
    volatile CompletableFuture<Void> hold;
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

    @Override
    public void close() {
        coordinator.close();
        log.close();
    }

    private final class Log implements CoordinatorLog {
        @Override
        public CompletableFuture<?> append(int partition, long term, ByteBuffer batches) {
            CompletableFuture<Void> wait = hold;
            if (wait != null) {
                return wait.thenCompose(v -> append(partition, term, batches));
            }
            if (term != CoordinatorOnDisk.this.term) {
                return CompletableFuture.failedFuture(new RafkaException(ErrorCode.NOT_LEADER, "an append for term "
                        + term + " in term " + CoordinatorOnDisk.this.term));
            }
            try {
                return CompletableFuture.completedFuture(log.append(batches, 0, time.milliseconds()));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
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
