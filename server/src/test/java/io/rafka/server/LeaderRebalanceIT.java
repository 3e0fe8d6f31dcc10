package io.rafka.server;

import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code auto.leader.rebalance.enable} and {@code leader.imbalance.check.interval.seconds}: after a broker's
 * controlled restart (its leaderships moved to the others as it stopped) it leads its preferred partitions again,
 * as Kafka's auto leader rebalance does. Check interval 2 s; the bound is 30 s for a loaded machine (1.4 s measured).
 */
class LeaderRebalanceIT {
    private static final String TOPIC = "spread";

    @TempDir
    Path tmp;

    @Test
    void aRestartedBrokerLeadsItsPreferredPartitionsAgain() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false",
                "partition.hibernate.after.ms", "0", "leader.imbalance.check.interval.seconds", "2"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName(TOPIC).setPartitions(6).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
            cluster.awaitLeaders(0, TOPIC, 30_000);
            List<Integer> preferredOfFirst = new ArrayList<>();
            for (PartitionMetadata p : cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics(TOPIC).build())
                    .getTopics(0).getPartitionsList()) {
                if (BrokerCluster.indexOf(p.getReplicas(0)) == 0) {
                    preferredOfFirst.add(p.getPartition());
                }
            }
            assertTrue(!preferredOfFirst.isEmpty(), "broker 1 is the preferred replica of some partitions");

            cluster.stop(0);   // controlled: its leaderships move to the others first
            List<Integer> whileDown = cluster.awaitLeaders(1, TOPIC, 30_000);
            for (int p : preferredOfFirst) {
                assertTrue(whileDown.get(p) != 0, "partition " + p + " is led elsewhere while broker 1 is down");
            }
            cluster.restart(0);
            long restarted = System.currentTimeMillis();
            cluster.awaitTrue(() -> {
                List<Integer> leaders = cluster.awaitLeaders(1, TOPIC, 5_000);
                return preferredOfFirst.stream().allMatch(p -> leaders.get(p) == 0);
            }, 30_000, "broker 1 leading partitions " + preferredOfFirst + " again");
            System.out.printf("broker 1 led its preferred partitions %s again %d ms after its restart returned%n",
                    preferredOfFirst, System.currentTimeMillis() - restarted);
        }
    }
}
