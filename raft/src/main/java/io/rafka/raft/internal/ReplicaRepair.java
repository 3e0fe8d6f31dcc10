package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.StateQuery;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;

/**
 * Brings back a replica whose partition log lost committed records (a segment cut short or deleted, unsynced
 * pages lost in a crash), without an operator: apply waits ({@link CommittedState}) while this copies the
 * missing records from another replica that has applied them, the leader first, then any follower. A
 * follower's stale-read queries answer from its own applied state, so even a replica that leads can repair
 * itself; it stays unready meanwhile (clients see LEADER_NOT_AVAILABLE and retry) and leads again after.
 *
 * <p>Attempts run on the catch-up pool, one at a time per replica, every {@value #RETRY_MS} ms until the log
 * holds what apply needs; no thread waits in between. Thread-safe.
 */
final class ReplicaRepair {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaRepair.class);
    static final long RETRY_MS = 500;
    /** At most one gap check per this many milliseconds: a leader sends a refused entry again every few. */
    static final long GAP_CHECK_MS = 200;
    /** How long a gap check waits for another replica's answer. */
    static final long GAP_CHECK_TIMEOUT_MS = 3_000;
    private static final AtomicLong GAPS_FOUND = new AtomicLong();

    /** Finds this replica's Raft division once Ratis has built it. */
    interface DivisionSource {
        RaftServer.Division get() throws IOException;
    }

    private final TopicPartition topicPartition;
    private final CommittedState committed;
    private final LogCatchUp catchUp;
    private final DivisionSource division;
    private final BiFunction<RaftGroup, RaftPeerId, RaftClient> clients;
    private final Executor executor;
    private final BooleanSupplier closed;
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicBoolean warnedAlone = new AtomicBoolean();
    private final AtomicBoolean gapCheckRunning = new AtomicBoolean();
    /** When the last gap check started ({@link System#nanoTime}). */
    private final AtomicLong lastGapCheckNanos = new AtomicLong(System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(GAP_CHECK_MS));

    ReplicaRepair(TopicPartition topicPartition, CommittedState committed, LogCatchUp catchUp, DivisionSource division,
                  BiFunction<RaftGroup, RaftPeerId, RaftClient> clients, Executor executor, BooleanSupplier closed) {
        this.topicPartition = topicPartition;
        this.committed = committed;
        this.catchUp = catchUp;
        this.division = division;
        this.clients = clients;
        this.executor = executor;
        this.closed = closed;
    }

    static long gapsFound() {
        return GAPS_FOUND.get();
    }

    /** Starts repairing unless a repair runs already. */
    void start() {
        if (running.compareAndSet(false, true)) {
            schedule(0);
        }
    }

    /**
     * The leader's entry {@code index} could not be written: the log lacks records of earlier entries that Ratis's
     * log holds but this replica has not seen committed (a segment cut or lost past what it had applied). Nothing
     * else would find them: apply finds missing records only once it learns they committed, and a follower that
     * refuses every append learns that only from a bare heartbeat, which a leader with entries to send sends only
     * after a while (seconds, with every attempt refused and logged). So ask another replica, the leader first,
     * how far it has applied: once it has applied {@code index - 1}, those entries are committed (no leader can
     * cut them off), and they are marked missing and copied as any other ({@link CommittedState#committedRecordsMissing}).
     * Runs on the catch-up pool, one check at a time, at most one per {@value #GAP_CHECK_MS} ms. Never blocks:
     * it is called under Ratis's log lock.
     */
    void gapBefore(long index) {
        long needed = index - 1;
        long now = System.nanoTime();
        long last = lastGapCheckNanos.get();
        if (needed <= committed.damagedAt() || now - last < TimeUnit.MILLISECONDS.toNanos(GAP_CHECK_MS)
                || !gapCheckRunning.compareAndSet(false, true)) {
            return;
        }
        lastGapCheckNanos.set(now);
        try {
            executor.execute(() -> {
                try {
                    checkGap(needed);
                } finally {
                    gapCheckRunning.set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            gapCheckRunning.set(false);  // the node is closing
        }
    }

    private void checkGap(long needed) {
        if (closed.getAsBoolean()) {
            return;
        }
        try {
            RaftServer.Division d = division.get();
            for (RaftPeer source : sources(d)) {
                long applied;
                try {
                    applied = appliedIndexOf(d.getGroup(), source.getId());
                } catch (IOException | RuntimeException e) {
                    LOG.debug("{}: could not ask {} how far it has applied: {}", topicPartition, source.getId(), e.toString());
                    continue;
                }
                if (applied >= needed) {
                    if (committed.committedRecordsMissing(needed)) {
                        GAPS_FOUND.incrementAndGet();
                    }
                } else {
                    LOG.debug("{}: {} has applied Raft index {}; the entries up to {} whose records are missing here "
                            + "may not be committed yet", topicPartition, source.getId(), applied, needed);
                }
                return;
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: gap check failed: {}", topicPartition, e.toString());
        }
    }

    /** {@code source}'s applied Raft index, waiting at most {@value #GAP_CHECK_TIMEOUT_MS} ms (not a copy's 30 s). */
    private long appliedIndexOf(RaftGroup group, RaftPeerId source) throws IOException {
        try (RaftClient client = clients.apply(group, source)) {
            RaftClientReply reply = client.async().sendStaleRead(Message.valueOf(
                    UnsafeByteOperations.unsafeWrap(new StateQuery().encode())), 0, source)
                    .get(GAP_CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            if (!reply.isSuccess()) {
                throw new IOException("query to " + source + " failed: " + reply.getException());
            }
            return AppliedState.decodeHeader(reply.getMessage().getContent().asReadOnlyByteBuffer()).index();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException(e.toString(), e);
        }
    }

    private void schedule(long delayMs) {
        try {
            Executor e = delayMs == 0 ? executor : CompletableFuture.delayedExecutor(delayMs, TimeUnit.MILLISECONDS, executor);
            e.execute(this::attempt);
        } catch (RejectedExecutionException e) {
            running.set(false);  // the node is closing
        }
    }

    private void attempt() {
        long needed = committed.damagedAt();
        if (needed < 0 || closed.getAsBoolean()) {
            running.set(false);
            return;
        }
        try {
            RaftServer.Division d = division.get();
            List<RaftPeer> sources = sources(d);
            if (sources.isEmpty() && warnedAlone.compareAndSet(false, true)) {
                LOG.error("{}: the log lacks committed records up to Raft index {} and no other replica holds them; "
                        + "this replica cannot serve until its data is restored", topicPartition, needed);
            }
            for (RaftPeer source : sources) {
                if (copyFrom(d.getGroup(), source.getId(), needed)) {
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: repair attempt failed: {}", topicPartition, e.toString());
        }
        if (committed.damagedAt() >= 0 && !closed.getAsBoolean()) {
            schedule(RETRY_MS);
        } else {
            running.set(false);
            if (committed.damagedAt() >= 0) {
                start();  // damage found again after this attempt decided to stop
            }
        }
    }

    /** The other replicas, the leader first. */
    private static List<RaftPeer> sources(RaftServer.Division d) {
        RaftPeerId self = d.getId();
        RaftPeerId leader = d.getInfo().getLeaderId();
        List<RaftPeer> sources = new ArrayList<>();
        for (RaftPeer p : d.getGroup().getPeers()) {
            if (p.getId().equals(self)) {
                continue;
            }
            if (p.getId().equals(leader)) {
                sources.add(0, p);
            } else {
                sources.add(p);
            }
        }
        return sources;
    }

    private boolean copyFrom(RaftGroup group, RaftPeerId source, long needed) {
        try (RaftClient client = clients.apply(group, source)) {
            catchUp.repair(LogCatchUp.fromPeer(client, source), needed);
            LOG.info("{}: copied the missing records from {}", topicPartition, source);
            return committed.damagedAt() < 0;
        } catch (IOException | RuntimeException e) {
            LOG.info("{}: could not copy the missing records from {} yet: {}", topicPartition, source, e.getMessage());
            return false;
        }
    }
}
