package io.rafka.client.admin;

import io.grpc.StatusRuntimeException;
import io.rafka.client.group.CoordinatorClient;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.ConfigValues;
import io.rafka.client.internals.GroupLogEnds;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.OffsetLookup;
import io.rafka.common.ErrorCode;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.AlterConfigsRequest;
import io.rafka.proto.v1.AlterOffsetsRequest;
import io.rafka.proto.v1.FetchOffsetsRequest;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionResult;
import io.rafka.proto.v1.TopicPartitions;
import io.rafka.proto.v1.CreatePartitionsRequest;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.proto.v1.DeleteGroupRequest;
import io.rafka.proto.v1.DeleteTopicsRequest;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.DescribeConfigsRequest;
import io.rafka.proto.v1.DescribeConfigsResponse;
import io.rafka.proto.v1.DescribeGroupRequest;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.DescribeTopicsRequest;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.ListGroupsRequest;
import io.rafka.proto.v1.ListTopicsRequest;
import io.rafka.proto.v1.TopicResult;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The Java SDK's admin client: topics, configs, the cluster, consumer groups and offsets, as Kafka's Admin does
 * them. Every call returns a {@link CompletableFuture} at once and runs on the admin's one I/O thread, in the order
 * called; a failure completes the future exceptionally with an {@link AdminException} carrying the broker's
 * {@link ErrorCode}. Topic and config calls go to any broker (it forwards writes to the controller): the one that
 * answered last, else the bootstrap brokers, then the cluster's other brokers (learnt on the first call), in turn
 * while one cannot be reached; a broker that was reached is not asked again (create and delete are not safe to
 * repeat blindly); group calls go to the group's coordinator, found and retried while it moves, for up to
 * {@code default.api.timeout.ms}. Thread-safe.
 *
 * <pre>{@code
 * try (RafkaAdmin admin = RafkaAdmin.create("127.0.0.1:9192")) {
 *     admin.createTopics(List.of(new NewTopic("orders", 6, 3))).join();
 *     TopicDescription orders = admin.describeTopics(List.of("orders")).join().get("orders");
 *     long lag = admin.describeGroup("billing").join().partitions().stream()
 *             .mapToLong(GroupDescription.PartitionState::lag).sum();
 * }
 * }</pre>
 */
