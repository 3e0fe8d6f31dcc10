package io.rafka.server;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.rafka.log.LogConfig;
import io.rafka.raft.DiskRoom;
import io.rafka.raft.RaftNode;
import io.rafka.common.TopicPartition;
import io.rafka.metadata.BrokerInfo;
import io.rafka.controller.Controller;
import io.rafka.coordinator.GroupConfig;
import io.rafka.server.replica.FollowerSilenceLog;
import io.rafka.server.replica.LeaderPublisher;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.MetadataRecord;
import io.rafka.server.replica.PartitionReconciler;
import io.rafka.server.replica.ServingProbe;
import io.rafka.server.broker.ClusterView;
import io.rafka.server.broker.ConfigValue;
import io.rafka.server.broker.FetchWaiters;
import io.rafka.server.broker.MemoryPool;
import io.rafka.server.broker.ReadBufferPool;
import io.rafka.server.broker.MetadataQuery;
import io.rafka.server.broker.ReplicaManager;
import io.rafka.server.broker.ProducerIds;
import io.rafka.server.broker.TopicAdmin;
import io.rafka.server.grpc.AdminApi;
import io.rafka.server.grpc.AdminCallLimiter;
import io.rafka.server.grpc.ApiContext;
import io.rafka.server.grpc.ConnectionLimiter;
import io.rafka.server.grpc.ControllerChannel;
import io.rafka.server.grpc.FetchApi;
import io.rafka.server.grpc.GroupApi;
import io.rafka.server.broker.GroupAccess;
import io.rafka.server.grpc.MetadataApi;
import io.rafka.server.grpc.MetricsInterceptor;
import io.rafka.server.grpc.ProduceApi;
import io.rafka.server.grpc.RequestLimits;
import io.rafka.server.grpc.UnreadAnswers;
import io.rafka.server.grpc.StrictParsing;
import io.rafka.server.http.HttpEndpoints;
import io.rafka.server.metrics.BrokerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Rafka broker: the partition Raft node, its member of the metadata group (and the controller when it
 * leads that group), the reconciler that keeps local partition groups in line with the metadata, the gRPC
 * API and the HTTP endpoints. {@link #start} brings everything up; {@link #close} is the graceful stop
 * (leaderships handed over, in-flight calls finished, logs flushed); {@link #halt} is a crash, for tests.
 */
public final class Broker implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Broker.class);
    private static final long LEADER_PUBLISH_INTERVAL_MS = 250;

    private final ServerConfig config;
    private final AtomicBoolean closed = new AtomicBoolean();
    private RaftNode raftNode;
    private MetadataNode metadata;
    private PartitionReconciler reconciler;
    private LeaderPublisher leaderPublisher;
    private ScheduledExecutorService scheduler;
    private ScheduledExecutorService heartbeats;
    private ExecutorService workers;
    private ExecutorService autoCreator;
    private ControllerChannel controllerChannel;
    /** Asks other brokers whether they serve, before leaderships are handed back to them. */
    private ServingProbe servingProbe;
    private ReplicaManager replicas;
    private TopicAdmin topicAdmin;
    private GroupAccess groups;
    private Server grpc;
    private HttpEndpoints http;
    private final HealthStatusManager health = new HealthStatusManager();
    private static final long VIEW_CHECK_INTERVAL_MS = 50;
    /** How often a broker that has not registered yet looks whether its metadata member knows a controller. */
    private static final long CONTROLLER_POLL_MS = 20;
    /** How long a broker waits for a controller before it says why it does not register. */
    private static final long NO_CONTROLLER_WARNING_MS = 30_000;
    /**
     * How long a graceful stop lets calls in flight finish once leaderships moved away: unary calls end within it;
     * streams (a producer's ProduceStream, group members' streams, subscriptions) never end on their own and are
     * cancelled after it, and their clients go to the new leaders. Waiting for them ran every stop with a client
     * connected to the hand-over deadline, so the controller hand-over and the leave were abandoned (12-16 s stops).
     */
    private static final long STOP_DRAIN_MS = 1_000;
    private static final long GROUP_COMPACTION_INTERVAL_MS = 5_000;
    /** How often followers of partitions led here are checked for silence ({@link FollowerSilenceLog}). */
    private static final long FOLLOWER_SILENCE_CHECK_MS = 5_000;
    private volatile boolean registered;
    /** When this broker started waiting for its metadata member to hear from a controller ({@link System#nanoTime}). */
    private long noControllerSinceNanos;
    private boolean noControllerWarned;
    /**
     * What {@code /health} adds below its verdict: partition replicas that cannot serve because their log lost
     * committed records and they are copying them from another replica, and replicas whose Raft log failed to write
     * lately (the broker serves its others); a metadata member whose log failed (the verdict is then unhealthy).
     */
    private String healthDetail() {
        String cutOff = "";
        if (serving && !heartbeatFresh()) {
            cutOff = "no heartbeat acknowledged by the controller for "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - heartbeatAckedNanos) + " ms (broker.session.timeout.ms "
                    + config.getLong(ServerConfig.SESSION_TIMEOUT_MS) + "): cut off from the metadata group\n";
        }
        Throwable metadataFailure = metadataLogFailure();
        String metadataFailed = metadataFailure == null ? "" : "the metadata member's Raft log failed to write ("
                + rootCause(metadataFailure) + "): this broker's metadata view is frozen until the member opens again, once "
                + "its disk has " + (DiskRoom.REOPEN_MIN_FREE_BYTES >> 20) + " MiB free\n";
        return cutOff + metadataFailed + repairing() + failingLogs();
    }

    /** The innermost cause, e.g. a full disk's IOException, which Ratis and Rafka wrap a few times. */
    private static String rootCause(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.toString();
    }

    private String failingLogs() {
        List<String> failing = raftNode.replicasWithFailingLogs().stream().map(TopicPartition::toString).toList();
        return failing.isEmpty() ? "" : "Raft logs failing to write (a full disk or I/O errors; each replica is reopened "
                + "until its writes succeed): " + String.join(", ", failing) + "\n";
    }

    private String repairing() {
        List<String> repairing = new ArrayList<>();
        for (TopicPartition tp : raftNode.partitions()) {
            try {
                if (raftNode.status(tp).repairing()) {
                    repairing.add(tp.toString());
                }
            } catch (RuntimeException e) {
                // being created or removed
            }
        }
        return repairing.isEmpty() ? "" : "repairing (copying lost records from another replica): "
                + String.join(", ", repairing) + "\n";
    }

    /** Registered and the metadata view current once: healthy from then on while heartbeats are acknowledged. */
    private volatile boolean serving;
    /** When the controller last acknowledged this broker's registration or a heartbeat ({@link System#nanoTime}). */
    private volatile long heartbeatAckedNanos;
    /** What gRPC health says now (updated by {@link #checkServing}). */
    private volatile boolean reportedServing;
    private final AtomicBoolean viewCheckInFlight = new AtomicBoolean();
    private final java.util.concurrent.CountDownLatch servingLatch = new java.util.concurrent.CountDownLatch(1);

    private Broker(ServerConfig config) {
        this.config = config;
    }

    /** Starts a broker; on failure everything started so far is stopped again. */
    public static Broker start(ServerConfig config) throws IOException {
        Broker broker = new Broker(config);
        try {
            broker.startAll();
        } catch (IOException | RuntimeException e) {
            broker.stopAll(false);
            throw e;
        }
        return broker;
    }

    private void startAll() throws IOException {
        String id = config.nodeId();
        String host = config.get(ServerConfig.HOST);
        Files.createDirectories(config.dataDir());
        LogConfig logDefaults = config.logDefaults();
        ApiConfig api = config.apiConfig();
        raftNode = RaftNode.start(config.raftConfig());
        metadata = MetadataNode.start(config.metadataConfig());
        Controller controller = new Controller(metadata, logDefaults, config.getLong(ServerConfig.SESSION_TIMEOUT_MS),
                config.getInt(ServerConfig.MAX_PARTITIONS_PER_BROKER));
        reconciler = new PartitionReconciler(id, raftNode, metadata, logDefaults);
        if (config.getBoolean(ServerConfig.AUTO_LEADER_REBALANCE)) {
            servingProbe = new ServingProbe(b -> Optional.ofNullable(metadata.image().brokers().get(b))
                    .map(info -> info.host() + ":" + info.apiPort()), 1_000);
            reconciler.rebalanceLeadersEvery(TimeUnit.SECONDS.toMillis(config.getLong(ServerConfig.LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS)),
                    config.getInt(ServerConfig.LEADER_IMBALANCE_PER_BROKER_PERCENTAGE), servingProbe::serving);
        }
        // Idle partitions hibernate, except the coordinator's: its leader is the group coordinator and must stay.
        java.util.function.Predicate<io.rafka.common.TopicPartition> mayHibernate =
                tp -> config.getLong(ServerConfig.PARTITION_HIBERNATE_AFTER_MS) > 0 && !tp.topic().equals(GroupConfig.TOPIC);
        raftNode.hibernationFilter(mayHibernate);
        reconciler.startHibernated(mayHibernate);
        leaderPublisher = new LeaderPublisher(id, raftNode, metadata, LEADER_PUBLISH_INTERVAL_MS);

        scheduler = Executors.newScheduledThreadPool(2, daemonThreads("rafka-scheduler-" + id));
        // Heartbeats on a thread of their own: nothing that serves clients may delay them past the session timeout.
        heartbeats = Executors.newSingleThreadScheduledExecutor(daemonThreads("rafka-heartbeat-" + id));
        workers = Executors.newFixedThreadPool(4, daemonThreads("rafka-worker-" + id));
        // Auto-creation blocks on the controller (up to the request timeout): kept off the fetch workers.
        autoCreator = Executors.newSingleThreadExecutor(daemonThreads("rafka-auto-create-" + id));
        BrokerMetrics metrics = new BrokerMetrics(raftNode, config.getLong(ServerConfig.REPLICA_LAG_MS));
        FollowerSilenceLog followerSilence = new FollowerSilenceLog(raftNode, config.getLong(ServerConfig.REPLICA_LAG_MS));
        FetchWaiters waiters = new FetchWaiters(api.fetchMaxWaiters(), workers);
        raftNode.setAppendListener(waiters::onAppend);

        // The broker layer (what every API calls), then the gRPC adapters in front of it.
        ClusterView view = new ClusterView(id, raftNode, metadata, logDefaults);
        controllerChannel = new ControllerChannel(view, api.requestTimeoutMs());
        topicAdmin = new TopicAdmin(view, controller, controllerChannel,
                new TopicAdmin.TopicDefaults(api.defaultPartitions(), api.defaultReplicationFactor(),
                        config.groupConfig().coordinatorPartitions(), config.getInt(ServerConfig.GROUP_SEGMENT_BYTES),
                        raftNode.config().maxTopicMessageBytes()),
                this::describeConfig, autoCreator);
        replicas = new ReplicaManager(view, raftNode, topicAdmin, new MemoryPool(api.produceMemoryBytes()),
                new ReadBufferPool(api.fetchBufferPoolBytes()), metrics, waiters, scheduler, new ReplicaManager.Settings(api.autoCreateTopics(), api.requestTimeoutMs(),
                raftNode.config().maxDecompressedBytes(), api.fetchMaxBytes(), api.fetchMaxWaitMs()));
        groups = new GroupAccess(view, raftNode, topicAdmin, config.groupConfig(), config.getInt(ServerConfig.GROUP_SEGMENT_BYTES));
        raftNode.addListener(groups);
        groups.seedLeaderships();
        metrics.registerGroups(groups.coordinator(), groups::localHighWatermark);
        // Topics reach the coordinator from a caught-up view only (else a partial image would look like deleted
        // topics); checkServing hands over the first current one.
        metadata.addListener(image -> {
            if (serving) {
                groups.onMetadata(image);
            }
        });
        java.util.concurrent.atomic.AtomicReference<Set<String>> topicsSeen = new java.util.concurrent.atomic.AtomicReference<>(Set.of());
        metadata.addListener(image -> {
            Set<String> now = image.topics().keySet();
            Set<String> before = topicsSeen.getAndSet(Set.copyOf(now));
            if (!now.containsAll(before)) {
                metrics.topicsDeleted(before.stream().filter(t -> !now.contains(t)).toList());
            }
        });
        ConnectionLimiter limiter = new ConnectionLimiter(api.maxConnections());
        UnreadAnswers unread = new UnreadAnswers(api.maxUnreadAnswerBytesPerConnection(), api.maxUnreadAnswerBytes());
        metrics.registerUnreadAnswers(unread::unreadBytes);
        RequestLimits limits = new RequestLimits(api.maxPartitionsPerRequest(), api.maxRecordsPerRequest(), api.maxListedGroups());
        // SERVING (gRPC health, HTTP /health) once registered and the metadata view is current: until it registered
        // the controller does not count this broker as live (a create with replication factor 1 would fail), and
        // until its view is current it would answer metadata with no controller, no leaders or missing topics.
        health.setStatus("", HealthCheckResponse.ServingStatus.NOT_SERVING);

        grpc = NettyServerBuilder.forAddress(new InetSocketAddress(api.bindHost(), api.grpcPort()))
                .maxInboundMessageSize(api.maxRequestBytes())
                // A fixed window (no BDP auto-tuning), so unread request bytes stay bounded by configuration; the 1 MiB
                // default held a 32-deep ProduceStream of 64 KiB batches to half its depth.
                .flowControlWindow(api.flowControlWindowBytes())
                .maxConcurrentCallsPerConnection(api.maxCallsPerConnection())
                // Connections without calls for 5 minutes are closed (clients reconnect on demand); this also frees
                // connections refused for max.connections, whose calls all fail at once.
                .maxConnectionIdle(5, TimeUnit.MINUTES)
                .addTransportFilter(limiter)
                .addTransportFilter(unread)
                // Interceptors run in reverse order of addition: the connection limit is checked first.
                .intercept(ApiContext.INTERCEPTOR)
                .intercept(new MetricsInterceptor(metrics))
                .intercept(new AdminCallLimiter(api.maxAdminCalls()))
                .intercept(unread)
                .intercept(limiter)
                .addService(StrictParsing.wrap(new ProduceApi(replicas, new ProducerIds(topicAdmin), api.produceStreamWindow(),
                        limits, unread).bindService(), ProduceApi.rawChecks(limits)))
                .addService(StrictParsing.wrap(new FetchApi(replicas, scheduler, limits, unread).bindService()))
                .addService(StrictParsing.wrap(new MetadataApi(new MetadataQuery(view, topicAdmin, api.autoCreateTopics())).bindService()))
                .addService(StrictParsing.wrap(new AdminApi(topicAdmin).bindService()))
                .addService(StrictParsing.wrap(new GroupApi(groups, limits).bindService()))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                // v1alpha too: older grpcurl, Postman and other tools only speak it.
                .addService(reflectionV1Alpha())
                .build()
                .start();

        long heartbeatMs = config.getLong(ServerConfig.HEARTBEAT_INTERVAL_MS);
        heartbeats.scheduleWithFixedDelay(this::heartbeat, 0, heartbeatMs, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::checkServing, VIEW_CHECK_INTERVAL_MS, VIEW_CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        long retentionMs = config.getLong(ServerConfig.RETENTION_CHECK_INTERVAL_MS);
        scheduler.scheduleWithFixedDelay(this::enforceRetention, retentionMs, retentionMs, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::compactGroups, GROUP_COMPACTION_INTERVAL_MS, GROUP_COMPACTION_INTERVAL_MS,
                TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                followerSilence.check();
            } catch (RuntimeException e) {
                LOG.debug("looking for silent followers failed: {}", e.toString());
            }
        }, FOLLOWER_SILENCE_CHECK_MS, FOLLOWER_SILENCE_CHECK_MS, TimeUnit.MILLISECONDS);
        if (config.getInt(ServerConfig.HTTP_PORT) > 0) {
            http = HttpEndpoints.start(config.get(ServerConfig.BIND_HOST), config.getInt(ServerConfig.HTTP_PORT), metrics,
                    new StatusPage(this, view)::json, this::isServing, this::healthDetail);
        }
        LOG.info("Rafka broker {} started: gRPC {}:{}, Raft {}:{}, metadata {}:{}, HTTP {}, data in {}", id,
                config.get(ServerConfig.BIND_HOST), grpcPort(), host, config.get(ServerConfig.RAFT_PORT), host,
                config.get(ServerConfig.METADATA_PORT), http == null ? "off" : config.get(ServerConfig.BIND_HOST) + ":" + http.port(),
                config.dataDir().toAbsolutePath());
    }

    /**
     * Registers (until it succeeds once per start) and then heartbeats to the controller. Only once this broker's own
     * metadata member has heard from a controller: the registration is a write any client of the group can make,
     * so a broker whose member is not in the group (a node.id added to controller.quorum.voters after the group was
     * formed) registered, heartbeated and counted as live although its view never became current, and the
     * controller placed replicas and preferred leaderships on it that nobody could serve.
     */
    private void heartbeat() {
        try {
            if (!registered) {
                // Checked often until the next heartbeat is due: a member hears from the controller within a moment of
                // starting, and registering at the next heartbeat would hold a restarted broker's start that long.
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.getLong(ServerConfig.HEARTBEAT_INTERVAL_MS));
                while (metadata.controllerId().isEmpty() && System.nanoTime() < until && !closed.get()) {
                    Thread.sleep(CONTROLLER_POLL_MS);
                }
                if (metadata.controllerId().isEmpty()) {
                    warnIfNoController();
                    return;
                }
                BrokerInfo self = new BrokerInfo(config.nodeId(), config.get(ServerConfig.HOST), grpcPort(),
                        config.getInt(ServerConfig.RAFT_PORT));
                if (!self.equals(metadata.image().brokers().get(config.nodeId()))) {
                    metadata.submit(List.of(new MetadataRecord.RegisterBroker(self))).get(10, TimeUnit.SECONDS);
                }
                registered = true;
                heartbeatAckedNanos = System.nanoTime();
                LOG.info("broker {} registered with the metadata group", config.nodeId());
            }
            metadata.heartbeat(config.nodeId()).whenComplete((reply, e) -> {
                if (e == null && reply.isSuccess()) {
                    heartbeatAckedNanos = System.nanoTime();
                }
            });
        } catch (Exception e) {
            LOG.debug("registration or heartbeat failed (retrying): {}", e.toString());
        }
    }

    /** Whether the metadata this broker has seen holds its registration (from this run or an earlier one). */
    private boolean knownToTheCluster() {
        try {
            return metadata.image().brokers().containsKey(config.nodeId());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Says once, after {@value #NO_CONTROLLER_WARNING_MS} ms without a controller, why this broker does not register. */
    private void warnIfNoController() {
        long now = System.nanoTime();
        if (noControllerSinceNanos == 0) {
            noControllerSinceNanos = now;
        } else if (!noControllerWarned && now - noControllerSinceNanos > TimeUnit.MILLISECONDS.toNanos(NO_CONTROLLER_WARNING_MS)) {
            noControllerWarned = true;
            LOG.warn("broker {}: its metadata member has heard from no controller for {} s, so it does not register "
                    + "(waiting for a majority of the metadata voters {}). If the others run, is node.id {} one of the "
                    + "group's members? They come from controller.quorum.voters when the group is first formed and do "
                    + "not change at run time (docs/metadata.md)", config.nodeId(), NO_CONTROLLER_WARNING_MS / 1000,
                    config.get(ServerConfig.VOTERS), config.nodeId());
        }
    }

    /**
     * Until serving: once registered, asks the controller how far it has committed and serves when this
     * broker's metadata view knows the controller and has applied that far. Checked every
     * {@value #VIEW_CHECK_INTERVAL_MS} ms, so a broker serves within about that of its view becoming current.
     * One check at a time, waited for by no thread (the scheduler's threads also run request timeouts).
     */
    private void checkServing() {
        // Never throws: a scheduled task that throws is not run again, and this broker would never serve (seen: a
        // broker started on a full disk, whose metadata member reopened, stayed "not serving" for good).
        try {
            checkServingOnce();
        } catch (RuntimeException e) {
            viewCheckInFlight.set(false);
            LOG.debug("checking whether the metadata view is current failed (retrying): {}", e.toString());
        }
    }

    private void checkServingOnce() {
        if (serving) {
            reportHealth();
            return;
        }
        if (!registered || !viewCheckInFlight.compareAndSet(false, true)) {
            return;
        }
        metadata.checkViewCurrent().orTimeout(1, TimeUnit.SECONDS).whenComplete((current, e) -> {
            if (Boolean.TRUE.equals(current) && !closed.get()) {
                serving = true;
                groups.onMetadata(metadata.image());
                health.setStatus("", HealthCheckResponse.ServingStatus.SERVING);
                reportedServing = true;
                servingLatch.countDown();
                LOG.info("broker {} serving: its metadata view is current (controller {})", config.nodeId(),
                        metadata.controllerId().orElse("?"));
            } else if (e != null) {
                LOG.debug("metadata view not confirmed current yet: {}", e.toString());
            }
            viewCheckInFlight.set(false);
        });
    }

    private void enforceRetention() {
        try {
            int deleted = raftNode.enforceRetention();
            if (deleted > 0) {
                LOG.info("retention deleted {} segments", deleted);
            }
        } catch (RuntimeException e) {
            LOG.warn("retention check failed", e);
        }
    }

    private void compactGroups() {
        try {
            groups.compact();
        } catch (RuntimeException e) {
            LOG.warn("compacting the consumer-group partitions failed", e);
        }
    }

    private List<ConfigValue> describeConfig() {
        List<ConfigValue> entries = new ArrayList<>();
        for (var key : ServerConfig.KEYS) {
            entries.add(new ConfigValue(key.name(), config.get(key), !config.isSet(key), key.doc()));
        }
        return entries;
    }

    @SuppressWarnings("deprecation") // v1alpha is deprecated upstream, yet still what many tools ask for
    private static io.grpc.BindableService reflectionV1Alpha() {
        return ProtoReflectionService.newInstance();
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    public ServerConfig config() {
        return config;
    }

    public RaftNode raftNode() {
        return raftNode;
    }

    public MetadataNode metadata() {
        return metadata;
    }

    /** The broker layer behind produce and fetch, for in-process callers (tests, another API front end). */
    public ReplicaManager replicas() {
        return replicas;
    }

    /** The broker layer behind consumer groups. */
    public GroupAccess groups() {
        return groups;
    }

    /** The broker layer behind topic administration. */
    public TopicAdmin topicAdmin() {
        return topicAdmin;
    }

    /** The port the gRPC API listens on. */
    public int grpcPort() {
        return grpc.getPort();
    }

    /** The port of the HTTP endpoints, or -1 when they are off. */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    /**
     * Waits until this broker serves: registered with the metadata group (which needs a majority of the voters
     * up) and its metadata view current; returns false on timeout.
     */
    public boolean awaitServing(long timeoutMs) throws InterruptedException {
        return servingLatch.await(timeoutMs, TimeUnit.MILLISECONDS) && !closed.get();
    }

    /**
     * Healthy: serving, and the controller acknowledged a heartbeat within the session timeout. A broker cut off
     * from the metadata group (a network partition, a lost quorum) is no longer counted live by the controller and
     * its view goes stale, so it stops saying it serves until heartbeats are acknowledged again.
     */
    boolean isServing() {
        return !closed.get() && serving && heartbeatFresh() && metadataLogFailure() == null;
    }

    /** Why this broker's metadata member can no longer write its log (then its view is frozen), or null. */
    private Throwable metadataLogFailure() {
        MetadataNode m = metadata;
        return m == null ? null : m.logFailure();
    }

    private boolean heartbeatFresh() {
        return System.nanoTime() - heartbeatAckedNanos <= TimeUnit.MILLISECONDS.toNanos(config.getLong(ServerConfig.SESSION_TIMEOUT_MS));
    }

    /** Keeps gRPC health in step with {@link #isServing}, and says in the log when that changes. */
    private void reportHealth() {
        boolean now = isServing();
        if (now == reportedServing || closed.get()) {
            return;
        }
        reportedServing = now;
        health.setStatus("", now ? HealthCheckResponse.ServingStatus.SERVING : HealthCheckResponse.ServingStatus.NOT_SERVING);
        if (now) {
            LOG.info("broker {} serving again: the controller acknowledges its heartbeats", config.nodeId());
        } else {
            LOG.warn("broker {} not serving: no heartbeat acknowledged by the controller for {} ms", config.nodeId(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - heartbeatAckedNanos));
        }
    }

    /**
     * Graceful stop: stops accepting calls as healthy, hands every partition leadership to another replica,
     * lets in-flight calls finish (up to {@code shutdown.timeout.ms}), then flushes and closes the logs.
     */
    @Override
    public void close() throws IOException {
        stopAll(true);
    }

    /** A crash, for tests: nothing is handed over or flushed (the OS keeps what was written). */
    public void halt() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        health.enterTerminalState();
        if (grpc != null) {
            grpc.shutdownNow();
        }
        closeQuietly(http, leaderPublisher, reconciler, servingProbe, controllerChannel);
        if (groups != null) {
            groups.close();
        }
        shutdownExecutors();
        // Side by side, as in the graceful stop: each waits on Ratis's log workers (up to a second each).
        ShutdownStep haltRaft = ShutdownStep.start("halting the partition replicas", config.nodeId(), () -> {
            if (raftNode != null) {
                raftNode.halt();
            }
        });
        ShutdownStep closeMetadata = ShutdownStep.closing("closing the metadata member", config.nodeId(), metadata);
        haltRaft.await(Long.MAX_VALUE);
        closeMetadata.await(Long.MAX_VALUE);
    }

    /**
     * Stops everything. The graceful stop holds {@code shutdown.timeout.ms} as a whole: each step gets what is
     * left of one deadline (the hand-overs only what leaves a fifth for closing the logs), and a step that cannot
     * finish in it, such as a hand-over in groups without a live majority, is abandoned with a log line; what it
     * did not do is what a crash leaves (recovered on the next start). Without a deadline (start failed) nothing
     * is abandoned.
     */
    private void stopAll(boolean graceful) throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long timeoutMs = config.getLong(ServerConfig.SHUTDOWN_TIMEOUT_MS);
        long startMs = System.currentTimeMillis();
        long deadline = graceful ? startMs + timeoutMs : Long.MAX_VALUE;
        long handOverDeadline = graceful ? deadline - timeoutMs / 5 : Long.MAX_VALUE;
        health.enterTerminalState();
        LOG.info("broker {} stopping", config.nodeId());
        if (graceful && raftNode != null) {
            int left = raftNode.moveLeadershipsAway(Math.min(timeoutMs / 2, remainingMs(handOverDeadline)));
            if (left > 0) {
                LOG.warn("broker {}: {} replicated partitions are still led here after the hand-over", config.nodeId(), left);
            }
        }
        if (replicas != null) {
            replicas.close();
        }
        stopGrpc(handOverDeadline);
        closeQuietly(http, leaderPublisher, reconciler, servingProbe, controllerChannel);
        if (groups != null) {
            groups.close();
        }
        shutdownExecutors();
        // Also when this start has not registered yet (it waits for its metadata member to hear from a controller):
        // a broker stopped right after a restart still counts as live from its last run until it says it leaves.
        if (graceful && metadata != null && (registered || knownToTheCluster())) {
            runUntil("handing over the controller role and leaving", handOverDeadline, this::leaveMetadataGroup);
        }
        // The partition node and the metadata member close side by side: each may wait on Ratis for its peers.
        ShutdownStep closeRaft = ShutdownStep.closing("closing the partition replicas", config.nodeId(), raftNode);
        ShutdownStep closeMetadata = ShutdownStep.closing("closing the metadata member", config.nodeId(), metadata);
        boolean done = closeRaft.await(deadline) & closeMetadata.await(deadline);
        LOG.info("broker {} stopped{} in {} ms", config.nodeId(), done ? "" : " (some steps abandoned)",
                System.currentTimeMillis() - startMs);
    }

    private void stopGrpc(long deadline) {
        if (grpc == null) {
            return;
        }
        grpc.shutdown();
        try {
            if (!grpc.awaitTermination(Math.min(STOP_DRAIN_MS, remainingMs(deadline)), TimeUnit.MILLISECONDS)) {
                LOG.info("broker {}: calls and streams still open {} ms into the stop are cancelled", config.nodeId(),
                        STOP_DRAIN_MS);
                grpc.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            grpc.shutdownNow();
        }
    }

    /** Hands the controller role over (if held here) and tells the controller this broker leaves. */
    private void leaveMetadataGroup(long deadline) throws Exception {
        metadata.resign(remainingMs(deadline));
        metadata.leave(config.nodeId()).get(Math.min(2_000, remainingMs(deadline)), TimeUnit.MILLISECONDS);
    }

    /** Runs one step of the stop on this thread's behalf until {@code deadline}; past that it is abandoned. */
    private void runUntil(String what, long deadline, ShutdownStep.Task task) {
        ShutdownStep.start(what, config.nodeId(), () -> task.run(deadline)).await(deadline);
    }

    private static long remainingMs(long deadline) {
        return deadline == Long.MAX_VALUE ? Long.MAX_VALUE / 2 : Math.max(0, deadline - System.currentTimeMillis());
    }

    private void shutdownExecutors() {
        for (ExecutorService e : new ExecutorService[]{heartbeats, scheduler, workers, autoCreator}) {
            if (e != null) {
                e.shutdownNow();
            }
        }
    }

    private static void closeQuietly(Closeable... closeables) {
        for (Closeable c : closeables) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("error while closing {}", c, e);
            }
        }
    }
}
