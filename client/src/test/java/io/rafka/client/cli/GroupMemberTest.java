package io.rafka.client.cli;

import io.rafka.client.internals.Fetched;
import io.rafka.client.group.GroupMember;
import io.rafka.client.group.GroupMemberConfig;
import io.rafka.client.group.NoOffsetForPartitionException;
import io.rafka.client.internals.ChannelPool;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link GroupMember} against in-process fake brokers and a scripted coordinator ({@link FakeCoordinator}): what it
 * says on the heartbeat stream and in commits, in which order, and which records it hands out.
 */
class GroupMemberTest {

    private FakeCoordinator coordinator;
    private FakeCluster cluster;
    private ChannelPool channels;
    private final List<String> consumed = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        coordinator = FakeCoordinator.start("t", 4);
        cluster = coordinator.cluster;
        channels = cluster.channels();
        for (int i = 0; i < 5; i++) {
            cluster.append(0, null, "a" + i);
        }
        for (int i = 0; i < 3; i++) {
            cluster.append(1, null, "b" + i);
        }
        cluster.append(2, null, "c0");
    }

    @AfterEach
    void stop() {
        channels.close();
        cluster.close();
    }

    private GroupMember member(GroupMemberConfig.OffsetReset reset) {
        return new GroupMember(GroupMemberConfig.of("g", List.of("t")).withOffsetReset(reset), channels,
                cluster.bootstrap(), cluster.time);
    }

    /** Polls until {@code done} holds for what was consumed, at most 50 polls. */
    private void pollUntil(GroupMember member, Predicate<List<String>> done) {
        for (int i = 0; i < 50 && !done.test(consumed); i++) {
            for (Fetched f : member.poll(100)) {
                consumed.add(f.tp().partition() + ":" + f.record().getValue().toStringUtf8());
            }
        }
        if (!done.test(consumed)) {
            fail("not consumed in 50 polls: " + consumed + "; coordinator saw " + coordinator.events());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Polls {@code times} times, whatever comes back. */
    private void pollTimes(GroupMember member, int times) {
        for (int i = 0; i < times; i++) {
            for (Fetched f : member.poll(100)) {
                consumed.add(f.tp().partition() + ":" + f.record().getValue().toStringUtf8());
            }
        }
    }

    /**
     * Waits up to 20 s of real time for the coordinator to see {@code event}, without polling: a poll moves the fake
     * clock, so a count of polls of an empty fetch is seconds of it but milliseconds of real time.
     */
    private void awaitEvent(String event) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (!coordinator.events().contains(event) && System.nanoTime() < deadline) {
            sleep(20);
        }
    }

    private int indexOf(String event) {
        int i = coordinator.events().indexOf(event);
        assertTrue(i >= 0, "no '" + event + "' in " + coordinator.events());
        return i;
    }

    @Test
    void consumesItsAssignmentAndCommitsRevokedPartitionsBeforeReleasingThem() {
        coordinator.committed.put(new TopicPartition("t", 0), 2L);
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 6);
        assertEquals(Set.of("0:a2", "0:a3", "0:a4", "1:b0", "1:b1", "1:b2"), Set.copyOf(consumed),
                "partition 0 from its committed offset, partition 1 (nothing committed) from the beginning");
        assertTrue(coordinator.events().contains("beat m-1 e1 owned=[0, 1]"), coordinator.events().toString());
        member.commit();
        indexOf("commit m-1 e1 {t-0=5, t-1=3}");

        cluster.append(0, null, "a5");
        pollUntil(member, c -> c.contains("0:a5"));
        coordinator.push(2, List.of(1, 2));
        cluster.append(0, null, "a6");
        pollUntil(member, c -> c.contains("2:c0"));
        // Partition 2 is taken at once; partition 0 is released (a heartbeat without it) only after its commit,
        // which runs beside the poll thread.
        awaitEvent("beat m-1 e2 owned=[1, 2]");
        int commit = indexOf("commit m-1 e2 {t-0=6}");
        int released = indexOf("beat m-1 e2 owned=[1, 2]");
        assertTrue(commit < released, coordinator.events().toString());
        assertTrue(coordinator.events().subList(0, commit).stream().noneMatch(e -> e.startsWith("beat m-1 e2 owned=[1")),
                "no heartbeat leaves partition 0 out before its commit: " + coordinator.events());
        for (int i = 0; i < 3; i++) {
            member.poll(100);
        }
        assertFalse(consumed.contains("0:a6"), "a revoked partition is not consumed any more: " + consumed);
        assertEquals(Set.of(new TopicPartition("t", 1), new TopicPartition("t", 2)), member.assignment());

        member.close();
        int lastCommit = indexOf("commit m-1 e2 {t-2=1}");
        assertTrue(lastCommit < indexOf("leave m-1 e-1 on 1"), coordinator.events().toString());
    }

    @Test
    void keptPartitionsAreConsumedWhileTheCommitOfARevokedOneIsUnderWay() {
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 8);
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        coordinator.commitGate = gate;   // the coordinator is slow to commit from now on
        coordinator.push(2, List.of(1));
        member.poll(100);                // reconciles: partition 0 revoked, its commit held at the coordinator
        cluster.append(1, null, "b3");
        pollUntil(member, c -> c.contains("1:b3"));
        assertTrue(coordinator.events().stream().noneMatch(e -> e.startsWith("commit m-1 e2")),
                "b3 of the kept partition was consumed while the revoked one's commit waited: " + coordinator.events());
        assertEquals(Set.of(new TopicPartition("t", 0), new TopicPartition("t", 1)), member.assignment(),
                "partition 0 is still owned (not consumed) until committed: " + coordinator.events());
        assertEquals(Set.of(new TopicPartition("t", 1)), member.activeAssignment(),
                "what the consumer reports as assigned leaves it out once the listener was told, as Kafka's does");
        // An older position of the partition being released, committed now, could land after the release's commit
        // and move the group's offset back: refused, not sent.
        io.rafka.client.internals.ClientException releasing = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(5), () -> assertThrows(io.rafka.client.internals.ClientException.class,
                        () -> member.commit(java.util.Map.of(new TopicPartition("t", 0), 2L))));
        assertEquals("PARTITION_NOT_OWNED", releasing.code(), releasing.getMessage());

        gate.countDown();
        // The commit and the release's heartbeat both run on the member's release thread (a loaded machine once failed
        // here when this waited for a count of polls, before that thread had run).
        awaitEvent("beat m-1 e2 owned=[1]");
        assertTrue(indexOf("commit m-1 e2 {t-0=5}") < indexOf("beat m-1 e2 owned=[1]"), coordinator.events().toString());
        assertEquals(Set.of(new TopicPartition("t", 1)), member.assignment());
        member.close();
    }

    @Test
    void aMemberWhoseCoordinatorHasNotAnsweredForASessionConsumesNothingUntilItDoes() {
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 8);
        coordinator.failStream(ErrorCode.NOT_COORDINATOR);   // the coordinator moved; this fake leaves the resume unanswered
        member.poll(100);
        cluster.append(0, null, "a5");
        pollUntil(member, c -> c.contains("0:a5"));          // within the session: the member goes on
        consumesNothingUntilAnswered(member, FakeCoordinator.SESSION_TIMEOUT_MS);
    }

    @Test
    void aMemberWhoseOpenStreamStaysSilentResumesOnANewOneAndConsumesNothingOnceASessionPassed() throws Exception {
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 8);
        int streams = coordinator.streams();
        // The stream stays open and the coordinator says nothing (a paused process): after half a session the
        // member opens a new stream to find it again.
        cluster.time.advance(FakeCoordinator.SESSION_TIMEOUT_MS / 2);
        for (int i = 0; i < 50 && coordinator.streams() == streams; i++) {
            Thread.sleep(20);
        }
        assertEquals(streams + 1, coordinator.streams(), "resumed on a new stream: " + coordinator.events());
        cluster.append(0, null, "a5");
        pollUntil(member, c -> c.contains("0:a5"));          // within the session: the member goes on
        consumesNothingUntilAnswered(member, FakeCoordinator.SESSION_TIMEOUT_MS / 2);
    }

    @Test
    void aMemberWhoseStreamBrokeConsumesNothingOnceTheCoordinatorsStreamGracePassed() {
        coordinator.streamGraceMs = 500;
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 8);
        // A reset connection: the coordinator sees it too and hands the partitions on after its grace, not a session.
        coordinator.breakStream();
        consumesNothingUntilAnswered(member, 500);
    }

    /**
     * After {@code advanceMs} more without an answer (a session in all), the member hands out no records, which may be
     * another member's now, until the coordinator answers; then it goes on. Closes the member.
     */
    private void consumesNothingUntilAnswered(GroupMember member, long advanceMs) {
        cluster.time.advance(advanceMs);
        cluster.append(0, null, "a6");
        pollTimes(member, 5);
        assertFalse(consumed.contains("0:a6"), "no answer for a session: the partitions may be another member's now");

        coordinator.push(1, List.of(0, 1));                  // the coordinator answers: still a member
        pollUntil(member, c -> c.contains("0:a6"));
        member.close();
    }

    /**
     * A close given a second returns in about a second, and still leaves, when the coordinator does not answer the
     * last commit: neither that attempt's 30 s deadline nor the retries run past it.
     */
    @Test
    void aCloseWithATimeoutReturnsInItWhenTheLastCommitIsNotAnswered() {
        coordinator.joinAssignment = List.of(0);
        // On the real clock: what is timed here is gRPC deadlines, which the test clock does not move.
        GroupMember member = new GroupMember(GroupMemberConfig.of("g", List.of("t")).withOffsetReset(
                GroupMemberConfig.OffsetReset.EARLIEST), channels, cluster.bootstrap(), io.rafka.common.Time.SYSTEM);
        pollUntil(member, c -> c.size() == 5);
        coordinator.commitsHang = true;
        long start = System.nanoTime();
        member.close(true, 1_000);
        long tookMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs < 4_000, "closed in " + tookMs + " ms");
        for (int i = 0; i < 50 && !coordinator.events().contains("leave m-1 e-1 on 1"); i++) {
            sleep(20);
        }
        indexOf("leave m-1 e-1 on 1");
    }

    @Test
    void aFencedMemberDropsItsPartitionsWithoutCommittingAndJoinsAgain() {
        coordinator.joinAssignment = List.of(0);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 5);
        coordinator.failStream(ErrorCode.FENCED_MEMBER_EPOCH);
        int before = coordinator.events().size();
        member.poll(100);
        List<String> after = coordinator.events().subList(before, coordinator.events().size());
        assertEquals("join m-2 owned=[]", after.get(0), coordinator.events().toString());
        assertTrue(after.stream().noneMatch(e -> e.startsWith("commit")), "nothing committed for dropped partitions: " + after);
        assertEquals("m-2", member.memberId());
        member.close();
    }

    @Test
    void aMovedCoordinatorIsFoundAgainAndTheMemberResumesWithItsIdAndEpoch() {
        coordinator.joinAssignment = List.of(1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 3);
        coordinator.coordinatorId = "2";
        coordinator.findErrors.add(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        coordinator.failStream(ErrorCode.NOT_COORDINATOR);
        int before = coordinator.events().size();
        member.poll(100);
        List<String> after = coordinator.events().subList(before, coordinator.events().size());
        assertEquals("beat m-1 e1 owned=[1]", after.get(0), "resumed, not rejoined: " + coordinator.events());
        member.commit();
        indexOf("commit m-1 e1 {t-1=3}");
        member.close();
    }

    /**
     * A stream that breaks while the application is busy between polls is resumed by the heartbeat thread within
     * a heartbeat check, not at the next poll: the coordinator drops a member whose stream stays broken for 500 ms.
     */
    @Test
    void aStreamBrokenBetweenPollsIsResumedWithoutWaitingForThePoll() throws Exception {
        coordinator.joinAssignment = List.of(1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 3);
        int before = coordinator.events().size();
        coordinator.failStream(ErrorCode.NOT_COORDINATOR);   // no poll from here on: the application is busy
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (coordinator.events().size() == before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        List<String> after = coordinator.events().subList(before, coordinator.events().size());
        assertEquals(List.of("beat m-1 e1 owned=[1]"), after, "resumed with its id and epoch, without a poll");
        coordinator.failStream(ErrorCode.FENCED_MEMBER_EPOCH);
        Thread.sleep(500);
        assertEquals(before + 1, coordinator.events().size(), "a fenced member waits for the poll to rejoin: "
                + coordinator.events());
        member.poll(100);
        assertEquals("join m-2 owned=[]", coordinator.events().get(before + 1));
        member.close();
    }

    /**
     * The retry budget of the heartbeat stream starts afresh once a stream was answered, also one the heartbeat
     * thread resumed on: a failure handled long ago must not make the next coordinator move fatal, and a failure
     * thrown once must not be thrown again by every later poll.
     */
    @Test
    void aStreamFailureLongAfterAnEarlierOneIsRetriedAgain() throws Exception {
        coordinator.joinAssignment = List.of(1);
        coordinator.joinErrors.add(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);   // the poll thread retries: a budget starts
        GroupMember member = new GroupMember(GroupMemberConfig.of("g", List.of("t"))
                .withOffsetReset(GroupMemberConfig.OffsetReset.EARLIEST).withRetryTimeoutMs(2_000), channels,
                cluster.bootstrap(), cluster.time);
        pollUntil(member, c -> c.size() == 3);
        int before = coordinator.events().size();
        coordinator.failStream(ErrorCode.NOT_COORDINATOR);   // resumed by the heartbeat thread, answered by nothing
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (coordinator.events().size() == before && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(List.of("beat m-1 e1 owned=[1]"), coordinator.events().subList(before, coordinator.events().size()));
        cluster.time.advance(3_000);   // past the budget the first join's retry started
        int streams = coordinator.streams();
        coordinator.failStream(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);   // the resumed stream, before any answer
        pollTimes(member, 3);
        assertTrue(coordinator.streams() > streams, "a new stream after the failure: " + coordinator.events());
        assertEquals("beat m-1 e1 owned=[1]", coordinator.events().get(coordinator.events().size() - 1));
        member.close();
    }

    /**
     * A coordinator that stays away (loading) past the retry budget fails the poll that spent it, but not the member:
     * once it answers, the next polls join and consume (before, the spent budget was kept as a fatal failure and
     * every later poll threw it without trying again).
     */
    @Test
    void aCoordinatorAwayPastTheRetryBudgetFailsAPollButNotTheMember() {
        coordinator.joinAssignment = List.of(1);
        for (int i = 0; i < 1_000; i++) {
            coordinator.joinErrors.add(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
        }
        GroupMember member = new GroupMember(GroupMemberConfig.of("g", List.of("t"))
                .withOffsetReset(GroupMemberConfig.OffsetReset.EARLIEST).withRetryTimeoutMs(2_000), channels,
                cluster.bootstrap(), cluster.time);
        io.rafka.client.internals.ClientException spent = assertThrows(io.rafka.client.internals.ClientException.class,
                () -> pollTimes(member, 500));
        assertEquals("COORDINATOR_LOAD_IN_PROGRESS", spent.code(), spent.getMessage());
        coordinator.joinErrors.clear();
        pollUntil(member, c -> c.size() == 3);
        member.close();
    }

    /** A fatal answer (here FENCED_INSTANCE_ID: a newer process has the instance id) is reported by every poll, as Kafka's. */
    @Test
    void aFatalStreamFailureStaysFatal() {
        coordinator.joinErrors.add(ErrorCode.FENCED_INSTANCE_ID);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        io.rafka.client.internals.ClientException first = assertThrows(io.rafka.client.internals.ClientException.class,
                () -> pollTimes(member, 5));
        assertEquals("FENCED_INSTANCE_ID", first.code());
        int streams = coordinator.streams();
        io.rafka.client.internals.ClientException again = assertThrows(io.rafka.client.internals.ClientException.class,
                () -> member.poll(100));
        assertEquals("FENCED_INSTANCE_ID", again.code());
        assertEquals(streams, coordinator.streams(), "no new stream, no new join: " + coordinator.events());
    }

    /** A join refused with BUSY (the coordinator's write queue is full, nothing was made) is sent again after a back-off. */
    @Test
    void aJoinRefusedAsBusyIsSentAgain() {
        coordinator.joinAssignment = List.of(1);
        coordinator.joinErrors.add(ErrorCode.BUSY);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 3);
        assertTrue(indexOf("join refused BUSY") < indexOf("join m-1 owned=[]"), coordinator.events().toString());
        member.close();
    }

    /**
     * A revocation listener that throws does not stop the revocation (the partition is released, as Kafka's consumer
     * does it), and the poll throws its failure once; a close whose listener throws still leaves the group.
     */
    @Test
    void aListenerThatThrowsNeitherHoldsARevokedPartitionNorStopsTheLeave() {
        coordinator.joinAssignment = List.of(1, 2);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        List<Set<TopicPartition>> revoked = new ArrayList<>();
        List<Set<TopicPartition>> assigned = new ArrayList<>();
        member.rebalanceHook(new io.rafka.client.group.RebalanceHook() {
            @Override
            public void onRevoked(Set<TopicPartition> partitions) {
                revoked.add(Set.copyOf(partitions));
                throw new IllegalStateException("listener failed");
            }

            @Override
            public void onAssigned(Set<TopicPartition> partitions) {
                assigned.add(Set.copyOf(partitions));
            }
        });
        pollUntil(member, c -> c.size() == 4);
        coordinator.push(2, List.of(2, 3));   // 1 revoked, 3 added
        IllegalStateException thrown = null;
        for (int i = 0; i < 10 && thrown == null; i++) {
            try {
                member.poll(100);
            } catch (IllegalStateException e) {
                thrown = e;
            }
        }
        assertEquals("listener failed", thrown == null ? null : thrown.getMessage(), "the poll reports the listener's failure");
        awaitEvent("beat m-1 e2 owned=[2, 3]");
        indexOf("beat m-1 e2 owned=[2, 3]");
        pollTimes(member, 3);   // no second call of the listener for the same revocation
        assertEquals(List.of(Set.of(new TopicPartition("t", 1))), revoked);
        assertTrue(assigned.contains(Set.of(new TopicPartition("t", 3))), "told of the partition it took: " + assigned);
        assertThrows(IllegalStateException.class, member::close);
        indexOf("leave m-1 e-1 on 1");
    }

    @Test
    void aLeaveThatReachesACoordinatorThatJustLostTheGroupIsMadeOnTheNewOne() {
        coordinator.joinAssignment = List.of(1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 3);
        coordinator.leaveMovesTo = "2";
        member.close();
        List<String> events = coordinator.events();
        assertTrue(indexOf("leave refused on 1") < indexOf("leave m-1 e-1 on 2"), "left on the new coordinator: " + events);
    }

    /** A stale epoch is retried once with the newer one; BUSY (no room for the write, nothing made) after a back-off. */
    @ParameterizedTest
    @EnumSource(value = ErrorCode.class, names = {"STALE_MEMBER_EPOCH", "BUSY"})
    void aCommitRefusedForARetriableReasonIsSentAgain(ErrorCode refusal) {
        coordinator.joinAssignment = List.of(2);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 1);
        coordinator.commitError = refusal;
        member.commit();
        assertTrue(indexOf("commit refused " + refusal) < indexOf("commit m-1 e1 {t-2=1}"), coordinator.events().toString());
        member.close();
    }

    /**
     * A commit the caller asked for (the SDK's commitSync) is made or the call says why not: offsets of a partition
     * the member does not own are not committed and named (the owned ones are), and a commit refused as stale twice
     * is reported rather than dropped.
     */
    @Test
    void aCommitThatCannotBeMadeSaysSo() {
        coordinator.joinAssignment = List.of(1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 3);
        TopicPartition owned = new TopicPartition("t", 1);
        TopicPartition notOwned = new TopicPartition("t", 2);
        io.rafka.client.internals.ClientException moved = assertThrows(io.rafka.client.internals.ClientException.class,
                () -> member.commit(java.util.Map.of(owned, 2L, notOwned, 1L)));
        assertEquals("PARTITION_NOT_OWNED", moved.code(), moved.getMessage());
        assertTrue(moved.getMessage().contains("t-2"), moved.getMessage());
        indexOf("commit m-1 e1 {t-1=2}");
        coordinator.commitsFailWith = ErrorCode.STALE_MEMBER_EPOCH;
        io.rafka.client.internals.ClientException stale = assertThrows(io.rafka.client.internals.ClientException.class,
                () -> member.commit(java.util.Map.of(owned, 3L)));
        assertEquals("STALE_MEMBER_EPOCH", stale.code(), stale.getMessage());
        coordinator.commitsFailWith = null;
        member.close();
    }

    /**
     * A commit made before a partition was lost and taken again (it waited behind others on the consumer's commit
     * thread) would move back an offset its other owner moved on meanwhile: refused, not sent. A partition owned all
     * along is committed.
     */
    @Test
    void aCommitMadeBeforeAPartitionWasLostAndTakenAgainIsNotSentForIt() {
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 8);
        TopicPartition lost = new TopicPartition("t", 0);
        TopicPartition kept = new TopicPartition("t", 1);
        long madeAt = member.ownershipMark();

        coordinator.push(2, List.of(1));
        awaitOwned(member, Set.of(kept));
        coordinator.push(3, List.of(0, 1));
        awaitOwned(member, Set.of(lost, kept));

        io.rafka.client.internals.ClientException moved = assertThrows(io.rafka.client.internals.ClientException.class,
                () -> member.commit(java.util.Map.of(lost, 2L, kept, 1L), java.util.Map.of(),
                        java.util.Map.of(lost, madeAt, kept, madeAt)));
        assertEquals("PARTITION_NOT_OWNED", moved.code(), moved.getMessage());
        assertTrue(moved.getMessage().contains("t-0"), moved.getMessage());
        indexOf("commit m-1 e3 {t-1=1}");
        assertTrue(coordinator.events().stream().noneMatch(e -> e.contains("t-0=2")), coordinator.events().toString());

        long now = member.ownershipMark();
        member.commit(java.util.Map.of(lost, 3L), java.util.Map.of(), java.util.Map.of(lost, now));
        indexOf("commit m-1 e3 {t-0=3}");
        member.close();
    }

    /**
     * A caller whose polls never wait (Kafka's poll(Duration.ZERO) loop) still finds the coordinator, joins and
     * consumes: the attempt that is due is made even when the poll's time is already up.
     */
    @Test
    void aPollWhoseTimeIsAlreadyUpStillReachesTheCoordinator() {
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        consumesAllWithPollsWhoseTimeIsUp(member);
    }

    /**
     * The same with a first bootstrap broker that is gone: each poll that stops after one broker asks the next one
     * next time, so the live second broker is reached (before, every poll asked the dead first one again).
     */
    @Test
    void pollsWhoseTimeIsUpAskTheBrokersInTurn() {
        coordinator.joinAssignment = List.of(0, 1);
        GroupMember member = new GroupMember(GroupMemberConfig.of("g", List.of("t"))
                .withOffsetReset(GroupMemberConfig.OffsetReset.EARLIEST), channels,
                List.of(io.rafka.client.internals.BrokerAddress.parse("gone:1"), cluster.bootstrap()), cluster.time);
        consumesAllWithPollsWhoseTimeIsUp(member);
    }

    /** Polls with no wait, their time always up (at most 200 times), until the 8 records of partitions 0 and 1 came. */
    private void consumesAllWithPollsWhoseTimeIsUp(GroupMember member) {
        member.pollEndsBy(() -> Long.MIN_VALUE);
        for (int i = 0; i < 200 && consumed.size() < 8; i++) {
            for (Fetched f : member.poll(0)) {
                consumed.add(f.tp().partition() + ":" + f.record().getValue().toStringUtf8());
            }
            sleep(5);
        }
        assertEquals(8, consumed.size(), "consumed: " + consumed + "; coordinator saw " + coordinator.events());
        member.close();
    }

    /** Polls (at most 50 times) until the member owns exactly {@code partitions}. */
    private void awaitOwned(GroupMember member, Set<TopicPartition> partitions) {
        for (int i = 0; i < 50 && !member.assignment().equals(partitions); i++) {
            pollTimes(member, 1);
            sleep(10);
        }
        assertEquals(partitions, member.assignment(), coordinator.events().toString());
    }

    @Test
    void offsetResetNoneNamesThePartitionsWithoutACommittedOffset() {
        coordinator.committed.put(new TopicPartition("t", 0), 1L);
        coordinator.joinAssignment = List.of(0, 3);
        GroupMember member = member(GroupMemberConfig.OffsetReset.NONE);
        NoOffsetForPartitionException e = assertThrows(NoOffsetForPartitionException.class, () -> {
            for (int i = 0; i < 10; i++) {
                member.poll(100);
            }
        });
        assertEquals(List.of(new TopicPartition("t", 3)), e.partitions());
        assertTrue(e.getMessage().contains("t-3"), e.getMessage());
        member.close();
    }

    @Test
    void closeGivesUpSoonWhenTheClusterIsGone() {
        coordinator.joinAssignment = List.of(1);
        GroupMember member = member(GroupMemberConfig.OffsetReset.EARLIEST);
        pollUntil(member, c -> c.size() == 3);
        cluster.down.put("1", true);
        cluster.down.put("2", true);
        coordinator.failStream(ErrorCode.NOT_COORDINATOR);
        long before = cluster.time.milliseconds();
        member.close();   // no exception: the last commit is reported, not thrown
        long spentMs = cluster.time.milliseconds() - before;
        assertTrue(spentMs <= 2 * 5_000 + 1_000, "close retried for " + spentMs + " ms, not the 30 s retry budget");
    }

    /**
     * A position the log's retention passed is restarted (here at the latest offset): from then on the member's
     * position is the new one, not the old one out of range, which a commit would hand to the next owner.
     */
    @ParameterizedTest(name = "pipelined {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void aPositionOutOfRangeIsReplacedByTheRestartedOne(boolean pipelined) {
        coordinator.committed.put(new TopicPartition("t", 0), 2L);
        coordinator.joinAssignment = List.of(0);
        GroupMember member = member(GroupMemberConfig.OffsetReset.LATEST);
        // The SDK consumer's fetch (pipelined, as RafkaConsumer sets it) and the tools' (one fetch per poll).
        member.positions().settings(new io.rafka.client.internals.FetchSettings(50 << 20, 1 << 20, 1, 500, pipelined));
        pollUntil(member, c -> c.size() == 3);
        assertEquals(java.util.Map.of(new TopicPartition("t", 0), 5L), member.ownedPositions());
        cluster.logStartOffset = 12;   // retention removed offsets 5..11 of what is written next
        for (int i = 5; i < 15; i++) {
            cluster.append(0, null, "a" + i);
        }
        pollTimes(member, 5);
        assertEquals(List.of("0:a2", "0:a3", "0:a4"), consumed, "nothing handed out after the restart at the end");
        assertEquals(java.util.Map.of(new TopicPartition("t", 0), 15L), member.ownedPositions());
        member.commit();
        indexOf("commit m-1 e1 {t-0=15}");
        member.close();
    }

    @Test
    void latestStartsAtTheEndAndCommitsThatPositionForTheNextOwner() {
        coordinator.joinAssignment = List.of(0);
        GroupMember member = member(GroupMemberConfig.OffsetReset.LATEST);
        for (int i = 0; i < 3; i++) {
            member.poll(100);
        }
        member.commit();
        indexOf("commit m-1 e1 {t-0=5}");
        cluster.append(0, null, "a5");
        pollUntil(member, c -> c.equals(List.of("0:a5")));
        member.close();
    }
}
