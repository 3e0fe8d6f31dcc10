package io.rafka.raft.internal;

import org.apache.ratis.proto.RaftProtos.LogInfoProto;
import org.apache.ratis.proto.RaftProtos.RaftGroupIdProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionReplyProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionRequestProto;
import org.apache.ratis.proto.RaftProtos.TermIndexProto;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.io.grpc.ConnectivityState;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Starts a Raft election at once when the leader of a local follower division is seen dead, instead of
 * waiting out the election timeout (1–2 s by default, kept long so hundreds of groups per server stay calm).
 *
 * <p><b>How death is seen:</b> one idle gRPC connection to each peer server (not one per group, no pings, no
 * traffic). When the peer's process dies its kernel resets the connection, the reconnect is refused, and the
 * channel enters TRANSIENT_FAILURE within milliseconds. A peer that is merely slow or cut off by the network
 * does not refuse connections: then the election timeout acts as before, so this only ever shortens failover.
 *
 * <p><b>What it does:</b> for every local follower division whose leader is that peer, each surviving replica
 * asks the other survivors for their last log entry (one {@link LogEnds} call per survivor for all the groups it
 * shares with this replica, on the watch connection) and only the one with the most up-to-date log (ties: lowest
 * peer id) acts, so survivors neither split the vote nor start an election the
 * others must refuse; and only if a majority of the group (itself included) answered, so a replica that is
 * itself cut off does not raise terms. It hands its own server the request a leader sends when it transfers leadership
 * (Ratis's StartLeaderElection, naming the dead leader and this replica's own last entry); Ratis then runs a
 * normal election in the next term, in which votes go only to a candidate whose log is at least as up to
 * date, so safety is Raft's. A replica that cannot vouch for the current term (its last entry is from an
 * older term) does nothing, and the election timeout acts as before.
 */
