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
    private static final boolean TRACE = System.getenv("SIM_TRACE") != null;
    private static final long TRACE_SEED = Long.parseLong(System.getenv().getOrDefault("SIM_TRACE", "1"));

    /** An assignment pushed to a member, in flight until the client reads it. */
    record Push(SortedSet<TopicPartition> assigned, int epoch, long version) {
    }

    /** A commit as a client sent it: its epoch then, and how many times the partition had changed hands then. */
    record Commit(TopicPartition partition, int epoch, int handovers) {
    }

    /** A heartbeat as a client sent it: what it owned and the newest assignment version it had seen. */
    record Report(Set<TopicPartition> owned, long version) {
    }

    /** What a client process does with what it was told: pushes arrive in order, late; heartbeats may arrive late. */
    static final class Client {
        final String memberId;
        final java.util.ArrayDeque<Push> inbox = new java.util.ArrayDeque<>();
        SortedSet<TopicPartition> view = MemberState.sorted(Set.of());
        long viewVersion = -1;
        int viewEpoch;
        Set<TopicPartition> consuming = new HashSet<>();
        Report lastReport;
        /** Commits sent and not yet arrived (some arrive late, after the client lost or regained the partition). */
        final List<Commit> commits = new ArrayList<>();

        Client(String memberId) {
            this.memberId = memberId;
        }
    }

    @Test
    void ownershipStaysDisjointUnderRandomEvents() {
        for (int seed = 0; seed < SEEDS; seed++) {
            try {
                simulate(seed, true);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The same events with clients that do not echo assignment versions: a heartbeat sent before an assignment
     * arrived then releases a partition the member is about to start on, and some seed catches two consumers. This
     * shows the simulation reaches that race, which the versions close.
     */
    @Test
    void withoutAssignmentVersionsALateHeartbeatBreaksOwnership() {
        int broken = 0;
        for (int seed = 0; seed < SEEDS; seed++) {
            try {
                simulate(seed, false);
            } catch (OwnershipBroken e) {
                broken++;   // only the race counts: any other failed check fails the test
            }
        }
        assertTrue(broken > 0, "some seed shows the race without versions");
    }

    /** Two members own or consume one partition, or a member consumes one it does not own. */
    private static final class OwnershipBroken extends AssertionError {
        OwnershipBroken(String message) {
            super(message);
        }
    }

    private static void simulate(long seed, boolean versions) {
        Random random = new Random(seed);
        Map<String, Integer> topics = new TreeMap<>(Map.of("a", 1 + random.nextInt(6), "b", 1 + random.nextInt(6)));
        ConsumerGroup group = new ConsumerGroup("g");
        Map<String, Client> clients = new TreeMap<>();
        AssignorType assignor = random.nextBoolean() ? AssignorType.UNIFORM : AssignorType.RANGE;
        long now = 0;
        long versionBase = 0;
        int nextId = 0;
        Map<TopicPartition, Integer> handovers = new HashMap<>();   // times a client started consuming a partition
        for (int i = 0; i < EVENTS; i++) {
            now += random.nextInt(50);
            int event = random.nextInt(100);
            List<String> ids = new ArrayList<>(clients.keySet());
            String someone = ids.isEmpty() ? null : ids.get(random.nextInt(ids.size()));
            Map<String, Integer> topicsBefore = Map.copyOf(topics);
            boolean settle = true;   // as the coordinator: a heartbeat that changed nothing does not rebalance
            if (event < 12 && clients.size() < 8) {
                MemberState m = new MemberState("m" + nextId++);
                m.sessionTimeoutMs = 45_000;
                m.pushVersion = versionBase;
                group.addMember(m);
                group.subscribe(m, subscription(random), random.nextInt(4) == 0 ? "c.*" : "", assignor);
                clients.put(m.memberId, new Client(m.memberId));
            } else if (event < 18 && someone != null) {
                clients.remove(someone).consuming.clear();     // a clean leave: stops consuming, then leaves
                group.removeMember(someone);
            } else if (event < 22 && someone != null) {
                clients.remove(someone);                       // a crash: fenced after the grace
                group.removeMember(someone);
            } else if (event < 50 && someone != null) {
                Client c = clients.get(someone);          // the client reads its oldest push
                Push push = c.inbox.poll();
                if (push != null) {
                    c.view = push.assigned();
                    c.viewVersion = push.version();
                    c.viewEpoch = push.epoch();
                }
                settle = false;
            } else if (event < 80 && someone != null) {
                Client c = clients.get(someone);          // it commits what it consumed, reconciles and heartbeats
                if (c.commits.size() < 20) {
                    c.consuming.forEach(tp -> c.commits.add(new Commit(tp, c.viewEpoch, handovers.getOrDefault(tp, 0))));
                }
                for (TopicPartition tp : c.view) {
                    if (!c.consuming.contains(tp)) {
                        handovers.merge(tp, 1, Integer::sum);
                    }
                }
                c.consuming = new HashSet<>(c.view);
                c.lastReport = new Report(Set.copyOf(c.consuming), versions ? c.viewVersion : 0);
                settle = group.released(group.members.get(someone), c.consuming, c.lastReport.version());
            } else if (event < 85 && someone != null && clients.get(someone).lastReport != null) {
                Client c = clients.get(someone);
                Report late = c.lastReport;                      // an earlier heartbeat arrives (again, late)
                settle = group.released(group.members.get(someone), late.owned(), late.version());
                if (!c.commits.isEmpty()) {                      // and so does one of its commits
                    checkCommit(group.members.get(someone), c.commits.remove(random.nextInt(c.commits.size())), handovers);
                }
            } else if (event < 89) {                      // topic events: below, settled if they matter
                topics.merge(random.nextBoolean() ? "a" : "b", 1 + random.nextInt(3), Integer::sum);
                settle = false;
            } else if (event < 92) {
                topics.put("c" + random.nextInt(3), 1 + random.nextInt(4));
                settle = false;
            } else if (event < 94) {
                topics.keySet().removeIf(t -> t.startsWith("c") && random.nextBoolean());
                settle = false;
            } else if (event < 97 && someone != null) {
                settle = group.subscribe(group.members.get(someone), subscription(random), "", assignor);
            } else {
                group = failOver(group);
                versionBase += 1_000_000;
                for (MemberState m : group.members.values()) {
                    Membership.startVersions(m, versionBase);
                }
                for (Client c : clients.values()) {
                    c.inbox.clear();       // the streams broke: pushes and heartbeats in flight are gone
                    c.lastReport = null;
                    MemberState m = group.members.get(c.memberId);
                    c.inbox.add(new Push(MemberState.sorted(m.assigned), m.epoch, ++m.pushVersion));   // the resume's answer
                }
            }
            if (!topics.equals(topicsBefore)) {
                Set<String> changedTopics = new HashSet<>(topicsBefore.keySet());
                changedTopics.removeAll(topics.keySet());
                topics.forEach((t, n) -> {
                    if (!n.equals(topicsBefore.get(t))) {
                        changedTopics.add(t);
                    }
                });
                settle = group.subscribesToAny(changedTopics);
            }
            for (String changed : settle ? group.rebalance(Map.copyOf(topics), now) : Set.<String>of()) {
                Client c = clients.get(changed);
                MemberState m = group.members.get(changed);
                if (c != null) {
                    c.inbox.add(new Push(MemberState.sorted(m.assigned), m.epoch, ++m.pushVersion));
                }
            }
            if (TRACE && seed == TRACE_SEED) {
                StringBuilder b = new StringBuilder("event " + i + " (" + event + ", " + someone + "):");
                for (MemberState m : group.members.values()) {
                    Client c = clients.get(m.memberId);
                    b.append(" ").append(m.memberId).append(" a").append(m.assigned).append(" r").append(m.revoking)
                            .append(" at").append(m.revokedAt).append(" pv").append(m.pushVersion);
                    if (c != null) {
                        b.append(" | view").append(c.view).append(" v").append(c.viewVersion).append(" cons").append(c.consuming)
                                .append(" inbox").append(c.inbox.size());
                    }
                    b.append(";");
                }
                System.err.println(b);
            }
            // What the coordinator skips must be nothing: one more rebalance now changes no assignment.
            String state = describe(group);
            assertEquals(Set.of(), group.rebalance(Map.copyOf(topics), now), "event " + i + " (" + event + ")");
            assertEquals(state, describe(group), "event " + i + " (" + event + ")");
            checkOwnership(group, clients);
        }
        quiesce(group, clients, topics, now);
    }

    /**
     * A commit that arrives late passes the coordinator's checks (the member's epoch, and the partition still its own,
     * as {@code Offsets.commit}) only if nobody started consuming the partition since it was sent, the sender after
     * losing it included: else an old position would overwrite a newer owner's commits.
     */
    private static void checkCommit(MemberState m, Commit commit, Map<TopicPartition, Integer> handovers) {
        boolean accepted = commit.epoch() == m.epoch && m.owns(commit.partition());
        if (accepted && handovers.getOrDefault(commit.partition(), 0) != commit.handovers()) {
            fail(m.memberId + "'s commit of " + commit.partition() + " at epoch " + commit.epoch() + " was accepted after "
                    + (handovers.getOrDefault(commit.partition(), 0) - commit.handovers()) + " hand-overs of the partition");
        }
    }

    /** The group's assignment state: epochs and every member's epoch, target, assigned and revoking partitions. */
    private static String describe(ConsumerGroup group) {
        StringBuilder b = new StringBuilder("epochs " + group.groupEpoch + "/" + group.assignmentEpoch);
        for (MemberState m : group.members.values()) {
            b.append("; ").append(m.memberId).append(" e").append(m.epoch).append(" t").append(m.target)
                    .append(" a").append(m.assigned).append(" r").append(m.revoking);
        }
        return b.toString();
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
        try {
            group.owners(); // throws if two members own one partition
        } catch (IllegalStateException e) {
            throw new OwnershipBroken(e.getMessage());
        }
        Map<TopicPartition, String> consumer = new HashMap<>();
        for (Client c : clients.values()) {
            MemberState m = group.members.get(c.memberId);
            for (TopicPartition tp : c.consuming) {
                if (!m.owns(tp)) {
                    throw new OwnershipBroken(c.memberId + " consumes " + tp + " which the coordinator does not count as its own");
                }
                String other = consumer.put(tp, c.memberId);
                if (other != null) {
                    throw new OwnershipBroken(tp + " consumed by both " + other + " and " + c.memberId);
                }
            }
            assertTrue(m.target.containsAll(m.assigned), "assigned within target");
        }
    }

    /** Every client catches up; then the group must be stable, complete and (uniform) balanced. */
    private static void quiesce(ConsumerGroup group, Map<String, Client> clients, Map<String, Integer> topics, long now) {
        for (int round = 0; round < 10; round++) {
            for (Client c : clients.values()) {
                MemberState m = group.members.get(c.memberId);
                c.inbox.clear();
                c.view = MemberState.sorted(m.assigned);
                c.viewVersion = ++m.pushVersion;
                c.viewEpoch = m.epoch;
                c.consuming = new HashSet<>(c.view);
                group.released(m, c.consuming, c.viewVersion);
            }
            group.rebalance(Map.copyOf(topics), now);
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
