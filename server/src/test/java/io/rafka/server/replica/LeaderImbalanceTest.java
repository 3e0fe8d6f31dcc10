package io.rafka.server.replica;

import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataRecord;
import io.rafka.metadata.TopicInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code leader.imbalance.per.broker.percentage} as Kafka applies it: a broker takes its preferred leaderships back
 * only when more than that share of them is led elsewhere, counted on the metadata's published leaders.
 */
class LeaderImbalanceTest {

    /** 20 partitions, preferred replicas 1, 2, 1, 2, ...: each broker is preferred for 10. */
    private static MetadataImage twentyPartitions() {
        List<List<String>> assignments = new ArrayList<>();
        for (int p = 0; p < 20; p++) {
            assignments.add(p % 2 == 0 ? List.of("1", "2", "3") : List.of("2", "3", "1"));
        }
        return MetadataImage.EMPTY.apply(new MetadataRecord.CreateTopic(
                new TopicInfo("t", UUID.randomUUID(), assignments, Map.of())));
    }

    /** {@code broker} announces it leads these partitions. */
    private static MetadataImage led(MetadataImage image, String broker, int... partitions) {
        List<MetadataRecord.LeaderEpoch> leaders = new ArrayList<>();
        for (int p : partitions) {
            leaders.add(new MetadataRecord.LeaderEpoch("t", p, 2));
        }
        return image.apply(new MetadataRecord.PartitionLeaders(broker, leaders));
    }

    /** Leaderships go back only to imbalanced brokers that serve; one that does not is remembered until it does. */
    @Test
    void onlyBrokersThatServeTakeTheirLeadershipsBack() {
        Set<String> notServing = new java.util.HashSet<>();
        assertEquals(Set.of("1"), PartitionReconciler.serving(Set.of("1", "2"), "1"::equals, notServing));
        assertEquals(Set.of("2"), notServing);
        assertEquals(Set.of("1", "2"), PartitionReconciler.serving(Set.of("1", "2"), b -> true, notServing));
        assertEquals(Set.of(), notServing, "broker 2 serves now");
    }

    @Test
    void aBrokerTakesItsLeadershipsBackOnlyAboveTheThreshold() {
        MetadataImage balanced = led(led(twentyPartitions(), "1", 0, 2, 4, 6, 8, 10, 12, 14, 16, 18),
                "2", 1, 3, 5, 7, 9, 11, 13, 15, 17, 19);
        assertEquals(Set.of(), PartitionReconciler.imbalancedBrokers(balanced, 10));
        assertEquals(Set.of(), PartitionReconciler.imbalancedBrokers(balanced, 0), "nothing displaced, nothing to do");

        MetadataImage oneMoved = led(balanced, "3", 0);   // 1 of broker 1's 10: 10 %, not above 10 %
        assertEquals(Set.of(), PartitionReconciler.imbalancedBrokers(oneMoved, 10));
        assertEquals(Set.of("1"), PartitionReconciler.imbalancedBrokers(oneMoved, 0), "0 % hands back every one");
        assertEquals(Set.of("1"), PartitionReconciler.imbalancedBrokers(oneMoved, 9));

        MetadataImage twoMoved = led(oneMoved, "3", 2);   // 20 % of broker 1's
        assertEquals(Set.of("1"), PartitionReconciler.imbalancedBrokers(twoMoved, 10));

        MetadataImage restarted = led(twoMoved, "1", 1, 3, 5, 7, 9, 11, 13, 15, 17, 19);   // all of 2's on 1
        assertEquals(Set.of("1", "2"), PartitionReconciler.imbalancedBrokers(restarted, 10));
        assertEquals(Set.of(), PartitionReconciler.imbalancedBrokers(restarted, 100), "100 % never hands back");
    }

    @Test
    void partitionsWithoutAPublishedLeaderAreNotDisplaced() {
        MetadataImage image = led(twentyPartitions(), "3", 0, 2);   // the other 18 never written: no leader
        assertEquals(Set.of("1"), PartitionReconciler.imbalancedBrokers(image, 10), "2 of 10");
        assertEquals(Set.of(), PartitionReconciler.imbalancedBrokers(image, 20));
    }
}
