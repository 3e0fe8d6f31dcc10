package io.rafka.raft.internal;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.raft.internal.ReplicaRegistry.Replica;
import org.apache.ratis.proto.RaftProtos.RaftGroupIdProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionRequestProto;
import org.apache.ratis.proto.RaftProtos.TermIndexProto;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wake-ups of hibernated replicas ({@link Hibernation} decides when groups close; this opens them again): the
 * group is opened here and on its peers (Ratis group add without format: every replica recovers its own
 * storage), and an election is started here at once; the wake-up completes once the group has a leader.
 * Concurrent callers share one wake-up; at most {@code maxConcurrentWakes} run at once, the rest wait in arrival
 * order; under {@code partition.max.open} a wake-up takes a place first ({@link OpenLimit}). Thread-safe.
 */
final class WakeUps {
    private static final Logger LOG = LoggerFactory.getLogger(WakeUps.class);
    private static final long POLL_MS = 10;
    private static final long ALL_OPEN_WAIT_MS = 200;
    private static final long REELECT_MS = 300;

    private final LocalServer local;
    private final PeerProbes peers;
    private final OpenLimit limit;
    /** Whether wake-ups take a place under the bound on open partitions (hibernation on). */
    private final boolean placed;
    private final long wakeTimeoutMs;
    /** How often a wake-up that has no leader yet asks its peers again to open (see {@link #awaitLeader}). */
    private final long reopenPeersMs;
    private final String nodeId;
    /**
     * Wake-ups, at most {@code maxConcurrentWakes} at once and the rest in arrival order: Ratis opens a server's
     * groups one at a time, so more at once only leaves more groups half open, whose elections fail (a voter still
     * opening refuses its vote) and bump their terms; three broker processes woken ~60 partitions at once and
     * spent minutes re-electing.
     */
    private final ThreadPoolExecutor wakers;
    /**
     * Group adds sent to peers: a pool of their own, as a wake-up waits for them (sharing one pool, concurrent
     * wake-ups held every thread while the openings they waited for queued behind them).
     */
    private final ThreadPoolExecutor openers;
    private final AtomicLong wakeUps = new AtomicLong();
    private final AtomicLong wakeNanosTotal = new AtomicLong();
    private final AtomicLong wakeNanosMax = new AtomicLong();
    private final AtomicLong wakesExpired = new AtomicLong();

    WakeUps(LocalServer local, PeerProbes peers, OpenLimit limit, boolean placed, RaftNodeConfig config, int openerThreads) {
        this.local = local;
        this.peers = peers;
        this.limit = limit;
        this.placed = placed;
        this.wakeTimeoutMs = config.requestTimeoutMs();
        this.reopenPeersMs = Math.max(REELECT_MS, config.rpcTimeoutMinMs() / 2);
        this.nodeId = local.server().getId().toString();
        AtomicInteger count = new AtomicInteger();
        this.openers = pool(openerThreads, "rafka-open-peer-" + nodeId + "-", count);
        this.wakers = pool(config.maxConcurrentWakes(), "rafka-wake-" + nodeId + "-", count);
    }

