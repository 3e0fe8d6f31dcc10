package io.rafka.server.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.rafka.common.NotControllerException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.AlterConfigsRequest;
import io.rafka.proto.v1.AlterConfigsResponse;
import io.rafka.proto.v1.ConfigEntry;
import io.rafka.proto.v1.CreatePartitionsRequest;
import io.rafka.proto.v1.CreatePartitionsResponse;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.proto.v1.DeleteTopicsRequest;
import io.rafka.proto.v1.DeleteTopicsResponse;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.DescribeConfigsRequest;
import io.rafka.proto.v1.DescribeConfigsResponse;
import io.rafka.proto.v1.DescribeTopicsRequest;
import io.rafka.proto.v1.DescribeTopicsResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.ListTopicsRequest;
import io.rafka.proto.v1.ListTopicsResponse;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionDescription;
import io.rafka.proto.v1.PartitionReassignment;
import io.rafka.proto.v1.ReplaceBrokerRequest;
import io.rafka.proto.v1.ReplaceBrokerResponse;
import io.rafka.proto.v1.TopicDescription;
import io.rafka.proto.v1.TopicResult;
import io.rafka.controller.Controller;
import io.rafka.controller.ControllerLogic;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Topic and cluster administration. Reads (list, describe) are answered from the local metadata image;
 * writes run on the controller, here or forwarded to it ({@link ControllerChannel}). Per-topic problems are
 * per-topic results; only a request that cannot be understood fails as a whole.
 */
