package io.rafka.server.api;

import io.grpc.stub.StreamObserver;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.TopicMetadata;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;

import java.util.Collection;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Cluster metadata from this broker's replica of the metadata group: no call to the controller. Leaders
 * come from the local replica where this broker hosts the partition, else from the leaders the metadata
 * group publishes ({@link io.rafka.server.replica.LeaderPublisher}).
 */
public final class MetadataApi extends MetadataServiceGrpc.MetadataServiceImplBase {
    private final ClusterView view;
    private final AdminApi admin;
    private final boolean autoCreateTopics;

    public MetadataApi(ClusterView view, AdminApi admin, boolean autoCreateTopics) {
        this.view = view;
        this.admin = admin;
        this.autoCreateTopics = autoCreateTopics;
    }

    @Override
    public void getMetadata(MetadataRequest request, StreamObserver<MetadataResponse> out) {
        if (request.getTopicsCount() > AdminApi.MAX_NAMES_PER_REQUEST) {
            out.onError(ApiErrors.invalidArgument("at most " + AdminApi.MAX_NAMES_PER_REQUEST + " topic names per request"));
            return;
        }
        MetadataImage image = view.image();
        MetadataResponse.Builder resp = MetadataResponse.newBuilder()
                .setMetadataVersion(image.version())
                .setControllerId(view.metadata().controllerId().orElse(""));
        new TreeMap<>(image.brokers()).values().forEach(b -> resp.addBrokers(ClusterView.toProto(b)));
        Collection<String> names = request.getTopicsCount() == 0 ? new TreeMap<>(image.topics()).keySet()
                : new java.util.LinkedHashSet<>(request.getTopicsList());
        for (String name : names) {
            resp.addTopics(topic(image, name, request.getAllowAutoTopicCreation()));
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    private TopicMetadata topic(MetadataImage image, String name, boolean allowAutoCreate) {
        TopicMetadata.Builder t = TopicMetadata.newBuilder().setName(name);
        try {
            TopicNames.validate(name);
        } catch (RafkaException e) {
            return t.setErrorCode(ErrorCode.INVALID_TOPIC).setErrorMessage(e.getMessage()).build();
        }
        TopicInfo info = image.topic(name);
        if (info == null) {
            if (allowAutoCreate && autoCreateTopics) {
                admin.autoCreate(name);
                return t.setErrorCode(ErrorCode.LEADER_NOT_AVAILABLE)
                        .setErrorMessage("topic '" + name + "' is being created; ask again shortly").build();
            }
            return t.setErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).setErrorMessage("topic '" + name + "' does not exist").build();
        }
        t.setTopicId(info.id().toString());
        for (int p = 0; p < info.partitionCount(); p++) {
            PartitionMetadata.Builder pm = PartitionMetadata.newBuilder().setPartition(p)
                    .addAllReplicas(info.assignments().get(p)).setLeaderEpoch(-1);
            Optional<ClusterView.Leader> leader = view.leaderOf(new TopicPartition(name, p));
            if (leader.isPresent()) {
                pm.setLeaderId(leader.get().id()).setLeaderEpoch(leader.get().epoch());
            } else {
                pm.setErrorCode(ErrorCode.LEADER_NOT_AVAILABLE);
            }
            t.addPartitions(pm);
        }
        return t.build();
    }
}
