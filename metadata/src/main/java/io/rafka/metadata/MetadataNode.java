package io.rafka.metadata;

import io.rafka.common.NotControllerException;
import io.rafka.common.RafkaException;
import io.rafka.common.ErrorCode;
import io.rafka.raft.DiskRoom;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.RaftLogRepair;
import io.rafka.raft.StoppedElections;
import org.apache.ratis.client.RaftClientConfigKeys;
import io.rafka.raft.internal.LeaderFailureDetector;
import io.rafka.raft.internal.PeerReachability;
import io.rafka.raft.internal.RaftPort;
import io.rafka.raft.internal.RatisProperties;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A broker's member of the metadata Raft group (the replacement for ZooKeeper). It runs its own Ratis server
 * on its own port and folder, separate from the partition groups, so it can be tuned on its own. Its leader is
 * the controller. Every member holds the full {@link MetadataImage}, so any broker answers metadata requests
 * locally.
 */
public final class MetadataNode implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(MetadataNode.class);
    /** The one metadata group of a cluster. */
    public static final RaftGroupId GROUP_ID = RaftGroupId.valueOf(UUID.fromString("00000000-0000-0000-0000-0000006d6574"));

    /**
     * How the controller retries a member that does not answer: quickly at first, then every ~100 ms (Ratis
     * randomizes each pause to 0.5-1.5 times), for good. Ratis's default ends in 5 s pauses after ~20 s of
     * failures, so a broker back from a longer absence was not replicated to for up to 5 s more and, not
     * hearing from the controller, knew none: no controller and a stale image for seconds after it rejoined.
     * A retry against a member that is down is one refused connection; one group, so cheap.
     */
    static final String APPENDER_RETRY_POLICY = "1ms,10, 100ms,2000000000";

    private final NodeAddress self;
    private final RaftGroup group;
    private final MetadataStateMachine stateMachine = new MetadataStateMachine();
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();
    private final RaftServer server;
    private final MetadataClient client;
    /** Elects a new controller as soon as the old one's process is gone, not after the election timeout. */
    private volatile LeaderFailureDetector failureDetector;
    private final long startedMs = System.currentTimeMillis();
    /** The member's own Ratis storage folder ({@code metadata-raft/<group>}). */
    private final Path groupDir;
    /** Where {@link #groupDir} waits, under a name Ratis does not load, after a start on a full disk. */
    private final Path setAsideDir;
    private static final String SET_ASIDE_SUFFIX = ".waiting-for-room";
    /** The member's Ratis properties, for {@link RaftLogRepair#apply} when a folder set aside opens. */
    private final RaftProperties repairProperties;
    /** The largest entry its log may hold (what {@link RaftLogRepair} reads its segments with). */
    private final SizeInBytes maxEntrySize;
    /** Closes this member when its Raft log fails and opens it again once its disk has room ({@link #heal}). */
    private final ScheduledExecutorService healer;
    /** When this member was closed because its log failed (System.nanoTime), 0 while it is open. */
    private volatile long closedForFailureNanos;
    /** When it last opened again after such a close (System.nanoTime; 0: never), and how many closes in a row, less one. */
    private volatile long reopenedNanos;
    private volatile int failuresInARow;
    /** Why it was closed, until it is open again (the state machine's own record is cleared as it reopens). */
    private volatile Throwable closedFor;
    private final StoppedElections stoppedElections = new StoppedElections();
    private volatile boolean closing;

    /**
     * Settings of a broker's metadata member. Immutable; validated when built. Separate from the partition
     * groups' {@code RaftNodeConfig} so the controller's failover can be tuned on its own.
     *
     * @param self                   this member's id and metadata address
     * @param voters                 every member, this one included
     * @param dataDir                the broker's data folder (the group's log lives in {@code metadata-raft/})
     * @param electionTimeoutMinMs   randomized election timeout, lower bound; heartbeats go every half of it
     * @param electionTimeoutMaxMs   its upper bound, above the lower one
     * @param leaderFailureDetection elect a new controller as soon as the old one's server refuses connections
     *                               (see {@link LeaderFailureDetector}), not after the election timeout
     */
    public record Settings(NodeAddress self, List<NodeAddress> voters, Path dataDir, long electionTimeoutMinMs,
                           long electionTimeoutMaxMs, boolean leaderFailureDetection, String bindHost) {
        public static final long DEFAULT_ELECTION_TIMEOUT_MIN_MS = 1000;
        public static final long DEFAULT_ELECTION_TIMEOUT_MAX_MS = 2000;

        /** Listening on the advertised host. */
        public Settings(NodeAddress self, List<NodeAddress> voters, Path dataDir, long electionTimeoutMinMs,
                        long electionTimeoutMaxMs, boolean leaderFailureDetection) {
            this(self, voters, dataDir, electionTimeoutMinMs, electionTimeoutMaxMs, leaderFailureDetection, null);
        }

        public Settings {
            Objects.requireNonNull(self, "self");
            bindHost = bindHost == null || bindHost.isEmpty() ? self.host() : bindHost;
            Objects.requireNonNull(dataDir, "dataDir");
            voters = List.copyOf(voters);
            if (voters.stream().noneMatch(v -> v.id().equals(self.id()))) {
                throw new IllegalArgumentException("broker " + self.id() + " is not among the metadata voters " + voters);
            }
            if (electionTimeoutMinMs < 10 || electionTimeoutMaxMs <= electionTimeoutMinMs) {
                throw new IllegalArgumentException("invalid metadata election timeouts " + electionTimeoutMinMs + "/"
                        + electionTimeoutMaxMs + ": must be min >= 10 and max > min");
            }
        }

        /** The defaults: 1-2 s election timeout, leader failure detection on. */
        public static Settings of(NodeAddress self, List<NodeAddress> voters, Path dataDir) {
            return new Settings(self, voters, dataDir, DEFAULT_ELECTION_TIMEOUT_MIN_MS, DEFAULT_ELECTION_TIMEOUT_MAX_MS, true);
        }
    }

    /** The detector's view of the peers' servers, for the log appenders ({@code PromptCatchUp}). */
    private final PeerReachability reachability = new PeerReachability();

    private MetadataNode(Settings settings) throws IOException {
        NodeAddress self = settings.self();
        Path dataDir = settings.dataDir();
        List<NodeAddress> voters = settings.voters();
        this.self = self;
        this.group = RaftGroup.valueOf(GROUP_ID, voters.stream()
                .map(v -> RaftPeer.newBuilder().setId(v.id()).setAddress(v.hostPort()).build()).toList());
        RaftProperties p = new RaftProperties();
        Path storage = dataDir.resolve("metadata-raft");
        RaftServerConfigKeys.setStorageDir(p, List.of(storage.toFile()));
        GrpcConfigKeys.Server.setHost(p, settings.bindHost());
        GrpcConfigKeys.Server.setPort(p, self.port());
        RatisProperties.setElectionTimeouts(p, settings.electionTimeoutMinMs(), settings.electionTimeoutMaxMs());
        RaftServerConfigKeys.Log.Appender.setRetryPolicy(p, APPENDER_RETRY_POLICY);
        RatisProperties.promptCatchUp(p);
        RatisProperties.setFollowerSlowness(p, settings.electionTimeoutMinMs());
        RatisProperties.surviveLongPauses(p);
        RatisProperties.standAgainAfterLosingMajority(p, settings.electionTimeoutMaxMs());
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, 1000);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf(4096));
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(8L * 1024 * 1024));
        this.groupDir = storage.resolve(GROUP_ID.getUuid().toString());
        this.setAsideDir = storage.resolve(GROUP_ID.getUuid() + SET_ASIDE_SUFFIX);
        this.repairProperties = p;
        this.maxEntrySize = RaftServerConfigKeys.Log.Appender.bufferByteLimit(p);
        restoreSetAside();  // set aside at an earlier start on a full disk, and not opened since
        boolean exists = Files.isDirectory(groupDir);
        IOException noRoom = null;
        try {
            RaftLogRepair.apply(p);
        } catch (IOException e) {
            if (!exists || Files.exists(setAsideDir) || DiskRoom.roomToReopen(storage)) {
                throw e;
            }
            // The repair could not write its result (a full disk; seen: an empty term-and-vote file left by a write
            // that failed before the crash). Ratis would refuse to open the group, and the broker would exit at every
            // start until someone freed space: the member starts closed instead, its folder under a name Ratis does
            // not load, and opens once there is room (heal), as after a failed log.
            Files.move(groupDir, setAsideDir, StandardCopyOption.ATOMIC_MOVE);
            noRoom = e;
        }
        AtomicReference<RaftServer> built = new AtomicReference<>(); // the log-ends service reads it once built
        RaftServer.Builder builder = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(self.id()))
                .setProperties(p)
                .setParameters(PeerReachability.putInto(RaftPort.serverParameters(built::get), reachability))
                .setStateMachine(stateMachine)
                .setOption(exists ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT);
        if (noRoom == null) {
            builder.setGroup(group);  // else no group: heal adds it once there is room
        }
        this.server = builder.build();
        built.set(server);
        RaftProperties cp = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(cp, TimeDuration.valueOf(10, TimeUnit.SECONDS));
        this.client = new MetadataClient(group, cp);
        if (noRoom != null) {
            closedFor = noRoom;
            closedForFailureNanos = System.nanoTime();
            failuresInARow = 1;
            LOG.warn("metadata member {}: starts closed: its Raft log could not be repaired on a full disk ({}); it opens "
                    + "once its disk has {} MiB free", self.id(), noRoom.toString(), DiskRoom.REOPEN_MIN_FREE_BYTES >> 20);
        }
        this.healer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rafka-metadata-heal-" + self.id());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts this broker's metadata member; {@code voters} lists every member, this one included. */
    public static MetadataNode start(NodeAddress self, List<NodeAddress> voters, Path dataDir) throws IOException {
        return start(Settings.of(self, voters, dataDir));
    }

    /** Starts this broker's metadata member with {@code settings}. */
    public static MetadataNode start(Settings settings) throws IOException {
        NodeAddress self = settings.self();
        Files.createDirectories(settings.dataDir());
        MetadataNode node = new MetadataNode(settings);
        node.server.start();
        if (settings.leaderFailureDetection()) {
            RaftProperties probe = new RaftProperties();
            RaftClientConfigKeys.Rpc.setRequestTimeout(probe, TimeDuration.valueOf(3, TimeUnit.SECONDS));
            node.failureDetector = new LeaderFailureDetector(node.server, probe);
            node.reachability.detectWith(node.failureDetector);
        }
        node.healer.scheduleWithFixedDelay(node::healSafely, HEAL_CHECK_MS, HEAL_CHECK_MS, TimeUnit.MILLISECONDS);
        LOG.info("metadata member {} listening on {}", self.id(), self.hostPort());
        return node;
    }

    /** How often the member checks whether its log failed, or whether it may open again. */
    private static final long HEAL_CHECK_MS = 500;

    private void healSafely() {
        try {
            heal();
        } catch (IOException | RuntimeException e) {
            LOG.warn("metadata member {}: healing its failed Raft log failed (will retry): {}", self.id(), e.toString());
        }
    }

    /**
     * A member whose Raft log failed (a full disk, an I/O error) is closed at once and opened again once its disk has
     * {@link DiskRoom#REOPEN_MIN_FREE_BYTES} free. Ratis's log worker fails every entry after its first failure, yet the
     * member would stay in the group: it could not follow, and as the leader it would keep the controller role without
     * committing anything (heartbeats still go out, so no other member stands for election). Closed, it neither votes
     * nor leads; a controller first hands its role over, so the cluster has a working controller within a round trip
     * rather than an election timeout. Opened again, it loads what its log holds, catches up from the controller, and
     * its image moves on from where it stood ({@link MetadataStateMachine}); no restart of the broker.
     */
    private void heal() throws IOException {
        if (closing || server.getLifeCycleState() != org.apache.ratis.util.LifeCycle.State.RUNNING) {
            return;
        }
        if (closedForFailureNanos == 0) {
            Throwable failure = stateMachine.logFailure();
            if (failure == null && electionStopped()) {
                failure = new IOException("its new term and vote failed to write, and its election stopped");
            }
            if (failure == null) {
                return;
            }
            if (isController()) {
                resign(3_000);
            }
            RaftClientReply removed = server.groupManagement(GroupManagementRequest.newRemove(clientId, server.getId(),
                    callIds.incrementAndGet(), GROUP_ID, false, false));
            if (!removed.isSuccess()) {
                throw new IOException("closing the metadata member failed", removed.getException());
            }
            closedFor = failure;
            closedForFailureNanos = System.nanoTime();
            failuresInARow = DiskRoom.failuresInARow(failuresInARow, reopenedNanos, closedForFailureNanos);
            LOG.warn("metadata member {}: closed, as its Raft log failed ({}); it opens again in {} ms at the earliest, once "
                    + "its disk has {} MiB free", self.id(), failure.toString(),
                    TimeUnit.NANOSECONDS.toMillis(DiskRoom.reopenDelayNanos(failuresInARow)), DiskRoom.REOPEN_MIN_FREE_BYTES >> 20);
            return;
        }
        // The storage folder: the group's own is not there while it is set aside (and a missing folder reads as room).
        if (System.nanoTime() - closedForFailureNanos < DiskRoom.reopenDelayNanos(failuresInARow)
                || !DiskRoom.roomToReopen(groupDir.getParent())) {
            return;
        }
        if (Files.exists(setAsideDir)) {
            restoreSetAside();
            try {
                RaftLogRepair.apply(repairProperties);  // not repaired at the start: there was no room
            } catch (IOException e) {
                Files.move(groupDir, setAsideDir, StandardCopyOption.ATOMIC_MOVE);  // repaired in full at the next try
                throw e;
            }
        }
        // Ratis may have left its term-and-vote file empty if a write of it failed while the disk was full.
        RaftLogRepair.repairMetadata(groupDir.resolve("current"), maxEntrySize);
        RaftClientReply added;
        try {
            added = server.groupManagement(GroupManagementRequest.newAdd(clientId, server.getId(), callIds.incrementAndGet(),
                    group, false));
        } catch (IOException e) {
            added = null;
            LOG.warn("metadata member {}: opening again failed: {}", self.id(), e.toString());
        }
        if (added == null || !added.isSuccess()) {
            // Removed in case Ratis kept it. (Ratis 3.3 drops a division whose start failed without closing it, so it
            // may keep that division's storage lock, and then every later open fails until the broker restarts.)
            try {
                server.groupManagement(GroupManagementRequest.newRemove(clientId, server.getId(), callIds.incrementAndGet(),
                        GROUP_ID, false, false));
            } catch (IOException | RuntimeException ignored) {
                // nothing there to remove
            }
            closedForFailureNanos = System.nanoTime();
            failuresInARow = Math.min(failuresInARow + 1, 20);
            LOG.error("metadata member {}: opening again failed ({}); will retry in {} s; if it keeps failing, restart "
                    + "the broker", self.id(), added == null ? "see above" : added.getException(),
                    TimeUnit.NANOSECONDS.toSeconds(DiskRoom.reopenDelayNanos(failuresInARow)));
            return;
        }
        closedForFailureNanos = 0;
        reopenedNanos = System.nanoTime();
        closedFor = null;
        LOG.info("metadata member {}: open again after its Raft log failed; catching up from the controller", self.id());
    }

    /** Moves the group's folder set aside at a start on a full disk back where Ratis opens it, if it is there. */
    private void restoreSetAside() throws IOException {
        if (Files.isDirectory(setAsideDir) && !Files.exists(groupDir)) {
            Files.move(setAsideDir, groupDir, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** Whether this member is a candidate whose election stopped for good ({@link StoppedElections}). */
    private boolean electionStopped() {
        try {
            return stoppedElections.stopped(server.getDivision(GROUP_ID).getInfo().isCandidate(),
                    groupDir.resolve("current"), System.nanoTime());
        } catch (IOException | RuntimeException notOpen) {
            return false;
        }
    }

    public MetadataImage image() {
        return stateMachine.image();
    }

    public void addListener(Consumer<MetadataImage> listener) {
        stateMachine.addListener(listener);
        listener.accept(stateMachine.image());
    }

    /**
     * Why this member's Raft log stopped taking entries (a full disk, an I/O error), or null while it works: its
     * image no longer moves until the member opens again, once its disk has room ({@link #heal}).
     */
    public Throwable logFailure() {
        Throwable failure = stateMachine.logFailure();
        return failure != null ? failure : closedFor;
    }

    /** Whether this member leads the metadata group, i.e. this broker is the controller. */
    public boolean isController() {
        try {
            DivisionInfo info = server.getDivision(GROUP_ID).getInfo();
            return info.isLeader() && info.isLeaderReady();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Whether this member's image is as new as the cluster's: it knows a leader, has heard from it since it
     * started, and has applied everything the leader told it was committed. Only then may a broker act on
     * what the image lacks (remove replicas of deleted topics).
     *
     * <p>"Committed" is the highest commit index this member knows of any member (the leader's comes with each of
     * its append requests), not this member's own: a follower's own commit index stops at the end of what it has
     * received, so one still catching up would count as caught up.
     */
    public boolean isCaughtUp() {
        try {
            var division = server.getDivision(GROUP_ID);
            DivisionInfo info = division.getInfo();
            long committed = division.getRaftLog().getLastCommittedIndex();
            for (var commitInfo : division.getCommitInfos()) {
                committed = Math.max(committed, commitInfo.getCommitIndex());
            }
            return info.getLeaderId() != null
                    && System.currentTimeMillis() - startedMs > 5_000
                    && info.getLastAppliedIndex() >= committed;
        } catch (IOException | RuntimeException e) {
            return false;  // e.g. the member opening again (heal): "log is uninitialized"
        }
    }

    /**
     * Whether this member's view is current: it knows the controller, and has applied everything the controller
     * had committed when asked now (one read-only round trip to it). A broker serves (reports healthy) only
     * once this holds, so that a restarted broker does not answer metadata from a stale image.
     */
    public CompletableFuture<Boolean> checkViewCurrent() {
        if (controllerId().isEmpty()) {
            return CompletableFuture.completedFuture(false);
        }
        return client.sendReadOnly(Message.valueOf(ByteString.copyFrom(new byte[]{MetadataStateMachine.COMMIT_INDEX})))
                .thenApply(reply -> {
                    if (!reply.isSuccess() || reply.getMessage().getContent().size() != Long.BYTES) {
                        LOG.debug("metadata member {}: the controller's commit index not read: {}", self.id(), reply);
                        return false;
                    }
                    long committed = reply.getMessage().getContent().asReadOnlyByteBuffer().getLong();
                    String controller = reply.getServerId().toString();
                    boolean current = controllerId().map(controller::equals).orElse(false) && lastAppliedIndex() >= committed;
                    if (!current) {
                        LOG.debug("metadata member {}: view not current: {} answered committed {}, controller here {}, "
                                + "applied here {}", self.id(), controller, committed, controllerId().orElse("none"),
                                lastAppliedIndex());
                    }
                    return current;
                });
    }

    // The member's division is closed and opened again when its log fails (heal): while it opens, Ratis's
    // accessors may throw unchecked exceptions (IllegalStateException "log is uninitialized"); such a moment counts
    // as not knowing.

    private long lastAppliedIndex() {
        try {
            return server.getDivision(GROUP_ID).getInfo().getLastAppliedIndex();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    public Optional<String> controllerId() {
        try {
            RaftPeerId leader = server.getDivision(GROUP_ID).getInfo().getLeaderId();
            return Optional.ofNullable(leader).map(RaftPeerId::toString);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Brokers the controller considers alive: registered and heard from within {@code sessionTimeoutMs}. For
     * the first session after becoming controller, every registered broker counts as alive (their heartbeats
     * went to the previous controller). A broker that announced a controlled shutdown ({@link #leave}) is not
     * alive until it heart-beats again.
     */
    public Set<String> liveBrokers(long sessionTimeoutMs) {
        long now = io.rafka.common.Time.SYSTEM.hiResClockMs();
        long since = stateMachine.leaderSinceMs();
        Set<String> live = new TreeSet<>();
        for (String id : image().brokers().keySet()) {
            if (stateMachine.left().contains(id)) {
                continue;
            }
            Long last = stateMachine.heartbeats().get(id);
            if ((since != MetadataStateMachine.NOT_LEADER && now - since < sessionTimeoutMs) || (last != null && now - last < sessionTimeoutMs)) {
                live.add(id);
            }
        }
        return live;
    }

    /**
     * Appends records through the local member, which must be the leader (the controller's own writes).
     * Completes once they are committed and applied here.
     */
    public CompletableFuture<Void> submitAsController(List<MetadataRecord> records) {
        if (!isController()) {
            return CompletableFuture.failedFuture(new NotControllerException("broker " + self.id() + " is not the controller",
                    controllerId().orElse(null)));
        }
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(clientId)
                .setServerId(server.getId())
                .setGroupId(GROUP_ID)
                .setCallId(callIds.incrementAndGet())
                .setMessage(Message.valueOf(ByteString.copyFrom(MetadataCodec.encodeRecords(records))))
                .setType(RaftClientRequest.writeRequestType())
                .build();
        try {
            return server.submitClientRequestAsync(request).thenAccept(reply -> {
                if (!reply.isSuccess()) {
                    // Refused before it was appended while the leadership moves (a graceful stop hands it over):
                    // the next controller takes the call again, as after NotLeader.
                    if (reply.getNotLeaderException() != null
                            || reply.getException() instanceof org.apache.ratis.protocol.exceptions.LeaderSteppingDownException
                            || reply.getException() instanceof org.apache.ratis.protocol.exceptions.LeaderNotReadyException) {
                        throw new CompletionException(new NotControllerException("broker " + self.id()
                                + " lost the controller role", controllerId().orElse(null)));
                    }
                    throw new CompletionException(new RafkaException(ErrorCode.UNKNOWN_SERVER_ERROR,
                            "metadata write failed: " + reply.getException()));
                }
            });
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Appends records through whichever member leads (used by brokers to register themselves). The records must be
     * idempotent: a call that met a member without the group is sent again on a new client ({@link MetadataClient}),
     * and one that had reached the leader before may then be applied twice.
     */
    public CompletableFuture<Void> submit(List<MetadataRecord> records) {
        return client.send(Message.valueOf(ByteString.copyFrom(MetadataCodec.encodeRecords(records))))
                .thenAccept(reply -> {
                    if (!reply.isSuccess()) {
                        throw new CompletionException(new RafkaException(ErrorCode.UNKNOWN_SERVER_ERROR,
                                "metadata write failed: " + reply.getException()));
                    }
                });
    }

    /**
     * Controlled shutdown: if this member is the controller, it stops standing for election and hands the
     * metadata group's leadership to another voter, waiting up to {@code timeoutMs} in all for a new controller.
     * Then the new controller, not a member about to stop, hears the broker leave, and the cluster has a
     * controller without waiting for an election timeout.
     */
    public void resign(long timeoutMs) {
        if (!isController() || group.getPeers().size() < 2) {
            return;
        }
        long deadline = System.currentTimeMillis() + timeoutMs;
        try {
            server.leaderElectionManagementAsync(org.apache.ratis.protocol.LeaderElectionManagementRequest.newPause(
                    clientId, server.getId(), GROUP_ID, callIds.incrementAndGet())).get(timeoutMs, TimeUnit.MILLISECONDS);
            RaftPeerId target = group.getPeers().stream().map(RaftPeer::getId).filter(id -> !id.equals(server.getId()))
                    .findFirst().orElseThrow();
            long left = Math.max(1, deadline - System.currentTimeMillis());
            server.transferLeadershipAsync(new org.apache.ratis.protocol.TransferLeadershipRequest(clientId, server.getId(),
                    GROUP_ID, callIds.incrementAndGet(), target, left)).get(left, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.info("metadata member {}: handing over the controller role: {}", self.id(), e.toString());
        }
        while (System.currentTimeMillis() < deadline
                && controllerId().map(id -> id.equals(self.id())).orElse(true)) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.info("metadata member {}: controller is now {}", self.id(), controllerId().orElse("(electing)"));
    }

    /** Tells the controller this broker is alive. */
    public CompletableFuture<RaftClientReply> heartbeat(String brokerId) {
        return sendSoftState(MetadataStateMachine.HEARTBEAT, brokerId);
    }

    /**
     * Tells the controller this broker is stopping on purpose (controlled shutdown, after its leaderships
     * moved): it stops counting as live at once, so no new replicas are placed on it, instead of after the
     * session timeout. It stays registered, with its replicas: they are still its to serve when it returns.
     */
    public CompletableFuture<RaftClientReply> leave(String brokerId) {
        return sendSoftState(MetadataStateMachine.LEAVING, brokerId);
    }

    private CompletableFuture<RaftClientReply> sendSoftState(byte kind, String brokerId) {
        byte[] id = brokerId.getBytes(StandardCharsets.UTF_8);
        byte[] msg = new byte[id.length + 1];
        msg[0] = kind;
        System.arraycopy(id, 0, msg, 1, id.length);
        return client.sendReadOnly(Message.valueOf(ByteString.copyFrom(msg)));
    }

    @Override
    public void close() throws IOException {
        closing = true;
        healer.shutdownNow();
        try {
            // A heal under way adds or removes the group: let it finish before the server closes.
            healer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (failureDetector != null) {
                failureDetector.close();
            }
            client.close();
        } finally {
            server.close();
        }
    }
}
