package io.rafka.server.grpc;

import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.TopicMetadata;
import io.rafka.server.broker.MetadataQuery;

/** GetMetadata: maps requests to {@link MetadataQuery} and its answer back. */
public final class MetadataApi extends MetadataServiceGrpc.MetadataServiceImplBase {
    private final MetadataQuery query;

    public MetadataApi(MetadataQuery query) {
        this.query = query;
    }

    @Override
    public void getMetadata(MetadataRequest request, StreamObserver<MetadataResponse> out) {
        MetadataQuery.ClusterMetadata md;
        try {
            md = query.metadata(request.getTopicsList(), request.getAllowAutoTopicCreation());
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        MetadataResponse.Builder resp = MetadataResponse.newBuilder().setMetadataVersion(md.metadataVersion())
                .setControllerId(md.controllerId());
        md.brokers().forEach(b -> resp.addBrokers(AdminProtos.broker(b)));
        md.topics().forEach(t -> resp.addTopics(topic(t)));
        out.onNext(resp.build());
        out.onCompleted();
    }

    private static TopicMetadata topic(MetadataQuery.TopicMetadata t) {
        TopicMetadata.Builder b = TopicMetadata.newBuilder().setName(t.name());
        if (t.error() != null) {
            ApiErrors.Failure f = ApiErrors.classify(t.error());
            return b.setErrorCode(f.code()).setErrorMessage(f.message()).build();
        }
        b.setTopicId(t.topicId());
        for (MetadataQuery.PartitionMetadata p : t.partitions()) {
            PartitionMetadata.Builder pm = PartitionMetadata.newBuilder().setPartition(p.partition()).addAllReplicas(p.replicas())
                    .setLeaderEpoch(p.leaderEpoch());
            if (p.leaderId() != null) {
                pm.setLeaderId(p.leaderId());
            }
            if (p.error() != null) {
                pm.setErrorCode(ApiErrors.classify(p.error()).code());
            }
            b.addPartitions(pm);
        }
        return b.build();
    }
}
