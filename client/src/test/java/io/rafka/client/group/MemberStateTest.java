package io.rafka.client.group;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.HeartbeatRequest;
import io.rafka.proto.v1.HeartbeatResponse;
import io.rafka.proto.v1.TopicPartitions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemberStateTest {

    private static final GroupMemberConfig CONFIG = GroupMemberConfig.of("g", List.of("t"));

    private static TopicPartition tp(int p) {
        return new TopicPartition("t", p);
    }

    private static HeartbeatResponse push(String id, int epoch, int... partitions) {
        TopicPartitions.Builder t = TopicPartitions.newBuilder().setTopic("t");
        for (int p : partitions) {
            t.addPartitions(p);
        }
        return HeartbeatResponse.newBuilder().setMemberId(id).setMemberEpoch(epoch).setHeartbeatIntervalMs(500)
                .addAssignment(t).build();
    }

    @Test
    void firstHeartbeatIsAJoinOwningNothing() {
        MemberState state = new MemberState();
        HeartbeatRequest join = state.heartbeat(CONFIG);
        assertEquals(36, join.getMemberId().length(), "a client-chosen id (a UUID): " + join.getMemberId());
        assertNotEquals(join.getMemberId(), new MemberState().heartbeat(CONFIG).getMemberId());
        assertEquals(0, join.getMemberEpoch());
        assertEquals(List.of("t"), join.getSubscribedTopicsList());
        assertEquals(0, join.getOwnedCount());
        assertTrue(state.reconcile().isEmpty(), "nothing to do before the first assignment");
        assertFalse(state.joined());
    }

    @Test
    void aCommitMadeBeforeAPartitionWasLostAndTakenAgainCannotCommitIt() {
        MemberState state = new MemberState();
        state.onResponse(push("m1", 1, 0, 1));
        state.acquired(state.reconcile().assign());
        long before = state.grants();
        java.util.Map<TopicPartition, Long> madeAt = java.util.Map.of(tp(0), before, tp(1), before, tp(2), before);
        assertEquals(Set.of(tp(0), tp(1)), state.committable(madeAt));

        state.onResponse(push("m1", 2, 1));
        state.releasing(state.reconcile().revoke());
        assertEquals(Set.of(tp(1)), state.committable(madeAt), "being released: the release commits it");
        state.releasedAfterCommit(Set.of(tp(0)));
        state.onResponse(push("m1", 3, 0, 1, 2));
        state.acquired(state.reconcile().assign());
        assertEquals(Set.of(tp(0), tp(1), tp(2)), state.committable());
        assertEquals(Set.of(tp(1)), state.committable(madeAt), "0 was lost and taken again, 2 taken after the commit");
        long after = state.grants();
        assertEquals(Set.of(tp(0), tp(2)), state.committable(java.util.Map.of(tp(0), after, tp(2), after)));

        state.fence();
        assertEquals(Set.of(), state.committable(java.util.Map.of(tp(1), after)));
    }

    @Test
    void revokesFirstThenAssignsAndReportsWhatItOwns() {
        MemberState state = new MemberState();
        state.onResponse(push("m1", 1, 0, 1, 2));
        MemberState.Reconciliation first = state.reconcile();
        assertEquals(Set.of(), first.revoke());
        assertEquals(Set.of(tp(0), tp(1), tp(2)), first.assign());
        assertFalse(state.mayConsume(tp(0)), "not owned before it is taken");
        state.acquired(first.assign());
        assertTrue(state.mayConsume(tp(0)));
        assertEquals(500, state.heartbeatIntervalMs());

        state.onResponse(push("m1", 2, 1, 2, 3));
        assertFalse(state.mayConsume(tp(0)), "revoked: never consumed again, even before it is released");
        MemberState.Reconciliation second = state.reconcile();
        assertEquals(Set.of(tp(0)), second.revoke());
        assertEquals(Set.of(tp(3)), second.assign());
        HeartbeatRequest beforeRelease = state.heartbeat(CONFIG);
        assertEquals(List.of(0, 1, 2), beforeRelease.getOwned(0).getPartitionsList(), "still owned until released");
        state.released(second.revoke());
        state.acquired(second.assign());
        HeartbeatRequest after = state.heartbeat(CONFIG);
        assertEquals("m1", after.getMemberId());
        assertEquals(2, after.getMemberEpoch());
        assertEquals(List.of(1, 2, 3), after.getOwned(0).getPartitionsList());
        assertTrue(state.reconcile().isEmpty());
    }

    @Test
    void takesOnlyWhatTheLatestAssignmentStillHolds() {
        MemberState state = new MemberState();
        state.onResponse(push("m1", 1, 0, 1));
        MemberState.Reconciliation plan = state.reconcile();
        state.onResponse(push("m1", 2, 1));   // arrives while the offsets of 0 and 1 are being fetched
        assertEquals(Set.of(tp(1)), state.acquired(plan.assign()));
        assertEquals(Set.of(tp(1)), state.owned());
    }

    @Test
    void fencingDropsEverythingAndJoinsAgain() {
        MemberState state = new MemberState();
        state.onResponse(push("m1", 4, 0, 1));
        state.acquired(state.reconcile().assign());
        assertEquals(Set.of(tp(0), tp(1)), state.fence());
        HeartbeatRequest join = state.heartbeat(CONFIG);
        assertEquals("m1", join.getMemberId(), "joins again under its id");
        assertEquals(0, join.getMemberEpoch());
        assertEquals(0, join.getOwnedCount());
        assertFalse(state.mayConsume(tp(0)));
    }

    @Test
    void leaveIsMinusOneAndMinusTwoForAStaticMember() {
        MemberState state = new MemberState();
        state.onResponse(push("m1", 3, 0));
        assertEquals(-1, state.leave(CONFIG).getMemberEpoch());
        assertEquals(-2, state.leave(CONFIG.withInstanceId("host-a")).getMemberEpoch());
        assertEquals("host-a", state.leave(CONFIG.withInstanceId("host-a")).getInstanceId());
    }

    /** Random pushes and partial reconciliations: owned never holds what the latest push revoked once consumed. */
    @Test
    void ownedConvergesToTheTargetUnderRandomPushes() {
        for (int seed = 0; seed < 200; seed++) {
            Random random = new Random(seed);
            MemberState state = new MemberState();
            Set<Integer> target = new HashSet<>();
            for (int step = 0; step < 50; step++) {
                if (random.nextBoolean()) {
                    target = new HashSet<>();
                    for (int p = 0; p < 8; p++) {
                        if (random.nextInt(3) == 0) {
                            target.add(p);
                        }
                    }
                    state.onResponse(push("m", step + 1, target.stream().mapToInt(Integer::intValue).toArray()));
                }
                MemberState.Reconciliation plan = state.reconcile();
                state.released(plan.revoke());
                if (random.nextBoolean()) {
                    state.acquired(plan.assign());
                }
                for (TopicPartition owned : state.owned()) {
                    assertTrue(target.contains(owned.partition()), "seed " + seed + ": owns " + owned + " outside " + target);
                }
            }
            state.acquired(state.reconcile().assign());
            List<Integer> owned = new ArrayList<>();
            state.owned().forEach(tp -> owned.add(tp.partition()));
            assertEquals(new HashSet<>(owned), target, "seed " + seed);
        }
    }
}
