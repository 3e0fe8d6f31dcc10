package io.rafka.coordinator;

import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large groups: who a membership change makes the coordinator tell. Each member told is a push on its stream and a
 * member record written, so a change must reach the members whose assignment it changes, not the whole group.
 */
class LargeGroupTest {
    private static final Map<String, Integer> TOPICS = Map.of("t", 200);

    /** What the coordinator told after one change and the members' releases it led to. */
    private record Told(Set<String> first, int total) {
    }

    @Test
    void aJoinTellsOnlyTheMembersWhoseAssignmentChanges() {
        ConsumerGroup g = new ConsumerGroup("g");
        int pushes = 0;
        for (int i = 0; i < 500; i++) {
            Map<String, String> before = snapshot(g);
            Told told = join(g, "m" + String.format("%03d", i));
            pushes += told.total();
            if (i == 100) {
                // 100 members with 2 partitions each: the joiner's one (101 members: 99 keep 2) comes from one of
                // them, told to release it; nobody else hears anything.
                assertEquals(2, told.first().size(), "told: " + told.first());
                assertTrue(told.first().contains("m100"));
                assertEquals(told.first(), changed(before, snapshot(g)));
            }
            if (i >= 200) {
                // every partition has its member: the joiner idles, and only it is told (its id and epoch)
                assertEquals(Set.of("m" + i), told.first());
                assertEquals(Set.of("m" + i), changed(before, snapshot(g)));
            }
        }
        // 200 partitions moved once each at most, plus a join answer each: linear in the members, not quadratic.
        assertTrue(pushes < 4 * 500, pushes + " pushes for 500 joins");
        int owning = 0;
        for (MemberState m : g.members.values()) {
            assertTrue(m.assigned.size() <= 1 && m.revoking.isEmpty() && m.assigned.equals(m.target), m.memberId + " " + m.assigned);
            owning += m.assigned.size();
        }
        assertEquals(200, owning);
        assertEquals("STABLE", g.state());
    }

    @Test
    void aLeaveTellsOnlyTheMemberThatTakesItsPartitionOver() {
        ConsumerGroup g = new ConsumerGroup("g");
        for (int i = 0; i < 300; i++) {
            join(g, "m" + String.format("%03d", i));
        }
        MemberState leaving = g.members.values().stream().filter(m -> !m.assigned.isEmpty()).findFirst().orElseThrow();
        TopicPartition freed = leaving.assigned.first();
        Map<String, String> before = snapshot(g);
        before.remove(leaving.memberId);
        g.removeMember(leaving.memberId);
        Set<String> told = g.rebalance(TOPICS, 0);
        assertEquals(1, told.size(), "told: " + told);
        MemberState heir = g.members.get(told.iterator().next());
        assertEquals(Set.of(freed), Set.copyOf(heir.assigned));
        assertEquals(g.assignmentEpoch, heir.epoch, "the heir's epoch moves with what it gained");
        assertEquals(told, changed(before, snapshot(g)));
    }

    @Test
    void aMemberThatGainsAPartitionMovesToTheNewEpochSoItsOlderCommitsAreStale() {
        ConsumerGroup g = new ConsumerGroup("g");
        join(g, "a");
        int first = g.members.get("a").epoch;
        join(g, "b");   // takes half of a's partitions; a keeps its epoch
        assertEquals(first, g.members.get("a").epoch);
        g.removeMember("b");
        settle(g);      // a gets them back, at a newer epoch than the one its commits of them before carried
        assertEquals(200, g.members.get("a").assigned.size());
        assertTrue(g.members.get("a").epoch > first, "epoch " + g.members.get("a").epoch + " after " + first);
    }

    /** A member joins; every member told releases at once what it was told to. */
    private static Told join(ConsumerGroup g, String id) {
        MemberState m = new MemberState(id);
        m.sessionTimeoutMs = 45_000;
        g.addMember(m);
        g.subscribe(m, new TreeSet<>(Set.of("t")), "", AssignorType.UNIFORM);
        Set<String> first = g.rebalance(TOPICS, 0);
        first.add(id);   // the join's answer
        return new Told(Set.copyOf(first), first.size() + releaseAll(g, first));
    }

    private static void settle(ConsumerGroup g) {
        releaseAll(g, g.rebalance(TOPICS, 0));
    }

    /** The told members report what they own now; returns the pushes that led to. */
    private static int releaseAll(ConsumerGroup g, Set<String> told) {
        int pushes = 0;
        while (!told.isEmpty()) {
            boolean released = false;
            for (String id : told) {
                MemberState m = g.members.get(id);
                released |= g.released(m, Set.copyOf(m.assigned), 0);
            }
            told = released ? g.rebalance(TOPICS, 0) : Set.of();
            pushes += told.size();
        }
        return pushes;
    }

    private static Map<String, String> snapshot(ConsumerGroup g) {
        Map<String, String> s = new HashMap<>();
        g.members.values().forEach(m -> s.put(m.memberId, m.epoch + " " + m.assigned + " " + m.revoking));
        return s;
    }

    private static Set<String> changed(Map<String, String> before, Map<String, String> after) {
        Set<String> changed = new TreeSet<>();
        after.forEach((id, state) -> {
            if (!state.equals(before.get(id))) {
                changed.add(id);
            }
        });
        return changed;
    }
}
