package io.rafka.server;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.DescribeTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionReassignment;
import io.rafka.proto.v1.ReplaceBrokerRequest;
import io.rafka.proto.v1.ReplaceBrokerResponse;
import io.rafka.proto.v1.TopicDescription;
import io.rafka.server.testing.BrokerCluster;
import io.rafka.server.testing.ReplicaChecks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Replacing a dead broker's replicas (ReplaceBroker): the partitions' Raft groups change membership, the new
 * replicas copy the data from the leaders, writes continue with three live replicas, and the old broker,
 * when it comes back, drops its stale copies.
 */
class ReplaceBrokerIT {
    private static final String TOPIC = "moving";
    private static final int PARTITIONS = 4;
    private static final List<String> NEW_MEMBERS = List.of("1", "2", "3");

    @TempDir
    Path tmp;

    @Test
    void aDeadBrokersReplicasMoveToTheOtherBrokersWithTheirData() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(4, tmp, Map.of("broker.session.timeout.ms", "3000"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
            List<Integer> leaders = cluster.awaitLeaders(0, TOPIC, 30_000);
            for (int p = 0; p < PARTITIONS; p++) {
                ReplicaChecks.produce(cluster, TOPIC, leaders.get(p), p, 0, 30);
            }
            int victim = 3; // broker "4"
            cluster.kill(victim);
            // The controller counts it dead after the session timeout (3 s); longer if broker 4 was the controller,
            // since a new controller gives every broker one session to heartbeat to it.
            cluster.awaitTrue(() -> !cluster.admin(0).describeCluster(io.rafka.proto.v1.DescribeClusterRequest.getDefaultInstance())
                    .getLiveBrokerIdsList().contains("4"), 30_000, "broker 4 seen dead");

            // Auto-create's default replication factor, min(3, live brokers), does not count the dead broker.
            cluster.metadata(1).getMetadata(io.rafka.proto.v1.MetadataRequest.newBuilder().addTopics("created-while-4-is-down")
                    .setAllowAutoTopicCreation(true).build());
            cluster.awaitLeaders(1, "created-while-4-is-down", 30_000);
            TopicDescription created = cluster.admin(1).describeTopics(DescribeTopicsRequest.newBuilder()
                    .addNames("created-while-4-is-down").build()).getTopics(0);
            assertEquals(Set.of("1", "2", "3"), Set.copyOf(created.getPartitions(0).getReplicasList()));

            ReplaceBrokerResponse resp = cluster.admin(0).replaceBroker(ReplaceBrokerRequest.newBuilder().setBrokerId("4").build());
            assertEquals(3, resp.getResultsCount(), "with 4 brokers and 3 replicas each, 3 of 4 partitions had one on broker 4: " + resp);
            for (PartitionReassignment r : resp.getResultsList()) {
                assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
                assertEquals(Set.of("1", "2", "3"), Set.copyOf(r.getReplicasList()));
            }
            // Every partition ends up with members 1, 2, 3 in its Raft group, all holding the same data.
            for (int p = 0; p < PARTITIONS; p++) {
                TopicPartition tp = new TopicPartition(TOPIC, p);
                cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, tp, NEW_MEMBERS, 30), 60_000, "replicas of " + tp + " moved and caught up");
            }
            // Writes commit with the new membership, and every replica gets them.
            leaders = cluster.awaitLeaders(1, TOPIC, 30_000);
            for (int p = 0; p < PARTITIONS; p++) {
                ReplicaChecks.produce(cluster, TOPIC, leaders.get(p), p, 30, 20);
            }
            for (int p = 0; p < PARTITIONS; p++) {
                TopicPartition tp = new TopicPartition(TOPIC, p);
                cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, tp, NEW_MEMBERS, 50), 30_000, tp + " replicated to the new members");
                ReplicaChecks.assertSameData(cluster, tp, NEW_MEMBERS);
            }
            TopicDescription d = cluster.admin(2).describeTopics(DescribeTopicsRequest.newBuilder().addNames(TOPIC).build()).getTopics(0);
            d.getPartitionsList().forEach(p -> assertFalse(p.getReplicasList().contains("4"), p.toString()));

            // The old broker comes back: it hosts nothing of the topic any more and deleted its copies.
            cluster.restart(victim);
            cluster.awaitTrue(() -> cluster.broker(victim).raftNode().partitions().isEmpty(), 60_000, "broker 4 dropped its replicas");
            Path dataDir = Path.of(cluster.broker(victim).config().get(ServerConfig.DATA_DIR));
            // A replica leaves the node's partitions before its folder is deleted: wait for the folders too.
            for (int p = 0; p < PARTITIONS; p++) {
                Path folder = dataDir.resolve(TOPIC + "-" + p);
                cluster.awaitTrue(() -> !Files.exists(folder), 30_000, "partition folder " + folder + " deleted on broker 4");
            }
        }
    }
}
