package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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

    /** Starts repairing unless a repair runs already. */
    void start() {
        if (running.compareAndSet(false, true)) {
            schedule(0);
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
