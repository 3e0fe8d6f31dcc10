package io.rafka.raft;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.log.LogReadResult;
import io.rafka.raft.internal.PartitionMessages;
import io.rafka.raft.internal.LeaderFailureDetector;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionStateMachine;
import io.rafka.raft.internal.RatisProperties;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.protocol.exceptions.ResourceUnavailableException;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * <p>Appends go to the local division in-process ({@code submitClientRequestAsync}): no loopback Raft
 * client. A replica that is not the leader fails appends with {@link NotLeaderException} naming the
 * leader. Each partition bounds the bytes of its appends awaiting commit and answers {@link BusyException}
 * above the bound.
 *
 * <p>On disk, under {@code dataDir}: {@code raft/} (Ratis storage: Raft logs and partition snapshots, one
 * folder per group) and one {@code <topic>-<partition>/} folder per partition log, which also holds a
 * {@code partition.metadata} file (topic id) so the node can find its partitions again after a restart.
 *
 * <p>Thread-safe.
 */
public final class RaftNode implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
    static final String PARTITION_METADATA_FILE = "partition.metadata";

    private final RaftNodeConfig config;
    private final Time time;
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();
    private final Map<RaftGroupId, Replica> byGroup = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Replica> byPartition = new ConcurrentHashMap<>();
    private final ExecutorService catchUpExecutor;
    /** Fsyncs partition logs while Ratis fsyncs its own logs (one partition flushes one at a time). */
    private final ExecutorService flushExecutor;
    private static final int FLUSH_THREADS = 8;
    /** Reads entries' bytes back from partition logs for lagging followers (off Ratis's interruptible threads). */
    private final ExecutorService readExecutor;
    private static final int READ_THREADS = 4;
    private final RaftProperties clientProperties;
    private final RaftProperties probeProperties;
    private volatile boolean halting;
    private volatile Consumer<TopicPartition> appendListener = tp -> { };
    private RaftServer server;
    private LeaderFailureDetector failureDetector;

    /** A partition hosted here. */
    private static final class Replica {
        volatile PartitionSpec spec;
        final RaftGroupId groupId;
        final AtomicLong inFlightBytes = new AtomicLong();
        volatile PartitionStateMachine stateMachine;

        Replica(PartitionSpec spec, RaftGroupId groupId) {
            this.spec = spec;
            this.groupId = groupId;
        }
    }

    private RaftNode(RaftNodeConfig config, Time time) {
        this.config = config;
        this.time = time;
        AtomicInteger threads = new AtomicInteger();
        this.catchUpExecutor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "rafka-catch-up-" + config.address().id() + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        AtomicInteger flushThreads = new AtomicInteger();
        this.flushExecutor = Executors.newFixedThreadPool(FLUSH_THREADS, r -> {
            Thread t = new Thread(r, "rafka-flush-" + config.address().id() + "-" + flushThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        AtomicInteger readThreads = new AtomicInteger();
        this.readExecutor = Executors.newFixedThreadPool(READ_THREADS, r -> {
            Thread t = new Thread(r, "rafka-replica-read-" + config.address().id() + "-" + readThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.clientProperties = RatisProperties.forClient(config);
        this.probeProperties = RatisProperties.forProbe(clientProperties);
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
        Files.createDirectories(config.dataDir());
        loadPartitionSpecs();
        server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(config.address().id()))
                .setProperties(RatisProperties.forServer(config))
                .setStateMachineRegistry(this::newStateMachine)
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        server.start();
        if (config.leaderFailureDetection()) {
            failureDetector = new LeaderFailureDetector(server, probeProperties);
        }
        LOG.info("Raft node {} listening on {} with {} partition replicas", config.address().id(),
                config.address().hostPort(), byGroup.size());
    }

    /** The Raft group of a partition: derived from the topic id (not the name) so a re-created topic gets new groups. */
    public static RaftGroupId groupId(UUID topicId, int partition) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes((topicId + "/" + partition).getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Sets the one listener told, on the applying thread, each time records are appended to a local replica
     * (its high watermark moved). It must be quick and must not block: the broker uses it to wake fetches.
     */
    public void setAppendListener(Consumer<TopicPartition> listener) {
        this.appendListener = Objects.requireNonNull(listener);
    }

    public NodeAddress address() {
        return config.address();
    }

    public RaftNodeConfig config() {
        return config;
    }

    /** Whether a replica of the partition is hosted here (cheap: no copy of the partition set). */
    public boolean hosts(TopicPartition tp) {
        return byPartition.containsKey(tp);
    }

    public Set<TopicPartition> partitions() {
        return Set.copyOf(byPartition.keySet());
    }

    /** What a hosted partition replica was created as (topic id, replicas), if it is hosted here. */
    public Optional<PartitionSpec> spec(TopicPartition tp) {
        return Optional.ofNullable(byPartition.get(tp)).map(r -> r.spec);
    }

    private StateMachine newStateMachine(RaftGroupId groupId) {
        Replica replica = byGroup.get(groupId);
        if (replica == null) {
            throw new IllegalStateException("node " + config.address().id() + " has Raft storage for group " + groupId
                    + " but no partition folder claims it");
        }
        PartitionStateMachine sm = new PartitionStateMachine(replica.spec.topicPartition(), partitionDir(replica.spec.topicPartition()),
                config.logConfig(), time, config.maxProducersPerPartition(),
                config.raftWriteBufferBytes() - 512, catchUpExecutor,
                flushExecutor, readExecutor, this::newClient, () -> halting, () -> appendListener.accept(replica.spec.topicPartition()));
        replica.stateMachine = sm;
        return sm;
    }

    private RaftClient newClient(RaftGroup group, RaftPeerId leader) {
        return RaftClient.newBuilder().setRaftGroup(group).setLeaderId(leader).setProperties(clientProperties).build();
    }

    private Path partitionDir(TopicPartition tp) {
        return config.dataDir().resolve(tp.dirName());
    }

    /**
     * Starts hosting a replica of a partition and joins its Raft group. Idempotent: adding a partition that
     * is already here succeeds. Every replica must be added on its own node.
     */
    public CompletableFuture<Void> createPartition(PartitionSpec spec) {
        TopicPartition tp = spec.topicPartition();
        RaftGroupId gid = groupId(spec.topicId(), tp.partition());
        if (spec.replicas().stream().noneMatch(a -> a.id().equals(config.address().id()))) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "node " + config.address().id() + " is not a replica of " + tp + ": " + spec.replicas()));
        }
        Replica existing = byPartition.get(tp);
        if (existing != null && !existing.groupId.equals(gid)) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    tp + " is already hosted here for another topic id (" + existing.spec.topicId() + ")"));
        }
        try {
            writePartitionMetadata(spec);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        Replica replica = byGroup.computeIfAbsent(gid, g -> new Replica(spec, g));
        byPartition.put(tp, replica);
        // All replicas get the same Ratis priority: Ratis hands leadership only to a peer of the highest
        // priority, which would forbid moving it off a preferred leader for a controlled shutdown. The preferred
        // (first) replica gets leadership back through electPreferredLeaders instead.
        List<RaftPeer> peers = spec.replicas().stream().map(RaftNode::peer).toList();
        RaftGroup group = RaftGroup.valueOf(gid, peers);
        if (failureDetector != null) {
            failureDetector.watch(peers);
        }
        GroupManagementRequest add = GroupManagementRequest.newAdd(clientId, server.getId(), callIds.incrementAndGet(), group, true);
        return send(add).handle((reply, error) -> {
            Throwable cause = unwrap(error != null ? error : reply.isSuccess() ? null : reply.getException());
            if (cause != null && !(cause instanceof AlreadyExistsException)) {
                // Forget it, so that the next attempt adds it again rather than taking it for hosted.
                byPartition.remove(tp, replica);
                byGroup.remove(gid, replica);
                throw new CompletionException(new IOException("adding " + tp + " on " + config.address().id() + " failed", cause));
            }
            return null;
        });
    }

    /** Stops hosting a partition replica and deletes its Raft storage and, if asked, its log. */
    public CompletableFuture<Void> removePartition(TopicPartition tp, boolean deleteData) {
        Replica replica = byPartition.remove(tp);
        if (replica == null) {
            return CompletableFuture.completedFuture(null);
        }
        byGroup.remove(replica.groupId);
        if (deleteData && replica.stateMachine != null) {
            replica.stateMachine.deleteOnClose();
        }
        GroupManagementRequest remove = GroupManagementRequest.newRemove(clientId, server.getId(), callIds.incrementAndGet(),
                replica.groupId, deleteData, false);
        return send(remove).handle((reply, error) -> {
            Throwable cause = unwrap(error != null ? error : reply.isSuccess() ? null : reply.getException());
            if (cause != null && !(cause instanceof GroupMismatchException)) {
                throw new CompletionException(new IOException("removing " + tp + " failed", cause));
            }
            if (deleteData) {
                deleteTree(partitionDir(tp));
            }
            return null;
        });
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private CompletableFuture<RaftClientReply> send(GroupManagementRequest request) {
        return server.groupManagementAsync(request);
    }

    /**
     * Moves a hosted partition to the replicas of {@code spec} (same topic id): this replica records the new
     * list, and if it leads the partition it changes the Raft group's membership to match (Ratis runs a Raft
     * configuration change: new members catch up first, then old and new majorities agree). One change
     * runs at a time per group; callers call again until the future yields true.
     *
     * @return true once the group's members are exactly the new replicas; false while the change is under
     *         way, or when this replica does not lead and the leader has not applied it yet
     */
    public CompletableFuture<Boolean> updateReplicas(PartitionSpec spec) {
        TopicPartition tp = spec.topicPartition();
        Replica replica = byPartition.get(tp);
        if (replica == null || !replica.spec.topicId().equals(spec.topicId())) {
            return CompletableFuture.failedFuture(new UnknownTopicOrPartitionException("partition " + tp
                    + " (topic id " + spec.topicId() + ") is not hosted on node " + config.address().id()));
        }
        try {
            if (!replica.spec.replicas().equals(spec.replicas())) {
                if (spec.replicas().stream().anyMatch(a -> a.id().equals(config.address().id()))) {
                    writePartitionMetadata(spec);
                }
                replica.spec = spec;
            }
            var division = server.getDivision(replica.groupId);
            var conf = division.getRaftConf();
            Set<String> current = new java.util.TreeSet<>();
            conf.getCurrentPeers().forEach(p -> current.add(p.getId().toString()));
            Set<String> wanted = new java.util.TreeSet<>();
            spec.replicas().forEach(a -> wanted.add(a.id()));
            boolean stable = conf.getPreviousPeers().isEmpty();
            if (stable && current.equals(wanted)) {
                return CompletableFuture.completedFuture(true);
            }
            if (!stable || !division.getInfo().isLeader()) {
                return CompletableFuture.completedFuture(false);
            }
            List<RaftPeer> peers = spec.replicas().stream().map(RaftNode::peer).toList();
            for (RaftPeer peer : peers) {
                if (!current.contains(peer.getId().toString()) && !runsGroup(peer, replica.groupId, peers)) {
                    return CompletableFuture.completedFuture(false);
                }
            }
            LOG.info("{}: changing replicas from {} to {}", tp, current, wanted);
            return server.setConfigurationAsync(new org.apache.ratis.protocol.SetConfigurationRequest(clientId, server.getId(),
                            replica.groupId, callIds.incrementAndGet(), peers))
                    .handle((reply, error) -> {
                        Throwable cause = unwrap(error != null ? error : reply.isSuccess() ? null : reply.getException());
                        if (cause != null) {
                            LOG.info("{}: replica change to {} not done yet: {}", tp, wanted, cause.toString());
                            return false;
                        }
                        return true;
                    });
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Whether a new member already runs the partition's group. The change must wait for that: Ratis would
     * otherwise send it the leader's log while its group is still starting, and that race fails the start.
     */
    private boolean runsGroup(RaftPeer peer, RaftGroupId groupId, List<RaftPeer> peers) {
        try (RaftClient client = RaftClient.newBuilder().setRaftGroup(RaftGroup.valueOf(groupId, peers))
                .setProperties(probeProperties).build()) {
            return client.getGroupManagementApi(peer.getId()).info(groupId).isSuccess();
        } catch (IOException | RuntimeException e) {
            LOG.debug("{} does not run group {} yet: {}", peer.getId(), groupId, e.toString());
            return false;
        }
    }

    /** The members of a hosted partition's Raft group, as this replica knows them (for tests and tools). */
    public Set<String> groupMembers(TopicPartition tp) throws IOException {
        Replica replica = byPartition.get(tp);
        if (replica == null) {
            throw new UnknownTopicOrPartitionException("partition " + tp + " is not hosted on node " + config.address().id());
        }
        Set<String> ids = new java.util.TreeSet<>();
        server.getDivision(replica.groupId).getRaftConf().getCurrentPeers().forEach(p -> ids.add(p.getId().toString()));
        return ids;
    }

    /**
     * Appends record batches to a partition through its Raft group. The future completes when the batches are
     * committed and applied (see {@link Acks}), or fails with a {@link RafkaException}: {@link NotLeaderException}
     * with the leader's id, {@link BusyException}, or one carrying the error the state machine reported
     * (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER, CORRUPT_MESSAGE) or REQUEST_TIMED_OUT.
     *
     * <p>The caller validates batches first ({@code RecordBatches.validateProduced}); the leader's state machine
     * checks them again before they enter the Raft log.
     */
    public CompletableFuture<AppendResult> append(TopicPartition tp, ByteBuffer batches, Acks acks) {
        Replica replica = byPartition.get(tp);
        if (replica == null) {
            return CompletableFuture.failedFuture(new UnknownTopicOrPartitionException("partition " + tp
                    + " is not hosted on node " + config.address().id()));
        }
        int size = batches.remaining();
        long inFlight = replica.inFlightBytes.addAndGet(size);
        if (inFlight > config.maxInFlightBytesPerPartition() && inFlight > size) {
            replica.inFlightBytes.addAndGet(-size);
            return CompletableFuture.failedFuture(new BusyException("partition " + tp + " has " + (inFlight - size)
                    + " bytes awaiting commit (limit " + config.maxInFlightBytesPerPartition() + ")"));
        }
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(clientId)
                .setServerId(server.getId())
                .setGroupId(replica.groupId)
                .setCallId(callIds.incrementAndGet())
                .setMessage(Message.valueOf(UnsafeByteOperations.unsafeWrap(PartitionMessages.append(time.milliseconds(), batches))))
                .setType(RaftClientRequest.writeRequestType())
                .build();
        CompletableFuture<RaftClientReply> submitted;
        try {
            submitted = server.submitClientRequestAsync(request);
        } catch (IOException e) {
            replica.inFlightBytes.addAndGet(-size);
            return CompletableFuture.failedFuture(mapError(tp, e));
        }
        CompletableFuture<AppendResult> result = submitted
                .orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS)
                .handle((reply, error) -> {
                    replica.inFlightBytes.addAndGet(-size);
                    if (error != null) {
                        throw new CompletionException(mapError(tp, error));
                    }
                    return toResult(tp, reply);
                });
        if (acks == Acks.NONE) {
            result.whenComplete((r, e) -> {
                if (e != null) {
                    LOG.debug("acks=0 append to {} failed: {}", tp, e.toString());
                }
            });
            return CompletableFuture.completedFuture(AppendResult.UNKNOWN);
        }
        return result;
    }

    private AppendResult toResult(TopicPartition tp, RaftClientReply reply) {
        if (reply.isSuccess()) {
            AppendReply r = AppendReply.decode(reply.getMessage().getContent().asReadOnlyByteBuffer());
            if (r.error() != ErrorCode.NONE) {
                throw new CompletionException(new RafkaException(r.error(), "append to " + tp + " rejected: " + r.error()));
            }
            return new AppendResult(r.baseOffset(), r.lastOffset(), r.logAppendTimeMs());
        }
        org.apache.ratis.protocol.exceptions.NotLeaderException notLeader = reply.getNotLeaderException();
        if (notLeader != null) {
            RaftPeer suggested = notLeader.getSuggestedLeader();
            throw new CompletionException(new NotLeaderException("node " + config.address().id() + " does not lead " + tp,
                    suggested == null ? null : suggested.getId().toString()));
        }
        throw new CompletionException(mapError(tp, reply.getException()));
    }

    private RafkaException mapError(TopicPartition tp, Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof StateMachineException && e.getCause() instanceof RafkaException r) {
            return r;  // refused by the state machine before it reached the Raft log (bad batch, sequence error)
        }
        if (e instanceof RafkaException r) {
            return r;
        }
        if (e instanceof org.apache.ratis.protocol.exceptions.NotLeaderException nle) {
            RaftPeer suggested = nle.getSuggestedLeader();
            return new NotLeaderException("node " + config.address().id() + " does not lead " + tp,
                    suggested == null ? null : suggested.getId().toString());
        }
        if (e instanceof LeaderNotReadyException) {
            return new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "the leader of " + tp + " is not ready yet");
        }
        if (e instanceof ResourceUnavailableException) {
            return new BusyException("Raft queue of " + tp + " is full: " + e.getMessage());
        }
        if (e instanceof GroupMismatchException) {
            return new UnknownTopicOrPartitionException("partition " + tp + " is not hosted on node " + config.address().id());
        }
        if (e instanceof TimeoutException) {
            return new RafkaException(ErrorCode.REQUEST_TIMED_OUT, "append to " + tp + " not committed within "
                    + config.requestTimeoutMs() + " ms; it may still commit");
        }
        return new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "append to " + tp + " failed: " + e);
    }

    /**
     * Reads committed batches of a partition from this replica's log (up to its applied high watermark).
     * Callers serve clients from the leader.
     */
    public LogReadResult read(TopicPartition tp, long offset, int maxBytes) {
        return stateMachine(tp).read(offset, maxBytes);
    }

    /** This replica's view of the partition: leader, term, high watermark. */
    public PartitionStatus status(TopicPartition tp) {
        Replica replica = byPartition.get(tp);
        if (replica == null) {
            throw new UnknownTopicOrPartitionException("partition " + tp + " is not hosted on node " + config.address().id());
        }
        try {
            DivisionInfo info = server.getDivision(replica.groupId).getInfo();
            RaftPeerId leader = info.getLeaderId();
            AppliedState applied = stateMachine(tp).applied();
            return new PartitionStatus(Optional.ofNullable(leader).map(RaftPeerId::toString), info.isLeader() && info.isLeaderReady(),
                    info.getCurrentTerm(), applied.logEndOffset(), applied.logStartOffset(), applied.index());
        } catch (IOException e) {
            throw new UnknownTopicOrPartitionException("partition " + tp + " is not running on node " + config.address().id());
        }
    }

    /**
     * For a partition this node leads: how many followers have not answered the leader for {@code maxLagMs}
     * (dead, partitioned or stalled). 0 when this node does not lead it. A partition with lagging followers is
     * under-replicated: it commits only while a majority is left.
     */
    public int laggingFollowers(TopicPartition tp, long maxLagMs) {
        Replica replica = byPartition.get(tp);
        if (replica == null) {
            return 0;
        }
        try {
            DivisionInfo info = server.getDivision(replica.groupId).getInfo();
            if (!info.isLeader()) {
                return 0;
            }
            int lagging = 0;
            for (var follower : info.getRoleInfoProto().getLeaderInfo().getFollowerInfoList()) {
                if (follower.getLastRpcElapsedTimeMs() > maxLagMs) {
                    lagging++;
                }
            }
            return lagging;
        } catch (IOException e) {
            return 0;
        }
    }

    /** The partition log of a local replica, for tests and tools (read-only use). */
    public io.rafka.log.PartitionLog log(TopicPartition tp) {
        return stateMachine(tp).log();
    }

    private PartitionStateMachine stateMachine(TopicPartition tp) {
        Replica replica = byPartition.get(tp);
        PartitionStateMachine sm = replica == null ? null : replica.stateMachine;
        if (sm == null || sm.log() == null) {
            throw new UnknownTopicOrPartitionException("partition " + tp + " is not hosted on node " + config.address().id());
        }
        return sm;
    }

    /**
     * Applies a topic's log settings to the local replica of a partition (retention, segment size, ...). They
     * take effect on the next append, roll or retention pass. Returns false if the partition is not running here.
     */
    public boolean updateLogConfig(TopicPartition tp, io.rafka.log.LogConfig logConfig) {
        Replica replica = byPartition.get(tp);
        PartitionStateMachine sm = replica == null ? null : replica.stateMachine;
        if (sm == null || sm.log() == null) {
            return false;
        }
        if (!sm.log().config().equals(logConfig)) {
            sm.log().updateConfig(logConfig);
            LOG.info("{}: log settings now {}", tp, logConfig);
        }
        return true;
    }

    /** Deletes expired segments of every local partition (retention.ms / retention.bytes); returns how many. */
    public int enforceRetention() {
        int deleted = 0;
        for (Replica replica : byPartition.values()) {
            PartitionStateMachine sm = replica.stateMachine;
            if (sm != null && sm.log() != null) {
                try {
                    sm.reconcileTail();
                    deleted += sm.log().deleteExpiredSegments(sm.applied().logEndOffset());
                } catch (RafkaException e) {
                    LOG.warn("{}: retention failed: {}", replica.spec.topicPartition(), e.getMessage());
                }
            }
        }
        return deleted;
    }

    /** Asks Ratis to snapshot a partition now (and so purge its Raft log). Returns the snapshot index. */
    public long snapshot(TopicPartition tp) throws IOException {
        Replica replica = byPartition.get(tp);
        if (replica == null) {
            throw new UnknownTopicOrPartitionException("partition " + tp + " is not hosted here");
        }
        RaftClientReply reply = server.snapshotManagement(org.apache.ratis.protocol.SnapshotManagementRequest.newCreate(
                clientId, server.getId(), replica.groupId, callIds.incrementAndGet(), 30_000, 0));
        if (!reply.isSuccess()) {
            throw new IOException("snapshot of " + tp + " failed", reply.getException());
        }
        return reply.getLogIndex();
    }

    private static RaftPeer peer(NodeAddress a) {
        return RaftPeer.newBuilder().setId(a.id()).setAddress(a.hostPort()).build();
    }

    private void writePartitionMetadata(PartitionSpec spec) throws IOException {
        Path dir = partitionDir(spec.topicPartition());
        Files.createDirectories(dir);
        StringBuilder replicas = new StringBuilder();
        for (NodeAddress a : spec.replicas()) {
            replicas.append(replicas.length() == 0 ? "" : ",").append(a.id()).append('@').append(a.hostPort());
        }
        String text = "version: 0\ntopic_id: " + spec.topicId() + "\nreplicas: " + replicas + "\n";
        Path tmp = dir.resolve(PARTITION_METADATA_FILE + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(PARTITION_METADATA_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private void loadPartitionSpecs() throws IOException {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(config.dataDir(), Files::isDirectory)) {
            for (Path dir : dirs) {
                Path meta = dir.resolve(PARTITION_METADATA_FILE);
                if (!Files.exists(meta)) {
                    continue;
                }
                TopicPartition tp = TopicPartition.fromDirName(dir.getFileName().toString());
                UUID topicId = null;
                List<NodeAddress> replicas = List.of();
                for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
                    if (line.startsWith("topic_id: ")) {
                        topicId = UUID.fromString(line.substring("topic_id: ".length()).trim());
                    } else if (line.startsWith("replicas: ")) {
                        replicas = parseReplicas(line.substring("replicas: ".length()).trim());
                    }
                }
                if (topicId == null || replicas.isEmpty()) {
                    LOG.warn("Ignoring {}: incomplete partition metadata", meta);
                    continue;
                }
                PartitionSpec spec = new PartitionSpec(tp, topicId, replicas);
                Replica replica = new Replica(spec, groupId(topicId, tp.partition()));
                byGroup.put(replica.groupId, replica);
                byPartition.put(tp, replica);
            }
        }
    }

    private static List<NodeAddress> parseReplicas(String text) {
        return java.util.Arrays.stream(text.split(",")).map(s -> {
            int at = s.indexOf('@');
            int colon = s.lastIndexOf(':');
            return new NodeAddress(s.substring(0, at), s.substring(at + 1, colon), Integer.parseInt(s.substring(colon + 1)));
        }).toList();
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /**
     * Controlled shutdown, first half: stops this node from standing for election in any of its groups and
     * hands the leadership of every partition it leads to another replica before the node stops, so the
     * successor leads at once (no election timeout) and clients are redirected by NOT_LEADER instead of timing
     * out on a dead node. Waits up to {@code timeoutMs}; returns how many partitions
     * still have this node as leader although they have other replicas (0 when all moved).
     */
    public int moveLeadershipsAway(long timeoutMs) {
        List<CompletableFuture<?>> pending = new java.util.ArrayList<>();
        for (Replica replica : byPartition.values()) {
            pending.add(server.leaderElectionManagementAsync(org.apache.ratis.protocol.LeaderElectionManagementRequest.newPause(
                    clientId, server.getId(), replica.groupId, callIds.incrementAndGet())));
        }
        joinQuietly(pending, timeoutMs);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int stillLeading = 0;
        for (int attempt = 0; ; attempt++) {
            pending.clear();
            stillLeading = 0;
            for (Replica replica : byPartition.values()) {
                try {
                    if (!server.getDivision(replica.groupId).getInfo().isLeader()) {
                        continue;
                    }
                    List<NodeAddress> others = replica.spec.replicas().stream()
                            .filter(a -> !a.id().equals(config.address().id())).toList();
                    if (others.isEmpty()) {
                        continue; // a single-replica partition has nowhere to go
                    }
                    stillLeading++;
                    RaftPeerId target = RaftPeerId.valueOf(others.get(attempt % others.size()).id());
                    long remainingMs = Math.max(100, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                    pending.add(server.transferLeadershipAsync(new org.apache.ratis.protocol.TransferLeadershipRequest(
                            clientId, server.getId(), replica.groupId, callIds.incrementAndGet(), target,
                            Math.min(remainingMs, 5_000))));
                } catch (IOException e) {
                    LOG.debug("{}: cannot move leadership: {}", replica.spec.topicPartition(), e.toString());
                }
            }
            if (stillLeading == 0 || System.nanoTime() > deadline) {
                break;
            }
            joinQuietly(pending, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        LOG.info("node {}: moved partition leaderships away; {} still led here", config.address().id(), stillLeading);
        return stillLeading;
    }

    /**
     * Hands the leadership of every partition this node leads, but is not the preferred (first) replica of, to
     * the preferred replica, as Kafka's preferred-leader election does, so leaders stay spread as the controller
     * placed them after failovers and restarts. Best effort (Ratis waits for the target to catch up, up to
     * {@code timeoutMs}); returns how many hand-overs were asked for.
     */
    public int electPreferredLeaders(long timeoutMs) {
        List<CompletableFuture<?>> pending = new java.util.ArrayList<>();
        for (Replica replica : byPartition.values()) {
            String preferred = replica.spec.replicas().get(0).id();
            if (preferred.equals(config.address().id())) {
                continue;
            }
            try {
                if (server.getDivision(replica.groupId).getInfo().isLeader()) {
                    pending.add(server.transferLeadershipAsync(new org.apache.ratis.protocol.TransferLeadershipRequest(
                            clientId, server.getId(), replica.groupId, callIds.incrementAndGet(),
                            RaftPeerId.valueOf(preferred), timeoutMs)));
                }
            } catch (IOException e) {
                LOG.debug("{}: cannot hand leadership to {}: {}", replica.spec.topicPartition(), preferred, e.toString());
            }
        }
        joinQuietly(pending, timeoutMs);
        return pending.size();
    }

    private static void joinQuietly(List<CompletableFuture<?>> futures, long timeoutMs) {
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // Best effort: what did not move in time fails over by election.
        }
    }

    /** Controlled shutdown: moves leaderships away (up to {@code timeoutMs}), then closes cleanly. */
    public void shutdown(long timeoutMs) throws IOException {
        moveLeadershipsAway(timeoutMs);
        close();
    }

    /** Stops the node cleanly: every partition log is flushed and marked cleanly closed. */
    @Override
    public void close() throws IOException {
        try {
            if (failureDetector != null) {
                failureDetector.close();
            }
            server.close();
        } finally {
            catchUpExecutor.shutdownNow();
            flushExecutor.shutdownNow();
            readExecutor.shutdownNow();
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
