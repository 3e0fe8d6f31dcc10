package io.rafka.raft.internal;

import org.apache.ratis.protocol.RaftPeer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The steps {@link MembershipChanger} takes toward a group's newest replica list: each one a change Ratis 3.3 accepts
 * (it keeps more members than it adds, or grows one member to two), so a list made before the previous change was
 * done is still reached.
 */
class MembershipStepTest {
    private static List<RaftPeer> peers(String... ids) {
        return Arrays.stream(ids).map(id -> RaftPeer.newBuilder().setId(id).setAddress("127.0.0.1:1").build()).toList();
    }

    private static List<String> ids(List<RaftPeer> peers) {
        return peers.stream().map(p -> p.getId().toString()).toList();
    }

    /** Every step from {@code from} to {@code to}, applying each as the group's new members. */
    private static List<List<String>> walk(List<RaftPeer> from, List<RaftPeer> to) {
        List<List<String>> steps = new java.util.ArrayList<>();
        List<RaftPeer> at = from;
        while (!new java.util.HashSet<>(ids(at)).equals(new java.util.HashSet<>(ids(to)))) {
            List<RaftPeer> next = MembershipChanger.nextStep(at, to);
            steps.add(ids(next));
            at = next;
            if (steps.size() > 10) {
                throw new AssertionError("no end: " + steps);
            }
        }
        return steps;
    }

    @Test
    void aChangeRatisAcceptsIsMadeInOneStep() {
        assertEquals(List.of(List.of("1", "2", "4")), walk(peers("1", "2", "3"), peers("1", "2", "4")));
        assertEquals(List.of(List.of("1", "2")), walk(peers("1", "2", "3"), peers("1", "2")));
        assertEquals(List.of(List.of("1", "2")), walk(peers("1"), peers("1", "2")), "one member to two: Ratis's exception");
        assertEquals(List.of(List.of("1")), walk(peers("1", "2", "3"), peers("1")));
    }

    @Test
    void aLargerChangeAddsOneMemberAtATimeThenDropsTheOthers() {
        // [1,2,3] -> [1,5,4] (a second list made before [1,2,4] was): two added, one kept.
        assertEquals(List.of(List.of("1", "2", "3", "5"), List.of("1", "5", "4")), walk(peers("1", "2", "3"), peers("1", "5", "4")));
        // [1,2] -> [1,3]: one added, one kept.
        assertEquals(List.of(List.of("1", "2", "3"), List.of("1", "3")), walk(peers("1", "2"), peers("1", "3")));
        // [1] -> [2]: through [1,2].
        assertEquals(List.of(List.of("1", "2"), List.of("2")), walk(peers("1"), peers("2")));
        // [1,2,3] -> [4,5,6]: one at a time until the new ones can take over.
        List<List<String>> steps = walk(peers("1", "2", "3"), peers("4", "5", "6"));
        assertEquals(List.of("4", "5", "6"), steps.get(steps.size() - 1));
        for (int i = 0; i < steps.size(); i++) {
            List<String> before = i == 0 ? List.of("1", "2", "3") : steps.get(i - 1);
            List<String> after = steps.get(i);
            long added = after.stream().filter(id -> !before.contains(id)).count();
            long kept = after.size() - added;
            assertEquals(true, added < kept || before.size() == 1 && after.size() == 2 && added == 1,
                    "step " + before + " -> " + after + " is one Ratis accepts");
        }
    }
}