public final class LeaderFailureDetector implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderFailureDetector.class);
    private static final AtomicLong ELECTIONS_STARTED = new AtomicLong();
    /** How long a survivor waits for another to say where its logs end (as Ratis's probe clients: 3 s). */
    private static final long LOG_ENDS_TIMEOUT_MS = 3_000;

    private final RaftServer server;
    private final PeerProbes probes;
    private final boolean ownsProbes;
    private final ScheduledExecutorService timer;
    /** Asks the other survivors where their logs end, one peer per thread, then starts the elections. */
    private final ExecutorService takeovers;
    /** Dials a peer's server for those questions as soon as it is seen up, on its own thread (it may block). */
    private final ExecutorService dialer;
    private final Map<RaftPeerId, PeerWatch> watches = new ConcurrentHashMap<>();
    private volatile Supplier<Collection<RaftPeer>> extraPeers = List::of;
    private volatile Consumer<RaftPeerId> reachableAgain = peer -> { };
    private volatile boolean closed;

    /** A detector with probe clients of its own ({@code probeProperties}), closed with it. */
    public LeaderFailureDetector(RaftServer server, RaftProperties probeProperties) {
        this(server, new PeerProbes(probeProperties), true);
    }

    /** A detector that shares the node's probe clients; their owner closes them. */
    public LeaderFailureDetector(RaftServer server, PeerProbes probes) {
        this(server, probes, false);
    }

    private LeaderFailureDetector(RaftServer server, PeerProbes probes, boolean ownsProbes) {
        this.server = server;
        this.probes = probes;
        this.ownsProbes = ownsProbes;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rafka-leader-watch-" + server.getId());
            t.setDaemon(true);
            return t;
        });
        AtomicInteger workers = new AtomicInteger();
        this.takeovers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "rafka-takeover-" + server.getId() + "-" + workers.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.dialer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "rafka-peer-dial-" + server.getId());
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::watchAllPeers, 0, 2, TimeUnit.SECONDS);
        timer.scheduleWithFixedDelay(this::redialDeadPeers, 100, 100, TimeUnit.MILLISECONDS);
    }

    /** Elections this detector started in this JVM (a probe for tests and a metric). */
    public static long electionsStarted() {
        return ELECTIONS_STARTED.get();
    }

    /**
     * Redials peers whose connection failed now rather than after gRPC's growing back-off (up to 2 minutes),
     * so a peer that comes back is watched again within a tenth of a second, and its leaders' appenders are woken
     * ({@link #onReachableAgain}). A refused dial costs next to nothing, and it is one per dead peer, not per group.
     */
    private void redialDeadPeers() {
        for (PeerWatch w : watches.values()) {
            if (w.channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
                w.channel.resetConnectBackoff();
            }
        }
    }

    /**
     * Whether {@code peer}'s server was last seen refusing connections (its process is not running). A leader
     * uses it before its own view of that follower goes stale (up to an election timeout), e.g. not to hand
     * leadership to a dead replica and not to accept writes it cannot commit. False for peers not watched.
     */
    public boolean refusesConnections(RaftPeerId peer) {
        PeerWatch w = watches.get(peer);
        return w != null && w.refusing;
    }

    /** Calls {@code listener} when a peer's server seen refusing connections accepts them again (on a gRPC thread). */
    public void onReachableAgain(Consumer<RaftPeerId> listener) {
        this.reachableAgain = listener;
    }

    /** Watches these peers (those not watched yet, or watched at another address), e.g. a new group's replicas. */
    public void watch(Iterable<RaftPeer> peers) {
        for (RaftPeer peer : peers) {
            if (closed || peer.getId().equals(server.getId()) || peer.getAddress() == null) {
                continue;
            }
            PeerWatch w = watches.compute(peer.getId(), (id, old) -> {
                if (old != null && old.address.equals(peer.getAddress())) {
                    return old;
                }
                if (old != null) {
                    old.stop();
                    probes.forget(id);
                }
                return new PeerWatch(id, peer.getAddress());
            });
            w.start();
            if (closed) {
                w.stop();
            }
        }
    }

    /**
     * Also watches these peers, though no open group has them: the replicas of hibernated partitions, whose
     * clients are sent to a replica whose server answers.
     */
    public void alsoWatch(Supplier<Collection<RaftPeer>> peers) {
        this.extraPeers = peers;
    }

    /** Watches every peer of every local group, and stops watching servers no local group has any more (every 2 s). */
    private void watchAllPeers() {
        try {
            Set<RaftPeerId> wanted = new HashSet<>();
            Collection<RaftPeer> extra = extraPeers.get();
            extra.forEach(p -> wanted.add(p.getId()));
            watch(extra);
            for (RaftGroupId gid : server.getGroupIds()) {
                Collection<RaftPeer> peers = server.getDivision(gid).getGroup().getPeers();
                peers.forEach(p -> wanted.add(p.getId()));
                watch(peers);
            }
            watches.entrySet().removeIf(e -> {
                if (wanted.contains(e.getKey())) {
                    return false;
                }
                e.getValue().stop();
                probes.forget(e.getKey());
                return true;
            });
        } catch (IOException | RuntimeException e) {
            LOG.debug("listing groups to watch their leaders failed: {}", e.toString());
        }
    }

    /** One peer server's connection and what state it was last seen in. */
    private final class PeerWatch {
        private final RaftPeerId peer;
        private final String address;
        private final ManagedChannel channel;
        private boolean started;
        private boolean stopped;
        private boolean wasReady;
        /** Set when a connection attempt failed, cleared when one succeeds: the server is not running. */
        private volatile boolean refusing;

        PeerWatch(RaftPeerId peer, String address) {
            this.peer = peer;
            this.address = address;
            this.channel = NettyChannelBuilder.forTarget(address).usePlaintext().disableRetry()
                    .idleTimeout(365, TimeUnit.DAYS).build();
        }

        synchronized void stop() {
            stopped = true;
            channel.shutdownNow();
        }

        synchronized void start() {
            if (!started) {
                started = true;
                onStateChange();
            }
        }

        private synchronized void onStateChange() {
            if (closed || stopped) {
                return;
            }
            ConnectivityState state = channel.getState(true);
            if (state == ConnectivityState.READY) {
                if (!wasReady) {
                    // A takeover asks the other survivors first; without this, the first one after a start also
                    // created the client and connected (223 ms from detection to election in one run, 90-130 ms
                    // in others, on a loaded two-core machine: bin/rafka bench failover).
                    RaftPeer target = RaftPeer.newBuilder().setId(peer).setAddress(address).build();
                    execute(dialer, () -> probes.connect(target));
                    // And a question naming no group, not waited for, so the first real one after a start does
                    // not load and set up the call's path on both ends while a takeover waits for it (a first
                    // failover's question took 124-205 ms, later ones 35-99 ms; the warm-up alone did not move
                    // that beyond the spread: docs/BENCHMARKS.md, "A kill's first second").
                    LogEnds.warmUp(channel, LOG_ENDS_TIMEOUT_MS);
                }
                wasReady = true;
                if (refusing) {
                    refusing = false;
                    try {
                        reachableAgain.accept(peer);
                    } catch (RuntimeException e) {
                        LOG.warn("telling that {} is reachable again failed", peer, e);
                    }
                }
            } else if (state == ConnectivityState.TRANSIENT_FAILURE) {
                refusing = true;
            }
            if (state == ConnectivityState.TRANSIENT_FAILURE && wasReady) {
                wasReady = false;
                submit(() -> leaderGone(peer));
            }
            channel.notifyWhenStateChanged(state, this::onStateChange);
        }
    }

    /** The server {@code dead} refuses connections: take over the groups it led here. */
    private void leaderGone(RaftPeerId dead) {
        List<RaftGroupId> followed = new ArrayList<>();
        try {
            for (RaftGroupId gid : server.getGroupIds()) {
                DivisionInfo info = server.getDivision(gid).getInfo();
                if (info.isFollower() && dead.equals(info.getLeaderId())) {
                    followed.add(gid);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("reacting to the loss of {} failed: {}", dead, e.toString());
        }
        if (!followed.isEmpty()) {
            LOG.info("{} refuses connections: it led {} groups followed here; electing successors without waiting "
                    + "for the election timeout", dead, followed.size());
            takeOver(followed, dead);
        }
    }

    /**
     * Starts an election in each of {@code groups} where this replica is the survivor with the most up-to-date log.
     * Each other survivor is asked once for all the groups it shares with this replica, all of them at the same time.
     */
    private void takeOver(List<RaftGroupId> groups, RaftPeerId dead) {
        List<Candidate> candidates = new ArrayList<>();
        Map<RaftPeerId, RaftPeer> others = new HashMap<>();
        Map<RaftPeerId, List<RaftGroupId>> toAsk = new LinkedHashMap<>();
        for (RaftGroupId gid : groups) {
            Candidate c = candidate(gid, dead);
            if (c == null) {
                continue;
            }
            candidates.add(c);
            for (RaftPeer other : c.others) {
                others.putIfAbsent(other.getId(), other);
                toAsk.computeIfAbsent(other.getId(), p -> new ArrayList<>()).add(gid);
            }
        }
        try {
            Map<RaftPeerId, CompletableFuture<Map<RaftGroupId, TermIndex>>> answers = new HashMap<>();
            toAsk.forEach((peer, asked) -> answers.put(peer,
                    CompletableFuture.supplyAsync(() -> lastEntries(others.get(peer), asked), takeovers)));
            for (Candidate c : candidates) {
                // Each group acts once its own peers answered, not waiting for a slow peer it does not have.
                CompletableFuture.allOf(c.others.stream().map(p -> answers.get(p.getId()))
                        .toArray(CompletableFuture[]::new)).thenRunAsync(() -> {
                            try {
                                electIfBest(c, dead, answers);
                            } catch (IOException | RuntimeException e) {
                                LOG.debug("{}: could not start an election after losing {}: {}", c.gid, dead, e.toString());
                            }
                        }, takeovers);
            }
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    /** A local follower of {@code dead} that can vouch for the current term, or null. */
    private Candidate candidate(RaftGroupId gid, RaftPeerId dead) {
        try {
            RaftServer.Division division = server.getDivision(gid);
            DivisionInfo info = division.getInfo();
            TermIndex mine = division.getRaftLog().getLastEntryTermIndex();
            if (!info.isFollower() || !dead.equals(info.getLeaderId())
                    || mine == null || mine.getTerm() != info.getCurrentTerm()) {
                return null; // led by another now, or cannot vouch for the current term: the election timeout acts
            }
            Collection<RaftPeer> peers = division.getGroup().getPeers();
            List<RaftPeer> others = peers.stream()
                    .filter(p -> !p.getId().equals(dead) && !p.getId().equals(server.getId())).toList();
            return new Candidate(gid, division, mine, others, peers.size());
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: not taking over from {}: {}", gid, dead, e.toString());
            return null;
        }
    }

    /** A group to take over: this replica's last entry, and the group's replicas other than it and the dead one. */
    private record Candidate(RaftGroupId gid, RaftServer.Division division, TermIndex mine, List<RaftPeer> others,
                             int groupSize) {
    }

    private void electIfBest(Candidate c, RaftPeerId dead,
                             Map<RaftPeerId, CompletableFuture<Map<RaftGroupId, TermIndex>>> answers) throws IOException {
        int reachable = 1; // this replica
        for (RaftPeer other : c.others) {
            RaftPeerId id = other.getId();
            Map<RaftGroupId, TermIndex> theirEnds = answers.get(id).getNow(null);
            TermIndex theirs = theirEnds == null ? null : theirEnds.get(c.gid);
            if (theirs == null) {
                continue;
            }
            reachable++;
            int cmp = theirs.compareTo(c.mine);
            if (cmp > 0 || (cmp == 0 && id.toString().compareTo(server.getId().toString()) < 0)) {
                return; // that survivor is the better candidate and acts itself
            }
        }
        if (reachable <= c.groupSize / 2) {
            // No majority answers: this replica may be the one cut off. Forcing elections from here would
            // only raise terms and depose the leader when the network heals; the timeout decides instead.
            return;
        }
        DivisionInfo info = c.division.getInfo();
        if (!info.isFollower() || !dead.equals(info.getLeaderId())) {
            return; // a new leader is known already
        }
        StartLeaderElectionRequestProto request = StartLeaderElectionRequestProto.newBuilder()
                .setServerRequest(RaftRpcRequestProto.newBuilder()
                        .setRequestorId(dead.toByteString())
                        .setReplyId(server.getId().toByteString())
                        .setRaftGroupId(RaftGroupIdProto.newBuilder().setId(c.gid.toByteString())))
                .setLeaderLastEntry(TermIndexProto.newBuilder().setTerm(c.mine.getTerm()).setIndex(c.mine.getIndex()))
                .build();
        StartLeaderElectionReplyProto reply = server.startLeaderElection(request);
        if (reply.getServerReply().getSuccess()) {
            ELECTIONS_STARTED.incrementAndGet();
            LOG.debug("{}: leader {} is gone; election started", c.gid, dead);
        }
    }

    /**
     * The last entries of {@code peer}'s replicas of {@code groups}: one {@link LogEnds} call on the connection this
     * detector holds to it, or, from a server without that call (an older version) or a peer not watched, Ratis's
     * group info per group. A group is absent where the peer did not answer for it.
     */
    private Map<RaftGroupId, TermIndex> lastEntries(RaftPeer peer, List<RaftGroupId> groups) {
        try {
            return askLastEntries(peer, groups);
        } catch (RuntimeException e) {
            LOG.debug("{} did not say where its logs end: {}", peer.getId(), e.toString());
            return null;
        }
    }

    private Map<RaftGroupId, TermIndex> askLastEntries(RaftPeer peer, List<RaftGroupId> groups) {
        PeerWatch w = watches.get(peer.getId());
        if (w != null) {
            try {
                return LogEnds.ask(w.channel, groups, LOG_ENDS_TIMEOUT_MS);
            } catch (UnsupportedOperationException e) {
                LOG.debug("{} answers no log-ends call; asking group by group", peer.getId());
            }
        }
        Map<RaftGroupId, TermIndex> ends = new HashMap<>();
        for (RaftGroupId gid : groups) {
            LogInfoProto info = probes.logInfo(peer, gid);
            if (info != null) {
                ends.put(gid, TermIndex.valueOf(info.getLastEntry()));
            }
        }
        return ends;
    }

    private void submit(Runnable task) {
        execute(timer, task);
    }

    private static void execute(ExecutorService executor, Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        takeovers.shutdownNow();
        dialer.shutdownNow();
        for (PeerWatch w : watches.values()) {
            w.stop();
        }
        if (ownsProbes) {
            probes.close();
        }
    }
}
