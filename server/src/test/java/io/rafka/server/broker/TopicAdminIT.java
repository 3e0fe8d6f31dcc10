package io.rafka.server.broker;

import io.rafka.common.ErrorCode;
import io.rafka.common.NotControllerException;
import io.rafka.common.RafkaException;
import io.rafka.controller.ControllerLogic;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TopicAdmin} on a broker that is not the controller: changes travel through the
 * {@link ControllerClient} seam (gRPC here) and come back as the same domain results, typed errors included;
 * a call marked forwarded is never forwarded again.
 */
class TopicAdminIT {
    @TempDir
    Path tmp;

    @Test
    void aNonControllerForwardsOnceAndMapsTheAnswerBack() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of())) {
            String controllerId = cluster.broker(0).topicAdmin().describeCluster(false).controllerId();
            int follower = (BrokerCluster.indexOf(controllerId) + 1) % 3;
            TopicAdmin admin = cluster.broker(follower).topicAdmin();

            CreateTopicsResult created = admin.createTopics(List.of(new NewTopic("forwarded", 2, 3, Map.of("retention.ms", "60000")),
                    new NewTopic("forwarded", 1, 1, Map.of()), new NewTopic("bad name", 1, 1, Map.of())), false);
            assertNull(created.results().get(0).error());
            assertCode(ErrorCode.TOPIC_ALREADY_EXISTS, created.results().get(1).error());
            assertCode(ErrorCode.INVALID_TOPIC, created.results().get(2).error());
            TopicDescription d = created.created().get(0);
            assertEquals("forwarded", d.name());
            assertEquals(3, d.replicationFactor());
            assertEquals(2, d.partitions().size());
            assertEquals(Map.of("retention.ms", "60000"), d.configs());

            assertCode(ErrorCode.INVALID_PARTITIONS, admin.createPartitions("forwarded", 1, false).error());
            assertNull(admin.alterConfigs("forwarded", Map.of("retention.ms", "120000"), List.of(), false).error());
            cluster.awaitTrue(() -> admin.describeConfigs("forwarded").entries().stream()
                    .anyMatch(c -> c.name().equals("retention.ms") && c.value().equals("120000") && !c.isDefault()), 10_000, "altered config");

            ClusterDescription cd = admin.describeCluster(false);
            assertEquals(controllerId, cd.controllerId());
            assertEquals(Set.of("1", "2", "3"), Set.copyOf(cd.liveBrokerIds()));
            assertEquals(3, cd.brokers().size());
            assertTrue(cd.brokers().stream().allMatch(b -> b.apiPort() > 0));

            List<ControllerLogic.Reassignment> moved = admin.replaceBroker("no-such-broker", null, false);
            assertTrue(moved.isEmpty(), "a broker with no replicas has nothing to move: " + moved);

            assertThrows(NotControllerException.class, () -> admin.createTopics(List.of(new NewTopic("again", 1, 1, Map.of())), true),
                    "a forwarded call that does not find the controller here is not forwarded again");
            assertThrows(NotControllerException.class, () -> admin.describeCluster(true));

            List<TopicResult> deleted = admin.deleteTopics(List.of("forwarded", "missing"), false);
            assertNull(deleted.get(0).error());
            assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, deleted.get(1).error());
        }
    }

    private static void assertCode(ErrorCode code, Throwable error) {
        RafkaException r = assertInstanceOf(RafkaException.class, error);
        assertEquals(code, r.errorCode(), r.getMessage());
    }
}