    private static ThreadPoolExecutor pool(int threads, String prefix, AtomicInteger count) {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, prefix + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** Asks {@code peer} to open its replica of {@code group}; true once it is open there. */
    CompletableFuture<Boolean> openOnPeer(RaftPeer peer, RaftGroup group) {
        return CompletableFuture.supplyAsync(() -> peers.open(peer, group), openers);
    }

    /** Asks every other replica of {@code group} to open theirs, without waiting. */
    void openOnPeers(RaftGroup group) {
        openOnOthers(group);
    }

    private List<CompletableFuture<Boolean>> openOnOthers(RaftGroup group) {
        List<CompletableFuture<Boolean>> asks = new ArrayList<>();
        for (RaftPeer peer : group.getPeers()) {
            if (!peer.getId().equals(local.server().getId())) {
                asks.add(openOnPeer(peer, group));
            }
        }
        return asks;
    }

    long completed() {
        return wakeUps.get();
    }

    long nanosTotal() {
        return wakeNanosTotal.get();
    }

    long nanosMax() {
        return wakeNanosMax.get();
    }

    int queued() {
        return wakers.getQueue().size();
    }

    long expired() {
        return wakesExpired.get();
    }

    /**
     * Makes the replica's group active again if it is hibernated (or hibernating) and completes once it has a
     * leader: this replica, or another (then NOT_LEADER names it). Concurrent callers share one wake-up.
     */
    public CompletableFuture<Void> wake(Replica replica) {
        CompletableFuture<Void> result;
        synchronized (replica.lifecycleLock) {
            switch (replica.lifecycle()) {
                case OPEN:
                    return CompletableFuture.completedFuture(null);
                case HIBERNATING:
                    return replica.closing.thenCompose(v -> wake(replica));
                default:
                    replica.wakeAskedNanos = System.nanoTime();
                    if (replica.waking != null) {
                        return replica.waking;
                    }
                    result = new CompletableFuture<>();
                    replica.waking = result;
            }
        }
        long start = System.nanoTime();
        try {
            wakers.execute(() -> {
                try {
                    expireIfUnwanted(replica, start);
                    String phases = doWake(replica);
                    LOG.info("{}: woke in {} ms ({})", replica.topicPartition(), counted(start), phases);
                    result.complete(null);
                } catch (NotLeaderException e) {
                    // Open everywhere with a leader elected, only not this node: woken all the same.
                    LOG.info("{}: woke in {} ms; {}", replica.topicPartition(), counted(start), e.getMessage());
                    result.completeExceptionally(e);
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                } catch (Error e) {
                    result.completeExceptionally(e);  // the appends waiting for it fail rather than hang
                    throw e;
                } finally {
                    synchronized (replica.lifecycleLock) {
                        replica.waking = null;
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            synchronized (replica.lifecycleLock) {
                replica.waking = null;
            }
            result.completeExceptionally(new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "node " + nodeId + " is closing"));
        }
        return result;
    }

    /** Counts a wake-up that opened the group everywhere and saw a leader elected; returns how long it took, in ms. */
    private long counted(long startNanos) {
        long took = System.nanoTime() - startNanos;
        wakeUps.incrementAndGet();
        wakeNanosTotal.addAndGet(took);
        wakeNanosMax.accumulateAndGet(took, Math::max);
        return TimeUnit.NANOSECONDS.toMillis(took);
    }

    /**
     * A wake-up that waited its turn longer than the request timeout with no append asking for it since is not
     * made: the appends that asked have failed by now (their clients retry, and a retry asks anew), and under a
     * load of wake-ups the machine cannot keep up with, opening groups nobody waits for only adds to the queue.
     */
    private void expireIfUnwanted(Replica replica, long queuedAt) {
        long now = System.nanoTime();
        if (now - replica.wakeAskedNanos > TimeUnit.MILLISECONDS.toNanos(wakeTimeoutMs)) {
            wakesExpired.incrementAndGet();
            throw new BusyException("the wake-up of " + replica.topicPartition() + " waited "
                    + TimeUnit.NANOSECONDS.toMillis(now - queuedAt) + " ms for its turn (" + wakers.getQueue().size()
                    + " more queued; partition.wake.max.concurrent run at once) and no append asked for it within "
                    + wakeTimeoutMs + " ms; not woken");
        }
    }

    /** Opens the group here and on its peers and waits for a leader; returns where the time went, for the log. */
    private String doWake(Replica replica) {
        TopicPartition tp = replica.topicPartition();
        RaftGroup group = RaftGroup.valueOf(replica.groupId(), replica.spec().replicas().stream().map(MembershipChanger::peer).toList());
        long deadline = System.currentTimeMillis() + wakeTimeoutMs;
        if (placed) {
            limit.admit(tp);  // BUSY if this node has no room for one more open partition
        }
        List<CompletableFuture<Boolean>> remote = openOnOthers(group);
        long t0 = System.nanoTime();
        try {
            openLocally(replica, group);
        } finally {
            if (placed) {
                limit.release();
            }
        }
        long opened = System.nanoTime();
        int needed = group.getPeers().size() / 2;  // besides this one
        while (remote.stream().filter(f -> f.isDone() && f.join()).count() < needed) {
            if (remote.stream().allMatch(CompletableFuture::isDone) || System.currentTimeMillis() > deadline) {
                throw new RafkaException(ErrorCode.NOT_ENOUGH_REPLICAS, "partition " + tp + " is hibernated and only "
                        + remote.stream().filter(f -> f.isDone() && f.join()).count() + " of " + remote.size()
                        + " other replicas could be opened; a majority is needed to write");
            }
            sleep();
        }
        // Give the other openings a moment too: a voter whose division is still starting refuses its vote, and a
        // lost election waits out an election timeout.
        long settle = System.currentTimeMillis() + ALL_OPEN_WAIT_MS;
        while (!remote.stream().allMatch(CompletableFuture::isDone) && System.currentTimeMillis() < settle) {
            sleep();
        }
        long peersOpen = System.nanoTime();
        int elections = awaitLeader(replica, group, deadline);
        return "opened here " + TimeUnit.NANOSECONDS.toMillis(opened - t0) + " ms, peers "
                + TimeUnit.NANOSECONDS.toMillis(peersOpen - t0) + " ms, elected " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - peersOpen)
                + " ms later after " + elections + " election requests";
    }

    /** Opens the group here (a Ratis group add without format: the replica recovers its own storage). */
    void openLocally(Replica replica, RaftGroup group) {
        GroupManagementRequest add = GroupManagementRequest.newAdd(local.clientId(), local.server().getId(),
                local.nextCallId(), group, false);
        try {
            RaftClientReply reply = local.server().groupManagement(add);
            Throwable e = reply.isSuccess() ? null : RaftErrors.unwrap(reply.getException());
            if (e != null && !(e instanceof AlreadyExistsException)) {
                throw new IOException(e);
            }
        } catch (IOException e) {
            if (!(RaftErrors.unwrap(e.getCause() != null ? e.getCause() : e) instanceof AlreadyExistsException)) {
                throw new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "partition " + replica.topicPartition()
                        + " could not be opened on node " + nodeId + ": " + e.getMessage());
            }
        }
    }

    /**
     * Starts an election here unless a leader is known, and waits until one is. While none is, the peers are asked
     * to open again now and then: a peer that answered the first request "already open" may have been about to
     * close. A leader closes as soon as its followers report HIBERNATE committed, its followers half a heartbeat
     * after applying it; an append that waited for the leader's close wakes the group at once, and a follower
     * still waiting to close answers "already open", then closes. Asked once only, the wake-up campaigned for its
     * whole timeout against replicas that had closed (HibernationIT in CI: "woke up but elected no leader").
     */
    private int awaitLeader(Replica replica, RaftGroup group, long deadline) {
        TopicPartition tp = replica.topicPartition();
        long askedAt = 0;
        int asked = 0;
        long peersAskedAt = System.currentTimeMillis();
        List<CompletableFuture<Boolean>> reopens = List.of();
        while (System.currentTimeMillis() < deadline) {
            try {
                RaftServer.Division d = local.division(replica.groupId());
                DivisionInfo info = d.getInfo();
                if (info.isLeader() && info.isLeaderReady()) {
                    return asked;
                }
                RaftPeerId leader = info.getLeaderId();
                if (leader != null && !info.isLeader()) {
                    throw new NotLeaderException("partition " + tp + " woke up with leader " + leader, leader.toString());
                }
                if (leader == null && System.currentTimeMillis() - peersAskedAt > reopenPeersMs
                        && reopens.stream().allMatch(CompletableFuture::isDone)) {
                    peersAskedAt = System.currentTimeMillis();
                    reopens = openOnOthers(group);  // one request per peer at a time (a dead peer's takes seconds)
                }
                // Ask for an election now, and again while none wins (a refused vote makes the candidate a follower
                // that would otherwise wait out its election timeout). Ratis grants the request only while the
                // current term is the last entry's (the asker poses as a leader of that term); once an election
                // failed, the term is ahead and the group elects by its own timeout (with pre-vote, which leaves the
                // term alone until a majority is reachable).
                if (info.isFollower() && System.currentTimeMillis() - askedAt > REELECT_MS && termOfLastEntry(d)
                        && startElection(d)) {
                    askedAt = System.currentTimeMillis();
                    asked++;
                }
            } catch (IOException e) {
                // not open yet
            }
            sleep();
        }
        throw new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "partition " + tp + " woke up but elected no leader within "
                + wakeTimeoutMs + " ms");
    }

    private static boolean termOfLastEntry(RaftServer.Division d) {
        TermIndex last = d.getRaftLog().getLastEntryTermIndex();
        return d.getInfo().getCurrentTerm() == (last == null ? 0 : last.getTerm());
    }

    private boolean startElection(RaftServer.Division d) throws IOException {
        TermIndex mine = d.getRaftLog().getLastEntryTermIndex();
        StartLeaderElectionRequestProto request = StartLeaderElectionRequestProto.newBuilder()
                .setServerRequest(RaftRpcRequestProto.newBuilder()
                        .setRequestorId(local.server().getId().toByteString())
                        .setReplyId(local.server().getId().toByteString())
                        .setRaftGroupId(RaftGroupIdProto.newBuilder().setId(d.getGroup().getGroupId().toByteString())))
                .setLeaderLastEntry(TermIndexProto.newBuilder()
                        .setTerm(mine == null ? 0 : mine.getTerm()).setIndex(mine == null ? 0 : mine.getIndex()))
                .build();
        return local.server().startLeaderElection(request).getServerReply().getSuccess();
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
        }
    }

    void close() {
        wakers.shutdownNow();
        openers.shutdownNow();
    }
}