public final class AdminApi extends AdminServiceGrpc.AdminServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
    private static final long CONTROLLER_WAIT_MS = 10_000;
    /** Topic creations started by produce or metadata requests and not finished yet, at most. */
    private static final int MAX_PENDING_AUTO_CREATES = 100;
    /** Topic names in one request, at most (metadata, describe, create, delete). */
    static final int MAX_NAMES_PER_REQUEST = 10_000;

    private final ClusterView view;
    private final Controller controller;
    private final ControllerChannel controllerChannel;
    private final TopicDefaults defaults;
    private final Supplier<Map<String, ConfigEntry>> brokerConfig;
    private final Executor autoCreateExecutor;
    private final Set<String> autoCreating = ConcurrentHashMap.newKeySet();

    /** What a create request that leaves partitions or replication factor at 0 gets. */
    public record TopicDefaults(int partitions, int replicationFactor) {
    }

    public AdminApi(ClusterView view, Controller controller, ControllerChannel controllerChannel, TopicDefaults defaults,
                    Supplier<Map<String, ConfigEntry>> brokerConfig, Executor autoCreateExecutor) {
        this.view = view;
        this.controller = controller;
        this.controllerChannel = controllerChannel;
        this.defaults = defaults;
        this.brokerConfig = brokerConfig;
        this.autoCreateExecutor = autoCreateExecutor;
    }

    /**
     * Creates a topic with the default partitions and replication factor, in the background (auto-create on
     * produce or metadata). At most one creation per name is under way; failures (a race with another
     * creator, no controller yet) are dropped, as the client retries and asks again.
     */
    public void autoCreate(String name) {
        if (autoCreating.size() >= MAX_PENDING_AUTO_CREATES || !autoCreating.add(name)) {
            return; // already under way, or too many at once: the client's retry asks again
        }
        CreateTopicsRequest request = CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder().setName(name)).build();
        autoCreateExecutor.execute(() -> createTopics(request, new StreamObserver<>() {
            @Override
            public void onNext(CreateTopicsResponse value) {
                TopicResult r = value.getResults(0);
                if (r.getErrorCode() == ErrorCode.NONE || r.getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS) {
                    LOG.info("auto-created topic '{}'", name);
                } else {
                    LOG.warn("auto-creating topic '{}' failed: {} {}", name, r.getErrorCode(), r.getErrorMessage());
                }
            }

            @Override
            public void onError(Throwable t) {
                autoCreating.remove(name);
                LOG.debug("auto-create of topic '{}' failed: {}", name, t.toString());
            }

            @Override
            public void onCompleted() {
                autoCreating.remove(name);
            }
        }));
    }

    @Override
    public void createTopics(CreateTopicsRequest request, StreamObserver<CreateTopicsResponse> out) {
        if (request.getTopicsCount() > MAX_NAMES_PER_REQUEST) {
            out.onError(ApiErrors.invalidArgument("at most " + MAX_NAMES_PER_REQUEST + " topics per request"));
            return;
        }
        onController(out, stub -> stub.createTopics(request), () -> {
            CreateTopicsResponse.Builder resp = CreateTopicsResponse.newBuilder();
            for (NewTopic t : request.getTopicsList()) {
                TopicResult.Builder result = TopicResult.newBuilder().setName(t.getName());
                try {
                    TopicInfo created = controller.createTopic(new ControllerLogic.CreateTopicRequest(t.getName(),
                            t.getPartitions() == 0 ? defaults.partitions() : t.getPartitions(),
                            t.getReplicationFactor() == 0 ? defaultReplicationFactor() : t.getReplicationFactor(),
                            t.getConfigsMap()));
                    resp.addTopics(describe(created));
                } catch (RuntimeException e) {
                    fail(result, e);
                }
                resp.addResults(result);
            }
            return resp.build();
        });
    }

    private int defaultReplicationFactor() {
        if (defaults.replicationFactor() > 0) {
            return defaults.replicationFactor();
        }
        int live = view.metadata().liveBrokers(controller.sessionTimeoutMs()).size();
        return Math.max(1, Math.min(3, live));
    }

    @Override
    public void deleteTopics(DeleteTopicsRequest request, StreamObserver<DeleteTopicsResponse> out) {
        if (request.getNamesCount() > MAX_NAMES_PER_REQUEST) {
            out.onError(ApiErrors.invalidArgument("at most " + MAX_NAMES_PER_REQUEST + " topic names per request"));
            return;
        }
        onController(out, stub -> stub.deleteTopics(request), () -> {
            DeleteTopicsResponse.Builder resp = DeleteTopicsResponse.newBuilder();
            for (String name : request.getNamesList()) {
                TopicResult.Builder result = TopicResult.newBuilder().setName(name);
                try {
                    controller.deleteTopic(name);
                } catch (RuntimeException e) {
                    fail(result, e);
                }
                resp.addResults(result);
            }
            return resp.build();
        });
    }

    @Override
    public void createPartitions(CreatePartitionsRequest request, StreamObserver<CreatePartitionsResponse> out) {
        onController(out, stub -> stub.createPartitions(request), () -> {
            TopicResult.Builder result = TopicResult.newBuilder().setName(request.getTopic());
            try {
                controller.createPartitions(request.getTopic(), request.getTotalCount());
            } catch (RuntimeException e) {
                fail(result, e);
            }
            return CreatePartitionsResponse.newBuilder().setResult(result).build();
        });
    }

    @Override
    public void alterConfigs(AlterConfigsRequest request, StreamObserver<AlterConfigsResponse> out) {
        onController(out, stub -> stub.alterConfigs(request), () -> {
            TopicResult.Builder result = TopicResult.newBuilder().setName(request.getTopic());
            try {
                controller.alterConfigs(request.getTopic(), request.getSetMap(), request.getDeleteList());
            } catch (RuntimeException e) {
                fail(result, e);
            }
            return AlterConfigsResponse.newBuilder().setResult(result).build();
        });
    }

    @Override
    public void describeCluster(DescribeClusterRequest request, StreamObserver<DescribeClusterResponse> out) {
        // Liveness is known only to the controller (heartbeats go there), so this is answered by it.
        onController(out, stub -> stub.describeCluster(request), () -> {
            MetadataImage image = view.image();
            DescribeClusterResponse.Builder resp = DescribeClusterResponse.newBuilder()
                    .setControllerId(view.brokerId())
                    .setMetadataVersion(image.version())
                    .addAllLiveBrokerIds(view.metadata().liveBrokers(sessionTimeoutMs()));
            new TreeMap<>(image.brokers()).values().forEach(b -> resp.addBrokers(ClusterView.toProto(b)));
            return resp.build();
        });
    }

    @Override
    public void replaceBroker(ReplaceBrokerRequest request, StreamObserver<ReplaceBrokerResponse> out) {
        onController(out, stub -> stub.replaceBroker(request), () -> {
            if (request.getBrokerId().isEmpty()) {
                throw new io.rafka.common.RafkaException(io.rafka.common.ErrorCode.INVALID_REQUEST, "broker_id is required");
            }
            String target = request.getTargetBrokerId().isEmpty() ? null : request.getTargetBrokerId();
            ReplaceBrokerResponse.Builder resp = ReplaceBrokerResponse.newBuilder();
            for (ControllerLogic.Reassignment r : controller.replaceBroker(request.getBrokerId(), target)) {
                PartitionReassignment.Builder pr = PartitionReassignment.newBuilder().setTopic(r.topic())
                        .setPartition(r.partition()).addAllReplicas(r.replicas());
                if (r.error() != null) {
                    ApiErrors.Failure f = ApiErrors.classify(r.error());
                    pr.setErrorCode(f.code()).setErrorMessage(f.message());
                }
                resp.addResults(pr);
            }
            return resp.build();
        });
    }

    private long sessionTimeoutMs() {
        return controller.sessionTimeoutMs();
    }

    @Override
    public void listTopics(ListTopicsRequest request, StreamObserver<ListTopicsResponse> out) {
        out.onNext(ListTopicsResponse.newBuilder().addAllNames(new TreeMap<>(view.image().topics()).keySet()).build());
        out.onCompleted();
    }

    @Override
    public void describeTopics(DescribeTopicsRequest request, StreamObserver<DescribeTopicsResponse> out) {
        if (request.getNamesCount() > MAX_NAMES_PER_REQUEST) {
            out.onError(ApiErrors.invalidArgument("at most " + MAX_NAMES_PER_REQUEST + " topic names per request"));
            return;
        }
        MetadataImage image = view.image();
        Collection<String> names = request.getNamesCount() == 0 ? new TreeMap<>(image.topics()).keySet()
                : new java.util.LinkedHashSet<>(request.getNamesList());
        DescribeTopicsResponse.Builder resp = DescribeTopicsResponse.newBuilder();
        for (String name : names) {
            TopicInfo t = image.topic(name);
            if (t == null) {
                resp.addTopics(TopicDescription.newBuilder().setName(name).setErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                        .setErrorMessage("topic '" + name + "' does not exist"));
            } else {
                resp.addTopics(describe(t));
            }
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    @Override
    public void describeConfigs(DescribeConfigsRequest request, StreamObserver<DescribeConfigsResponse> out) {
        DescribeConfigsResponse.Builder resp = DescribeConfigsResponse.newBuilder();
        TopicResult.Builder result = TopicResult.newBuilder().setName(request.getTopic());
        if (request.getTopic().isEmpty()) {
            resp.addAllEntries(brokerConfig.get().values());
        } else {
            TopicInfo t = view.image().topic(request.getTopic());
            if (t == null) {
                result.setErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).setErrorMessage("topic '" + request.getTopic() + "' does not exist");
            } else {
                Map<String, String> effective = TopicConfigs.describe(view.logConfig(t));
                for (Map.Entry<String, String> e : new TreeMap<>(effective).entrySet()) {
                    resp.addEntries(ConfigEntry.newBuilder().setName(e.getKey()).setValue(e.getValue())
                            .setIsDefault(!t.configs().containsKey(e.getKey())));
                }
            }
        }
        out.onNext(resp.setResult(result).build());
        out.onCompleted();
    }

    TopicDescription describe(TopicInfo t) {
        TopicDescription.Builder d = TopicDescription.newBuilder().setName(t.name()).setTopicId(t.id().toString())
                .setReplicationFactor(t.replicationFactor()).putAllConfigs(t.configs());
        for (int p = 0; p < t.partitionCount(); p++) {
            PartitionDescription.Builder pd = PartitionDescription.newBuilder().setPartition(p).addAllReplicas(t.assignments().get(p));
            view.leaderOf(new TopicPartition(t.name(), p)).ifPresent(l -> pd.setLeaderId(l.id()));
            d.addPartitions(pd);
        }
        return d.build();
    }

    private static void fail(TopicResult.Builder result, RuntimeException e) {
        ApiErrors.Failure f = ApiErrors.classify(e);
        result.setErrorCode(f.code()).setErrorMessage(f.message());
    }

    /**
     * Waits up to {@value #CONTROLLER_WAIT_MS} ms while the metadata group elects a controller, so that admin
     * calls made during an election succeed instead of failing with a retriable NOT_CONTROLLER.
     */
    private void awaitController() {
        long deadline = System.currentTimeMillis() + CONTROLLER_WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            var controller = view.metadata().controllerId();
            boolean electing = controller.isEmpty() || controller.get().equals(view.brokerId()) && !view.metadata().isController();
            if (!electing) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Answers with {@code local} if this broker is the controller, else forwards with {@code remote}; a call
     * already forwarded once is not forwarded again.
     */
    private <T> void onController(StreamObserver<T> out, Function<AdminServiceGrpc.AdminServiceBlockingStub, T> remote,
                                  Supplier<T> local) {
        T response;
        try {
            awaitController();
            if (view.metadata().isController()) {
                response = local.get();
            } else if (ApiContext.isForwarded()) {
                throw new NotControllerException("broker " + view.brokerId() + " is no longer the controller",
                        view.metadata().controllerId().orElse(null));
            } else {
                response = remote.apply(controllerChannel.controller());
            }
        } catch (StatusRuntimeException e) {
            out.onError(e.getStatus().getCode() == Status.Code.UNAVAILABLE || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED
                    ? ApiErrors.status(Status.UNAVAILABLE, ErrorCode.NOT_CONTROLLER, "the controller could not be reached: "
                    + e.getStatus().getDescription())
                    : e);
            return;
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(ApiErrors.classify(e)));
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }
}
