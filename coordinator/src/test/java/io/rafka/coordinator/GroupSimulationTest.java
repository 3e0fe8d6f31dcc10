package io.rafka.coordinator;

import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A seeded simulation of the rebalance rules: members join, leave, crash, change subscriptions, receive their
 * assignments late and release partitions when they get to it; topics grow, appear and disappear; the coordinator
 * fails over (the group rebuilt from its records, soft state lost). After every event no partition is consumed by
 * two clients and each client consumes only what the coordinator counts as its own; at the end, once every client
 * caught up, the group is stable, every subscribed partition has exactly one owner and the uniform assignor is
 * balanced.
 */
class GroupSimulationTest {
    private static final int SEEDS = 300;
    private static final int EVENTS = 300;

    /** What a client process does with what it was told. */
    static final class Client {
        final String memberId;
        SortedSet<TopicPartition> view = MemberState.sorted(Set.of());
        Set<TopicPartition> consuming = new HashSet<>();

        Client(String memberId) {
            this.memberId = memberId;
        }
    }

    @Test
    void ownershipStaysDisjointUnderRandomEvents() {
        for (int seed = 0; seed < SEEDS; seed++) {
            try {
                simulate(seed);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
            }
        }
    }

    private static void simulate(long seed) {
        Random random = new Random(seed);
        Map<String, Integer> topics = new TreeMap<>(Map.of("a", 1 + random.nextInt(6), "b", 1 + random.nextInt(6)));
        ConsumerGroup group = new ConsumerGroup("g");
        Map<String, Client> clients = new TreeMap<>();
        AssignorType assignor = random.nextBoolean() ? AssignorType.UNIFORM : AssignorType.RANGE;
        long now = 0;
        int nextId = 0;
        for (int i = 0; i < EVENTS; i++) {
            now += random.nextInt(50);
            int event = random.nextInt(100);
            List<String> ids = new ArrayList<>(clients.keySet());
            String someone = ids.isEmpty() ? null : ids.get(random.nextInt(ids.size()));
            if (event < 12 && clients.size() < 8) {
                MemberState m = new MemberState("m" + nextId++);
                m.sessionTimeoutMs = 45_000;
                group.addMember(m);
                group.subscribe(m, subscription(random), random.nextInt(4) == 0 ? "c.*" : "", assignor);
                clients.put(m.memberId, new Client(m.memberId));
            } else if (event < 18 && someone != null) {
                clients.remove(someone).consuming.clear();     // a clean leave: stops consuming, then leaves
                group.removeMember(someone);
            } else if (event < 22 && someone != null) {
                clients.remove(someone);                       // a crash: fenced after the grace
                group.removeMember(someone);
            } else if (event < 55 && someone != null) {
                clients.get(someone).view = MemberState.sorted(group.members.get(someone).assigned);
            } else if (event < 85 && someone != null) {
                Client c = clients.get(someone);
                c.consuming = new HashSet<>(c.view);
                group.released(group.members.get(someone), c.consuming);
            } else if (event < 89) {
                topics.merge(random.nextBoolean() ? "a" : "b", 1 + random.nextInt(3), Integer::sum);
            } else if (event < 92) {
                topics.put("c" + random.nextInt(3), 1 + random.nextInt(4));
            } else if (event < 94) {
                topics.keySet().removeIf(t -> t.startsWith("c") && random.nextBoolean());
            } else if (event < 97 && someone != null) {
                group.subscribe(group.members.get(someone), subscription(random), "", assignor);
            } else {
                group = failOver(group);
            }
            group.rebalance(topics, now);
            checkOwnership(group, clients);
        }
        quiesce(group, clients, topics, now);
    }

    private static SortedSet<String> subscription(Random random) {
        SortedSet<String> s = new TreeSet<>();
        if (random.nextInt(3) != 0) {
            s.add("a");
        }
        if (random.nextInt(3) != 0 || s.isEmpty()) {
            s.add("b");
        }
        return s;
    }

    /** The coordinator moves: the group as its records rebuild it, without soft state. */
    static ConsumerGroup failOver(ConsumerGroup group) {
        group.dirtyGroup = true;
        group.dirtyMembers.addAll(group.members.keySet());
        group.dirtyOffsets.addAll(group.offsets.keySet());
        GroupRecords records = new GroupRecords(0);
        records.addChanges(group, false);
        Map<String, ConsumerGroup> groups = new HashMap<>();
        records.build().forEach(batch -> GroupRecords.replay(batch, groups));
        ConsumerGroup loaded = groups.get(group.groupId);
        assertEquals(group.groupEpoch, loaded.groupEpoch);
        assertEquals(group.members.keySet(), loaded.members.keySet());
        for (MemberState m : group.members.values()) {
            MemberState l = loaded.members.get(m.memberId);
            assertEquals(m.assigned, l.assigned);
            assertEquals(m.revoking, l.revoking);
            assertEquals(m.target, l.target);
            assertEquals(m.epoch, l.epoch);
        }
        return loaded;
    }

    private static void checkOwnership(ConsumerGroup group, Map<String, Client> clients) {
        group.owners(); // throws if two members own one partition
        Map<TopicPartition, String> consumer = new HashMap<>();
        for (Client c : clients.values()) {
            MemberState m = group.members.get(c.memberId);
            for (TopicPartition tp : c.consuming) {
                if (!m.owns(tp)) {
                    fail(c.memberId + " consumes " + tp + " which the coordinator does not count as its own");
                }
                String other = consumer.put(tp, c.memberId);
                if (other != null) {
                    fail(tp + " consumed by both " + other + " and " + c.memberId);
                }
            }
            assertTrue(m.target.containsAll(m.assigned), "assigned within target");
        }
    }

    /** Every client catches up; then the group must be stable, complete and (uniform) balanced. */
    private static void quiesce(ConsumerGroup group, Map<String, Client> clients, Map<String, Integer> topics, long now) {
        for (int round = 0; round < 10; round++) {
            for (Client c : clients.values()) {
                c.view = MemberState.sorted(group.members.get(c.memberId).assigned);
                c.consuming = new HashSet<>(c.view);
                group.released(group.members.get(c.memberId), c.consuming);
            }
            group.rebalance(topics, now);
            checkOwnership(group, clients);
        }
        if (clients.isEmpty()) {
            assertEquals("EMPTY", group.state());
            return;
        }
        assertEquals("STABLE", group.state());
        Map<TopicPartition, String> owners = group.owners();
        for (MemberState m : group.members.values()) {
            for (String t : group.subscribedTopics(m, topics)) {
                for (int p = 0; p < topics.get(t); p++) {
                    assertTrue(owners.containsKey(new TopicPartition(t, p)), t + "-" + p + " has an owner");
                }
            }
            for (TopicPartition tp : m.assigned) {
                assertTrue(group.subscribedTopics(m, topics).contains(tp.topic()), m.memberId + " subscribes to " + tp.topic());
            }
        }
        if (group.assignor() == AssignorType.UNIFORM && sameSubscriptions(group)) {
            int min = Integer.MAX_VALUE;
            int max = 0;
            for (MemberState m : group.members.values()) {
                min = Math.min(min, m.assigned.size());
                max = Math.max(max, m.assigned.size());
            }
            assertTrue(max - min <= 1, "balanced: " + min + ".." + max);
        }
    }

    private static boolean sameSubscriptions(ConsumerGroup group) {
        Set<String> first = null;
        for (MemberState m : group.members.values()) {
            Set<String> s = new TreeSet<>(m.topics);
            s.add(m.pattern);
            if (first == null) {
                first = s;
            } else if (!first.equals(s)) {
                return false;
            }
        }
        return true;
    }
}
