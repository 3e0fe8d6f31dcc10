package io.rafka.coordinator;

import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stored state with two owners of one partition (a lost write whose successor committed) is repaired by the next
 * rebalance instead of wedging the group: every partition has one owner again, and nobody new gets one that is
 * still being released.
 */
class OwnershipRepairTest {
    private static final TopicPartition P0 = new TopicPartition("t", 0);
    private static final TopicPartition P1 = new TopicPartition("t", 1);

    private static ConsumerGroup group(MemberState... members) {
        ConsumerGroup g = new ConsumerGroup("g");
        for (MemberState m : members) {
            m.topics = new TreeSet<>(Set.of("t"));
            m.sessionTimeoutMs = 45_000;
            g.members.put(m.memberId, m);
        }
        g.groupEpoch = 3;
        g.assignmentEpoch = 3;
        return g;
    }

    private static MemberState member(String id, int epoch, Set<TopicPartition> assigned, Set<TopicPartition> revoking,
                                      Set<TopicPartition> target) {
        MemberState m = new MemberState(id);
        m.epoch = epoch;
        m.assigned.addAll(assigned);
        m.revoking.addAll(revoking);
        m.target.addAll(target);
        return m;
    }

    @Test
    void aLostReleaseIsTakenAsDone() {
        // a's release of P0 was lost; b's grant of P0 (which needed it) committed
        ConsumerGroup g = group(member("a", 3, Set.of(P1), Set.of(P0), Set.of(P1)),
                member("b", 3, Set.of(P0), Set.of(), Set.of(P0)));
        g.rebalance(Map.of("t", 2), 0);
        Map<TopicPartition, String> owners = g.owners();   // throws on two owners
        assertEquals("b", owners.get(P0));
        assertEquals("a", owners.get(P1));
        assertTrue(g.members.get("a").revoking.isEmpty());
    }

    @Test
    void twoAssignedOwnersLeaveOneAndTheOtherReleases() {
        ConsumerGroup g = group(member("a", 2, Set.of(P0, P1), Set.of(), Set.of(P1)),
                member("b", 3, Set.of(P0), Set.of(), Set.of(P0)));
        g.rebalance(Map.of("t", 2), 0);
        assertEquals(Set.of(P0), g.members.get("b").assigned, "the newer epoch keeps it");
        assertTrue(g.members.get("a").revoking.contains(P0), "the other must release it");
        assertTrue(!g.members.get("a").assigned.contains(P0));
    }
}
