package io.rafka.raft;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.log.LogConfig;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.log.ReadBuffers;
import io.rafka.raft.internal.FollowerLiveness;
import io.rafka.raft.internal.FrozenLog;
import io.rafka.raft.internal.Hibernation;
import io.rafka.raft.internal.HibernationFiles;
import io.rafka.raft.internal.InstallNotices;
import io.rafka.raft.internal.LeaderFailureDetector;
import io.rafka.raft.internal.LeadershipMover;
import io.rafka.raft.internal.LocalServer;
import io.rafka.raft.internal.LogMaintenance;
import io.rafka.raft.internal.LogScrubber;
import io.rafka.raft.internal.MembershipChanger;
import io.rafka.raft.internal.NodeExecutors;
import io.rafka.raft.internal.PartitionAppender;
import io.rafka.raft.internal.PartitionEvents;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMetadataFile;
import io.rafka.raft.internal.PartitionStateMachine;
import io.rafka.raft.internal.PeerProbes;
import io.rafka.raft.internal.PeerReachability;
import io.rafka.raft.internal.RaftErrors;
import io.rafka.raft.internal.RaftPort;
import io.rafka.raft.internal.RatisMetricRegistries;
import io.rafka.raft.internal.RatisProperties;
import io.rafka.raft.internal.ReplicaGroups;
import io.rafka.raft.internal.ReplicaRegistry;
import io.rafka.raft.internal.ReplicaRegistry.Replica;
import io.rafka.raft.internal.StalledFollowerWatch;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.util.SizeInBytes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A broker's Raft node: one Ratis {@link RaftServer} that hosts a Raft group ("division") for every
 * partition replica placed on this broker (multi-raft), on one port.
 *
 * <pre>{@code
 * RaftNode node = RaftNode.start(RaftNodeConfig.builder(new NodeAddress("n1", "127.0.0.1", 9091), dataDir).build());
 * node.createPartition(new PartitionSpec(new TopicPartition("orders", 0), topicId, replicas)).join();
 * AppendResult r = node.append(new TopicPartition("orders", 0), batch, Acks.ALL).join();
 * }</pre>
 *
 * <p>Appends go to the local division in-process: no loopback Raft client. A replica that is not the leader
 * fails appends with {@link NotLeaderException} naming the leader. Each partition bounds the bytes of its
 * appends awaiting commit and answers {@link BusyException} above the bound. Every failure leaves as a typed
 * {@link RafkaException} ({@link RaftErrors}).
 *
 * <p>On disk, under {@code dataDir}: {@code raft/} (Ratis storage: Raft logs and partition snapshots, one
 * folder per group) and one {@code <topic>-<partition>/} folder per partition log, which also holds a
 * {@link PartitionMetadataFile} so the node can find its partitions again after a restart.
 *
 * <p>This class is the facade; the parts live in {@code internal}: {@link ReplicaRegistry},
 * {@link ReplicaGroups}, {@link PartitionAppender}, {@link MembershipChanger}, {@link LeadershipMover},
 * {@link LogMaintenance}, {@link NodeExecutors} and, per partition, {@link PartitionStateMachine}. Thread-safe.
 */
