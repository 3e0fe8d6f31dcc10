package io.rafka.coordinator;

import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a member hears on its stream: a join made again under the id the client chose replaces the member of a lost
 * answer; a member hears from the coordinator at least every quarter of its session timeout. A real partition log on
 * disk, a test clock (no session times out unless a test moves the clock).
 */
class MemberStreamTest {
    private static final String GROUP = "g";
    @TempDir
    Path dir;

    /**
     * A member whose join's answer was lost (here: the coordinator moved once the join was durable) joins again under
     * the id it chose; the member the lost join made goes at once, instead of holding its partitions for a session
     * timeout while the client, not knowing it, waits as a second member.
     */
    @Test
    void aJoinMadeAgainUnderItsIdReplacesTheMemberOfTheLostAnswer() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            GroupCoordinator coordinator = disk.coordinator;
            Channel a = new Channel();
            MemberSession sa = coordinator.openSession("127.0.0.1", a);
            sa.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment a1 = a.next();
            assertEquals(2, a1.partitions().size());
            sa.heartbeat(beat(a1, a1.partitions()), () -> { });

            Channel b = new Channel();
            coordinator.openSession("127.0.0.1", b).heartbeat(join("member-b"), () -> { });
            assertEquals(List.of(), b.next().partitions(), "nothing yet: a still owns both");
            GroupTypes.Assignment a2 = a.next();           // a is told to release one
            assertEquals(1, a2.partitions().size());
            sa.heartbeat(beat(a2, a2.partitions()), () -> { });
            GroupTypes.Assignment granted = b.next();      // b's partition: durable, but this answer never reaches b
            assertEquals(1, granted.partitions().size());

            disk.time.sleep(1_000);
            coordinator = disk.move();
            Channel a3 = new Channel();
            coordinator.openSession("127.0.0.1", a3).heartbeat(beat(a2, a2.partitions()), () -> { });
            assertEquals(a2.partitions(), a3.next().partitions(), "a resumed with what it kept");
            Channel b2 = new Channel();
            coordinator.openSession("127.0.0.1", b2).heartbeat(join("member-b"), () -> { });
            GroupTypes.Assignment again = b2.next();
            assertEquals("member-b", again.memberId());
            assertEquals(granted.partitions(), again.partitions(), "the partition of the lost answer, at once");

