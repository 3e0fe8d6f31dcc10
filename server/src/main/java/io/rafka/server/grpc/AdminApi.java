package io.rafka.server.grpc;

import io.grpc.stub.StreamObserver;
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
import io.rafka.proto.v1.ListTopicsRequest;
import io.rafka.proto.v1.ListTopicsResponse;
import io.rafka.proto.v1.ReassignPartitionsRequest;
import io.rafka.proto.v1.ReassignPartitionsResponse;
import io.rafka.proto.v1.ReplaceBrokerRequest;
import io.rafka.proto.v1.ReplaceBrokerResponse;
import io.rafka.controller.ControllerLogic;
import io.rafka.server.broker.CreateTopicsResult;
import io.rafka.server.broker.NewTopic;
import io.rafka.server.broker.TopicAdmin;

import java.util.List;
import java.util.function.Supplier;

/**
 * Topic and cluster administration: maps requests to {@link TopicAdmin} and its results back. Per-topic
 * problems are per-topic results; a request that fails as a whole answers a status ({@link ApiErrors}).
 */
public final class AdminApi extends AdminServiceGrpc.AdminServiceImplBase {
    private final TopicAdmin admin;

    public AdminApi(TopicAdmin admin) {
        this.admin = admin;
    }

    /** Answers with what {@code call} returns, or with the status its failure maps to. */
    private static <T> void answer(StreamObserver<T> out, Supplier<T> call) {
        T response;
        try {
            response = call.get();
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }

    @Override
    public void createTopics(CreateTopicsRequest request, StreamObserver<CreateTopicsResponse> out) {
        answer(out, () -> {
            List<NewTopic> topics = request.getTopicsList().stream().map(t -> new NewTopic(t.getName(), t.getPartitions(),
                    t.getReplicationFactor(), t.getConfigsMap())).toList();
            CreateTopicsResult r = admin.createTopics(topics, ApiContext.isForwarded(), ApiContext.createId());
            CreateTopicsResponse.Builder resp = CreateTopicsResponse.newBuilder();
            r.results().forEach(t -> resp.addResults(AdminProtos.topicResult(t)));
            r.created().forEach(t -> resp.addTopics(AdminProtos.topic(t)));
            return resp.build();
        });
    }

    @Override
    public void deleteTopics(DeleteTopicsRequest request, StreamObserver<DeleteTopicsResponse> out) {
        answer(out, () -> {
            DeleteTopicsResponse.Builder resp = DeleteTopicsResponse.newBuilder();
            admin.deleteTopics(request.getNamesList(), ApiContext.isForwarded()).forEach(t -> resp.addResults(AdminProtos.topicResult(t)));
            return resp.build();
        });
    }

    @Override
    public void createPartitions(CreatePartitionsRequest request, StreamObserver<CreatePartitionsResponse> out) {
        answer(out, () -> CreatePartitionsResponse.newBuilder().setResult(AdminProtos.topicResult(
                admin.createPartitions(request.getTopic(), request.getTotalCount(), ApiContext.isForwarded()))).build());
    }

    @Override
    public void alterConfigs(AlterConfigsRequest request, StreamObserver<AlterConfigsResponse> out) {
        answer(out, () -> AlterConfigsResponse.newBuilder().setResult(AdminProtos.topicResult(admin.alterConfigs(
                request.getTopic(), request.getSetMap(), request.getDeleteList(), ApiContext.isForwarded()))).build());
    }

    @Override
    public void describeCluster(DescribeClusterRequest request, StreamObserver<DescribeClusterResponse> out) {
        answer(out, () -> AdminProtos.cluster(admin.describeCluster(ApiContext.isForwarded())));
    }

    @Override
    public void replaceBroker(ReplaceBrokerRequest request, StreamObserver<ReplaceBrokerResponse> out) {
        answer(out, () -> {
            String target = request.getTargetBrokerId().isEmpty() ? null : request.getTargetBrokerId();
            ReplaceBrokerResponse.Builder resp = ReplaceBrokerResponse.newBuilder();
            admin.replaceBroker(request.getBrokerId(), target, ApiContext.isForwarded())
                    .forEach(r -> resp.addResults(AdminProtos.reassignment(r)));
            return resp.build();
        });
    }

    @Override
    public void reassignPartitions(ReassignPartitionsRequest request, StreamObserver<ReassignPartitionsResponse> out) {
        answer(out, () -> {
            List<ControllerLogic.Reassignment> wanted = request.getReassignmentsList().stream()
                    .map(r -> new ControllerLogic.Reassignment(r.getTopic(), r.getPartition(), List.copyOf(r.getReplicasList()), null))
                    .toList();
            ReassignPartitionsResponse.Builder resp = ReassignPartitionsResponse.newBuilder();
            admin.reassign(wanted, request.getBalance(), request.getValidateOnly(), ApiContext.isForwarded())
                    .forEach(r -> resp.addResults(AdminProtos.reassignment(r)));
            return resp.build();
        });
    }

    @Override
    public void allocateProducerIds(io.rafka.proto.v1.AllocateProducerIdsRequest request,
                                    StreamObserver<io.rafka.proto.v1.AllocateProducerIdsResponse> out) {
        answer(out, () -> io.rafka.proto.v1.AllocateProducerIdsResponse.newBuilder()
                .setFirstProducerId(admin.allocateProducerIds(request.getBrokerId(), ApiContext.isForwarded()))
                .setCount(io.rafka.controller.ControllerLogic.PRODUCER_ID_BLOCK_SIZE).build());
    }

    @Override
    public void listTopics(ListTopicsRequest request, StreamObserver<ListTopicsResponse> out) {
        answer(out, () -> ListTopicsResponse.newBuilder().addAllNames(admin.listTopics()).build());
    }

    @Override
    public void describeTopics(DescribeTopicsRequest request, StreamObserver<DescribeTopicsResponse> out) {
        answer(out, () -> {
            DescribeTopicsResponse.Builder resp = DescribeTopicsResponse.newBuilder();
            admin.describeTopics(request.getNamesList()).forEach(t -> resp.addTopics(AdminProtos.topic(t)));
            return resp.build();
        });
    }

    @Override
    public void describeConfigs(DescribeConfigsRequest request, StreamObserver<DescribeConfigsResponse> out) {
        answer(out, () -> {
            TopicAdmin.Configs configs = admin.describeConfigs(request.getTopic());
            DescribeConfigsResponse.Builder resp = DescribeConfigsResponse.newBuilder().setResult(
                    AdminProtos.topicResult(new io.rafka.server.broker.TopicResult(request.getTopic(), configs.error())));
            configs.entries().forEach(c -> resp.addEntries(ConfigEntry.newBuilder().setName(c.name()).setValue(c.value())
                    .setIsDefault(c.isDefault()).setDoc(c.doc())));
            return resp.build();
        });
    }
}
