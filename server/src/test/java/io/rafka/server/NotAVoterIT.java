package io.rafka.server;

import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionDescription;
import io.rafka.proto.v1.TopicDescription;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A broker whose node.id is not a member of the running metadata group (an operator lists it as a 4th voter in its
 * own configuration; the group's members were fixed when it was formed) does not register: the controller must not
 * count it live and place replicas or preferred leaderships on it. It used to register through a client of the
 * group, heartbeat, show as live, and become the preferred leader of a new topic that then nobody could serve
 * (probe D, F2).
 */
class NotAVoterIT {
    @TempDir
    Path tmp;

    @Test
    void aBrokerOutsideTheMetadataGroupDoesNotRegisterAndGetsNoReplicas() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of())) {
            ServerConfig first = cluster.broker(0).config();
            int metadataPort = MiniCluster.freePort();
            Map<String, String> cfg = new HashMap<>();
            cfg.put("node.id", "4");
            cfg.put("grpc.port", Integer.toString(MiniCluster.freePort()));
            cfg.put("raft.port", Integer.toString(MiniCluster.freePort()));
            cfg.put("metadata.port", Integer.toString(metadataPort));
            cfg.put("http.port", "0");
            cfg.put("controller.quorum.voters", first.get(ServerConfig.VOTERS) + ",4@127.0.0.1:" + metadataPort);
            cfg.put("data.dir", tmp.resolve("broker-4").toString());
            cfg.put("shutdown.timeout.ms", "3000");
            try (Broker outsider = Broker.start(ServerConfig.of(cfg))) {
                // Registered brokers heartbeat every second or so; give it several chances.
                MiniCluster.sleep(5_000);
                DescribeClusterResponse c = cluster.admin(0).describeCluster(DescribeClusterRequest.getDefaultInstance());
                assertFalse(c.getBrokersList().stream().anyMatch(b -> b.getId().equals("4")), "broker 4 registered: " + c);
                assertFalse(c.getLiveBrokerIdsList().contains("4"), c.toString());
                assertFalse(outsider.awaitServing(0), "it cannot serve: its metadata view never becomes current");

                assertEquals(ErrorCode.NONE, cluster.admin(1).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                        .setName("placed").setPartitions(4).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
                TopicDescription placed = cluster.admin(1).describeTopics(io.rafka.proto.v1.DescribeTopicsRequest.newBuilder()
                        .addNames("placed").build()).getTopics(0);
                for (PartitionDescription p : placed.getPartitionsList()) {
                    assertFalse(p.getReplicasList().contains("4"), p.toString());
                }
                cluster.awaitLeaders(1, "placed", 30_000);
            }
        }
    }
}
