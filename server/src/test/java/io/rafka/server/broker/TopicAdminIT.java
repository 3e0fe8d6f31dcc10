package io.rafka.server.broker;

import io.rafka.common.ErrorCode;
import io.rafka.common.NotControllerException;
import io.rafka.common.RafkaException;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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
                    new NewTopic("bad name", 1, 1, Map.of())), false);
            assertNull(created.results().get(0).error());
            assertCode(ErrorCode.INVALID_TOPIC, created.results().get(1).error());
            assertCode(ErrorCode.TOPIC_ALREADY_EXISTS, admin.createTopics(List.of(new NewTopic("forwarded", 1, 1, Map.of())), false)
                    .results().get(0).error());
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

            assertCode(ErrorCode.INVALID_REQUEST, assertThrows(RafkaException.class,
                    () -> admin.replaceBroker("no-such-broker", null, false)));

            assertThrows(NotControllerException.class, () -> admin.createTopics(List.of(new NewTopic("again", 1, 1, Map.of())), true),
                    "a forwarded call that does not find the controller here is not forwarded again");
            assertThrows(NotControllerException.class, () -> admin.describeCluster(true));

            List<TopicResult> deleted = admin.deleteTopics(List.of("forwarded", "missing"), false);
            assertNull(deleted.get(0).error());
            assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, deleted.get(1).error());
        }
    }

    /**
     * An add-partitions whose answer is lost once the controller made it (NOT_CONTROLLER after the commit, as when the
     * controller dies then) is retried, and the next controller finds the topic grown already: the call answers made,
     * not INVALID_PARTITIONS. Asking for the count the topic already has stays INVALID_PARTITIONS, retry or not.
     */
    @Test
    void anAddPartitionsRetriedAfterItsAnswerWasLostAnswersMade() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of())) {
            String controllerId = cluster.broker(0).topicAdmin().describeCluster(false).controllerId();
            int follower = (BrokerCluster.indexOf(controllerId) + 1) % 3;
            TopicAdmin admin = cluster.broker(follower).topicAdmin();
            assertNull(admin.createTopics(List.of(new NewTopic("grow", 2, 3, Map.of())), false).results().get(0).error());
            cluster.awaitTrue(() -> cluster.broker(follower).metadata().image().topic("grow") != null, 10_000, "topic seen");
            java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
            TopicAdmin answerLost = admin.withRemote(real -> new AnswerLostOnce(real, calls));

            TopicResult grown = answerLost.createPartitions("grow", 4, false);
            assertNull(grown.error(), String.valueOf(grown.error()));
            assertEquals(2, calls.get(), "made by the first attempt, found made by the retry");
            assertEquals(4, cluster.broker(follower).metadata().image().topic("grow").partitionCount());

            calls.set(0);
            assertCode(ErrorCode.INVALID_PARTITIONS, answerLost.createPartitions("grow", 4, false).error());
            assertEquals(2, calls.get());
        }
    }

    /** A controller client whose first createPartitions is made but answered NOT_CONTROLLER. */
    private static final class AnswerLostOnce implements ControllerClient {
        private final ControllerClient real;
        private final java.util.concurrent.atomic.AtomicInteger calls;

        AnswerLostOnce(ControllerClient real, java.util.concurrent.atomic.AtomicInteger calls) {
            this.real = real;
            this.calls = calls;
        }

        @Override
        public TopicResult createPartitions(String topic, int totalCount) {
            TopicResult result = real.createPartitions(topic, totalCount);
            if (calls.incrementAndGet() == 1) {
                throw new NotControllerException("the controller went away during the call (test)", null);
            }
            return result;
        }

        @Override
        public CreateTopicsResult createTopics(List<NewTopic> topics, java.util.UUID createId) {
            return real.createTopics(topics, createId);
        }

        @Override
        public List<TopicResult> deleteTopics(List<String> names) {
            return real.deleteTopics(names);
        }

        @Override
        public TopicResult alterConfigs(String topic, Map<String, String> set, java.util.Collection<String> delete) {
            return real.alterConfigs(topic, set, delete);
        }

        @Override
        public ClusterDescription describeCluster() {
            return real.describeCluster();
        }

        @Override
        public List<io.rafka.controller.ControllerLogic.Reassignment> replaceBroker(String brokerId, String targetBrokerId) {
            return real.replaceBroker(brokerId, targetBrokerId);
        }

        @Override
        public List<io.rafka.controller.ControllerLogic.Reassignment> reassign(
                List<io.rafka.controller.ControllerLogic.Reassignment> wanted, boolean balance, boolean validateOnly) {
            return real.reassign(wanted, balance, validateOnly);
        }

        @Override
        public long allocateProducerIds(String brokerId) {
            return real.allocateProducerIds(brokerId);
        }
    }

    /**
     * Issue 12 point 5: a create sent through a non-controller while the controller crashes (killed just before,
     * or while, the call is forwarded) waits for the next controller and is made once: the call succeeds within
     * the documented 10 s wait, and the one topic has the requested spec and the id the answer gave.
     */
    @Test
    void aCreateForwardedWhileTheControllerCrashesWaitsForTheNextOneAndIsMadeOnce() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of())) {
            long[] killDelaysMs = {0, 30, 5};
            for (int round = 0; round < killDelaysMs.length; round++) {
                int controller = BrokerCluster.indexOf(cluster.broker(0).topicAdmin().describeCluster(false).controllerId());
                int via = (controller + 1) % 3;
                String name = "crash-" + round;
                CompletableFuture<CreateTopicsResponse> call = CompletableFuture.supplyAsync(() -> cluster.admin(via)
                        .createTopics(CreateTopicsRequest.newBuilder().addTopics(io.rafka.proto.v1.NewTopic.newBuilder()
                                .setName(name).setPartitions(3).setReplicationFactor(2).putConfigs("retention.ms", "60000")).build()));
                long t0 = System.nanoTime();
                Thread.sleep(killDelaysMs[round]);
                cluster.kill(controller);
                CreateTopicsResponse resp = call.get(30, TimeUnit.SECONDS);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(io.rafka.proto.v1.ErrorCode.NONE, resp.getResults(0).getErrorCode(), resp.toString());
                assertTrue(ms < 10_000 + 3_000, "answered within the controller wait: " + ms + " ms");
                String id = resp.getTopics(0).getTopicId();
                int other = 3 - controller - via;
                for (int asking : new int[]{via, other}) {
                    TopicAdmin admin = cluster.broker(asking).topicAdmin();
                    cluster.awaitTrue(() -> admin.listTopics().contains(name), 10_000, name + " known to broker " + (asking + 1));
                    TopicDescription d = admin.describeTopics(List.of(name)).get(0);
                    assertEquals(id, d.topicId(), "the topic the answer named, and no other");
                    assertEquals(3, d.partitions().size());
                    assertEquals(2, d.replicationFactor());
                    assertEquals(Map.of("retention.ms", "60000"), d.configs());
                }
                System.out.printf("create with the controller killed %d ms after the call: answered in %d ms%n",
                        killDelaysMs[round], ms);
                cluster.restart(controller);
                assertTrue(cluster.broker(controller).awaitServing(30_000), "broker " + (controller + 1) + " back");
            }
            for (int i = 0; i < 3; i++) {
                TopicAdmin admin = cluster.broker(i).topicAdmin();
                cluster.awaitTrue(() -> admin.listTopics().equals(List.of("crash-0", "crash-1", "crash-2")), 10_000,
                        "each create made once, seen by broker " + (i + 1));
            }

            // The retry of a forwarded create whose first attempt committed (its answer lost): same create id, so
            // the same topic, answered as created rather than TOPIC_ALREADY_EXISTS; another create of the name is refused.
            int controller = BrokerCluster.indexOf(cluster.broker(0).topicAdmin().describeCluster(false).controllerId());
            TopicAdmin follower = cluster.broker((controller + 1) % 3).topicAdmin();
            UUID createId = UUID.randomUUID();
            List<NewTopic> spec = List.of(new NewTopic("once", 2, 2, Map.of()));
            CreateTopicsResult first = follower.createTopics(spec, false, createId);
            CreateTopicsResult retry = follower.createTopics(spec, false, createId);
            assertNull(first.results().get(0).error());
            assertNull(retry.results().get(0).error(), "a retry of a committed create succeeds");
            assertEquals(first.created().get(0).topicId(), retry.created().get(0).topicId());
            assertCode(ErrorCode.TOPIC_ALREADY_EXISTS, follower.createTopics(spec, false).results().get(0).error());
            CreateTopicsResult twice = follower.createTopics(List.of(new NewTopic("twice", 1, 1, Map.of()),
                    new NewTopic("twice", 2, 1, Map.of())), false);
            assertCode(ErrorCode.INVALID_REQUEST, twice.results().get(0).error());
            assertCode(ErrorCode.INVALID_REQUEST, twice.results().get(1).error());
            assertTrue(!follower.listTopics().contains("twice"), "neither spec of a name given twice is made");
        }
    }

    /**
     * A delete of many topics through a broker that forwards it, with the controller killed once it deleted them: the
     * call goes on with the next controller, and topics the first one deleted answer as deleted (not
     * UNKNOWN_TOPIC_OR_PARTITION, which would tell the client a topic it saw was never there).
     */
    @Test
    void aDeleteForwardedWhileTheControllerCrashesAnswersEveryTopicAsDeleted() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of())) {
            int controller = BrokerCluster.indexOf(cluster.broker(0).topicAdmin().describeCluster(false).controllerId());
            int via = (controller + 1) % 3;
            TopicAdmin admin = cluster.broker(via).topicAdmin();
            List<NewTopic> topics = new java.util.ArrayList<>();
            for (int i = 0; i < 30; i++) {
                topics.add(new NewTopic("gone-" + i, 1, 2, Map.of()));
            }
            admin.createTopics(topics, false).results().forEach(r -> assertNull(r.error(), r.toString()));
            List<String> names = topics.stream().map(NewTopic::name).toList();
            cluster.awaitTrue(() -> admin.listTopics().containsAll(names), 10_000, "every topic known to the forwarding broker");
            CompletableFuture<List<TopicResult>> call = CompletableFuture.supplyAsync(() -> admin.deleteTopics(names, false));
            // The topics go in one metadata entry, followed by a rebalance of preferred leaders before the answer: the
            // kill lands once the controller applied the deletion. If the answer is lost with it, the call is retried on
            // the next controller, which no longer has the topics; either way every topic must answer as deleted.
            cluster.awaitTrue(() -> cluster.broker(controller).topicAdmin().listTopics().stream().noneMatch(names::contains),
                    10_000, "the deletion committed");
            cluster.kill(controller);
            List<TopicResult> results = call.get(30, TimeUnit.SECONDS);
            assertEquals(names.size(), results.size());
            results.forEach(r -> assertNull(r.error(), r.name() + ": " + r.error()));
            cluster.awaitTrue(() -> admin.listTopics().stream().noneMatch(names::contains), 10_000, "every topic gone");
        }
    }

    private static void assertCode(ErrorCode code, Throwable error) {
        RafkaException r = assertInstanceOf(RafkaException.class, error);
        assertEquals(code, r.errorCode(), r.getMessage());
    }
}
