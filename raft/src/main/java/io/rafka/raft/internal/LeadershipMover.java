package io.rafka.raft.internal;

import io.rafka.raft.NodeAddress;
import org.apache.ratis.protocol.LeaderElectionManagementRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.TransferLeadershipRequest;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Moves partition leaderships between the replicas of one node's groups: away from the node before a
 * controlled shutdown, and back to each partition's preferred (first) replica afterwards. Best effort:
 * what does not move in time fails over by election. Thread-safe.
 */
public final class LeadershipMover {
    private static final Logger LOG = LoggerFactory.getLogger(LeadershipMover.class);
    private static final long RETRY_PAUSE_MS = 100;
    private static final long MAX_TRANSFER_MS = 5_000;

    private final LocalServer local;
    private final RaftServer server;
    private final ReplicaRegistry registry;
    private final String nodeId;
    private final FollowerLiveness liveness;

    public LeadershipMover(LocalServer local, ReplicaRegistry registry, String nodeId, FollowerLiveness liveness) {
        this.local = local;
        this.liveness = liveness;
        this.server = local.server();
        this.registry = registry;
        this.nodeId = nodeId;
    }

    /**
     * Stops this node from standing for election in any of its groups and hands the leadership of every
     * partition it leads to another replica, so the successor leads at once (no election timeout). Waits up to
     * {@code timeoutMs}; returns how many partitions still have this node as leader although they have other
     * replicas (0 when all moved).
     */
    public int moveAway(long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (ReplicaRegistry.Replica replica : registry.replicas()) {
            if (replica.lifecycle() == ReplicaRegistry.Lifecycle.HIBERNATED) {
                continue;
            }
            pending.add(server.leaderElectionManagementAsync(LeaderElectionManagementRequest.newPause(
                    local.clientId(), server.getId(), replica.groupId(), local.nextCallId())));
        }
        joinQuietly(pending, timeoutMs); // one deadline for pausing and handing over: timeoutMs bounds the whole
        int stillLeading;
        for (int attempt = 0; ; attempt++) {
            pending.clear();
            stillLeading = handOverAll(attempt, deadline, pending);
            if (stillLeading == 0 || System.nanoTime() > deadline) {
                break;
            }
            joinQuietly(pending, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            try {
                Thread.sleep(RETRY_PAUSE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        LOG.info("node {}: moved partition leaderships away; {} still led here", nodeId, stillLeading);
        return stillLeading;
    }

    /** Asks every partition led here to move to another replica (a different one each attempt); returns how many. */
    private int handOverAll(int attempt, long deadline, List<CompletableFuture<?>> pending) {
        int stillLeading = 0;
        for (ReplicaRegistry.Replica replica : registry.replicas()) {
            if (replica.lifecycle() == ReplicaRegistry.Lifecycle.HIBERNATED) {
                continue;
            }
            try {
                if (!isLeader(replica.groupId())) {
                    continue;
                }
                List<NodeAddress> others = replica.spec().replicas().stream().filter(a -> !a.id().equals(nodeId)).toList();
                if (others.isEmpty()) {
                    continue; // a single-replica partition has nowhere to go
                }
                stillLeading++;
                RaftPeerId target = RaftPeerId.valueOf(others.get(attempt % others.size()).id());
                long remainingMs = Math.max(RETRY_PAUSE_MS, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                pending.add(transfer(replica.groupId(), target, Math.min(remainingMs, MAX_TRANSFER_MS)));
            } catch (IOException e) {
                LOG.debug("{}: cannot move leadership: {}", replica.topicPartition(), e.toString());
            }
        }
        return stillLeading;
    }

    /**
     * Hands the leadership of every partition this node leads, but is not the preferred replica of, to the
     * preferred replica, as Kafka's preferred-leader election does, so leaders stay spread as the controller
     * placed them. Only to a preferred replica that is live and caught up ({@link FollowerLiveness}): while a
     * transfer is pending Ratis refuses writes, and a transfer to a dead or lagging replica would refuse them
     * until it times out. Replicas not ready are checked again every {@value #RETRY_PAUSE_MS} ms up to
     * {@code timeoutMs}; each transfer is bounded by the minimum election timeout (as Ratis bounds its own), so
     * writes pause no longer than a normal election. Only partitions whose preferred replica {@code takesBack}
     * accepts are handed over (Kafka hands leaderships back only to brokers whose imbalance is above
     * {@code leader.imbalance.per.broker.percentage}). Returns how many hand-overs were asked for.
     */
    public int electPreferred(long timeoutMs, java.util.function.Predicate<String> takesBack) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Set<RaftGroupId> asked = new HashSet<>();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        while (true) {
            boolean waiting = false;
            for (ReplicaRegistry.Replica replica : registry.replicas()) {
                String preferred = replica.spec().replicas().get(0).id();
                if (preferred.equals(nodeId) || asked.contains(replica.groupId())
                        || replica.lifecycle() != ReplicaRegistry.Lifecycle.OPEN || !takesBack.test(preferred)) {
                    continue;
                }
                try {
                    RaftServer.Division division = local.division(replica.groupId());
                    if (!division.getInfo().isLeader()) {
                        continue;
                    }
                    RaftPeerId target = RaftPeerId.valueOf(preferred);
                    if (!liveness.isLiveAndCaughtUp(division, target)) {
                        waiting = true;
                        continue;
                    }
                    asked.add(replica.groupId());
                    long transferMs = Math.min(timeoutMs, division.properties().minRpcTimeoutMs());
                    pending.add(transfer(replica.groupId(), target, transferMs));
                } catch (IOException e) {
                    LOG.debug("{}: cannot hand leadership to {}: {}", replica.topicPartition(), preferred, e.toString());
                }
            }
            if (!waiting || System.nanoTime() > deadline || !pause()) {
                break;
            }
        }
        joinQuietly(pending, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        return asked.size();
    }

    /**
     * Asks for the leadership of {@code replica}'s group, which {@code division} leads here, to move to the first
     * other replica that is live and caught up ({@link FollowerLiveness}), bounded by the minimum election timeout
     * as Ratis bounds its own transfers, without waiting for it. Returns the replica asked, or null when none is fit.
     */
    public RaftPeerId handOverToCaughtUpReplica(ReplicaRegistry.Replica replica, RaftServer.Division division)
            throws IOException {
        for (NodeAddress address : replica.spec().replicas()) {
            RaftPeerId peer = RaftPeerId.valueOf(address.id());
            if (!address.id().equals(nodeId) && liveness.isLiveAndCaughtUp(division, peer)) {
                transfer(replica.groupId(), peer, division.properties().minRpcTimeoutMs());
                return peer;
            }
        }
        return null;
    }

    /** Sleeps between rounds; false if interrupted. */
    private static boolean pause() {
        try {
            Thread.sleep(RETRY_PAUSE_MS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private boolean isLeader(RaftGroupId groupId) throws IOException {
        return server.getDivision(groupId).getInfo().isLeader();
    }

    private CompletableFuture<?> transfer(RaftGroupId groupId, RaftPeerId target, long timeoutMs) throws IOException {
        return server.transferLeadershipAsync(new TransferLeadershipRequest(local.clientId(), server.getId(), groupId,
                local.nextCallId(), target, timeoutMs));
    }

    private static void joinQuietly(List<CompletableFuture<?>> futures, long timeoutMs) {
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // Best effort: what did not move in time fails over by election.
        }
    }
}
