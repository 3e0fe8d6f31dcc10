package io.rafka.client.admin;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.rafka.client.group.CoordinatorClient;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.CallContexts;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.ConfigValues;
import io.rafka.client.internals.GroupListings;
import io.rafka.client.internals.GroupLogEnds;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.OffsetLookup;
import io.rafka.client.internals.ErrorCodes;
import io.rafka.client.internals.RetryState;
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
import io.rafka.proto.v1.ListTopicsRequest;
import io.rafka.proto.v1.TopicResult;

import java.time.Duration;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The Java SDK's admin client: topics, configs, the cluster, consumer groups and offsets, as Kafka's Admin does
 * them. Every call returns a {@link CompletableFuture} at once and runs on one of the admin's I/O threads (at most
 * {@value #MAX_CONCURRENT_CALLS} calls at once, the others wait their turn), so a slow call does not hold up the
 * others; as in Kafka, calls made one after the other without waiting for the first may run in either order, and a
 * callback of a future must not block (it runs on those threads). Each call ends within {@code default.api.timeout.ms}
 * from when it was made (then REQUEST_TIMED_OUT; one still waiting for a thread when a thread takes it); a failure
 * completes the future exceptionally with an {@link AdminException} carrying the broker's {@link ErrorCode}. Topic and config calls go to any broker (it forwards writes to the controller): the one that
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
    /** At most this many calls run at once (each holds a thread while it waits for a broker). */
    static final int MAX_CONCURRENT_CALLS = 8;

    private final ThreadPoolExecutor ioThreads;
    /** Calls made and not ended: close fails those still running or queued when its time is up. */
    private final Set<Call<?>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private RafkaAdmin(List<BrokerAddress> bootstrap, long retryTimeoutMs, ChannelPool channels, boolean ownsChannels) {
        this.channels = channels;
        this.ownsChannels = ownsChannels;
        this.bootstrap = bootstrap;
        this.retryTimeoutMs = retryTimeoutMs;
        this.metadata = new MetadataClient(channels, bootstrap, Time.SYSTEM, retryTimeoutMs);
        AtomicInteger threads = new AtomicInteger();
        this.ioThreads = new ThreadPoolExecutor(MAX_CONCURRENT_CALLS, MAX_CONCURRENT_CALLS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread thread = new Thread(() -> {
                        POOL_OF.set(this);
                        r.run();
                    }, "rafka-admin-" + threads.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                }) {
            @Override
            protected void terminated() {
                if (ownsChannels) {
                    channels.close();   // closed, and every call ended (also when close was called by one of them)
                }
            }
        };
        ioThreads.allowCoreThreadTimeOut(true);   // an idle admin client holds no thread
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
                    GroupListings.of(GroupServiceGrpc.newBlockingStub(channels.channel(broker)), CoordinatorClient.RPC_DEADLINE_MS)
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
                // Bounded: this holds one of the admin's I/O threads, and a description without some lags beats a
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

    /**
     * As Kafka's: lets the calls made so far end (each within its own {@code default.api.timeout.ms}), refusing new
     * ones, then closes the connections.
     */
    @Override
    public void close() {
        close(Duration.ofMillis(CallContexts.LONGEST_TIMEOUT_MS));
    }

    /**
     * Refuses new calls at once and gives those made so far, running or waiting their turn, up to {@code timeout} to
     * end (Kafka's grace period); the ones still unfinished then fail with REQUEST_TIMED_OUT (their requests in flight
     * cancelled: a write may still have been made). Then closes the connections.
     */
    public void close(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("the timeout must not be negative: " + timeout);
        }
        closed = true;
        ioThreads.shutdown();   // what is queued still runs
        if (POOL_OF.get() == this) {
            return;   // from one of its own threads (a future's callback): it cannot wait for itself; the last call closes
        }
        long timeoutMs = timeout.compareTo(Duration.ofMillis(CallContexts.LONGEST_TIMEOUT_MS)) > 0
                ? CallContexts.LONGEST_TIMEOUT_MS : timeout.toMillis();
        try {
            if (!ioThreads.awaitTermination(timeoutMs, TimeUnit.MILLISECONDS)) {
                for (Call<?> call : pending) {
                    call.abort("the admin client was closed before this call ended");
                }
                ioThreads.shutdownNow();
                ioThreads.awaitTermination(RPC_DEADLINE_MS, TimeUnit.MILLISECONDS);   // cancelled calls end at once
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ownsChannels) {
            channels.close();   // also when a thread did not end (the pool's own hook closes them otherwise)
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
     * are asked in turn while one cannot be reached; while none can (a cluster still starting, or restarting: the
     * connection fails, no broker answers anything), all are asked again after a back-off, up to
     * {@code default.api.timeout.ms}, as Kafka's admin client waits for one. A broker that could not be connected to
     * applied nothing, so asking again is safe; one that answered (even UNAVAILABLE with a code) is not asked again.
     */
    private <T> T admin(Function<AdminServiceGrpc.AdminServiceBlockingStub, T> rpc) {
        RetryState retry = new RetryState(Time.SYSTEM, retryTimeoutMs);
        while (true) {
            try {
                return adminOnce(rpc);
            } catch (Unreachable e) {
                retry.backOff(retry.onFailure(e.failure));
            } catch (ClientException e) {
                throw retry.whenTimeIsUp(e);  // an attempt cut short by the call's time names what it retried
            }
        }
    }

    /** Every candidate broker refused the connection or was down. */
    private static final class Unreachable extends RuntimeException {
        final ClientException failure;

        Unreachable(ClientException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }
    }

    private <T> T adminOnce(Function<AdminServiceGrpc.AdminServiceBlockingStub, T> rpc) {
        if (metadata.knownBrokers().isEmpty()) {
            // Learn the cluster's brokers once, so a call goes on when every bootstrap broker is gone later.
            try {
                metadata.refresh(List.of(), false, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RPC_DEADLINE_MS));
            } catch (ClientException e) {
                // none answered: the call below says so (and the next call asks again)
            }
        }
        ClientException failure = null;
        boolean answered = false;
        for (BrokerAddress address : metadata.candidates()) {
            try {
                return rpc.apply(AdminServiceGrpc.newBlockingStub(channels.channel(address))
                        .withDeadlineAfter(RPC_DEADLINE_MS, TimeUnit.MILLISECONDS));
            } catch (StatusRuntimeException e) {
                failure = ClientException.fromStatus(e, address);
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
                    throw failure;  // reached, and refused or timed out: it may have been applied; not asked twice
                }
                // UNAVAILABLE with a broker's code (NOT_CONTROLLER, ...): reached, so not asked again after a back-off
                answered |= ErrorCodes.trailerCode(e).isPresent();
            }
        }
        if (failure == null) {
            failure = new ClientException("UNAVAILABLE", "no broker to ask");
        }
        if (answered) {
            throw failure;
        }
        throw new Unreachable(failure);
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
        Call<T> c = new Call<>(call, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(
                Math.min(retryTimeoutMs, CallContexts.LONGEST_TIMEOUT_MS)));
        if (closed) {
            c.result.completeExceptionally(new IllegalStateException("the admin client is closed"));
            return c.result;
        }
        pending.add(c);
        c.result.whenComplete((value, error) -> pending.remove(c));
        try {
            ioThreads.execute(c);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            c.result.completeExceptionally(new IllegalStateException("the admin client is closed"));
        }
        return c.result;
    }

    /** The admin client whose I/O thread this is (where the callbacks of its futures may run), if any. */
    private static final ThreadLocal<RafkaAdmin> POOL_OF = new ThreadLocal<>();

    /**
     * One call and its future. It runs in a gRPC context whose deadline is the call's (made plus
     * {@code default.api.timeout.ms}), which bounds its requests and retries; close() cancels it.
     */
    private final class Call<T> implements Runnable {
        final CompletableFuture<T> result = new CompletableFuture<>();
        private final Supplier<T> call;
        private final long deadlineNanos;
        private volatile Context.CancellableContext context;

        Call(Supplier<T> call, long deadlineNanos) {
            this.call = call;
            this.deadlineNanos = deadlineNanos;
        }

        @Override
        public void run() {
            long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (result.isDone()) {
                return;   // failed by close while it waited its turn
            }
            if (leftMs <= 0) {
                result.completeExceptionally(timedOut("it waited for a thread until its time was up", null));
                return;
            }
            Context.CancellableContext within = CallContexts.within(leftMs);
            context = within;
            try {
                if (result.isDone()) {
                    return;   // aborted just now
                }
                result.complete(within.call(call::get));
            } catch (ClientException e) {
                // Timed out: its time is up and the failure is one its retries (or the cancelled context) ended with,
                // not a definite answer that came in the last millisecond.
                boolean timedOut = CallContexts.timedOut(within) && (e.retriable() || e.code().equals(RetryState.CANCELLED));
                result.completeExceptionally(timedOut ? timedOut(e.getMessage(), e) : AdminException.from(e));
            } catch (Throwable e) {
                result.completeExceptionally(e);  // an Error too: a future left incomplete would hang its caller
            } finally {
                within.cancel(null);
            }
        }

        /** Fails the call now (close's time is up) and cancels its requests and retries if it runs. */
        void abort(String why) {
            result.completeExceptionally(new AdminException(ErrorCode.REQUEST_TIMED_OUT, ErrorCode.REQUEST_TIMED_OUT.name(),
                    why, Map.of()));
            Context.CancellableContext running = context;
            if (running != null) {
                running.cancel(null);
            }
        }

        private AdminException timedOut(String detail, Throwable cause) {
            AdminException e = new AdminException(ErrorCode.REQUEST_TIMED_OUT, ErrorCode.REQUEST_TIMED_OUT.name(),
                    "the call did not end within default.api.timeout.ms (" + retryTimeoutMs + " ms): " + detail, Map.of());
            if (cause != null) {
                e.initCause(cause);
            }
            return e;
        }
    }
}
