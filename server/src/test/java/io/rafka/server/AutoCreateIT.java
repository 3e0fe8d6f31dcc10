package io.rafka.server;

import com.google.protobuf.ByteString;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.proto.v1.TopicMetadata;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** auto.create.topics.enable: producing to, or asking metadata for, an unknown topic creates it with the defaults. */
class AutoCreateIT {
    @TempDir
    Path tmp;

    @Test
    void produceAndMetadataCreateUnknownTopicsWithTheDefaults() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("num.partitions", "4",
                "group.coordinator.partitions", "3", "group.coordinator.segment.bytes", "2097152"))) {
            ProduceRequest request = ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder().setTopic("auto-produced")
                    .setPartition(3).setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                            .setValue(ByteString.copyFromUtf8("first"))))).build();
            PartitionProduceResult first = cluster.produce(0).produce(request).getResults(0);
            assertEquals(ErrorCode.LEADER_NOT_AVAILABLE, first.getErrorCode(), "the first produce starts the creation");
            PartitionProduceResult r = first;
            long deadline = System.currentTimeMillis() + 30_000;
            while (r.getErrorCode() != ErrorCode.NONE && System.currentTimeMillis() < deadline) {
                MiniCluster.sleep(100);
                r = cluster.produce(0).produce(request).getResults(0);
            }
            assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
            assertEquals(0, r.getBaseOffset());
            TopicMetadata produced = cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics("auto-produced").build()).getTopics(0);
            assertEquals(4, produced.getPartitionsCount(), "num.partitions");
            assertEquals(1, produced.getPartitions(0).getReplicasCount(), "min(3, live brokers)");

            TopicMetadata unknown = cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics("asked-only").build()).getTopics(0);
            assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, unknown.getErrorCode(), "not created unless the client allows it");
            TopicMetadata asked = cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics("asked-only")
                    .setAllowAutoTopicCreation(true).build()).getTopics(0);
            assertEquals(ErrorCode.LEADER_NOT_AVAILABLE, asked.getErrorCode());
            cluster.awaitLeaders(0, "asked-only", 30_000);
            TopicMetadata invalid = cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics("bad name")
                    .setAllowAutoTopicCreation(true).build()).getTopics(0);
            assertEquals(ErrorCode.INVALID_TOPIC, invalid.getErrorCode());

            // The coordinator's topic made by a metadata request has the coordinator's shape, not the defaults': it
            // can never be changed later, and groups map onto its partitions by count.
            cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics("__consumer_offsets")
                    .setAllowAutoTopicCreation(true).build());
            cluster.awaitLeaders(0, "__consumer_offsets", 30_000);
            var internal = cluster.admin(0).describeTopics(io.rafka.proto.v1.DescribeTopicsRequest.newBuilder()
                    .addNames("__consumer_offsets").build()).getTopics(0);
            assertEquals(3, internal.getPartitionsCount(), "group.coordinator.partitions");
            assertEquals("2097152", internal.getConfigsMap().get("segment.bytes"), internal.getConfigsMap().toString());
        }
    }
}
