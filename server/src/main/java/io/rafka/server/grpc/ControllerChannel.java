package io.rafka.server.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rafka.common.ErrorCode;
import io.rafka.common.NotControllerException;
import io.rafka.common.RafkaException;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.AlterConfigsRequest;
import io.rafka.proto.v1.CreatePartitionsRequest;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.proto.v1.DeleteTopicsRequest;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.ReassignPartitionsRequest;
import io.rafka.proto.v1.ReplaceBrokerRequest;
import io.rafka.metadata.BrokerInfo;
import io.rafka.controller.ControllerLogic;
import io.rafka.server.broker.ClusterDescription;
import io.rafka.server.broker.ClusterView;
import io.rafka.server.broker.ControllerClient;
import io.rafka.server.broker.CreateTopicsResult;
import io.rafka.server.broker.NewTopic;
import io.rafka.server.broker.TopicResult;

import java.io.Closeable;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Forwards admin calls from a broker to the controller's API port, so clients may send them to any broker
 * (as Kafka forwards them since KIP-590). A forwarded call carries {@value #FORWARDED_KEY}; a broker that
 * receives one but is not the controller (it lost the role meanwhile) answers NOT_CONTROLLER instead of
 * forwarding again, so calls never loop. A controller that cannot be reached is NOT_CONTROLLER (the
 * {@link io.rafka.server.broker.TopicAdmin} retries it until a new controller answers); one that does not answer
 * within the request timeout is REQUEST_TIMED_OUT (the change may still be made). A create carries its id in
 * {@value #CREATE_ID_KEY}, so the controller gives its topics the ids of the first attempt.
 */
public final class ControllerChannel implements ControllerClient, Closeable {
    public static final String FORWARDED_KEY = "rafka-forwarded";
    static final Metadata.Key<String> FORWARDED = Metadata.Key.of(FORWARDED_KEY, Metadata.ASCII_STRING_MARSHALLER);
    public static final String CREATE_ID_KEY = "rafka-create-id";
    static final Metadata.Key<String> CREATE_ID = Metadata.Key.of(CREATE_ID_KEY, Metadata.ASCII_STRING_MARSHALLER);
    /**
     * The largest answer taken from the controller: a committed change's result (the placement of tens of thousands
     * of partitions) can exceed gRPC's default 4 MiB, and refusing it would report a change that was made as failed.
     */
    static final int MAX_ANSWER_BYTES = 256 * 1024 * 1024;

    private final ClusterView view;
    private final long timeoutMs;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    public ControllerChannel(ClusterView view, long timeoutMs) {
        this.view = view;
        this.timeoutMs = timeoutMs;
    }

    @Override
    public CreateTopicsResult createTopics(List<NewTopic> topics, UUID createId) {
        CreateTopicsRequest.Builder request = CreateTopicsRequest.newBuilder();
        topics.forEach(t -> request.addTopics(io.rafka.proto.v1.NewTopic.newBuilder().setName(t.name())
                .setPartitions(t.partitions()).setReplicationFactor(t.replicationFactor()).putAllConfigs(t.configs())));
        CreateTopicsResponse resp = call(createId, stub -> stub.createTopics(request.build()));
        return new CreateTopicsResult(resp.getResultsList().stream().map(AdminProtos::topicResult).toList(),
                resp.getTopicsList().stream().map(AdminProtos::topic).toList());
    }

    @Override
    public List<TopicResult> deleteTopics(List<String> names) {
        return call(stub -> stub.deleteTopics(DeleteTopicsRequest.newBuilder().addAllNames(names).build()))
                .getResultsList().stream().map(AdminProtos::topicResult).toList();
    }

    @Override
    public TopicResult createPartitions(String topic, int totalCount) {
        return AdminProtos.topicResult(call(stub -> stub.createPartitions(CreatePartitionsRequest.newBuilder()
                .setTopic(topic).setTotalCount(totalCount).build())).getResult());
    }

    @Override
    public TopicResult alterConfigs(String topic, Map<String, String> set, Collection<String> delete) {
        return AdminProtos.topicResult(call(stub -> stub.alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic(topic).putAllSet(set).addAllDelete(delete).build())).getResult());
    }

    @Override
    public ClusterDescription describeCluster() {
        DescribeClusterResponse resp = call(stub -> stub.describeCluster(DescribeClusterRequest.getDefaultInstance()));
        return AdminProtos.cluster(resp);
    }

    @Override
    public List<ControllerLogic.Reassignment> replaceBroker(String brokerId, String targetBrokerId) {
        ReplaceBrokerRequest.Builder request = ReplaceBrokerRequest.newBuilder().setBrokerId(brokerId);
        if (targetBrokerId != null) {
            request.setTargetBrokerId(targetBrokerId);
        }
        return call(stub -> stub.replaceBroker(request.build())).getResultsList().stream()
                .map(AdminProtos::reassignment).toList();
    }

    @Override
    public List<ControllerLogic.Reassignment> reassign(List<ControllerLogic.Reassignment> wanted, boolean balance,
                                                       boolean validateOnly) {
        ReassignPartitionsRequest.Builder request = ReassignPartitionsRequest.newBuilder()
                .setBalance(balance).setValidateOnly(validateOnly);
        wanted.forEach(w -> request.addReassignments(AdminProtos.reassignment(w)));
        return call(stub -> stub.reassignPartitions(request.build())).getResultsList().stream()
                .map(AdminProtos::reassignment).toList();
    }

    @Override
    public long allocateProducerIds(String brokerId) {
        return call(stub -> stub.allocateProducerIds(io.rafka.proto.v1.AllocateProducerIdsRequest.newBuilder()
                .setBrokerId(brokerId).build())).getFirstProducerId();
    }

    /** Runs one call on the controller, its failure status turned back into the typed error it stands for. */
    private <T> T call(Function<AdminServiceGrpc.AdminServiceBlockingStub, T> call) {
        return call(null, call);
    }

    private <T> T call(UUID createId, Function<AdminServiceGrpc.AdminServiceBlockingStub, T> call) {
        String target = controllerTarget();
        ManagedChannel channel = channels.computeIfAbsent(target, t -> NettyChannelBuilder.forTarget(t).usePlaintext()
                .maxInboundMessageSize(MAX_ANSWER_BYTES).build());
        AdminServiceGrpc.AdminServiceBlockingStub stub = AdminServiceGrpc.newBlockingStub(channel)
                .withInterceptors(new MarkForwarded(createId))
                .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS);
        try {
            return call.apply(stub);
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                // The next attempt (to this address, once a broker restarted there) connects at once rather than
                // after gRPC's reconnect backoff, which grows to minutes.
                channel.resetConnectBackoff();
            }
            throw fromStatus(e, timeoutMs);
        }
    }

    /**
     * A forwarded call's failure as a typed error: the controller's own code (trailer) and message when it
     * answered one; else no answer in time is REQUEST_TIMED_OUT, and no connection, or a call the controller
     * cancelled as it went down (while this broker's own caller is still waiting), is NOT_CONTROLLER.
     */
    static RafkaException fromStatus(StatusRuntimeException e, long timeoutMs) {
        String trailer = e.getTrailers() == null ? null : e.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER);
        if (trailer != null) {
            try {
                return ApiErrors.fromWire(Integer.parseInt(trailer), e.getStatus().getDescription());
            } catch (NumberFormatException ignored) {
                // not one of ours: judged by the status below
            }
        }
        Status.Code code = e.getStatus().getCode();
        if (code == Status.Code.DEADLINE_EXCEEDED) {
            return new RafkaException(ErrorCode.REQUEST_TIMED_OUT, "the controller did not answer within " + timeoutMs
                    + " ms; the change may still be made");
        }
        if (code == Status.Code.UNAVAILABLE) {
            return new NotControllerException("the controller could not be reached: " + e.getStatus().getDescription(), null);
        }
        if (code == Status.Code.CANCELLED && !io.grpc.Context.current().isCancelled()) {
            return new NotControllerException("the controller went away during the call: " + e.getStatus().getDescription(), null);
        }
        return new RafkaException(ErrorCode.UNKNOWN_SERVER_ERROR, "the controller answered " + code + ": "
                + e.getStatus().getDescription());
    }

    /** The controller's API address, or NOT_CONTROLLER saying why there is none reachable (retriable). */
    private String controllerTarget() {
        String id = view.controllerId().orElseThrow(() -> new NotControllerException("no controller is elected yet", null));
        if (id.equals(view.brokerId())) {
            throw new NotControllerException("this broker is becoming the controller; retry shortly", id);
        }
        BrokerInfo b = view.broker(id).orElseThrow(() -> new NotControllerException(
                "controller " + id + " has not registered its address yet", id));
        return b.host() + ":" + b.apiPort();
    }

    private static final class MarkForwarded implements ClientInterceptor {
        private final UUID createId;

        MarkForwarded(UUID createId) {
            this.createId = createId;
        }

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    headers.put(FORWARDED, "1");
                    if (createId != null) {
                        headers.put(CREATE_ID, createId.toString());
                    }
                    super.start(listener, headers);
                }
            };
        }
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
