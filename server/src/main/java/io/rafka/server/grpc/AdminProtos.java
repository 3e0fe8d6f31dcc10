package io.rafka.server.grpc;

import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionDescription;
import io.rafka.proto.v1.PartitionReassignment;
import io.rafka.metadata.BrokerInfo;
import io.rafka.controller.ControllerLogic;
import io.rafka.server.broker.ClusterDescription;
import io.rafka.server.broker.TopicDescription;
import io.rafka.server.broker.TopicResult;

import java.util.ArrayList;
import java.util.List;

/**
 * Protobuf ⇄ broker-layer mapping of admin and cluster types, both ways: {@link AdminApi} maps results out,
 * {@link ControllerChannel} maps a forwarded call's answer back in.
 */
final class AdminProtos {
    private AdminProtos() {
    }

    static Broker broker(BrokerInfo b) {
        return Broker.newBuilder().setId(b.id()).setHost(b.host()).setPort(b.apiPort()).build();
    }

    /** A broker as another broker described it: its Raft port is not part of the API (0). */
    static BrokerInfo brokerInfo(Broker b) {
        return new BrokerInfo(b.getId(), b.getHost(), b.getPort(), 0);
    }

    static io.rafka.proto.v1.TopicResult topicResult(TopicResult r) {
        io.rafka.proto.v1.TopicResult.Builder b = io.rafka.proto.v1.TopicResult.newBuilder().setName(r.name());
        if (r.error() != null) {
            ApiErrors.Failure f = ApiErrors.classify(r.error());
            b.setErrorCode(f.code()).setErrorMessage(f.message());
        }
        return b.build();
    }

    static TopicResult topicResult(io.rafka.proto.v1.TopicResult r) {
        return new TopicResult(r.getName(), r.getErrorCode() == ErrorCode.NONE ? null
                : ApiErrors.fromWire(r.getErrorCodeValue(), r.getErrorMessage()));
    }

    static io.rafka.proto.v1.TopicDescription topic(TopicDescription t) {
        io.rafka.proto.v1.TopicDescription.Builder d = io.rafka.proto.v1.TopicDescription.newBuilder().setName(t.name());
        if (t.error() != null) {
            ApiErrors.Failure f = ApiErrors.classify(t.error());
            return d.setErrorCode(f.code()).setErrorMessage(f.message()).build();
        }
        d.setTopicId(t.topicId()).setReplicationFactor(t.replicationFactor()).putAllConfigs(t.configs());
        for (TopicDescription.PartitionDescription p : t.partitions()) {
            PartitionDescription.Builder pd = PartitionDescription.newBuilder().setPartition(p.partition()).addAllReplicas(p.replicas());
            if (p.leaderId() != null) {
                pd.setLeaderId(p.leaderId());
            }
            d.addPartitions(pd);
        }
        return d.build();
    }

    static TopicDescription topic(io.rafka.proto.v1.TopicDescription t) {
        if (t.getErrorCode() != ErrorCode.NONE) {
            return new TopicDescription(t.getName(), "", 0, java.util.Map.of(), List.of(),
                    ApiErrors.fromWire(t.getErrorCodeValue(), t.getErrorMessage()));
        }
        List<TopicDescription.PartitionDescription> partitions = new ArrayList<>(t.getPartitionsCount());
        for (PartitionDescription p : t.getPartitionsList()) {
            partitions.add(new TopicDescription.PartitionDescription(p.getPartition(), List.copyOf(p.getReplicasList()),
                    p.getLeaderId().isEmpty() ? null : p.getLeaderId()));
        }
        return new TopicDescription(t.getName(), t.getTopicId(), t.getReplicationFactor(), t.getConfigsMap(), partitions, null);
    }

    static PartitionReassignment reassignment(ControllerLogic.Reassignment r) {
        PartitionReassignment.Builder pr = PartitionReassignment.newBuilder().setTopic(r.topic()).setPartition(r.partition())
                .addAllReplicas(r.replicas());
        if (r.error() != null) {
            ApiErrors.Failure f = ApiErrors.classify(r.error());
            pr.setErrorCode(f.code()).setErrorMessage(f.message());
        }
        return pr.build();
    }

    static ControllerLogic.Reassignment reassignment(PartitionReassignment r) {
        return new ControllerLogic.Reassignment(r.getTopic(), r.getPartition(), List.copyOf(r.getReplicasList()),
                r.getErrorCode() == ErrorCode.NONE ? null : ApiErrors.fromWire(r.getErrorCodeValue(), r.getErrorMessage()));
    }

    static DescribeClusterResponse cluster(ClusterDescription c) {
        DescribeClusterResponse.Builder resp = DescribeClusterResponse.newBuilder().setControllerId(c.controllerId())
                .setMetadataVersion(c.metadataVersion()).addAllLiveBrokerIds(c.liveBrokerIds());
        c.brokers().forEach(b -> resp.addBrokers(broker(b)));
        return resp.build();
    }

    static ClusterDescription cluster(DescribeClusterResponse r) {
        return new ClusterDescription(r.getControllerId(), r.getMetadataVersion(),
                r.getBrokersList().stream().map(AdminProtos::brokerInfo).toList(), List.copyOf(r.getLiveBrokerIdsList()));
    }
}
