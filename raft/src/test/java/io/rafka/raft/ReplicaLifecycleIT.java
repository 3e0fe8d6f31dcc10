package io.rafka.raft;

import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.ReplicaRegistry;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.testing.TestBatches;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.util.CodeInjectionForTesting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replicas that restart, fall behind, lose their disk; producers that retry; limits that push back. */
class ReplicaLifecycleIT {
    @TempDir
    Path tmp;

    /** Waits until node {@code i}'s partition log (not its high watermark) ends at {@code expected}; returns where it ends. */
    private static long awaitLogEnd(MiniCluster cluster, int i, TopicPartition tp, long expected, long timeoutMs)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (cluster.node(i).log(tp).logEndOffset() != expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        return cluster.node(i).log(tp).logEndOffset();
    }

    /**
     * A topic deleted and made again at once (same name, so the same folder): the new replica starts empty, after the
     * old one's removal has deleted the folder, not on top of the old records (and not deleted by that removal later);
     * a folder left by another topic id (a removal that never finished) is cleared before the new replica starts.
     */
    @Test
    void aPartitionMadeAgainUnderItsNameStartsEmpty() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(1, tmp)) {
            TopicPartition tp = cluster.createPartition("again", 0, 1);
            for (int i = 0; i < 5; i++) {
                cluster.append(tp, producerBatch(1L, (short) 0, i, "old-" + i), Acks.ALL);
            }
            PartitionSpec second = new PartitionSpec(tp, UUID.randomUUID(), cluster.addresses());
            CompletableFuture<Void> removed = cluster.node(0).removePartition(tp, true);
            cluster.node(0).createPartition(second).get(60, TimeUnit.SECONDS);
            removed.get(60, TimeUnit.SECONDS);
            assertEquals(0, cluster.append(tp, producerBatch(2L, (short) 0, 0, "new-0"), Acks.ALL).baseOffset(),
                    "the new partition's first record is at offset 0");
            assertEquals(1, cluster.node(0).log(tp).logEndOffset());

            // A folder another topic id left behind: cleared, not opened.
            cluster.node(0).removePartition(tp, false).get(60, TimeUnit.SECONDS);
            PartitionSpec third = new PartitionSpec(tp, UUID.randomUUID(), cluster.addresses());
            cluster.node(0).createPartition(third).get(60, TimeUnit.SECONDS);
            assertEquals(0, cluster.append(tp, producerBatch(3L, (short) 0, 0, "third-0"), Acks.ALL).baseOffset());
            assertEquals(1, cluster.node(0).log(tp).logEndOffset());
        }
    }

    private static ByteBuffer producerBatch(long pid, short epoch, int seq, String value) {
        return new RecordBatchBuilder(CompressionType.NONE).producer(pid, epoch, seq)
                .append(1_000L, null, value.getBytes(StandardCharsets.UTF_8)).build();
    }

    /**
     * A producer that keeps sending a batch with a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER each time, and the
     * partition goes on taking writes: a refused entry would keep the pending-request place Ratis took for it until
     * its leader changes, and 64 refused 1 MB batches used up Ratis's 64 MB of them (every write then BUSY).
     */
    @Test
    void refusedBatchesDoNotUseUpThePartitionsPendingWrites() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("gaps", 0, 3);
            int leader = cluster.leaderIndex(tp);
            cluster.append(tp, producerBatch(5L, (short) 0, 0, "first"), Acks.ALL);
            ByteBuffer gap = new RecordBatchBuilder(CompressionType.NONE).producer(5L, (short) 0, 7)
                    .append(1_000L, null, new byte[1_000_000]).build();
            for (int i = 0; i < 80; i++) {
                CompletionException e = assertThrows(CompletionException.class,
                        () -> cluster.node(leader).append(tp, gap.duplicate(), Acks.ALL).join());
                assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, MiniCluster.errorOf(e), "attempt " + i + ": " + e);
            }
            AppendResult next = cluster.node(leader).append(tp, producerBatch(5L, (short) 0, 1, "second"), Acks.ALL)
                    .get(10, TimeUnit.SECONDS);
            assertEquals(1, next.baseOffset());
        }
    }

    /** An append bound to an earlier term (a writer that read the partition before a leader change) writes nothing. */
    @Test
    void anAppendBoundToAnEndedTermIsRefusedOnEveryPath() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("terms", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "first", 1, 1L), Acks.ALL);
            int first = cluster.leaderIndex(tp);
            long oldTerm = cluster.node(first).status(tp).term();
            cluster.kill(first);
            int leader = cluster.leaderIndex(tp);
            long term = cluster.node(leader).status(tp).term();
            assertTrue(term > oldTerm);
            CompletionException e = assertThrows(CompletionException.class, () -> cluster.node(leader)
                    .append(tp, TestBatches.batch(CompressionType.NONE, "stale", 1, 1L), Acks.ALL, oldTerm).join());
            assertEquals(ErrorCode.NOT_LEADER, MiniCluster.errorOf(e), e.toString());
            AppendResult now = cluster.node(leader).append(tp, TestBatches.batch(CompressionType.NONE, "now", 1, 1L),
                    Acks.ALL, term).join();
            assertEquals(1, now.baseOffset(), "the refused append took no offset");
        }
    }

    @Test
    void retriedBatchIsNotDuplicatedAcrossALeaderChange() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("idem", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "before", 2, 1L), Acks.ALL);
            ByteBuffer batch = producerBatch(77L, (short) 0, 0, "once");
            AppendResult first = cluster.append(tp, batch, Acks.ALL);
            int oldLeader = cluster.leaderIndex(tp);
            cluster.kill(oldLeader);
            int newLeader = cluster.leaderIndex(tp);
            assertTrue(newLeader != oldLeader);
            // The producer never saw the ack (say) and retries the same batch on the new leader.
            AppendResult retry = cluster.append(tp, batch, Acks.ALL);
            assertEquals(first.baseOffset(), retry.baseOffset());
            assertEquals(first.lastOffset(), retry.lastOffset());
            AppendResult next = cluster.append(tp, producerBatch(77L, (short) 0, 1, "twice"), Acks.ALL);
            assertEquals(first.lastOffset() + 1, next.baseOffset());
            // Gaps and old epochs are refused with typed errors, on every replica alike.
            CompletionException gap = assertThrows(CompletionException.class,
                    () -> cluster.node(newLeader).append(tp, producerBatch(77L, (short) 0, 5, "gap"), Acks.ALL).join());
            assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, MiniCluster.errorOf(gap));
            cluster.append(tp, producerBatch(77L, (short) 1, 0, "new epoch"), Acks.ALL);
            CompletionException fenced = assertThrows(CompletionException.class,
                    () -> cluster.node(newLeader).append(tp, producerBatch(77L, (short) 0, 2, "zombie"), Acks.ALL).join());
            assertEquals(ErrorCode.INVALID_PRODUCER_EPOCH, MiniCluster.errorOf(fenced));

            cluster.restart(oldLeader);
            long end = cluster.node(newLeader).status(tp).highWatermark();
            assertEquals(first.lastOffset() + 3, end);
            cluster.awaitReplicated(tp, end, 30_000);
            // The restarted replica's producer state came back with it: it dedups the same way.
            for (int i = 0; i < 3; i++) {
                List<String> values = PartitionReplicationIT.readAll(cluster.node(i), tp, end).stream().map(TestBatches::value).toList();
                assertEquals(List.of("before-0", "before-1", "once", "twice", "new epoch"), values, "replica n" + i);
            }
        }
    }

    /**
     * A leader cut off from its followers still writes appends into its partition log (write once: the bytes
     * go there as they enter its Raft log) but cannot commit them. After a new leader wrote other records at
     * the same offsets, the old leader comes back: Ratis drops its uncommitted entries and the state machine
     * cuts their bytes, so it ends with exactly the new leader's log.
     *
     * <p>Only a leader that does not know yet that it is cut off accepts such appends (one that knows refuses
     * them with NOT_ENOUGH_REPLICAS, see {@code AvailabilityIT}): so no failure detector, which would see the
     * killed followers refuse connections, and an election timeout long enough that their last answers are
     * still fresh when the appends arrive. And room for several entries in flight: with group commit's default
     * of one, appends behind an entry that cannot commit wait for it instead of entering the Raft log.
     */
    @Test
    void uncommittedRecordsOfADeposedLeaderAreCutAndReplaced() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.rpcTimeoutMs(3000, 6000).leaderFailureDetection(false)
                .maxEntriesInFlightPerPartition(8))) {
            TopicPartition tp = cluster.createPartition("diverge", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "committed", 3, 1L), Acks.ALL);
            cluster.awaitReplicated(tp, 3, 10_000);
            int old = cluster.leaderIndex(tp);
            for (int i = 0; i < 3; i++) {
                if (i != old) {
                    cluster.kill(i);
                }
            }
            for (int i = 0; i < 5; i++) {
                cluster.node(old).append(tp, TestBatches.batch(CompressionType.NONE, "lost" + i, 2, 2L), Acks.NONE);
            }
            // acks=0 answers once the append is handed over: it reaches the Raft log just after, in order.
            assertEquals(13, awaitLogEnd(cluster, old, tp, 13, 10_000), "the lone leader wrote the appends to its log");
            assertEquals(3, cluster.node(old).status(tp).highWatermark(), "but could not commit them");
            cluster.kill(old);
            for (int i = 0; i < 3; i++) {
                if (i != old) {
                    cluster.restart(i);
                }
            }
            AppendResult kept = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "kept", 4, 3L), Acks.ALL);
            assertEquals(3, kept.baseOffset());
            cluster.restart(old);
            cluster.awaitReplicated(tp, 7, 30_000);
            assertEquals(7, awaitLogEnd(cluster, old, tp, 7, 10_000), "the old leader's uncommitted tail is gone");
            List<String> expected = List.of("committed-0", "committed-1", "committed-2", "kept-0", "kept-1", "kept-2", "kept-3");
            for (int i = 0; i < 3; i++) {
                assertEquals(expected, PartitionReplicationIT.readAll(cluster.node(i), tp, 7).stream().map(TestBatches::value).toList(),
                        "replica n" + i);
            }
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
        }
    }

    /**
     * Ratis takes a reopened division's members from its Raft log; a group that never had a leader has no entry
     * there, so after a restart its division has no members: it refuses to vote for the other replica and never
     * follows anyone. Here the partition (RF 2) is created on one node while the other is down (no majority, no
     * leader), that node restarts, then the other creates its replica: the restarted replica is reopened with the
     * partition's replicas and the group elects and takes writes.
     */
    @Test
    void aGroupThatNeverHadALeaderGetsItsMembersBackAfterARestart() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(2, tmp)) {
            cluster.stop(1);
            TopicPartition tp = cluster.createPartition("unled", 0, 2);
            cluster.stop(0);
            cluster.restart(0);
            cluster.restart(1);
            cluster.recreatePartitionsOn(1);
            AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "first", 2, 1L), Acks.ALL, 60_000);
            assertEquals(0, r.baseOffset());
            cluster.awaitReplicated(tp, 2, 10_000);
            assertTrue(cluster.node(0).hibernationCounts().brokenDivisionsReopened()
                    + cluster.node(1).hibernationCounts().brokenDivisionsReopened() > 0, "a division was reopened");
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
        }
    }

    /**
     * A crash between writing an append's bytes into the partition log and writing its entry into Ratis's log
     * leaves bytes no Raft entry accounts for. Simulated here on a stopped follower; after the restart they
     * are cut, with no further write needed, and the replica's log is the leader's again.
     */
    @Test
    void bytesWrittenPastTheRaftLogBeforeACrashAreCutOnRestart() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("orphan", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "real", 3, 1L), Acks.ALL);
            cluster.awaitReplicated(tp, 3, 10_000);
            int victim = (cluster.leaderIndex(tp) + 1) % 3;
            cluster.stop(victim);
            try (io.rafka.log.PartitionLog log = io.rafka.log.PartitionLog.open(cluster.dataDir(victim).resolve(tp.dirName()),
                    io.rafka.log.LogConfig.defaults(), io.rafka.common.Time.SYSTEM)) {
                ByteBuffer orphan = TestBatches.batch(CompressionType.NONE, "orphan", 2, 2L);
                new RecordBatch(orphan.duplicate()).setBaseOffset(log.logEndOffset());
                log.appendReplicated(orphan);
                assertEquals(5, log.logEndOffset());
            }
            cluster.restart(victim);
            assertEquals(3, awaitLogEnd(cluster, victim, tp, 3, 15_000), "the orphaned bytes were cut");
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
        }
    }

    /**
     * With an election timeout of 10-20 s (heartbeats every 5 s), no follower can time out sooner than 5 s after
     * the leader dies. The survivors see the dead leader's server refuse connections and elect a successor at once:
     * the first append commits on it well within that (the margin is wide: a loaded machine may take a second to
     * kill the node and more to elect).
     */
    @Test
    void deadLeaderIsReplacedWithoutWaitingForTheElectionTimeout() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.rpcTimeoutMs(10_000, 20_000))) {
            TopicPartition tp = cluster.createPartition("fast", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "before", 1, 1L), Acks.ALL);
            cluster.awaitReplicated(tp, 1, 10_000);
            long electionsBefore = io.rafka.raft.internal.LeaderFailureDetector.electionsStarted();
            int leader = cluster.leaderIndex(tp);
            long start = System.nanoTime();
            cluster.kill(leader);
            AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 1, 2L), Acks.ALL, 20_000);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(1, r.baseOffset());
            assertTrue(io.rafka.raft.internal.LeaderFailureDetector.electionsStarted() > electionsBefore,
                    "a survivor started the election");
            assertTrue(tookMs < 4_900, "new leader committed " + tookMs + " ms after the kill; the timeout alone takes >= 5 s");
        }
    }

    /**
     * A dead leader of many groups: each survivor asks the other where its logs end once for all of them (one
     * {@code LogEnds} call each, not one call per group), and every group elects a successor without waiting for
     * the election timeout (10-20 s here). Each node asked each peer a question naming no group when it first
     * connected, so the questions after the kill do not pay for the call's first use on either end.
     */
    @Test
    void survivorsOfALeaderOfManyGroupsAskEachOtherOnceForAllOfThem() throws Exception {
        long warmUpsBefore = io.rafka.raft.internal.LogEnds.warmUpsAnswered();
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.rpcTimeoutMs(10_000, 20_000))) {
            List<TopicPartition> tps = cluster.createPartitions("many", 12, 3);
            long warmUpDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (io.rafka.raft.internal.LogEnds.warmUpsAnswered() - warmUpsBefore < 6
                    && System.nanoTime() < warmUpDeadline) {
                Thread.sleep(20);
            }
            assertTrue(io.rafka.raft.internal.LogEnds.warmUpsAnswered() - warmUpsBefore >= 6,
                    "each of the 3 nodes asked each of its 2 peers once on connecting: "
                            + (io.rafka.raft.internal.LogEnds.warmUpsAnswered() - warmUpsBefore));
            long seq = 1;
            for (TopicPartition tp : tps) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "before", 1, seq++), Acks.ALL);
            }
            int[] led = new int[3];
            for (TopicPartition tp : tps) {
                led[cluster.leaderIndex(tp)]++;
            }
            int victim = led[0] >= led[1] && led[0] >= led[2] ? 0 : led[1] >= led[2] ? 1 : 2;
            List<TopicPartition> orphaned = tps.stream().filter(tp -> cluster.leaderIndex(tp) == victim).toList();
            assertTrue(orphaned.size() >= 4, "node " + victim + " leads " + orphaned.size() + " of 12 groups"); // 12 / 3
            for (TopicPartition tp : tps) {
                cluster.awaitReplicated(tp, 1, 10_000);
            }
            long electionsBefore = io.rafka.raft.internal.LeaderFailureDetector.electionsStarted();
            long askedBefore = io.rafka.raft.internal.LogEnds.answered();
            long start = System.nanoTime();
            cluster.kill(victim);
            for (TopicPartition tp : orphaned) {
                AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 1, seq++), Acks.ALL,
                        20_000);
                assertEquals(1, r.baseOffset(), tp + " kept its record and took the next");
            }
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMs < 9_900, "every orphaned group committed within " + tookMs
                    + " ms of the kill; the election timeout alone takes >= 10 s");
            // Counted once startLeaderElection returned, which may be a moment after the new leader took the append.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (io.rafka.raft.internal.LeaderFailureDetector.electionsStarted() - electionsBefore < orphaned.size()
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(orphaned.size(), io.rafka.raft.internal.LeaderFailureDetector.electionsStarted() - electionsBefore,
                    "one survivor started each group's election");
            long asked = io.rafka.raft.internal.LogEnds.answered() - askedBefore;
            assertTrue(asked >= 1 && asked <= 2, "each survivor asked the other once for all " + orphaned.size()
                    + " groups; log-ends calls answered: " + asked);
        }
    }

    @Test
    void preferredLeaderElectionGivesLeadershipBackToTheFirstReplica() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("pref", 1, 3);
            int preferred = cluster.replicaIndexes(tp).get(0);
            int leader = cluster.leaderIndex(tp);
            if (leader == preferred) {
                cluster.kill(preferred);
                leader = cluster.leaderIndex(tp);
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "while away", 1, 1L), Acks.ALL);
                cluster.restart(preferred);
            }
            assertTrue(leader != preferred);
            assertEquals(1, cluster.node(leader).electPreferredLeaders(10_000));
            long deadline = System.currentTimeMillis() + 10_000;
            while (cluster.leaderIndex(tp) != preferred && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(preferred, cluster.leaderIndex(tp), "leadership went to the preferred replica");
            assertEquals(0, cluster.node(preferred).electPreferredLeaders(1_000), "nothing to hand over from the preferred leader");
        }
    }

    /** Controlled shutdown hands leadership over before stopping: a successor leads before the node goes away. */
    @Test
    void controlledShutdownMovesLeadershipFirst() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                tps.add(cluster.createPartition("graceful", p, 3));
                cluster.append(tps.get(p), TestBatches.batch(CompressionType.NONE, "x", 1, 1L), Acks.ALL);
            }
            int leaving = cluster.leaderIndex(tps.get(0));
            assertEquals(0, cluster.node(leaving).moveLeadershipsAway(10_000));
            for (TopicPartition tp : tps) {
                int leader = cluster.leaderIndex(tp, 2_000);
                assertTrue(leader != leaving, tp + " is led elsewhere before the node stops");
            }
            cluster.stop(leaving);
            for (TopicPartition tp : tps) {
                // The successor was already leading: the first append after the stop succeeds without an election.
                AppendResult r = cluster.node(cluster.leaderIndex(tp, 500)).append(tp,
                        TestBatches.batch(CompressionType.NONE, "after", 1, 1L), Acks.ALL).get(10, TimeUnit.SECONDS);
                assertEquals(1, r.baseOffset());
            }
        }
    }

    @Test
    void nonLeaderRejectsAppendsWithTheLeadersId() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("nl", 0, 3);
            int leader = cluster.leaderIndex(tp);
            int follower = (leader + 1) % 3;
            CompletionException e = assertThrows(CompletionException.class,
                    () -> cluster.node(follower).append(tp, TestBatches.batch(CompressionType.NONE, "x", 1, 1L), Acks.ALL).join());
            NotLeaderException nle = assertInstanceOf(NotLeaderException.class, e.getCause());
            assertEquals("n" + leader, nle.leaderId().orElseThrow());
            assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, MiniCluster.errorOf(assertThrows(CompletionException.class,
                    () -> cluster.node(leader).append(new TopicPartition("nope", 0), TestBatches.batch(CompressionType.NONE, "x", 1, 1L), Acks.ALL).join())));
        }
    }

    @Test
    void wipedReplicaCatchesUpByCopyingTheLeadersLog() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp,
                b -> b.snapshotThresholdEntries(100).raftLogRetainedEntries(0).raftSegmentBytes(1024 * 1024))) {
            TopicPartition tp = cluster.createPartition("wipe", 0, 3);
            int leader = cluster.leaderIndex(tp);
            int victim = (leader + 1) % 3;
            for (int i = 0; i < 100; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.LZ4, "a" + i, 5, 1_000L + i), Acks.ALL);
            }
            cluster.stop(victim);
            cluster.wipe(victim);
            for (int i = 0; i < 600; i++) {
                // ~10 KB per entry: the leader's 1 MiB Raft segments fill, close, and are purged after snapshots.
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "b" + i + "-" + "x".repeat(2000), 5, 2_000L + i), Acks.ALL);
            }
            leader = cluster.leaderIndex(tp);
            // The leader has snapshotted and purged its Raft log well past where the wiped replica stands.
            assertTrue(Files.list(cluster.dataDir(leader).resolve("raft")).count() >= 1);
            cluster.restart(victim);
            cluster.recreatePartitionsOn(victim);
            long end = cluster.node(leader).status(tp).highWatermark();
            assertEquals(3500, end);
            cluster.awaitReplicated(tp, end, 60_000);
            List<Record> copied = PartitionReplicationIT.readAll(cluster.node(victim), tp, end);
            List<Record> original = PartitionReplicationIT.readAll(cluster.node(leader), tp, end);
            assertEquals(original.size(), copied.size());
            for (int i = 0; i < original.size(); i++) {
                assertEquals(TestBatches.value(original.get(i)), TestBatches.value(copied.get(i)));
                assertEquals(original.get(i).offset(), copied.get(i).offset());
            }
            assertTrue(catchUpLogged(), "the wiped replica caught up by copying the leader's log, not by Raft replay");
            // And it keeps replicating new appends normally afterwards.
            AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 1, 3_000L), Acks.ALL);
            cluster.awaitReplicated(tp, r.lastOffset() + 1, 30_000);
            List<RecordBatch> last = RecordBatches.split(cluster.node(victim).read(tp, r.baseOffset(), 1 << 20).records());
            assertEquals("after-0", TestBatches.value(last.get(0).records().get(0)));
        }
    }

    /**
     * Issue 12 point 1 on broker processes: a restarted replica re-applies every entry since its last snapshot before
     * its high watermark is current, so snapshots come every few hundred entries (256 by default, not 10,000); and
     * the purge they allow keeps the last 10,000 entries of the Raft log, so a follower some hundreds of entries
     * behind still catches up from the leader's Raft log instead of copying its partition log.
     */
    @Test
    void snapshotsComeOftenAndThePurgeKeepsWhatALaggingFollowerNeeds() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.raftSegmentBytes(1024 * 1024))) {
            TopicPartition tp = cluster.createPartition("lag", 0, 3);
            int lagging = (cluster.leaderIndex(tp) + 1) % 3;
            for (int i = 0; i < 20; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "a" + i, 1, 1_000L + i), Acks.ALL);
            }
            cluster.awaitReplicated(tp, 20, 30_000);
            cluster.kill(lagging);
            for (int i = 0; i < 700; i++) {
                // ~10 KB per entry: the leader's 1 MiB Raft segments fill and close, and its snapshots let them go.
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "b" + i + "-" + "x".repeat(2000), 5, 2_000L + i),
                        Acks.ALL);
            }
            int leader = cluster.leaderIndex(tp);
            long leaderApplied = cluster.node(leader).status(tp).appliedIndex();
            long leaderSnapshot = latestSnapshotIndex(cluster, leader, tp);
            assertTrue(leaderSnapshot > leaderApplied - 256, "the leader's last snapshot is at " + leaderSnapshot
                    + ", it applied " + leaderApplied);
            long copies = io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted();
            cluster.restart(lagging);
            long end = cluster.node(leader).status(tp).highWatermark();
            assertEquals(20 + 700 * 5, end);
            cluster.awaitReplicated(tp, end, 60_000);
            assertEquals(copies, io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted(),
                    "the follower caught up from the leader's Raft log, without copying its partition log");
            assertEquals(cluster.node(leader).read(tp, 0, Integer.MAX_VALUE).records(),
                    cluster.node(lagging).read(tp, 0, Integer.MAX_VALUE).records(), "byte-identical to the leader");
            // The follower snapshotted as it applied what it missed: a crash now leaves it little to re-apply.
            long applied = cluster.node(lagging).status(tp).appliedIndex();
            cluster.kill(lagging);
            long snapshot = latestSnapshotIndex(cluster, lagging, tp);
            assertTrue(snapshot > applied - 256, "the follower's last snapshot is at " + snapshot + ", it applied " + applied);
        }
    }

    /**
     * A replica re-created empty while its leader has snapshotted (every 256 entries) but keeps its Raft log from
     * the first entry (the last 10,000 are kept): Ratis's leader cannot send it entry 1 (it needs the term of index
     * 0, which only a snapshot at 0 gives) and asks it to install a snapshot, which its Ratis answers "already
     * installed" (its empty snapshot at 0 is right before the leader's first entry), for good. It is reopened
     * without its empty snapshot and copies the leader's log. (HibernationChaosIT found it with seed
     * 21805647468700, where a hibernation snapshot made the same state.)
     */
    @Test
    void anEmptyReplicaCopiesTheLogOfALeaderThatSnapshottedButKeepsItsFirstEntries() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("empty", 0, 3);
            int victim = (cluster.leaderIndex(tp) + 1) % 3;
            for (int i = 0; i < 300; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "a" + i, 2, 1_000L + i), Acks.ALL);
            }
            int leader = cluster.leaderIndex(tp);
            assertTrue(latestSnapshotIndex(cluster, leader, tp) >= 256, "the leader snapshotted");
            cluster.stop(victim);
            cluster.wipe(victim);
            long copies = io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted();
            cluster.restart(victim);
            cluster.recreatePartitionsOn(victim);
            long end = cluster.node(leader).status(tp).highWatermark();
            assertEquals(600, end);
            cluster.awaitReplicated(tp, end, 60_000);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);  // counted just after the copy is published
            while (io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted() == copies && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted() > copies,
                    "the empty replica copied the leader's log");
            assertEquals(cluster.node(leader).read(tp, 0, Integer.MAX_VALUE).records(),
                    cluster.node(victim).read(tp, 0, Integer.MAX_VALUE).records(), "byte-identical to the leader");
            // It goes on replicating new appends from the Raft log.
            AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 1, 3_000L), Acks.ALL);
            cluster.awaitReplicated(tp, r.lastOffset() + 1, 30_000);
        }
    }

    /**
     * A new group's first leader whose appends reach no one (here Ratis's own test hook fails them at the
     * followers) writes its first entry at index 1 and is killed; the others elect, take 300 entries and
     * snapshot past index 0 (every 256). Back, the old leader holds entries of term 1 at index 1 that it never saw
     * committed, and the leader's index 1 is another term's: Ratis's leader cannot name the entry before it (index
     * 0, which only a snapshot at 0 gives), asks it to install a snapshot, and its Ratis answers "already
     * installed" (its empty snapshot at 0), for good. As a replica that has committed nothing and keeps getting
     * such notices, it is reopened without its empty snapshot and copies the leader's log. (ChaosIT seed
     * 20261130: a node killed within a second of creating a topic; the replica stayed empty.)
     */
    @Test
    void aFirstLeaderCutOffBeforeItsFirstEntryCommittedCopiesTheLogOfTheNextLeader() throws Exception {
        AtomicBoolean cutOff = new AtomicBoolean(true);
        // The key Ratis 3.3's RaftServerImpl.appendEntriesAsync runs its test hook under (its APPEND_ENTRIES).
        String appendEntries = "RaftServerImpl.appendEntries";
        CodeInjectionForTesting.put(appendEntries, (follower, leader, args) -> {
            if (cutOff.get()) {
                throw new IllegalStateException("cut off by the test");
            }
            return false;
        });
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("cutoff", 0, 3);
            int first = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (first < 0 && System.nanoTime() < deadline) {
                for (int i = 0; i < 3 && first < 0; i++) {
                    try {
                        RaftServer.Division d = cluster.node(i).division(tp);
                        if (d.getInfo().isLeader() && d.getRaftLog().getFlushIndex() >= 1) {
                            first = i;
                        }
                    } catch (IOException | RuntimeException notYet) {
                        // not opened yet
                    }
                }
                Thread.sleep(2);
            }
            assertTrue(first >= 0, "a first leader wrote an entry to disk");
            TermIndex held = cluster.node(first).division(tp).getRaftLog().getLastEntryTermIndex();
            assertEquals(0, cluster.node(first).division(tp).getRaftLog().getLastCommittedIndex(), "nothing committed");
            cluster.kill(first);
            cutOff.set(false);

            for (int i = 0; i < 300; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "a" + i, 2, 1_000L + i), Acks.ALL);
            }
            int leader = cluster.leaderIndex(tp);
            assertTrue(latestSnapshotIndex(cluster, leader, tp) >= 256, "the leader snapshotted");
            long copies = io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted();
            cluster.restart(first);
            assertEquals(held, cluster.node(first).division(tp).getRaftLog().getLastEntryTermIndex(),
                    "back with its uncommitted entries");
            cluster.awaitReplicated(tp, 600, 60_000);
            assertTrue(io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted() > copies,
                    "the old first leader copied the leader's log");
            assertTrue(cluster.node(first).hibernationCounts().brokenDivisionsReopened() > 0,
                    "its division was reopened to copy the log (its leader's log still starts at index 1)");
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
            AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 1, 3_000L), Acks.ALL);
            cluster.awaitReplicated(tp, r.lastOffset() + 1, 30_000);
        } finally {
            CodeInjectionForTesting.remove(appendEntries);
        }
    }

    /**
     * Ratis 3.3 adopts a copy of the leader's log that it asked a follower to install only when the leader's next
     * install notice arrives, and refuses every append until then. That notice may never come: a leader whose log
     * reaches back to the follower's end needs to send none (leadership moved), and one whose log starts below the
     * notice being installed fails Ratis's own check with each. Here the notices that come once the copy is installed
     * are lost on their way in until the replica's division is reopened: it must be, on that copy, and catch up. (ChaosIT,
     * three nodes: a restarted follower answered its leader and never took an entry again.)
     */
    @Test
    void aCopyRatisNeverAdoptsIsReopenedAndTheReplicaCatchesUp() throws Exception {
        // The key Ratis 3.3's SnapshotInstallationHandler runs its test hook under (RaftServerImpl's INSTALL_SNAPSHOT).
        String installSnapshot = "RaftServerImpl.installSnapshot";
        java.util.concurrent.atomic.AtomicReference<RaftNode> target = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicLong copiesAtRestart = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        java.util.concurrent.atomic.AtomicInteger lost = new java.util.concurrent.atomic.AtomicInteger();
        try (MiniCluster cluster = MiniCluster.start(3, tmp,
                b -> b.snapshotThresholdEntries(100).raftLogRetainedEntries(0).raftSegmentBytes(1024 * 1024))) {
            TopicPartition tp = cluster.createPartition("unadopted", 0, 3);
            int leader = cluster.leaderIndex(tp);
            int behind = (leader + 1) % 3;
            String behindId = cluster.addresses().get(behind).id();
            CodeInjectionForTesting.put(installSnapshot, (local, remote, args) -> {
                RaftNode node = target.get();
                // Once its copy is installed (a first copy may fail: a leader that moves meanwhile), until it reopens.
                if (node != null && behindId.equals(String.valueOf(local))
                        && node.hibernationCounts().brokenDivisionsReopened() == 0
                        && io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted() > copiesAtRestart.get()) {
                    lost.incrementAndGet();
                    throw new IllegalStateException("install notice lost by the test");
                }
                return false;
            });
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "a", 5, 1_000L), Acks.ALL);
            cluster.awaitReplicated(tp, 5, 30_000);
            cluster.stop(behind);
            for (int i = 0; i < 600; i++) {
                // ~10 KB per entry: the leader's 1 MiB Raft segments fill, close, and are purged after snapshots.
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "b" + i + "-" + "x".repeat(2000), 5, 2_000L + i), Acks.ALL);
            }
            long copies = io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted();
            copiesAtRestart.set(copies);
            cluster.restart(behind);
            target.set(cluster.node(behind));

            cluster.awaitReplicated(tp, 3005, 60_000);  // the copy's high watermark: Ratis has not taken it yet
            assertTrue(io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted() > copies, "it installed a copy");

            // It takes entries again: before, Ratis answered every append "installation in progress", for good.
            AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 1, 3_000L), Acks.ALL);
            cluster.awaitReplicated(tp, r.lastOffset() + 1, 30_000);
            assertTrue(lost.get() > 0, "later install notices were lost");
            assertTrue(cluster.node(behind).hibernationCounts().brokenDivisionsReopened() > 0,
                    "reopened on the copy Ratis did not adopt");
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
        } finally {
            CodeInjectionForTesting.remove(installSnapshot);
        }
    }

    /** The index of the replica's newest snapshot file (Ratis names them snapshot.TERM_INDEX), -1 if none. */
    private static long latestSnapshotIndex(MiniCluster cluster, int node, TopicPartition tp) throws IOException {
        Path sm = cluster.dataDir(node).resolve("raft")
                .resolve(ReplicaRegistry.groupId(cluster.spec(tp).topicId(), tp.partition()).getUuid().toString()).resolve("sm");
        try (Stream<Path> files = Files.list(sm)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.matches("snapshot\\.\\d+_\\d+"))
                    .mapToLong(n -> Long.parseLong(n.substring(n.indexOf('_') + 1))).max().orElse(-1);
        }
    }

    private static boolean catchUpLogged() {
        return io.rafka.raft.internal.PartitionStateMachine.catchUpsCompleted() > 0;
    }

    @Test
    void wholeClusterRestartKeepsEverything() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                tps.add(cluster.createPartition("restart", p, 3));
            }
            for (int i = 0; i < 50; i++) {
                for (TopicPartition tp : tps) {
                    cluster.append(tp, TestBatches.batch(CompressionType.ZSTD, tp.partition() + "-" + i, 2, 10L + i), Acks.ALL);
                }
            }
            for (int i = 0; i < 3; i++) {
                cluster.stop(i);
            }
            for (int i = 0; i < 3; i++) {
                cluster.restart(i);
            }
            for (TopicPartition tp : tps) {
                int leader = cluster.leaderIndex(tp);
                assertEquals(100, cluster.node(leader).status(tp).highWatermark());
                cluster.awaitReplicated(tp, 100, 30_000);
                AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.NONE, "more", 1, 99L), Acks.ALL);
                assertEquals(100, r.baseOffset());
                List<Record> all = PartitionReplicationIT.readAll(cluster.node(leader), tp, 101);
                assertEquals(tp.partition() + "-49-1", TestBatches.value(all.get(99)));
            }
        }
    }

    @Test
    void acksZeroAnswersAtOnceAndAcksOneGivesOffsets() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("acks", 0, 3);
            int leader = cluster.leaderIndex(tp);
            AppendResult none = cluster.node(leader).append(tp, TestBatches.batch(CompressionType.NONE, "zero", 1, 1L), Acks.NONE).join();
            assertEquals(AppendResult.UNKNOWN, none);
            AppendResult one = cluster.node(leader).append(tp, TestBatches.batch(CompressionType.NONE, "one", 1, 1L), Acks.LEADER).join();
            assertEquals(1, one.baseOffset(), "the acks=0 batch went first and was committed before it");
            cluster.awaitReplicated(tp, 2, 10_000);
            assertEquals(List.of("zero-0", "one-0"),
                    PartitionReplicationIT.readAll(cluster.node((leader + 1) % 3), tp, 2).stream().map(TestBatches::value).toList());
        }
    }

    /**
     * An append too big for one Raft entry is refused with a typed error, and appends of every size up to what one
     * entry holds commit, the largest included (Ratis refuses an entry above its own limit by stepping its leader
     * down, so that limit must not be below the one the broker checks); the leader stays leader throughout.
     */
    @Test
    void appendsUpToTheEntryLimitCommitAndLargerOnesAreRefusedWithoutDisturbingTheLeader() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("huge", 0, 3);
            int leader = cluster.leaderIndex(tp);
            long term = cluster.node(leader).status(tp).term();
            ByteBuffer one = TestBatches.sized(1, 700 * 1024, 1L);
            ByteBuffer three = ByteBuffer.allocate(3 * one.remaining());
            for (int i = 0; i < 3; i++) {
                three.put(one.duplicate());
            }
            three.flip();
            CompletionException e = assertThrows(CompletionException.class,
                    () -> cluster.node(leader).append(tp, three, Acks.ALL).join());
            assertEquals(ErrorCode.RECORD_LIST_TOO_LARGE, MiniCluster.errorOf(e));
            AppendResult r = cluster.node(leader).append(tp, one.duplicate(), Acks.ALL).get(10, TimeUnit.SECONDS);
            assertEquals(0, r.baseOffset());

            ByteBuffer big = TestBatches.sized(1, 1_000_000, 1L);
            int committed = 0;
            int refused = 0;
            // Two batches in one append, together from ~1.2 KB below the entry limit to ~0.2 KB above it.
            for (int tail = 112_300; tail <= 113_800; tail += 60) {
                ByteBuffer small = TestBatches.sized(1, tail, 1L);
                ByteBuffer both = ByteBuffer.allocate(big.remaining() + small.remaining());
                both.put(big.duplicate()).put(small).flip();
                try {
                    cluster.node(leader).append(tp, both, Acks.ALL).get(10, TimeUnit.SECONDS);
                    committed++;
                } catch (java.util.concurrent.ExecutionException failed) {
                    assertEquals(ErrorCode.RECORD_LIST_TOO_LARGE, MiniCluster.errorOf(failed.getCause()), failed.toString());
                    refused++;
                }
            }
            assertTrue(committed > 10 && refused > 0, committed + " committed, " + refused + " refused as too large");
            assertEquals(leader, cluster.leaderIndex(tp));
            assertEquals(term, cluster.node(leader).status(tp).term(), "no election happened");
        }
    }

    @Test
    void inFlightLimitAnswersBusy() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp,
                b -> b.logConfig(io.rafka.log.LogConfig.builder().maxMessageBytes(64 * 1024).build())
                        .maxInFlightBytesPerPartition(256 * 1024))) {
            TopicPartition tp = cluster.createPartition("busy", 0, 3);
            int leader = cluster.leaderIndex(tp);
            List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                futures.add(cluster.node(leader).append(tp, TestBatches.sized(1, 60 * 1024, 1L), Acks.ALL));
            }
            int ok = 0;
            int busy = 0;
            for (CompletableFuture<AppendResult> f : futures) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                    ok++;
                } catch (Exception e) {
                    assertEquals(ErrorCode.BUSY, MiniCluster.errorOf(e.getCause()), e.toString());
                    busy++;
                }
            }
            assertTrue(busy > 0, "some appends pushed back");
            assertTrue(ok >= 4, "the ones within the limit went through: " + ok);
            assertEquals(ok, cluster.node(leader).status(tp).highWatermark());
        }
    }

    /**
     * A division Ratis closed by itself (an election of a member whose Raft log holds no configuration yet ends
     * NOT_IN_CONF, and Ratis then closes the division; seen on a broker restarted before its replica of a new topic
     * took an entry) stays in Ratis's map, CLOSED, refusing every append: the heal loop must remove it and open it
     * again. For a replica that had applied nothing yet, that loop read the closed division's Raft log first, which
     * throws, so it failed every second for good and the replica never came back (ChaosIT, five nodes).
     */
    @Test
    void aDivisionClosedBeforeItAppliedAnythingOpensAgain() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            cluster.stop(0);
            cluster.stop(1);
            TopicPartition tp = cluster.createPartition("closed-early", 0, 3);  // node 2 alone: no leader, nothing applied
            RaftNode node = cluster.node(2);
            node.division(tp).close();
            assertEquals(org.apache.ratis.util.LifeCycle.State.CLOSED, node.division(tp).getInfo().getLifeCycleState());
            cluster.restart(0);
            cluster.restart(1);
            cluster.recreatePartitionsOn(0);
            cluster.recreatePartitionsOn(1);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after", 5), Acks.ALL, 30_000);
            cluster.awaitReplicated(tp, 5, 30_000);  // node 2's replica included: opened again and caught up
            assertEquals(org.apache.ratis.util.LifeCycle.State.RUNNING, node.division(tp).getInfo().getLifeCycleState());
        }
    }
}