public final class RafkaAdmin implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RafkaAdmin.class);
    /** How long describeGroup looks for the log ends the coordinator could not tell. */
    static final long LOG_END_LOOKUP_MS = 3_000;

    /** Admin writes wait for the metadata group to commit: seconds at most, unless it has no leader. */
    static final long RPC_DEADLINE_MS = 30_000;
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String DEFAULT_API_TIMEOUT_MS = "default.api.timeout.ms";

    private final ChannelPool channels;
    private final boolean ownsChannels;
    private final List<BrokerAddress> bootstrap;
    private final long retryTimeoutMs;
    private final MetadataClient metadata;
    private final ExecutorService ioThread = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "rafka-admin");
        thread.setDaemon(true);
        return thread;
    });

    private RafkaAdmin(List<BrokerAddress> bootstrap, long retryTimeoutMs, ChannelPool channels, boolean ownsChannels) {
        this.channels = channels;
        this.ownsChannels = ownsChannels;
        this.bootstrap = bootstrap;
        this.retryTimeoutMs = retryTimeoutMs;
        this.metadata = new MetadataClient(channels, bootstrap, Time.SYSTEM, retryTimeoutMs);
    }

    /** @param bootstrapServers {@code host:port}, also comma-separated: asked in turn while one does not answer */
    public static RafkaAdmin create(String bootstrapServers) {
        return create(Map.of(BOOTSTRAP_SERVERS, bootstrapServers));
    }

    /** From Kafka's keys: {@code bootstrap.servers}, {@code default.api.timeout.ms} (60 s). */
    public static RafkaAdmin create(Map<String, ?> props) {
        List<String> servers = ConfigValues.servers(props, BOOTSTRAP_SERVERS);
        if (servers.isEmpty()) {
            throw new IllegalArgumentException(BOOTSTRAP_SERVERS + " is required");
        }
        return new RafkaAdmin(servers.stream().map(BrokerAddress::parse).toList(),
                ConfigValues.number(props, DEFAULT_API_TIMEOUT_MS, 60_000), ChannelPool.plaintext(), true);
    }

    /**
     * An admin client on the given channels, which it leaves open on close (the caller owns them, as a tool that
     * also produces or consumes on them does).
     *
     * @param defaultApiTimeoutMs how long group calls retry a moving coordinator
     */
    public static RafkaAdmin create(String bootstrapServer, long defaultApiTimeoutMs, ChannelPool channels) {
        return new RafkaAdmin(java.util.Arrays.stream(bootstrapServer.split(",")).map(String::trim)
                .filter(t -> !t.isEmpty()).map(BrokerAddress::parse).toList(), defaultApiTimeoutMs, channels, false);
    }

    public static RafkaAdmin create(Properties props) {
        return create(ConfigValues.toMap(props));
    }

    /** Creates the topics; completes with them as placed. */
    public CompletableFuture<Map<String, TopicDescription>> createTopics(Collection<NewTopic> topics) {
        return run(() -> {
            CreateTopicsRequest.Builder request = CreateTopicsRequest.newBuilder();
            for (NewTopic t : topics) {
                request.addTopics(io.rafka.proto.v1.NewTopic.newBuilder().setName(t.name()).setPartitions(t.partitions())
                        .setReplicationFactor(t.replicationFactor()).putAllConfigs(t.configs()));
            }
            CreateTopicsResponse response = admin(stub -> stub.createTopics(request.build()));
            check(response.getResultsList(), "create");
            Map<String, TopicDescription> created = new LinkedHashMap<>();
            response.getTopicsList().forEach(d -> created.put(d.getName(), TopicDescription.of(d)));
            return created;
        });
    }

    public CompletableFuture<Void> deleteTopics(Collection<String> names) {
        return run(() -> {
            check(admin(stub -> stub.deleteTopics(DeleteTopicsRequest.newBuilder().addAllNames(names).build()))
                    .getResultsList(), "delete");
            return null;
        });
    }

    /** Every topic name, sorted. */
    public CompletableFuture<Set<String>> listTopics() {
        return run(() -> new TreeSet<>(admin(stub -> stub.listTopics(ListTopicsRequest.getDefaultInstance())).getNamesList()));
    }

    /** The topics (every topic when {@code names} is empty), by name; an unknown one fails the call. */
    public CompletableFuture<Map<String, TopicDescription>> describeTopics(Collection<String> names) {
        return run(() -> {
            List<io.rafka.proto.v1.TopicDescription> topics = admin(stub -> stub.describeTopics(
                    DescribeTopicsRequest.newBuilder().addAllNames(names).build())).getTopicsList();
            check(topics.stream().map(t -> TopicResult.newBuilder().setName(t.getName()).setErrorCode(t.getErrorCode())
                    .setErrorMessage(t.getErrorMessage()).build()).toList(), "describe");
            Map<String, TopicDescription> result = new TreeMap<>();
            topics.forEach(t -> result.put(t.getName(), TopicDescription.of(t)));
            return result;
        });
    }

    /** Grows the topic to {@code totalCount} partitions. */
    public CompletableFuture<Void> createPartitions(String topic, int totalCount) {
        return run(() -> {
            check(List.of(admin(stub -> stub.createPartitions(CreatePartitionsRequest.newBuilder().setTopic(topic)
                    .setTotalCount(totalCount).build())).getResult()), "add partitions to");
            return null;
        });
    }

    /** The topic's settings (its overrides and the defaults); an empty topic name means the broker's own. */
    public CompletableFuture<List<ConfigEntry>> describeConfigs(String topic) {
        return run(() -> {
            DescribeConfigsResponse response = admin(stub -> stub.describeConfigs(
                    DescribeConfigsRequest.newBuilder().setTopic(topic).build()));
            check(List.of(response.getResult()), "describe the configs of");
            return response.getEntriesList().stream().map(e -> new ConfigEntry(e.getName(), e.getValue(), e.getIsDefault())).toList();
        });
    }

    /** Sets and removes (back to the default) topic overrides. */
    public CompletableFuture<Void> alterConfigs(String topic, Map<String, String> set, Collection<String> delete) {
        return run(() -> {
            check(List.of(admin(stub -> stub.alterConfigs(AlterConfigsRequest.newBuilder().setTopic(topic)
                    .putAllSet(set).addAllDelete(delete).build())).getResult()), "alter");
            return null;
        });
    }

    public CompletableFuture<ClusterDescription> describeCluster() {
        return run(() -> {
            DescribeClusterResponse r = admin(stub -> stub.describeCluster(DescribeClusterRequest.getDefaultInstance()));
            return new ClusterDescription(r.getBrokersList().stream()
                    .map(b -> new ClusterDescription.Node(b.getId(), b.getHost(), b.getPort())).toList(),
                    List.copyOf(r.getLiveBrokerIdsList()), r.getControllerId());
        });
    }

    /** Every group of the cluster (each broker lists the groups it coordinates), sorted by id. */
    public CompletableFuture<List<GroupDescription.Listing>> listGroups() {
        return run(() -> {
            Map<String, GroupDescription.Listing> groups = new TreeMap<>();
            for (BrokerAddress broker : new LinkedHashSet<>(metadata.refresh(List.of(), false).brokers())) {
                try {
                    GroupServiceGrpc.newBlockingStub(channels.channel(broker))
                            .withDeadlineAfter(CoordinatorClient.RPC_DEADLINE_MS, TimeUnit.MILLISECONDS)
                            .listGroups(ListGroupsRequest.getDefaultInstance()).getGroupsList()
                            .forEach(g -> groups.putIfAbsent(g.getGroupId(),
                                    new GroupDescription.Listing(g.getGroupId(), g.getState(), g.getMembers())));
                } catch (StatusRuntimeException e) {
                    throw ClientException.fromCall(e, broker);
                }
            }
            return new ArrayList<>(groups.values());
        });
    }

    /**
     * Members, what they own, and per partition the committed offset, log-end offset and lag. Log-end offsets the
     * coordinator cannot tell (its broker holds no replica of the partition) are asked of the leaders; where that
     * fails too (a deleted topic's offsets), they and the lag stay -1.
     */
    public CompletableFuture<GroupDescription> describeGroup(String groupId) {
        return run(() -> {
            DescribeGroupResponse group = coordinator(groupId).call(stub -> stub.describeGroup(
                    DescribeGroupRequest.newBuilder().setGroupId(groupId).build()));
            try {
                // Bounded: this runs on the admin's one I/O thread, and a description without some lags beats a
                // minute's wait for a leader that is away.
                group = GroupLogEnds.fill(group, new OffsetLookup(metadata, channels, Time.SYSTEM,
                        Math.min(retryTimeoutMs, LOG_END_LOOKUP_MS)));
            } catch (ClientException e) {
                LOG.debug("log-end offsets of group {} unknown: {}", groupId, e.getMessage());
            }
            return describe(group);
        });
    }

    /** Deletes an empty group and its committed offsets (NON_EMPTY_GROUP while it has members). */
    public CompletableFuture<Void> deleteGroup(String groupId) {
        return run(() -> {
            coordinator(groupId).call(stub -> stub.deleteGroup(DeleteGroupRequest.newBuilder().setGroupId(groupId).build()));
            return null;
        });
    }

    /** The group's committed offsets of the partitions, -1 where it has none (Kafka's listConsumerGroupOffsets). */
    public CompletableFuture<Map<TopicPartition, Long>> listGroupOffsets(String groupId, Collection<TopicPartition> partitions) {
        return run(() -> {
            Map<String, TopicPartitions.Builder> byTopic = new TreeMap<>();
            partitions.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> TopicPartitions.newBuilder().setTopic(t))
                    .addPartitions(tp.partition()));
            FetchOffsetsRequest.Builder request = FetchOffsetsRequest.newBuilder().setGroupId(groupId);
            byTopic.values().forEach(request::addPartitions);
            Map<TopicPartition, Long> committed = new LinkedHashMap<>();
            partitions.forEach(tp -> committed.put(tp, -1L));
            coordinator(groupId).call(stub -> stub.fetchOffsets(request.build())).getOffsetsList()
                    .forEach(o -> committed.put(new TopicPartition(o.getTopic(), o.getPartition()), o.getOffset()));
            return committed;
        });
    }

    /**
     * Sets the committed offsets of a group without members (Kafka's alterConsumerGroupOffsets; NON_EMPTY_GROUP
     * while it has members). Completes with the partitions that failed and why (empty: all were set), because the
     * coordinator sets each partition on its own and the others stay set.
     */
    public CompletableFuture<Map<TopicPartition, AdminException>> alterGroupOffsets(String groupId,
                                                                                   Map<TopicPartition, Long> offsets) {
        return run(() -> {
            AlterOffsetsRequest.Builder request = AlterOffsetsRequest.newBuilder().setGroupId(groupId);
            offsets.forEach((tp, offset) -> request.addOffsets(OffsetCommit.newBuilder()
                    .setTopic(tp.topic()).setPartition(tp.partition()).setOffset(offset)));
            Map<TopicPartition, AdminException> failed = new LinkedHashMap<>();
            for (PartitionResult r : coordinator(groupId).call(stub -> stub.alterOffsets(request.build())).getResultsList()) {
                if (r.getErrorCode() != io.rafka.proto.v1.ErrorCode.NONE) {
                    TopicPartition tp = new TopicPartition(r.getTopic(), r.getPartition());
                    ErrorCode code = ErrorCode.forCode(r.getErrorCodeValue());
                    String message = r.getErrorMessage().isEmpty() ? tp.toString() : tp + ": " + r.getErrorMessage();
                    failed.put(tp, new AdminException(code, code.name(), message, Map.of()));
                }
            }
            return failed;
        });
    }

    /** Per partition, the offset {@code spec} names; -1 where no record is at or after a timestamp. */
    public CompletableFuture<Map<TopicPartition, Long>> listOffsets(Collection<TopicPartition> partitions, OffsetSpec spec) {
        return run(() -> new OffsetLookup(metadata, channels, Time.SYSTEM, retryTimeoutMs)
                .offsets(List.copyOf(partitions), spec.timestampMs()));
    }

    /** Stops the I/O thread (calls not yet run fail) and closes the connections. */
    @Override
    public void close() {
        for (Runnable queued : ioThread.shutdownNow()) {
            if (queued instanceof Call<?> call) {
                call.result.completeExceptionally(new IllegalStateException("the admin client was closed before this call ran"));
            }
        }
        try {
            ioThread.awaitTermination(RPC_DEADLINE_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ownsChannels) {
            channels.close();
        }
    }

    private static GroupDescription describe(DescribeGroupResponse r) {
        List<GroupDescription.Member> members = r.getMembersList().stream().map(m -> {
            Set<TopicPartition> owned = new LinkedHashSet<>();
            m.getAssignmentList().forEach(t -> t.getPartitionsList().forEach(p -> owned.add(new TopicPartition(t.getTopic(), p))));
            return new GroupDescription.Member(m.getMemberId(), m.getInstanceId(), m.getClientId(), m.getHost(), owned);
        }).toList();
        List<GroupDescription.PartitionState> partitions = r.getPartitionsList().stream()
                .map(p -> new GroupDescription.PartitionState(new TopicPartition(p.getTopic(), p.getPartition()),
                        p.getCommittedOffset(), p.getLogEndOffset(), p.getLag(), p.getOwner())).toList();
        return new GroupDescription(r.getGroupId(), r.getState(), r.getGroupEpoch(), members, partitions);
    }

    private CoordinatorClient coordinator(String groupId) {
        return new CoordinatorClient(groupId, channels, bootstrap.get(0), metadata, Time.SYSTEM, retryTimeoutMs);
    }

    /**
     * Any broker serves an admin call (it forwards writes to the controller): the candidates of the metadata
     * ({@link MetadataClient#candidates}: the last to answer, the bootstrap brokers, every broker the cluster listed)
     * are asked in turn while one cannot be reached.
     */
    private <T> T admin(Function<AdminServiceGrpc.AdminServiceBlockingStub, T> rpc) {
        if (metadata.knownBrokers().isEmpty()) {
            // Learn the cluster's brokers once, so a call goes on when every bootstrap broker is gone later.
            try {
                metadata.refresh(List.of(), false, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RPC_DEADLINE_MS));
            } catch (ClientException e) {
                // none answered: the call below says so (and the next call asks again)
            }
        }
        ClientException failure = null;
        for (BrokerAddress address : metadata.candidates()) {
            try {
                return rpc.apply(AdminServiceGrpc.newBlockingStub(channels.channel(address))
                        .withDeadlineAfter(RPC_DEADLINE_MS, TimeUnit.MILLISECONDS));
            } catch (StatusRuntimeException e) {
                failure = ClientException.fromStatus(e, address);
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
                    throw failure;  // reached, and refused or timed out: it may have been applied; not asked twice
                }
            }
        }
        throw failure;
    }

    /** Fails with the first failed topic's code, naming every failed topic. */
    private static void check(List<TopicResult> results, String what) {
        Map<String, ErrorCode> failures = new LinkedHashMap<>();
        StringBuilder message = new StringBuilder();
        for (TopicResult r : results) {
            if (r.getErrorCode() != io.rafka.proto.v1.ErrorCode.NONE) {
                ErrorCode code = ErrorCode.forCode(r.getErrorCodeValue());
                failures.put(r.getName(), code);
                message.append(message.isEmpty() ? "" : "; ").append("could not ").append(what).append(" topic ")
                        .append(r.getName()).append(r.getErrorMessage().isEmpty() ? "" : ": " + r.getErrorMessage());
            }
        }
        if (!failures.isEmpty()) {
            ErrorCode first = failures.values().iterator().next();
            throw new AdminException(first, first.name(), message.toString(), failures);
        }
    }

    private <T> CompletableFuture<T> run(Supplier<T> call) {
        Call<T> c = new Call<>(call);
        try {
            ioThread.execute(c);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            c.result.completeExceptionally(new IllegalStateException("the admin client is closed"));
        }
        return c.result;
    }

    /** One queued call and its future: close() fails the futures of calls that never ran. */
    private static final class Call<T> implements Runnable {
        final CompletableFuture<T> result = new CompletableFuture<>();
        private final Supplier<T> call;

        Call(Supplier<T> call) {
            this.call = call;
        }

        @Override
        public void run() {
            try {
                result.complete(call.get());
            } catch (ClientException e) {
                result.completeExceptionally(AdminException.from(e));
            } catch (Throwable e) {
                result.completeExceptionally(e);  // an Error too: a future left incomplete would hang its caller
            }
        }
    }
}