            Set<String> members = new TreeSet<>();
            coordinator.describeGroup(GROUP).get(5, TimeUnit.SECONDS).members().forEach(m -> members.add(m.memberId()));
            assertEquals(new TreeSet<>(Set.of(a1.memberId(), "member-b")), members);
        }
    }

    /**
     * Heartbeats that change nothing are not answered, but a member hears from its coordinator at least every quarter
     * session: a client can then tell a silent stream (a paused coordinator) from a quiet group.
     */
    @Test
    void aMemberWithoutAnAnswerForAQuarterSessionIsAnsweredWithItsAssignment() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            MemberSession s = disk.coordinator.openSession("127.0.0.1", a);
            s.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment joined = a.next();
            s.heartbeat(beat(joined, joined.partitions()), () -> { });
            int quarter = joined.sessionTimeoutMs() / 4;
            disk.time.sleep(quarter - 1);
            s.heartbeat(beat(joined, joined.partitions()), () -> { });
            assertEquals(null, a.sent.poll(300, TimeUnit.MILLISECONDS), "a heartbeat that changed nothing, answered before a quarter session");
            disk.time.sleep(1);
            s.heartbeat(beat(joined, joined.partitions()), () -> { });
            GroupTypes.Assignment again = a.next();
            assertEquals(joined.partitions(), again.partitions());
            assertEquals(joined.memberEpoch(), again.memberEpoch());
            assertTrue(again.version() > joined.version());
            s.heartbeat(beat(again, again.partitions()), () -> { });
            assertEquals(null, a.sent.poll(300, TimeUnit.MILLISECONDS), "and not again before the next quarter");
        }
    }

    /**
     * The coordinator's thread is busy for a while (a long load); a member's heartbeat arrives meanwhile, after the
     * periodic liveness check was due: the heartbeat counts first, and the member whose session it renews stays.
     */
    @Test
    void aHeartbeatQueuedWhileTheThreadWasBusyCountsBeforeTheLivenessCheck() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            MemberSession s = disk.coordinator.openSession("127.0.0.1", a);
            s.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment joined = a.next();
            java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
            disk.coordinator.post(() -> {
                try {
                    busy.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Thread.sleep(300);                                    // the liveness check is due, behind the busy task
            disk.time.sleep(joined.sessionTimeoutMs() + 1_000);   // and the last heartbeat is older than the session
            s.heartbeat(beat(joined, joined.partitions()), () -> { });
            busy.countDown();
            Thread.sleep(300);
            GroupTypes.GroupDescription d = disk.coordinator.describeGroup(GROUP).get(5, TimeUnit.SECONDS);
            assertEquals(1, d.members().size(), "the member whose heartbeat was queued is still there: " + a.sent);
            assertTrue(a.sent.stream().noneMatch(o -> o instanceof RafkaException), a.sent.toString());
        }
    }

    /**
     * A member that changes its subscription on every heartbeat while the partition's writes do not commit is told
     * BUSY once the records waiting to be written pass the bound, instead of queueing a member record per heartbeat.
     */
    @Test
    void subscriptionChangesAreRefusedBusyWhileWritesPileUp() throws Exception {
        GroupConfig d = GroupConfig.defaults();
        GroupConfig tight = new GroupConfig(1, d.sessionTimeoutMs(), d.minSessionTimeoutMs(), d.maxSessionTimeoutMs(),
                d.heartbeatIntervalMs(), d.streamGraceMs(), d.rebalanceTimeoutMs(), d.maxGroupSize(), d.offsetMetadataMaxBytes(),
                d.offsetsRetentionMs(), d.checkpointRecords(), 1, d.maxGroups());
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, tight, Map.of("t", 2, "u", 1, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            MemberSession s = disk.coordinator.openSession("127.0.0.1", a);
            s.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment joined = a.next();
            disk.stall();
            for (int i = 0; i < 4; i++) {
                s.heartbeat(new GroupTypes.Heartbeat(GROUP, joined.memberId(), joined.memberEpoch(), "",
                        List.of(i % 2 == 0 ? "u" : "t"), "", AssignorType.UNIFORM, Set.copyOf(joined.partitions()), 0, 0,
                        "test", joined.version()), () -> { });
            }
            Object refused = null;
            for (Object o = a.sent.poll(2, TimeUnit.SECONDS); o != null; o = a.sent.poll(300, TimeUnit.MILLISECONDS)) {
                if (o instanceof RafkaException e) {
                    refused = e;
                    break;
                }
            }
            assertTrue(refused instanceof RafkaException e && e.errorCode() == io.rafka.common.ErrorCode.BUSY,
                    "refused: " + refused);
            disk.release();
        }
    }

    /**
     * Large records bring a checkpoint as many records do: a member subscribed to 2,000 long names writes tens of KB
     * per change, and a handful of changes (far below the record threshold) pass its bytes' worth (8 KiB per record of the
     * threshold), so a new leader does not replay megabytes of records long dead.
     */
    @Test
    void manyBytesOfFewRecordsBringACheckpoint() throws Exception {
        GroupConfig d = GroupConfig.defaults();
        GroupConfig small = new GroupConfig(1, d.sessionTimeoutMs(), d.minSessionTimeoutMs(), d.maxSessionTimeoutMs(),
                d.heartbeatIntervalMs(), d.streamGraceMs(), d.rebalanceTimeoutMs(), d.maxGroupSize(), d.offsetMetadataMaxBytes(),
                d.offsetsRetentionMs(), 40, d.maxWriteBytesInFlight(), d.maxGroups());
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, small, Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            MemberSession s = disk.coordinator.openSession("127.0.0.1", a);
            s.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment joined = a.next();
            GroupShard shard = disk.coordinator.shards.get(0);
            long written = 0;
            boolean checkpointed = false;
            for (int change = 0; change < 8 && !checkpointed; change++) {
                List<String> names = new java.util.ArrayList<>();
                java.util.Random random = new java.util.Random(change);
                for (int i = 0; i < 2_000; i++) {   // names that do not compress much
                    names.add("t-" + new java.util.UUID(random.nextLong(), random.nextLong()));
                }
                long before = shard.bytesSinceCheckpoint;
                s.heartbeat(new GroupTypes.Heartbeat(GROUP, joined.memberId(), joined.memberEpoch(), "", names, "",
                        AssignorType.UNIFORM, Set.copyOf(joined.partitions()), 0, 0, "test", joined.version()), () -> { });
                disk.coordinator.fetchOffsets(GROUP, List.of()).get(10, TimeUnit.SECONDS);   // the change was handled
                checkpointed = shard.bytesSinceCheckpoint < before;
                written += 1;
            }
            assertTrue(checkpointed, "a checkpoint after " + written + " subscription changes, "
                    + shard.recordsSinceCheckpoint + " records since");
            assertTrue(written < 8);
        }
    }

    /**
     * A grace of 0 (a member whose stream breaks is removed at the next liveness check) must not reach the member as
     * the wire's 0, "not removed for a broken stream": it would consume for most of a session after its removal.
     */
    @Test
    void aStreamGraceOfZeroIsNotToldAsNoGrace() throws Exception {
        GroupConfig d = GroupConfig.defaults();
        GroupConfig noGrace = new GroupConfig(1, d.sessionTimeoutMs(), d.minSessionTimeoutMs(), d.maxSessionTimeoutMs(),
                d.heartbeatIntervalMs(), 0, d.rebalanceTimeoutMs(), d.maxGroupSize(), d.offsetMetadataMaxBytes(),
                d.offsetsRetentionMs(), d.checkpointRecords(), d.maxWriteBytesInFlight(), d.maxGroups());
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, noGrace, Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            disk.coordinator.openSession("127.0.0.1", a).heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment joined = a.next();
            assertTrue(joined.streamGraceMs() > 0, "grace told: " + joined.streamGraceMs());
        }
    }

    /**
     * A client may name any number of groups, each held by its coordinator until it expires: past
     * group.coordinator.max.groups a join or commit that would make one more is refused, and existing groups go on.
     */
    @Test
    void aPartitionHoldsNoMoreGroupsThanItsLimit() throws Exception {
        GroupConfig d = GroupConfig.defaults();
        GroupConfig two = new GroupConfig(1, d.sessionTimeoutMs(), d.minSessionTimeoutMs(), d.maxSessionTimeoutMs(),
                d.heartbeatIntervalMs(), d.streamGraceMs(), d.rebalanceTimeoutMs(), d.maxGroupSize(), d.offsetMetadataMaxBytes(),
                d.offsetsRetentionMs(), d.checkpointRecords(), d.maxWriteBytesInFlight(), 2);
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, two, Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            disk.coordinator.openSession("127.0.0.1", a).heartbeat(joinGroup("first", "member-a"), () -> { });
            a.next();
            TopicPartition tp = new TopicPartition("t", 0);
            assertEquals(io.rafka.common.ErrorCode.NONE, disk.coordinator.alterOffsets("second",
                    List.of(new GroupTypes.OffsetCommit(tp, 3, ""))).get(10, TimeUnit.SECONDS).get(0).error());

            Channel c = new Channel();
            disk.coordinator.openSession("127.0.0.1", c).heartbeat(joinGroup("third", "member-c"), () -> { });
            Object refused = c.sent.poll(5, TimeUnit.SECONDS);
            assertTrue(refused instanceof RafkaException e && e.errorCode() == io.rafka.common.ErrorCode.POLICY_VIOLATION
                    && e.getMessage().contains("group.coordinator.max.groups"), "join: " + refused);
            java.util.concurrent.ExecutionException commit = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> disk.coordinator.alterOffsets("fourth",
                            List.of(new GroupTypes.OffsetCommit(tp, 3, ""))).get(10, TimeUnit.SECONDS));
            assertTrue(commit.getCause() instanceof RafkaException e && e.errorCode() == io.rafka.common.ErrorCode.POLICY_VIOLATION,
                    "commit: " + commit.getCause());

            assertEquals(io.rafka.common.ErrorCode.NONE, disk.coordinator.alterOffsets("second",
                    List.of(new GroupTypes.OffsetCommit(tp, 5, ""))).get(10, TimeUnit.SECONDS).get(0).error(),
                    "an existing group commits on");
            assertEquals(5, disk.coordinator.fetchOffsets("second", List.of(tp)).get(10, TimeUnit.SECONDS).get(tp).offset());
            assertEquals(-1, disk.coordinator.fetchOffsets("fourth", List.of(tp)).get(10, TimeUnit.SECONDS).get(tp).offset());
        }
    }

    /**
     * A leave naming a member, sent on another stream than the member's own, ends the member's stream
     * (UNKNOWN_MEMBER_ID) as its partitions go to the others: its client must not go on consuming them until its next
     * heartbeat while their new owner does.
     */
    @Test
    void aLeaveSentOnAnotherStreamEndsTheMembersOwnStream() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            GroupCoordinator coordinator = disk.coordinator;
            Channel a = new Channel();
            MemberSession sa = coordinator.openSession("127.0.0.1", a);
            sa.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment a1 = a.next();
            sa.heartbeat(beat(a1, a1.partitions()), () -> { });
            Channel b = new Channel();
            MemberSession sb = coordinator.openSession("127.0.0.1", b);
            sb.heartbeat(join("member-b"), () -> { });
            assertEquals(List.of(), b.next().partitions());
            GroupTypes.Assignment a2 = a.next();
            sa.heartbeat(beat(a2, a2.partitions()), () -> { });
            assertEquals(1, b.next().partitions().size());

            Channel other = new Channel();
            coordinator.openSession("127.0.0.1", other).heartbeat(new GroupTypes.Heartbeat(GROUP, "member-a",
                    GroupTypes.Heartbeat.LEAVE, "", List.of(), "", AssignorType.UNIFORM, Set.of(), 0, 0, "test", -1), () -> { });
            Object ended = a.sent.poll(5, TimeUnit.SECONDS);
            assertTrue(ended instanceof RafkaException e && e.errorCode() == io.rafka.common.ErrorCode.UNKNOWN_MEMBER_ID,
                    "member-a's own stream was told: " + ended);
            assertEquals(2, b.next().partitions().size(), "b takes both");
            assertEquals("completed", other.sent.poll(5, TimeUnit.SECONDS));
        }
    }

    private static GroupTypes.Heartbeat joinGroup(String group, String memberId) {
        return new GroupTypes.Heartbeat(group, memberId, GroupTypes.Heartbeat.JOIN, "", List.of("t"), "",
                AssignorType.UNIFORM, Set.of(), 0, 0, "test", -1);
    }

    /**
     * Deleting a group with members says what to do: stop the consumers while one is connected; once none is (a
     * static member away for a restart, a consumer gone without leaving), that their session timeouts will remove them.
     */
    @Test
    void aGroupThatCannotBeDeletedSaysWhyAndWhatToDo() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            Channel a = new Channel();
            MemberSession s = disk.coordinator.openSession("127.0.0.1", a);
            s.heartbeat(new GroupTypes.Heartbeat(GROUP, "member-a", GroupTypes.Heartbeat.JOIN, "instance-a", List.of("t"), "",
                    AssignorType.UNIFORM, Set.of(), 30_000, 0, "test", -1), () -> { });
            a.next();
            assertEquals("group g has 1 member, so it cannot be deleted: stop its consumers first", deleteRefusal(disk));

            s.broken();
            assertEquals("group g has 1 member, so it cannot be deleted: none is connected now; each is removed once its "
                    + "session timeout (up to 30000 ms) has passed since it was last heard from, or comes back if its "
                    + "consumer restarts with the same group.instance.id", deleteRefusal(disk));
        }
    }

    private static String deleteRefusal(CoordinatorOnDisk disk) throws Exception {
        java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class, () -> disk.coordinator.deleteGroup(GROUP).get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof RafkaException r && r.errorCode() == io.rafka.common.ErrorCode.NON_EMPTY_GROUP, e.toString());
        return e.getCause().getMessage();
    }

    private static GroupTypes.Heartbeat join(String memberId) {
        return new GroupTypes.Heartbeat(GROUP, memberId, GroupTypes.Heartbeat.JOIN, "", List.of("t"), "",
                AssignorType.UNIFORM, Set.of(), 0, 0, "test", -1);
    }

    private static GroupTypes.Heartbeat beat(GroupTypes.Assignment last, List<TopicPartition> owned) {
        return new GroupTypes.Heartbeat(GROUP, last.memberId(), last.memberEpoch(), "", List.of(), "",
                AssignorType.UNIFORM, Set.copyOf(owned), 0, 0, "test", last.version());
    }

    /** A member's stream as the coordinator sees it: what it was sent. */
    private static final class Channel implements MemberChannel {
        private final LinkedBlockingQueue<Object> sent = new LinkedBlockingQueue<>();

        @Override
        public void send(GroupTypes.Assignment assignment) {
            sent.add(assignment);
        }

        @Override
        public void fail(RafkaException error) {
            sent.add(error);
        }

        @Override
        public void complete() {
            sent.add("completed");
        }

        GroupTypes.Assignment next() throws InterruptedException {
            Object o = sent.poll(5, TimeUnit.SECONDS);
            if (o instanceof GroupTypes.Assignment a) {
                return a;
            }
            throw new AssertionError("expected an assignment, got " + o);
        }
    }
}