public final class RaftNode implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

    private final RaftNodeConfig config;
    private final Time time;
    private final String nodeId;
    /** The JVM-wide count of refused appends of this node's id when this node started ({@link #followerRefusals}). */
    private final long refusalsBefore;
    private final ReplicaRegistry replicas;
    private final NodeExecutors executors;
    private final RaftProperties clientProperties;
    private final RaftProperties probeProperties;
    /** How long an opening of a group no local replica claims (yet) waits for one. */
    private static final int UNKNOWN_GROUP_WAIT_MS = 5_000;
    private final PartitionListeners listeners = new PartitionListeners();
    private final HibernationFiles hibernationFiles;
    private volatile boolean halting;
    /** Set once the server started: groups opened after that come from group adds, not from the storage scan. */
    private volatile boolean started;
    private RaftServer server;
    private ReplicaGroups groups;
    private PartitionAppender appender;
    private MembershipChanger membership;
    private LeadershipMover leadership;
    private LogMaintenance maintenance;
    private LeaderFailureDetector failureDetector;
    private PeerProbes probes;
    private Hibernation hibernation;
    private LogScrubber scrubber;
    private final AtomicLong damagedReads = new AtomicLong();
    private final AtomicLong logFailures = new AtomicLong();
    /** How long after a replica's Raft log last failed it is still reported ({@link #replicasWithFailingLogs}). */
    static final long FAILING_LOG_WINDOW_MS = 30_000;
    private ScheduledExecutorService scrubThread;

    private RaftNode(RaftNodeConfig config, Time time) {
        this.config = config;
        this.time = time;
        this.nodeId = config.address().id();
        this.refusalsBefore = RatisMetricRegistries.followerRefusals(nodeId);
        this.replicas = new ReplicaRegistry(nodeId);
        this.executors = new NodeExecutors(nodeId);
        this.clientProperties = RatisProperties.forClient(config);
        this.probeProperties = RatisProperties.forProbe(clientProperties);
        this.hibernationFiles = new HibernationFiles(config.dataDir());
    }

    /**
     * Ratis runs many {@code CompletableFuture} steps without an executor. With a common pool of parallelism 1
     * (the JDK's choice on 2 CPUs) the JDK runs each such step on a new thread: measured 3.7 threads started
     * and ~2x the CPU per committed batch ({@code bin/rafka bench raft}). The broker's {@code Main} sets a
     * larger pool; an embedding application must start its JVM with one.
     */
    private static void warnIfCommonPoolIsThreadPerTask() {
        if (java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() < 2) {
            LOG.warn("the JVM's common ForkJoinPool has parallelism {}: every asynchronous step inside Ratis starts "
                    + "a new thread, which costs about twice the CPU per write; start the JVM with "
                    + "-Djava.util.concurrent.ForkJoinPool.common.parallelism=4",
                    java.util.concurrent.ForkJoinPool.getCommonPoolParallelism());
        }
    }

    /** Starts the node and every partition replica found in its data folder. */
    public static RaftNode start(RaftNodeConfig config) throws IOException {
        return start(config, Time.SYSTEM);
    }

    public static RaftNode start(RaftNodeConfig config, Time time) throws IOException {
        RaftNode node = new RaftNode(config, time);
        node.startServer();
        return node;
    }

    private void startServer() throws IOException {
        warnIfCommonPoolIsThreadPerTask();
        Files.createDirectories(config.dataDir());
        // On a disk without room the open replicas would fail to open (the partition logs' recovery writes), and with
        // them the server's start: they start closed instead, as if their logs had just failed, and open once there
        // is room (Hibernation.reopenIfBroken), while the node and its other replicas serve.
        boolean noRoom = !DiskRoom.roomToReopen(config.dataDir());
        List<TopicPartition> setAside = new ArrayList<>();
        for (PartitionSpec spec : PartitionMetadataFile.readAll(config.dataDir())) {
            Replica replica = replicas.register(spec);
            HibernationFiles.Frozen frozen = hibernationFiles.settle(spec.topicPartition(), replica.groupId());
            if (frozen != null) {
                Hibernation.hibernated(replica, frozen);
            } else if (noRoom && hibernationFiles.setAsideForRoom(replica.groupId())) {
                replica.logFailedNanos = System.nanoTime();
                setAside.add(spec.topicPartition());
            }
        }
        if (!setAside.isEmpty()) {
            LOG.warn("node {}: the data folder's disk has {} KiB free, less than the {} MiB a replica needs to open: "
                    + "{} replica(s) stay closed until it has ({}); the others open", nodeId,
                    DiskRoom.usableBytes(config.dataDir()) >> 10, DiskRoom.REOPEN_MIN_FREE_BYTES >> 20, setAside.size(),
                    setAside);
        }
        RaftProperties properties = RatisProperties.forServer(config);
        RaftLogRepair.apply(properties);
        AtomicReference<RaftServer> built = new AtomicReference<>(); // the log-ends service reads it once built
        PeerReachability reachability = new PeerReachability();
        InstallNotices notices = new InstallNotices();
        server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(nodeId))
                .setProperties(properties)
                .setParameters(PeerReachability.putInto(RaftPort.serverParameters(built::get, notices), reachability))
                .setStateMachineRegistry(this::newStateMachine)
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        built.set(server);
        server.start();
        started = true;
        probes = new PeerProbes(probeProperties);
        if (config.leaderFailureDetection()) {
            failureDetector = new LeaderFailureDetector(server, probes);
            reachability.detectWith(failureDetector);
        }
        LocalServer local = new LocalServer(server);
        groups = new ReplicaGroups(local, replicas, config.dataDir(), nodeId, executors.close,
                peers -> Optional.ofNullable(failureDetector).ifPresent(d -> d.watch(peers)));
        LeaderFailureDetector detector = failureDetector;
        if (detector != null) {
            detector.alsoWatch(this::hibernatedPeers);
        }
        FollowerLiveness liveness = new FollowerLiveness(peer -> detector != null && detector.refusesConnections(peer));
        leadership = new LeadershipMover(local, replicas, nodeId, liveness);
        hibernation = new Hibernation(local, replicas, hibernationFiles, probes, notices,
                peer -> detector != null && detector.refusesConnections(peer), leadership, config);
        appender = new PartitionAppender(local, new RaftErrors(nodeId, config.requestTimeoutMs()), time, config, liveness,
                executors.submit);
        membership = new MembershipChanger(local, probeProperties, probes);
        maintenance = new LogMaintenance(local, replicas, hibernationFiles, r -> openFrozen(r.topicPartition()), config.dataDir());
        executors.watch.scheduleWithFixedDelay(new StalledFollowerWatch(server, replicas, probes,
                peer -> detector != null && detector.refusesConnections(peer)), 1, 1, TimeUnit.SECONDS);
        executors.watch.scheduleWithFixedDelay(() -> {
            try {
                groups.resumeElectionsOnceLed();
            } catch (RuntimeException e) {
                LOG.debug("node {}: resuming the elections of joined replicas failed (retrying): {}", nodeId, e.toString());
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
        if (config.scrubBytesPerSecond() > 0) {
            LogScrubber s = new LogScrubber(replicas, config.scrubBytesPerSecond(), config.scrubIntervalMs(),
                    r -> openFrozen(r.topicPartition()), r -> hibernation.wake(r));
            scrubThread = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "rafka-scrub-" + nodeId);
                t.setDaemon(true);
                return t;
            });
            scrubThread.scheduleWithFixedDelay(() -> {
                try {
                    s.tick();
                } catch (RuntimeException e) {
                    LOG.warn("log scrub failed (next one in a second): {}", e.toString());
                }
            }, 1, 1, TimeUnit.SECONDS);
            scrubber = s;
        }
        LOG.info("Raft node {} listening on {} with {} partition replicas", nodeId, config.address().hostPort(), replicas.size());
    }

    /** Adds a listener to the partition events of this node (see {@link PartitionListener} for the rules). */
    public void addListener(PartitionListener listener) {
        listeners.add(listener);
    }

    /**
     * Adds a listener told, on the applying thread, each time records are committed to a local replica (its
     * high watermark moved). It must be quick and must not block: the broker uses it to wake fetches.
     */
    public void setAppendListener(Consumer<TopicPartition> listener) {
        Objects.requireNonNull(listener);
        addListener(new PartitionListener() {
            @Override
            public void onCommittedAppend(TopicPartition tp) {
                listener.accept(tp);
            }
        });
    }

    public NodeAddress address() {
        return config.address();
    }

    public RaftNodeConfig config() {
        return config;
    }

    /** Whether a replica of the partition is hosted here (cheap: no copy of the partition set). */
    public boolean hosts(TopicPartition tp) {
        return replicas.contains(tp);
    }

    public Set<TopicPartition> partitions() {
        return replicas.partitions();
    }

    /**
     * The partitions whose Raft group is open here (not hibernated): only these can have a leader on this node.
     * Cheap to ask often with thousands of hibernated replicas.
     */
    public List<TopicPartition> openPartitions() {
        List<TopicPartition> open = new ArrayList<>();
        for (Replica r : replicas.replicas()) {
            if (r.lifecycle() == ReplicaRegistry.Lifecycle.OPEN) {
                open.add(r.topicPartition());
            }
        }
        return open;
    }

    /** What a hosted partition replica was created as (topic id, replicas), if it is hosted here. */
    public Optional<PartitionSpec> spec(TopicPartition tp) {
        return Optional.ofNullable(replicas.get(tp)).map(Replica::spec);
    }

    private StateMachine newStateMachine(RaftGroupId groupId) {
        Replica replica = replicas.get(groupId);
        // A peer that woke a new partition may ask this node to open it a moment before this broker created its
        // (hibernated) replica: wait a little for it rather than fail the opening.
        for (int waited = 0; replica == null && started && waited < UNKNOWN_GROUP_WAIT_MS; waited += 20) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            replica = replicas.get(groupId);
        }
        if (replica == null) {
            throw new IllegalStateException("node " + nodeId + " has Raft storage for group " + groupId
                    + " but no partition folder claims it");
        }
        TopicPartition tp = replica.topicPartition();
        try {
            Path setAside = hibernationFiles.setAsideGroupDir(groupId).resolve("current");
            if (Files.isDirectory(setAside)) {
                // Set aside at the start, before the start's repair of every group's log (a crash may have torn it):
                // repaired where it waits, so a repair that fails leaves it there for the next opening to repair.
                RaftLogRepair.repair(setAside, SizeInBytes.valueOf(config.raftWriteBufferBytes()));
            }
            Hibernation.opening(replica, hibernationFiles);
            Path current = hibernationFiles.activeGroupDir(groupId).resolve("current");
            // A division reopened after its log failed (a full disk) may have lost its term and vote file meanwhile.
            RaftLogRepair.repairMetadata(current, SizeInBytes.valueOf(config.raftWriteBufferBytes()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot open the replica of " + tp, e);
        }
        PartitionStateMachine sm = new PartitionStateMachine(tp, config.dataDir().resolve(tp.dirName()), config, time, executors,
                this::newClient, () -> halting, events(tp));
        sm.initialLogConfig(replica.logConfig());
        replica.stateMachine(sm);
        return sm;
    }

    private PartitionEvents events(TopicPartition tp) {
        PartitionEvents forListeners = listeners.forPartition(tp);
        return new PartitionEvents() {
            @Override
            public void leaderReady() {
                forListeners.leaderReady();
            }

            @Override
            public void notLeader() {
                forListeners.notLeader();
            }

            @Override
            public void committed() {
                forListeners.committed();
            }

            @Override
            public void logFailed(Throwable cause) {
                logFailures.incrementAndGet();
                Replica replica = replicas.get(tp);
                if (replica != null) {
                    replica.logFailedNanos = System.nanoTime();
                }
            }

            @Override
            public void hibernateApplied(long term, long index) {
                Hibernation h = hibernation;
                if (h != null) {
                    h.applied(tp, term, index);
                }
            }
        };
    }

    /** The other replicas' servers of the partitions hibernated here (one entry per server). */
    private java.util.Collection<org.apache.ratis.protocol.RaftPeer> hibernatedPeers() {
        Set<NodeAddress> servers = new java.util.HashSet<>();  // a few brokers, however many partitions
        for (Replica r : replicas.replicas()) {
            if (r.lifecycle() != ReplicaRegistry.Lifecycle.OPEN) {
                servers.addAll(r.spec().replicas());
            }
        }
        return servers.stream().filter(a -> !a.id().equals(nodeId)).map(MembershipChanger::peer).toList();
    }

    /**
     * A client for one copy of records (a repair from any replica, a catch-up from the leader). Its retries are
     * bounded: Ratis's default retries a failed call for ever without a pause, so a copy from a replica that died
     * spun on its refused connection and never moved on to another source (nor freed its catch-up thread).
     */
    private RaftClient newClient(RaftGroup group, RaftPeerId leader) {
        return RaftClient.newBuilder().setRaftGroup(group).setLeaderId(leader).setProperties(clientProperties)
                .setRetryPolicy(RatisProperties.COPY_RETRIES).build();
    }

    /** {@link #newClient} for a replica of {@code tp} here, asking {@code source} (for tests). */
    RaftClient copyClient(TopicPartition tp, NodeAddress source) {
        Replica replica = replicas.get(tp);
        if (replica == null) {
            throw new IllegalArgumentException(tp + " has no replica here");
        }
        return newClient(RaftGroup.valueOf(replica.groupId(), replica.spec().replicas().stream()
                .map(MembershipChanger::peer).toList()), RaftPeerId.valueOf(source.id()));
    }

    /**
     * Starts hosting a replica of a partition and joins its Raft group. Idempotent: adding a partition that
     * is already here succeeds. Every replica must be added on its own node.
     */
    public CompletableFuture<Void> createPartition(PartitionSpec spec) {
        return groups.create(spec);
    }

    /**
     * Like {@link #createPartition(PartitionSpec)}, but for a partition nobody has written yet: with
     * {@code hibernated} the replica only gets its folder and files, and its Raft group opens on the first write
     * ({@link Hibernation}), so creating many partitions costs no threads.
     */
    public CompletableFuture<Void> createPartition(PartitionSpec spec, boolean hibernated) {
        return createPartition(spec, hibernated, false);
    }

    /**
     * {@link #createPartition(PartitionSpec, boolean)}; {@code joining}: the partition's group runs elsewhere already
     * (a reassignment gave this node a replica, or its data was lost), so the new member stands for election only once
     * it has heard from a leader ({@link ReplicaGroups#create(PartitionSpec, boolean)}).
     */
    public CompletableFuture<Void> createPartition(PartitionSpec spec, boolean hibernated, boolean joining) {
        if (!hibernated || replicas.contains(spec.topicPartition())) {
            return groups.create(spec, joining);
        }
        return groups.createHibernated(spec, hibernationFiles);
    }

    /** Stops hosting a partition replica and deletes its Raft storage and, if asked, its log. */
    public CompletableFuture<Void> removePartition(TopicPartition tp, boolean deleteData) {
        return groups.remove(tp, deleteData, hibernationFiles);
    }

    /**
     * Moves a hosted partition to the replicas of {@code spec} (same topic id): this replica records the new
     * list, and if it leads the partition it changes the Raft group's membership to match
     * ({@link MembershipChanger}). Callers call again until the future yields true.
     *
     * @return true once the group's members are exactly the new replicas; false while the change is under
     *         way, or when this replica does not lead and the leader has not applied it yet
     */
    public CompletableFuture<Boolean> updateReplicas(PartitionSpec spec) {
        TopicPartition tp = spec.topicPartition();
        Replica replica = replicas.get(tp);
        if (replica == null || !replica.spec().topicId().equals(spec.topicId())) {
            return CompletableFuture.failedFuture(new UnknownTopicOrPartitionException("partition " + tp
                    + " (topic id " + spec.topicId() + ") is not hosted on node " + nodeId));
        }
        try {
            membership.assigned(replica.groupId());
            if (!replica.spec().replicas().equals(spec.replicas())) {
                if (spec.replicas().stream().anyMatch(a -> a.id().equals(nodeId))) {
                    PartitionMetadataFile.write(config.dataDir(), spec);
                }
                replica.spec(spec);
                replica.membershipChangePending = true;
            }
            if (replica.lifecycle() != ReplicaRegistry.Lifecycle.OPEN) {
                if (!replica.membershipChangePending) {
                    return CompletableFuture.completedFuture(true);  // it hibernated with these members
                }
                // A hibernated group changes members only while open: wake it; its leader changes them.
                hibernation.wake(replica);
                return CompletableFuture.completedFuture(false);
            }
            return membership.change(replica.groupId(), spec).thenApply(done -> {
                if (done) {
                    replica.membershipChangePending = false;
                }
                return done;
            });
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Whether this replica, no longer in {@code spec}'s replicas, may leave its partition's group: the group's leader
     * runs it without this replica, committed ({@link MembershipChanger#dropped}); it asks the members of
     * {@code spec} and of the group as this replica knows it, {@code likelyLeader} (an id, or null) first, until one
     * answers as the leader. Blocks for at most a few probe calls.
     */
    public boolean droppedFromGroup(PartitionSpec spec, String likelyLeader) throws IOException {
        Replica replica = replicas.require(spec.topicPartition());
        Map<String, RaftPeer> ask = new LinkedHashMap<>();
        spec.replicas().stream().filter(a -> a.id().equals(likelyLeader)).forEach(a -> ask.put(a.id(), MembershipChanger.peer(a)));
        spec.replicas().forEach(a -> ask.putIfAbsent(a.id(), MembershipChanger.peer(a)));
        replica.spec().replicas().forEach(a -> ask.putIfAbsent(a.id(), MembershipChanger.peer(a)));
        return membership.dropped(replica.groupId(), ask.values(), committedHere(replica));
    }

    /** The commit index of this replica's Raft member; -1 while it cannot be read (a closed division). */
    private long committedHere(Replica replica) {
        HibernationFiles.Frozen frozen = Hibernation.frozen(replica);
        if (frozen != null) {
            return frozen.index();
        }
        try {
            return server.getDivision(replica.groupId()).getRaftLog().getLastCommittedIndex();
        } catch (IOException | RuntimeException e) {
            return -1;  // closed or not running: unknown, so no leader can be checked against it yet
        }
    }

    /** The members of a hosted partition's Raft group, as this replica knows them (for tests and tools). */
    public Set<String> groupMembers(TopicPartition tp) throws IOException {
        return membership.members(replicas.require(tp).groupId());
    }

    /**
     * Appends record batches to a partition through its Raft group. The future completes when the batches are
     * committed and applied (see {@link Acks}), or fails with a {@link RafkaException}: {@link NotLeaderException}
     * with the leader's id, {@link BusyException}, one carrying the error the state machine reported
     * (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER, CORRUPT_MESSAGE), NOT_ENOUGH_REPLICAS (this leader sees no live
     * majority: the write was refused before it entered the Raft log), REQUEST_TIMED_OUT (may still commit),
     * or UNKNOWN_SERVER_ERROR.
     *
     * <p>The batches are validated once here (as {@code RecordBatches.validateProduced} does: size, CRC, every
     * record) and copied once before this method returns, so the caller may reuse {@code batches} at once.
     * With {@link Acks#NONE} the future completes with {@link AppendResult#UNKNOWN} once the batches are in Raft's
     * hands: at once for an open replica, after the wake-up for a hibernated one (validated before it, so its errors
     * are answered).
     */
    public CompletableFuture<AppendResult> append(TopicPartition tp, ByteBuffer batches, Acks acks) {
        return append(tp, batches, acks, -1);
    }

    /**
     * {@link #append(TopicPartition, ByteBuffer, Acks)} in Raft term {@code requiredTerm} only (-1: any term): if
     * this node's term is another one when the entry gets its place in the log (leadership moved away and maybe
     * back since the caller read the partition's state), the append fails with NOT_LEADER and writes nothing. For
     * a writer whose writes depend on what it read in that term ({@link PartitionStatus#term()} read before).
     */
    public CompletableFuture<AppendResult> append(TopicPartition tp, ByteBuffer batches, Acks acks, long requiredTerm) {
        Replica replica = replicas.get(tp);
        if (replica == null) {
            return CompletableFuture.failedFuture(replicas.notHosted(tp));
        }
        CompletableFuture<Void> turn;
        CompletableFuture<Void> handedOver = new CompletableFuture<>();
        int size = batches.remaining();
        ByteBuffer copy = null;
        synchronized (replica.appendOrder()) {
            if (replica.waitingAppends().isDone() && Hibernation.admit(replica)) {
                return appender.append(replica, batches, acks, requiredTerm);
            }
            if (acks == Acks.NONE) {
                // Answered before the wake-up, so checked now (on the private copy: a check may rewrite a batch),
                // as an open replica checks before it answers: a bad batch is refused with its error (the producer
                // splits a batch too large and sends the good records again), not dropped after an answer that
                // said nothing, with the good records beside it.
                copy = ByteBuffer.allocate(size).put(batches.duplicate()).flip();
                try {
                    appender.checkBeforeWake(copy.duplicate(), replica.logConfig() != null ? replica.logConfig()
                            : config.logConfig());
                } catch (RafkaException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }
            // What waits for the wake-up counts against the partition's in-flight limit, as appends to an open
            // replica do: a partition that does not wake cannot gather copies without bound.
            BusyException busy = appender.reserve(replica, size);
            if (busy != null) {
                return CompletableFuture.failedFuture(busy);
            }
            // Hibernated, or appends that came before still wait for the wake-up: this one goes after them, in
            // call order (a producer's batches must reach the log in sequence order).
            turn = replica.waitingAppends();
            replica.waitingAppends(handedOver);
        }
        if (copy == null) {
            // The caller may reuse its buffer once this returns.
            copy = ByteBuffer.allocate(size).put(batches.duplicate()).flip();
        }
        ByteBuffer taken = copy;
        CompletableFuture<AppendResult> result = turn.thenCompose(x -> hibernation.wake(replica))
                .handle((v, e) -> {
                    try {
                        replica.inFlightBytes.addAndGet(-size);  // append() counts it again
                        if (e != null) {
                            return CompletableFuture.<AppendResult>failedFuture(e);
                        }
                        Hibernation.admit(replica);
                        return appender.append(replica, taken, acks, requiredTerm);
                    } finally {
                        handedOver.complete(null);
                    }
                })
                .thenCompose(f -> f);
        if (acks == Acks.NONE) {
            // Not answered with the outcome, but complete once the append is in Raft's hands (validated, counted
            // there) or failed: the caller holds its memory for the data until then.
            result.whenComplete((r, e) -> {
                if (e != null) {
                    LOG.debug("acks=0 append to hibernated {} failed: {}", tp, e.toString());
                }
            });
        }
        return result;
    }

    /**
     * Opens a hibernated partition's Raft group on its replicas and elects a leader, as a write would, without
     * writing; completes when a leader is known (here, or NOT_LEADER naming it).
     */
    public CompletableFuture<Void> wake(TopicPartition tp) {
        return hibernation.wake(replicas.require(tp));
    }

    /** Which partitions may hibernate when idle (the broker keeps its internal topics open); all by default. */
    public void hibernationFilter(java.util.function.Predicate<TopicPartition> eligible) {
        hibernation.eligible(eligible);
    }

    /** How many hosted replicas are hibernated now. */
    public int hibernatedCount() {
        int n = 0;
        for (Replica r : replicas.replicas()) {
            if (r.lifecycle() == ReplicaRegistry.Lifecycle.HIBERNATED) {
                n++;
            }
        }
        return n;
    }

    /**
     * A read of {@code tp} here found a damaged batch at {@code offset} (a consumer's decoded fetch checks each
     * batch's CRC): confirms it by reading up to {@code bytes} from there again and, if the partition has other
     * replicas, has this one cut at the damage and repaired from them, as the scrub would. Returns whether this
     * found damage not reported before.
     */
    public boolean damagedRead(TopicPartition tp, long offset, int bytes) {
        Replica replica = replicas.get(tp);
        if (replica != null && replica.lifecycle() == ReplicaRegistry.Lifecycle.HIBERNATED) {
            // A frozen log is not cut while its replica hibernates: wake the group, and the consumer's retry finds the
            // damage in the open replica, which then repairs.
            LOG.warn("{}: a read found a damaged batch at offset {} in the hibernated replica; waking it to repair", tp, offset);
            hibernation.wake(replica);
            return false;
        }
        if (replica == null || !LogScrubber.readBackDamaged(replica, offset, bytes)) {
            return false;
        }
        damagedReads.incrementAndGet();
        return true;
    }

    /**
     * How many times a partition replica's Raft log failed to write here (a full disk, an I/O error); each failure
     * stops that replica until it is reopened.
     */
    public long logFailures() {
        return logFailures.get();
    }

    /**
     * Partition replicas whose Raft log failed to write within the last {@value #FAILING_LOG_WINDOW_MS} ms, or that have
     * not been reopened since (they wait for disk space, or their reopen failed; a full disk fails a reopened replica
     * again at its next write).
     */
    public List<TopicPartition> replicasWithFailingLogs() {
        long now = System.nanoTime();
        List<TopicPartition> failing = new ArrayList<>();
        for (Replica r : replicas.replicas()) {
            long at = r.logFailedNanos;
            if (at == 0 || r.lifecycle() != ReplicaRegistry.Lifecycle.OPEN) {
                continue;
            }
            PartitionStateMachine sm = r.runningStateMachine();
            if (now - at < TimeUnit.MILLISECONDS.toNanos(FAILING_LOG_WINDOW_MS) || sm == null || sm.logFailure() != null) {
                failing.add(r.topicPartition());  // failed lately, or not (successfully) reopened since
            }
        }
        return failing;
    }

    /** Damaged batches that reads found here ({@link #damagedRead}) since the start. */
    public long damagedReads() {
        return damagedReads.get();
    }

    /** What the background scrub read and found since the start; zeros when it is off. */
    public LogScrubber.Counts scrubCounts() {
        LogScrubber s = scrubber;
        return s == null ? new LogScrubber.Counts(0, 0, 0) : s.counts();
    }

    /** Wake-ups and hibernations on this node since it started. */
    public Hibernation.Counts hibernationCounts() {
        return hibernation.counts();
    }

    /**
     * How long a hosted partition must take no append before it hibernates: {@code hibernateAfterMs}, longer for
     * a partition woken soon after it last hibernated (see {@link Hibernation#idleThresholdNanos}); Long.MAX_VALUE
     * when hibernation is off.
     */
    public long idleThresholdMs(TopicPartition tp) {
        long nanos = hibernation.idleThresholdNanos(replicas.require(tp));
        return nanos == Long.MAX_VALUE ? Long.MAX_VALUE : TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /**
     * Reads committed batches of a partition from this replica's log (up to its applied high watermark).
     * Callers serve clients from the leader.
     */
    public LogReadResult read(TopicPartition tp, long offset, int maxBytes) {
        return read(tp, offset, maxBytes, ReadBuffers.NEW);
    }

    /** {@link #read(TopicPartition, long, int)} into buffers from {@code buffers}. */
    public LogReadResult read(TopicPartition tp, long offset, int maxBytes, ReadBuffers buffers) {
        Replica replica = replicas.require(tp);
        HibernationFiles.Frozen frozen = Hibernation.frozen(replica);
        if (frozen != null) {
            try {
                return replica.frozenLog().read(() -> openFrozen(tp),
                        log -> log.read(offset, maxBytes, frozen.highWatermark(), buffers));
            } catch (FrozenLog.Sealed opening) {
                // woke since: read the open replica
            }
        }
        return running(replica).read(offset, maxBytes, buffers);
    }

    /** The replica's running state machine; a typed, retriable error while its group opens here. */
    private PartitionStateMachine running(Replica replica) {
        PartitionStateMachine sm = replica.runningStateMachine();
        if (sm == null) {
            if (replicas.get(replica.topicPartition()) != replica) {
                throw replicas.notHosted(replica.topicPartition());
            }
            throw new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "partition " + replica.topicPartition()
                    + " is opening on node " + nodeId + "; retry");
        }
        return sm;
    }

    /**
     * The first record at or after {@code timestampMs} below the high watermark, from this replica's log (the
     * frozen one while hibernated).
     */
    public Optional<io.rafka.log.TimestampAndOffset> offsetForTimestamp(TopicPartition tp, long timestampMs) {
        Replica replica = replicas.require(tp);
        HibernationFiles.Frozen frozen = Hibernation.frozen(replica);
        if (frozen != null) {
            try {
                return replica.frozenLog().read(() -> openFrozen(tp), log -> log.offsetForTimestamp(timestampMs))
                        .filter(f -> f.offset() < frozen.highWatermark());
            } catch (FrozenLog.Sealed opening) {
                // woke since: read the open replica
            }
        }
        PartitionStateMachine sm = running(replica);
        long hw = sm.applied().logEndOffset();
        return sm.log().offsetForTimestamp(timestampMs).filter(f -> f.offset() < hw);
    }

    private PartitionLog openFrozen(TopicPartition tp) {
        Replica replica = replicas.get(tp);
        LogConfig logConfig = replica == null || replica.logConfig() == null ? config.logConfig() : replica.logConfig();
        return PartitionLog.open(config.dataDir().resolve(tp.dirName()), logConfig, time);
    }

    /** Whether this replica's frozen log is open (reads of it while hibernated); for tests in this package only. */
    boolean frozenLogOpen(TopicPartition tp) {
        return replicas.require(tp).frozenLog().isOpen();
    }

    /** This node's Ratis division of {@code tp}; for fault-injection tests in this package only. */
    RaftServer.Division division(TopicPartition tp) throws IOException {
        return server.getDivision(replicas.require(tp).groupId());
    }

    /** Appends and Raft entries this node's partition leaders handed to Raft since it started. */
    public AppendCounts appendCounts() {
        return appender.counts();
    }

    /**
     * Appends that followers refused as not fitting their logs (Raft's INCONSISTENCY answer: they held those
     * entries already, or lacked the ones before), in the groups this node's Raft server leads (the metadata group
     * shares its id), since this node started (an earlier node of the same id in this JVM, as in tests, does not
     * count). A few follow a restart; a steady rise means a follower is not catching up.
     */
    public long followerRefusals() {
        return RatisMetricRegistries.followerRefusals(nodeId) - refusalsBefore;
    }

    /** This replica's view of the partition: leader, term, high watermark. */
    public PartitionStatus status(TopicPartition tp) {
        Replica replica = replicas.require(tp);
        HibernationFiles.Frozen frozen = Hibernation.frozen(replica);
        if (frozen != null) {
            return new PartitionStatus(Optional.of(suggestedLeader(replica, frozen)), false, frozen.term(), frozen.highWatermark(),
                    frozen.highWatermark(), frozen.logStartOffset(), frozen.index(), false, Optional.empty(), true);
        }
        try {
            DivisionInfo info = server.getDivision(replica.groupId()).getInfo();
            // The term before the role: "leader in term T" then holds for T, or T is over and a write bound to it
            // (append's requiredTerm) is refused. Read the other way round, a leader that lost and regained the
            // partition in between would pair the new term with the old term's readiness.
            long term = info.getCurrentTerm();
            RaftPeerId leader = info.getLeaderId();
            PartitionStateMachine sm = replica.runningStateMachine();
            if (sm == null) {
                throw new UnknownTopicOrPartitionException("the replica of " + tp + " on node " + nodeId
                        + " is opening its Raft group; it has no status yet");
            }
            AppliedState applied = sm.applied();
            return new PartitionStatus(Optional.ofNullable(leader).map(RaftPeerId::toString), info.isLeader() && info.isLeaderReady(),
                    term, applied.logEndOffset(), sm.logEndOffset(), applied.logStartOffset(), applied.index(), sm.repairing(),
                    Optional.ofNullable(sm.copyProgress()));
        } catch (IOException e) {
            throw new UnknownTopicOrPartitionException("partition " + tp + " is not running on node " + nodeId);
        }
    }

    /**
     * Where a hibernated partition's clients should go: every replica serves its frozen log and wakes the group
     * on a write, so the last leader if its server answers, else the first replica whose server does.
     */
    private String suggestedLeader(Replica replica, HibernationFiles.Frozen frozen) {
        java.util.function.Predicate<String> up = id -> id.equals(nodeId) || failureDetector == null
                || !failureDetector.refusesConnections(RaftPeerId.valueOf(id));
        if (!frozen.leader().isEmpty() && up.test(frozen.leader())
                && replica.spec().replicas().stream().anyMatch(a -> a.id().equals(frozen.leader()))) {
            return frozen.leader();
        }
        return replica.spec().replicas().stream().map(NodeAddress::id).filter(up).findFirst().orElse(nodeId);
    }

    /**
     * Where the local replica's Raft member stands, for the status page and diagnosis (not on a request's path: it
     * reads the Raft log under its lock): its division's Ratis life-cycle state, the last index it knows committed
     * and the last index in its Raft log, e.g. {@code RUNNING commit 1402 last 1402}; {@code HIBERNATED at 1402},
     * or {@code no division} while none is open here (closed for a full disk, opening).
     */
    public String raftMember(TopicPartition tp) {
        Replica replica = replicas.get(tp);
        if (replica == null) {
            return "not hosted";  // removed meanwhile
        }
        HibernationFiles.Frozen frozen = Hibernation.frozen(replica);
        if (frozen != null) {
            return "HIBERNATED at " + frozen.index();
        }
        try {
            RaftServer.Division d = server.getDivision(replica.groupId());
            TermIndex last = d.getRaftLog().getLastEntryTermIndex();
            return d.getInfo().getLifeCycleState() + " commit " + d.getRaftLog().getLastCommittedIndex() + " last "
                    + (last == null ? "none" : last.getIndex());
        } catch (IOException e) {
            return "no division";
        } catch (RuntimeException e) {
            return "unreadable (" + e.getMessage() + ")";  // a closed division's Raft log refuses reads
        }
    }

    /**
     * For a partition this node leads: how many followers have not answered the leader for {@code maxLagMs}
     * (dead, partitioned or stalled). 0 when this node does not lead it. A partition with lagging followers is
     * under-replicated: it commits only while a majority is left.
     */
    public int laggingFollowers(TopicPartition tp, long maxLagMs) {
        return laggingFollowerIds(tp, maxLagMs).size();
    }

    /** The node ids of those followers ({@link #laggingFollowers}); empty when this node does not lead {@code tp}. */
    public List<String> laggingFollowerIds(TopicPartition tp, long maxLagMs) {
        Replica replica = replicas.get(tp);
        if (replica == null || replica.lifecycle() == ReplicaRegistry.Lifecycle.HIBERNATED) {
            return List.of();
        }
        try {
            DivisionInfo info = server.getDivision(replica.groupId()).getInfo();
            if (!info.isLeader()) {
                return List.of();
            }
            List<String> lagging = new ArrayList<>();
            for (var follower : info.getRoleInfoProto().getLeaderInfo().getFollowerInfoList()) {
                if (follower.getLastRpcElapsedTimeMs() > maxLagMs) {
                    lagging.add(follower.getId().getId().toStringUtf8());
                }
            }
            return lagging;
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The partition log of a local replica, for tests and tools (read-only use). */
    public PartitionLog log(TopicPartition tp) {
        return replicas.requireRunning(tp).log();
    }

    /**
     * Applies a topic's log settings to the local replica of a partition (retention, segment size, ...). They
     * take effect on the next append, roll or retention pass. Returns false if the partition is not running here.
     */
    public boolean updateLogConfig(TopicPartition tp, LogConfig logConfig) {
        return maintenance.updateConfig(tp, logConfig);
    }

    /** Deletes expired segments of every local partition (retention.ms / retention.bytes); returns how many. */
    public int enforceRetention() {
        return maintenance.enforceRetention();
    }

    /**
     * Deletes this replica's closed segments of {@code tp} that hold only offsets below {@code offset} (never
     * beyond what it applied): for partitions whose owner rewrote all it still needs at or after {@code offset},
     * as the group coordinator does with its checkpoints. Local, like retention; returns how many were deleted.
     */
    public int deleteSegmentsBelow(TopicPartition tp, long offset) {
        return maintenance.deleteSegmentsBelow(tp, offset);
    }

    /**
     * Asks Ratis to snapshot a partition now (and so purge its Raft log) if this replica applied anything since its
     * last snapshot. Returns the snapshot index.
     */
    public long snapshot(TopicPartition tp) throws IOException {
        return maintenance.snapshot(tp);
    }

    /**
     * Controlled shutdown, first half: stops this node from standing for election in any of its groups and
     * hands the leadership of every partition it leads to another replica before the node stops, so the
     * successor leads at once (no election timeout) and clients are redirected by NOT_LEADER instead of timing
     * out on a dead node. Waits up to {@code timeoutMs}; returns how many partitions
     * still have this node as leader although they have other replicas (0 when all moved).
     */
    public int moveLeadershipsAway(long timeoutMs) {
        return leadership.moveAway(timeoutMs);
    }

    /**
     * Hands the leadership of every partition this node leads, but is not the preferred (first) replica of, to
     * the preferred replica, so leaders stay spread as the controller placed them after failovers and restarts.
     * Only to a preferred replica that is live and caught up, each hand-over bounded by the minimum election
     * timeout (writes pause while it is pending). Best effort, up to {@code timeoutMs}; returns how many
     * hand-overs were asked for.
     */
    public int electPreferredLeaders(long timeoutMs) {
        return electPreferredLeaders(timeoutMs, preferred -> true);
    }

    /** As {@link #electPreferredLeaders(long)}, only for partitions whose preferred replica {@code takesBack} names. */
    public int electPreferredLeaders(long timeoutMs, java.util.function.Predicate<String> takesBack) {
        return leadership.electPreferred(timeoutMs, takesBack);
    }

    /** Stops the node cleanly: every partition log is flushed and marked cleanly closed. */
    @Override
    public void close() throws IOException {
        try {
            executors.watch.shutdownNow();
            if (scrubThread != null) {
                // Not interrupted: an interrupt during a FileChannel read closes the segment's channel for good, and
                // the logs' own close (flush, clean-shutdown marker) follows. A tick reads a second's budget at most.
                scrubThread.shutdown();
                try {
                    if (!scrubThread.awaitTermination(5, TimeUnit.SECONDS)) {
                        LOG.warn("the log scrub did not stop within 5 s");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (hibernation != null) {
                hibernation.close();
            }
            if (failureDetector != null) {
                failureDetector.close();
            }
            server.close();
        } finally {
            executors.close();
            if (probes != null) {
                probes.close();
            }
        }
    }

    /**
     * Stops the node the way a crash would, for fault tests of in-process clusters: no snapshot on stop, no
     * flush, no clean-shutdown marker, so the next start runs log recovery and Raft replay.
     */
    public void halt() throws IOException {
        halting = true;
        close();
    }
}
