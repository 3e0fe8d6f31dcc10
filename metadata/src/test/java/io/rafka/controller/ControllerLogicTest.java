package io.rafka.controller;

import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataRecord;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;
import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.log.LogConfig;
import io.rafka.controller.ControllerLogic.CreateTopicRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ControllerLogicTest {
    private static final LogConfig DEFAULTS = LogConfig.defaults();

    private static MetadataImage withBrokers(int n) {
        MetadataImage image = MetadataImage.EMPTY;
        for (int i = 0; i < n; i++) {
            image = image.apply(new MetadataRecord.RegisterBroker(new BrokerInfo("b" + i, "127.0.0.1", 9000 + i, 9100 + i)));
        }
        return image;
    }

    private static Set<String> ids(int n) {
        Set<String> s = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            s.add("b" + i);
        }
        return s;
    }

    private static MetadataImage applyAll(MetadataImage image, List<MetadataRecord> records) {
        for (MetadataRecord r : records) {
            image = image.apply(r);
        }
        return image;
    }

    @Test
    void configValuesAreStoredInCanonicalFormAndErrorsQuoteThemShort() {
        MetadataImage image = withBrokers(1);
        List<MetadataRecord> created = ControllerLogic.createTopic(image, ids(1), new CreateTopicRequest("c", 1, 1,
                Map.of("retention.ms", " 0060000 ", "message.timestamp.type", "LogAppendTime  ")), DEFAULTS, new Random(1));
        assertEquals(Map.of("retention.ms", "60000", "message.timestamp.type", "LogAppendTime"),
                ((MetadataRecord.CreateTopic) created.get(0)).topic().configs());
        MetadataImage withTopic = applyAll(image, created);
        // 70,000 characters a metadata record could not even encode (a string is at most 64 KiB there)
        List<MetadataRecord> altered = ControllerLogic.alterConfigs(withTopic, "c",
                Map.of("retention.bytes", "0".repeat(70_000) + "1" + " ".repeat(10)), DEFAULTS);
        assertEquals(Map.of("retention.bytes", "1"), ((MetadataRecord.AlterConfigs) altered.get(0)).configs());
        RafkaException bad = assertThrows(RafkaException.class, () -> ControllerLogic.alterConfigs(withTopic, "c",
                Map.of("retention.bytes", "x".repeat(70_000)), DEFAULTS));
        assertEquals(ErrorCode.INVALID_CONFIG, bad.errorCode());
        assertTrue(bad.getMessage().length() < 200 && bad.getMessage().contains("70000 characters"), bad.getMessage());
    }

    @Test
    void noBrokerIsGivenMoreReplicasThanTheLimit() {
        MetadataImage image = applyAll(withBrokers(3), ControllerLogic.createTopic(withBrokers(3), ids(3),
                new CreateTopicRequest("a", 6, 2, Map.of()), DEFAULTS, new Random(1)));
        // 12 replicas on 3 brokers, 4 each; 6 more of replication factor 3 put 6 on every broker.
        List<MetadataRecord> more = ControllerLogic.createTopic(image, ids(3), new CreateTopicRequest("b", 6, 3, Map.of()),
                DEFAULTS, new Random(1));
        ControllerLogic.checkReplicasPerBroker(image, more, 10);
        RafkaException refused = assertThrows(RafkaException.class, () -> ControllerLogic.checkReplicasPerBroker(image, more, 9));
        assertEquals(ErrorCode.POLICY_VIOLATION, refused.errorCode());
        assertTrue(refused.getMessage().contains("would host 10 partition replicas (4 now), above max.partitions.per.broker (9)"),
                refused.getMessage());
        List<MetadataRecord> added = ControllerLogic.createPartitions(image, ids(3), "a", 9, new Random(1));
        ControllerLogic.checkReplicasPerBroker(image, added, 6);
        assertEquals(ErrorCode.POLICY_VIOLATION, assertThrows(RafkaException.class,
                () -> ControllerLogic.checkReplicasPerBroker(image, added, 5)).errorCode());
        // A broker already above a lowered limit blocks only what would give it more: moving a replica of b0 to a
        // fourth broker adds one there and none to b0.
        MetadataImage four = image.apply(new MetadataRecord.RegisterBroker(new BrokerInfo("b3", "127.0.0.1", 9003, 9103)));
        List<String> before = four.topic("a").assignments().get(0);
        List<String> replaced = before.stream().map(b -> b.equals(before.get(0)) ? "b3" : b).toList();
        List<MetadataRecord> move = List.of(new MetadataRecord.ReassignReplicas("a", 0, replaced));
        ControllerLogic.checkReplicasPerBroker(four, move, 1);
        assertEquals(ErrorCode.POLICY_VIOLATION, assertThrows(RafkaException.class,
                () -> ControllerLogic.checkReplicasPerBroker(four.apply(move.get(0)), List.of(new MetadataRecord.ReassignReplicas(
                        "a", 1, four.topic("a").assignments().get(1).stream().map(b -> b.equals(
                                four.topic("a").assignments().get(1).get(0)) ? "b3" : b).toList())), 1)).errorCode(),
                "b3 holds one replica already; a second is above a limit of 1");
    }

    @Test
    void replaceBrokerMovesEachReplicaToTheLeastLoadedLiveOutsiderKeepingItsPosition() {
        MetadataImage image = withBrokers(5);
        image = image.apply(new MetadataRecord.CreateTopic(new TopicInfo("t", java.util.UUID.randomUUID(), List.of(
                List.of("b0", "b1", "b2"), List.of("b1", "b0", "b3"), List.of("b2", "b3", "b4"), List.of("b0", "b1")), Map.of())));
        Set<String> live = new TreeSet<>(Set.of("b1", "b2", "b3", "b4"));
        List<ControllerLogic.Reassignment> moves = ControllerLogic.replaceBroker(image, live, "b0", null);
        assertEquals(3, moves.size(), "partitions 0, 1 and 3 have a replica on b0");
        // Live loads: b1 3 replicas, b2 2, b3 2, b4 1. Partition 0 takes b4 (then 2); partition 1 chooses
        // between b2 and b4, both at 2: the lower id.
        assertEquals(List.of("b4", "b1", "b2"), moves.get(0).replicas());
        assertNull(moves.get(0).error());
        assertEquals(List.of("b1", "b2", "b3"), moves.get(1).replicas());
        assertNull(moves.get(1).error());
        assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, moves.get(2).error().errorCode(),
                "replication factor 2 with one member dead has no majority to change membership");
        assertEquals(List.of("b0", "b1"), moves.get(2).replicas(), "left as it was");
        MetadataImage after = applyAll(image, moves.stream().filter(m -> m.error() == null)
                .<MetadataRecord>map(m -> new MetadataRecord.ReassignReplicas(m.topic(), m.partition(), m.replicas())).toList());
        assertEquals(List.of("b4", "b1", "b2"), after.topic("t").assignments().get(0));
        List<ControllerLogic.Reassignment> targeted = ControllerLogic.replaceBroker(image, live, "b0", "b3");
        assertEquals(List.of("b3", "b1", "b2"), targeted.get(0).replicas());
        assertEquals(ErrorCode.INVALID_REPLICATION_FACTOR, targeted.get(1).error().errorCode(),
                "b3 already holds a replica of partition 1");
        MetadataImage withTopic = image;
        assertThrows(io.rafka.common.InvalidReplicationFactorException.class,
                () -> ControllerLogic.replaceBroker(withTopic, live, "b0", "b9"), "an unknown target");
        assertThrows(io.rafka.common.InvalidRequestException.class,
                () -> ControllerLogic.replaceBroker(withTopic, live, "b00", null), "a mistyped broker id moves nothing");
    }

    @Test
    void replaceBrokerWithNoSpareBrokerIsRefusedOnceForAllPartitions() {
        MetadataImage image = withBrokers(3).apply(new MetadataRecord.CreateTopic(new TopicInfo("t", java.util.UUID.randomUUID(),
                List.of(List.of("b0", "b1", "b2"), List.of("b1", "b2", "b0")), Map.of())));
        Set<String> live = Set.of("b1", "b2");

        io.rafka.common.InvalidReplicationFactorException refused = assertThrows(io.rafka.common.InvalidReplicationFactorException.class,
                () -> ControllerLogic.replaceBroker(image, live, "b0", null));
        assertEquals("no live broker can take the replicas of broker b0: the live brokers [b1, b2] already hold a replica of "
                + "each of its 2 partitions; start another broker first (a cluster needs more brokers than the replication "
                + "factor)", refused.getMessage());
    }

    private static ControllerLogic.Reassignment want(String topic, int partition, String... replicas) {
        return new ControllerLogic.Reassignment(topic, partition, List.of(replicas), null);
    }

    @Test
    void reassignChecksEachListOnItsOwnAndAnswersInOrder() {
        MetadataImage image = withBrokers(5).apply(new MetadataRecord.CreateTopic(new TopicInfo("t", java.util.UUID.randomUUID(),
                List.of(List.of("b0", "b1", "b2"), List.of("b1", "b2", "b3"), List.of("b0", "b4"), List.of("b2"), List.of("b4", "b1", "b2")),
                Map.of())));
        Set<String> live = new TreeSet<>(Set.of("b0", "b1", "b2", "b3"));  // b4 is dead

        List<ControllerLogic.Reassignment> out = ControllerLogic.reassign(image, live, List.of(
                want("t", 0, "b3", "b1", "b2"),        // one replica moves
                want("t", 1, "b1", "b2"),              // replication factor 3 -> 2
                want("t", 3, "b2", "b0"),              // 1 -> 2
                want("t", 9, "b0"),                    // no such partition
                want("nope", 0, "b0"),                 // no such topic
                want("t", 4, "b4", "b4", "b1"),        // a broker twice
                want("t", 2, "b0", "b7")));            // unknown broker

        assertEquals(List.of("b3", "b1", "b2"), out.get(0).replicas());
        assertNull(out.get(0).error());
        assertEquals(List.of("b1", "b2"), out.get(1).replicas());
        assertNull(out.get(1).error());
        assertEquals(List.of("b2", "b0"), out.get(2).replicas());
        assertNull(out.get(2).error());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, out.get(3).error().errorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, out.get(4).error().errorCode());
        assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, out.get(5).error().errorCode());
        assertEquals(List.of("b4", "b1", "b2"), out.get(5).replicas(), "an error answers the current list");
        assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, out.get(6).error().errorCode(), out.get(6).error().getMessage());
        assertTrue(out.get(6).error().getMessage().contains("broker b7 is not registered"), out.get(6).error().getMessage());
        assertEquals(7, out.size());
        List<ControllerLogic.Reassignment> twice = ControllerLogic.reassign(image, live, List.of(want("t", 0, "b3", "b1", "b2"),
                want("t", 0, "b0", "b1", "b3")));
        assertEquals(ErrorCode.INVALID_REQUEST, twice.get(0).error().errorCode(), "neither copy of a partition named twice is made");
        assertEquals(ErrorCode.INVALID_REQUEST, twice.get(1).error().errorCode());
        assertNull(ControllerLogic.reassign(image, live, List.of(want("t", 4, "b4", "b0", "b1"))).get(0).error(),
                "dead b4 may keep the replica it has: 2 of 3 live before and after");
        assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, ControllerLogic.reassign(image, live, List.of(want("t", 2, "b0", "b3")))
                .get(0).error().errorCode(), "replication factor 2 with one member dead has no majority to change membership");
        assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, ControllerLogic.reassign(image, live, List.of(want("t", 4, "b4", "b1")))
                .get(0).error().errorCode(), "the new group, b4 dead, would have 1 of 2 live");
        assertNull(ControllerLogic.reassign(image, live, List.of(want("t", 0, "b0", "b1", "b3"))).get(0).error(),
                "one added, two kept");
        assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, ControllerLogic.reassign(image, live, List.of(want("t", 0, "b3", "b0")))
                .get(0).error().errorCode(), "one added, one kept: Ratis refuses the change (RATIS-1912)");
        assertNull(ControllerLogic.reassign(image, live, List.of(want("t", 0, "b0"))).get(0).error(),
                "two dropped at once: they stay in the group until the change is made");
        // New members that are a majority of the new list could elect a leader of their own, with an empty log.
        assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, ControllerLogic.reassign(image, live, List.of(want("t", 3, "b0")))
                .get(0).error().errorCode(), "[b2] -> [b0]: b0 alone is the new group's majority");
        assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, ControllerLogic.reassign(image, live, List.of(want("t", 3, "b2", "b0", "b1")))
                .get(0).error().errorCode(), "[b2] -> [b2,b0,b1]: two new of three");
        assertEquals(ErrorCode.INVALID_REPLICA_ASSIGNMENT, ControllerLogic.reassign(image, live, List.of(want("t", 1, "b0", "b1", "b2",
                "b3", "b4"))).get(0).error().errorCode(), "b4 is dead");

        Map<String, ErrorCode> single = new java.util.LinkedHashMap<>();
        single.put("empty", ControllerLogic.reassign(image, live, List.of(want("t", 0))).get(0).error().errorCode());
        single.put("twice", ControllerLogic.reassign(image, live, List.of(want("t", 0, "b1", "b1"))).get(0).error().errorCode());
        single.put("dead new replica", ControllerLogic.reassign(image, live, List.of(want("t", 0, "b4", "b1", "b2"))).get(0)
                .error().errorCode());
        assertEquals(Map.of("empty", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "twice", ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "dead new replica", ErrorCode.INVALID_REPLICA_ASSIGNMENT), single);
        assertNull(ControllerLogic.reassign(image, live, List.of(want("t", 0, "b0", "b1", "b2"))).get(0).error(),
                "the current list is answered as done");
        assertThrows(io.rafka.common.InvalidRequestException.class, () -> ControllerLogic.reassign(image, live, List.of()));
    }

    @Test
    void balanceMovesReplicasOntoANewBrokerUntilNoTwoLiveBrokersDifferByMoreThanOne() {
        // Six partitions of RF 3 on b0..b2 (6 replicas each); b3 just joined and holds nothing.
        List<List<String>> lists = new java.util.ArrayList<>();
        for (int p = 0; p < 6; p++) {
            lists.add(List.of("b" + p % 3, "b" + (p + 1) % 3, "b" + (p + 2) % 3));
        }
        MetadataImage image = withBrokers(4).apply(new MetadataRecord.CreateTopic(new TopicInfo("t", java.util.UUID.randomUUID(),
                lists, Map.of())));

        List<ControllerLogic.Reassignment> plan = ControllerLogic.balanceReplicas(image, ids(4));

        MetadataImage after = applyAll(image, plan.stream()
                .<MetadataRecord>map(m -> new MetadataRecord.ReassignReplicas(m.topic(), m.partition(), m.replicas())).toList());
        Map<String, Integer> load = new TreeMap<>();
        after.topic("t").assignments().forEach(r -> r.forEach(b -> load.merge(b, 1, Integer::sum)));
        assertEquals(4, load.get("b3"), load.toString());
        assertEquals(List.of(4, 4, 5, 5), load.values().stream().sorted().toList(), "18 replicas over 4 brokers: 4 or 5 each");
        assertEquals(4, plan.size(), "one replica moved per partition that moves, four in all (as few as it takes)");
        for (ControllerLogic.Reassignment m : plan) {
            List<String> before = image.topic("t").assignments().get(m.partition());
            assertEquals(3, m.replicas().size());
            assertTrue(m.replicas().contains("b3"), m.toString());
            int at = m.replicas().indexOf("b3");
            assertEquals(before.subList(0, at), m.replicas().subList(0, at), "the others keep their places: " + m);
            assertEquals(before.subList(at + 1, 3), m.replicas().subList(at + 1, 3), "the others keep their places: " + m);
        }
        assertEquals(List.of(), ControllerLogic.balanceReplicas(after, ids(4)), "balanced already: nothing to move");
    }

    @Test
    void balanceLeavesDeadBrokersAndPartitionsWithoutALiveMajorityAlone() {
        MetadataImage image = withBrokers(5).apply(new MetadataRecord.CreateTopic(new TopicInfo("t", java.util.UUID.randomUUID(),
                List.of(List.of("b0", "b1", "b2"), List.of("b0", "b1", "b2"), List.of("b0", "b1", "b4"), List.of("b0", "b1", "b4"),
                        List.of("b0", "b4")), Map.of())));
        Set<String> live = Set.of("b0", "b1", "b2", "b3");   // b4 dead

        List<ControllerLogic.Reassignment> plan = ControllerLogic.balanceReplicas(image, live);

        // Live loads before: b0 5, b1 4, b2 2, b3 0. Partition 4 has 1 of 2 replicas live: it cannot change members.
        // b0 -> b3 (partition 0), b1 -> b3 (partition 1), b0 -> b2 (partition 2, whose dead b4 stays): then 3, 3, 3, 2.
        assertEquals(List.of(new ControllerLogic.Reassignment("t", 0, List.of("b3", "b1", "b2"), null),
                new ControllerLogic.Reassignment("t", 1, List.of("b0", "b3", "b2"), null),
                new ControllerLogic.Reassignment("t", 2, List.of("b2", "b1", "b4"), null)), plan);
        for (ControllerLogic.Reassignment m : plan) {
            assertNull(ControllerLogic.reassign(image, live, List.of(m)).get(0).error(), "a plan passes reassign's checks: " + m);
        }
    }

    /** Every bad input of a create request, with the typed error it must get. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                | 1     | 1 | INVALID_TOPIC",
            ".                 | 1     | 1 | INVALID_TOPIC",
            "..                | 1     | 1 | INVALID_TOPIC",
            "has space         | 1     | 1 | INVALID_TOPIC",
            "slash/name        | 1     | 1 | INVALID_TOPIC",
            "uml\u00e4ut       | 1     | 1 | INVALID_TOPIC",
            "exists            | 1     | 1 | TOPIC_ALREADY_EXISTS",
            "ok                | 0     | 1 | INVALID_PARTITIONS",
            "ok                | -3    | 1 | INVALID_PARTITIONS",
            "ok                | 10001 | 1 | INVALID_PARTITIONS",
            "ok                | 1     | 0 | INVALID_REPLICATION_FACTOR",
            "ok                | 1     | 4 | INVALID_REPLICATION_FACTOR",
    })
    void createTopicValidationMatrix(String name, int partitions, int rf, ErrorCode expected) {
        MetadataImage image = applyAll(withBrokers(3), ControllerLogic.createTopic(withBrokers(3), ids(3),
                new CreateTopicRequest("exists", 1, 1, Map.of()), DEFAULTS, new Random(1)));
        RafkaException e = assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(image, ids(3),
                new CreateTopicRequest(name, partitions, rf, Map.of()), DEFAULTS, new Random(1)));
        assertEquals(expected, e.errorCode(), e.getMessage());
    }

    @Test
    void aRetriedCreateWithTheSameTopicIdChangesNothingAndAnotherIdStillFindsTheTopicTaken() {
        java.util.UUID id = java.util.UUID.randomUUID();
        CreateTopicRequest request = new CreateTopicRequest("t", 3, 2, Map.of(), id);
        List<MetadataRecord> first = ControllerLogic.createTopic(withBrokers(3), ids(3), request, DEFAULTS, new Random(1));
        MetadataImage image = applyAll(withBrokers(3), first);
        assertEquals(id, image.topic("t").id(), "the topic gets the id the request carries");

        assertEquals(List.of(), ControllerLogic.createTopic(image, ids(3), request, DEFAULTS, new Random(2)),
                "a retry of a create that committed finds its topic and adds nothing");
        assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(image,
                ids(3), new CreateTopicRequest("t", 3, 2, Map.of(), java.util.UUID.randomUUID()), DEFAULTS, new Random(1))).errorCode());
        assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(image,
                ids(3), new CreateTopicRequest("t", 3, 2, Map.of()), DEFAULTS, new Random(1))).errorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(image,
                ids(3), new CreateTopicRequest("u", 1, 1, Map.of(), id), DEFAULTS, new Random(1))).errorCode(),
                "one id names one topic");
    }

    @Test
    void nameLengthLimitAndConfigsAreChecked() {
        MetadataImage image = withBrokers(3);
        assertEquals(ErrorCode.INVALID_TOPIC, assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(image, ids(3),
                new CreateTopicRequest("x".repeat(250), 1, 1, Map.of()), DEFAULTS, new Random(1))).errorCode());
        ControllerLogic.createTopic(image, ids(3), new CreateTopicRequest("x".repeat(249), 1, 1, Map.of()), DEFAULTS, new Random(1));
        for (Map<String, String> bad : List.of(Map.of("no.such.key", "1"), Map.of("retention.ms", "soon"),
                Map.of("retention.ms", "-2"), Map.of("segment.bytes", "10"), Map.of("message.timestamp.type", "Now"))) {
            RafkaException e = assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(image, ids(3),
                    new CreateTopicRequest("t", 1, 1, bad), DEFAULTS, new Random(1)));
            assertEquals(ErrorCode.INVALID_CONFIG, e.errorCode(), bad.toString());
            assertTrue(e.getMessage().contains(bad.keySet().iterator().next()), e.getMessage());
        }
        LogConfig cfg = TopicConfigs.toLogConfig(Map.of("retention.ms", "1000", "message.timestamp.type", "LogAppendTime"), DEFAULTS);
        assertEquals(1000, cfg.retentionMs());
    }

    @Test
    void onlyLiveBrokersGetReplicas() {
        MetadataImage image = withBrokers(4);
        Set<String> live = Set.of("b0", "b2", "b3");
        MetadataImage after = applyAll(image, ControllerLogic.createTopic(image, live,
                new CreateTopicRequest("t", 12, 3, Map.of()), DEFAULTS, new Random(5)));
        for (List<String> replicas : after.topic("t").assignments()) {
            assertTrue(live.containsAll(replicas), replicas.toString());
            assertEquals(3, new HashSet<>(replicas).size());
        }
        assertEquals(ErrorCode.INVALID_REPLICATION_FACTOR, assertThrows(RafkaException.class, () -> ControllerLogic.createTopic(
                image, live, new CreateTopicRequest("u", 1, 4, Map.of()), DEFAULTS, new Random(5))).errorCode());
    }

    /**
     * Deterministic simulation with a fixed set of brokers: random creates, deletes and partition additions;
     * after every step each partition has RF distinct registered replicas, and preferred leaders are balanced
     * within one per broker until the first delete; after deletes, as balanced as reordering replica lists can
     * make them (only moving data could do more). The seed is printed on failure.
     */
    @Test
    void simulationKeepsPlacementValidAndLeadersBalanced() {
        for (int run = 0; run < 20; run++) {
            long seed = System.nanoTime() + run;
            Random random = new Random(seed);
            int brokers = 1 + random.nextInt(6);
            MetadataImage image = withBrokers(brokers);
            Set<String> live = ids(brokers);
            List<String> names = new ArrayList<>();
            boolean deletedAny = false;
            for (int step = 0; step < 200; step++) {
                int op = random.nextInt(10);
                if (op < 5 || names.isEmpty()) {
                    String name = "t" + step;
                    image = applyAll(image, ControllerLogic.createTopic(image, live, new CreateTopicRequest(name,
                            1 + random.nextInt(12), 1 + random.nextInt(Math.min(3, brokers)), Map.of()), DEFAULTS, random));
                    names.add(name);
                } else if (op < 8) {
                    String name = names.remove(random.nextInt(names.size()));
                    image = applyAll(image, ControllerLogic.deleteTopic(image, name));
                    deletedAny = true;
                } else {
                    String name = names.get(random.nextInt(names.size()));
                    int now = image.topic(name).partitionCount();
                    image = applyAll(image, ControllerLogic.createPartitions(image, live, name, now + 1 + random.nextInt(4), random));
                }
                image = applyAll(image, ControllerLogic.balanceLeaders(image, live));
                checkPlacement(image, seed, step);
                Map<String, Integer> counts = image.preferredLeaderCounts();
                int max = counts.values().stream().mapToInt(Integer::intValue).max().orElse(0);
                int min = counts.values().stream().mapToInt(Integer::intValue).min().orElse(0);
                if (!deletedAny) {
                    // Creates and additions only: placement alone keeps every broker within one leadership.
                    assertTrue(max - min <= 1, "leaders unbalanced " + counts + " without deletes; seed " + seed + " step " + step);
                } else if (max - min > 1) {
                    // Deletes can leave an imbalance that only moving data would fix; reordering must have done
                    // all it can.
                    assertTrue(ControllerLogic.findImprovingMoves(image, counts).isEmpty(),
                            "leaders unbalanced " + counts + " although a hand-over chain exists; seed " + seed + " step " + step);
                }
            }
        }
    }

    /**
     * Simulation with brokers failing, coming back and joining: placement only uses live brokers, replica
     * lists stay valid, and no live broker is left with a leadership gap a reorder could close; leaderships
     * of dead brokers move to live replicas.
     */
    @Test
    void simulationWithBrokerChurn() {
        for (int run = 0; run < 20; run++) {
            long seed = System.nanoTime() + run;
            Random random = new Random(seed);
            MetadataImage image = withBrokers(3);
            Set<String> live = new TreeSet<>(ids(3));
            int nextBroker = 3;
            List<String> names = new ArrayList<>();
            for (int step = 0; step < 200; step++) {
                int op = random.nextInt(12);
                if (op < 4 || names.isEmpty()) {
                    String name = "t" + step;
                    int rf = 1 + random.nextInt(Math.min(3, live.size()));
                    image = applyAll(image, ControllerLogic.createTopic(image, live,
                            new CreateTopicRequest(name, 1 + random.nextInt(10), rf, Map.of()), DEFAULTS, random));
                    for (List<String> replicas : image.topic(name).assignments()) {
                        assertTrue(live.containsAll(replicas), "placed on a dead broker; seed " + seed);
                    }
                    names.add(name);
                } else if (op < 6) {
                    image = applyAll(image, ControllerLogic.deleteTopic(image, names.remove(random.nextInt(names.size()))));
                } else if (op < 8 && live.size() > 1) {
                    live.remove(new ArrayList<>(live).get(random.nextInt(live.size())));
                } else if (op < 10) {
                    live.add("b" + random.nextInt(nextBroker));
                } else {
                    String id = "b" + nextBroker++;
                    image = image.apply(new MetadataRecord.RegisterBroker(new BrokerInfo(id, "h", 1, 2)));
                    live.add(id);
                }
                image = applyAll(image, ControllerLogic.balanceLeaders(image, live));
                checkPlacement(image, seed, step);
                Map<String, Integer> liveCounts = new java.util.TreeMap<>(image.preferredLeaderCounts());
                liveCounts.keySet().retainAll(live);
                assertTrue(ControllerLogic.findImprovingMoves(image, liveCounts).isEmpty(), "balancer did not converge; seed " + seed);
            }
        }
    }

    private static void checkPlacement(MetadataImage image, long seed, int step) {
        for (TopicInfo t : image.topics().values()) {
            for (List<String> replicas : t.assignments()) {
                assertEquals(t.replicationFactor(), replicas.size(), "seed " + seed + " step " + step);
                assertEquals(replicas.size(), new HashSet<>(replicas).size(), "distinct replicas; seed " + seed + " step " + step);
                assertTrue(image.brokers().keySet().containsAll(replicas), "known brokers; seed " + seed + " step " + step);
            }
        }
    }

    @Test
    void producerIdBlocksFollowEachOtherAndOnlyRegisteredBrokersGetOne() {
        MetadataImage image = MetadataImage.EMPTY.apply(new MetadataRecord.RegisterBroker(new BrokerInfo("b1", "h", 1, 2)));
        for (int block = 0; block < 3; block++) {
            List<MetadataRecord> records = ControllerLogic.allocateProducerIds(image, "b1");
            assertEquals(List.of(new MetadataRecord.AllocateProducerIds("b1",
                    (long) block * ControllerLogic.PRODUCER_ID_BLOCK_SIZE, ControllerLogic.PRODUCER_ID_BLOCK_SIZE)), records);
            image = image.apply(records.get(0));
        }
        MetadataImage last = image;
        RafkaException e = assertThrows(RafkaException.class, () -> ControllerLogic.allocateProducerIds(last, "b9"));
        assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    }
}
