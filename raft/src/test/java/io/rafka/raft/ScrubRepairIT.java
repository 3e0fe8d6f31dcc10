package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.raft.internal.PartitionStateMachine;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bit flipped on disk in a closed segment of a running replica (bytes recovery trusts, so a restart would not
 * look at them): the background scrub finds it, the replica's log is cut there and the rest copied from another
 * replica, with no operator action and while the partition takes writes; the replica ends byte-identical to the
 * leader. On a follower and on the leader (which hands its leadership over while it repairs).
 */
class ScrubRepairIT {
    private static final int BATCHES = 120;
    private static final int RECORDS_PER_BATCH = 4;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "damaged replica is the {0}")
    @ValueSource(strings = {"follower", "leader", "follower, in a batch's epoch"})
    void aFlippedBitInATrustedSegmentIsFoundAndRepairedFromAnotherReplica(String which) throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> scrubbing(b, 0))) {
            TopicPartition tp = cluster.createPartition("scrub", 0, 3);
            for (int i = 0; i < BATCHES; i++) {
                cluster.append(tp, TestBatches.sized(RECORDS_PER_BATCH, 1_000, 1L + i), Acks.ALL);
            }
            long end = (long) BATCHES * RECORDS_PER_BATCH;
            cluster.awaitReplicated(tp, end, 30_000);
            int leader = cluster.leaderIndex(tp);
            int damaged = which.startsWith("leader") ? leader : (leader + 1) % 3;
            long foundBefore = cluster.node(damaged).scrubCounts().damageFound();
            long copiesBefore = PartitionStateMachine.catchUpsCompleted();

            Path dir = cluster.dataDir(damaged).resolve(tp.dirName());
            List<Path> segments = logSegments(dir);
            assertTrue(segments.size() >= 4, "several segments: " + segments);
            if (which.endsWith("epoch")) {
                raiseEpochOfSecondBatch(segments.get(1));  // the one header field no CRC covers
            } else {
                flipBitInFirstBatchRecords(segments.get(1));
            }

            awaitTrue(30_000, () -> cluster.node(damaged).scrubCounts().damageFound() > foundBefore, "the scrub finds the damage");
            for (int i = 0; i < 10; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "while-repairing-" + i, 2), Acks.ALL);
            }
            long total = end + 20;
            cluster.awaitReplicated(tp, total, 60_000);
            awaitTrue(60_000, () -> PartitionStateMachine.catchUpsCompleted() > copiesBefore, "the cut records are copied");
            awaitTrue(60_000, () -> cluster.node(damaged).hosts(tp) && cluster.node(damaged).status(tp).highWatermark() == total
                    && !cluster.node(damaged).status(tp).repairing(), "the damaged replica repaired and caught up");

            RaftNode repaired = cluster.node(damaged);
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);  // every segment file, byte for byte
            // Read back whole by the scrub again: nothing damaged is left (a pass ends at the log end).
            long passes = repaired.scrubCounts().replicasCompleted();
            awaitTrue(30_000, () -> repaired.scrubCounts().replicasCompleted() > passes, "another whole pass");
            assertEquals(foundBefore + 1, repaired.scrubCounts().damageFound(), "found once, repaired, not found again");
            // A damaged leader moves its leadership to a caught-up follower before it reopens; a follower has none to move.
            assertEquals(which.startsWith("leader") ? 1 : 0, repaired.hibernationCounts().repairHandOvers(),
                    "hand-overs before the reopen");
        }
    }

    @Test
    void aDamagedHibernatedReplicaIsReadThroughItsFrozenLogAndWokenToRepair() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> scrubbing(b, 0).hibernateAfterMs(1_000))) {
            TopicPartition tp = cluster.createPartition("sleepy", 0, 3);
            for (int i = 0; i < BATCHES; i++) {
                cluster.append(tp, TestBatches.sized(RECORDS_PER_BATCH, 1_000, 1L + i), Acks.ALL);
            }
            long end = (long) BATCHES * RECORDS_PER_BATCH;
            cluster.awaitReplicated(tp, end, 30_000);
            awaitTrue(30_000, () -> cluster.node(0).hibernatedCount() == 1 && cluster.node(1).hibernatedCount() == 1
                    && cluster.node(2).hibernatedCount() == 1, "the idle partition hibernates on every replica");
            int damaged = 1;
            long copiesBefore = PartitionStateMachine.catchUpsCompleted();
            List<Path> segments = logSegments(cluster.dataDir(damaged).resolve(tp.dirName()));
            flipBitInFirstBatchRecords(segments.get(3));

            awaitTrue(30_000, () -> cluster.node(damaged).scrubCounts().damageFound() == 1, "the scrub finds the damage");
            awaitTrue(60_000, () -> PartitionStateMachine.catchUpsCompleted() > copiesBefore, "the cut records are copied");
            awaitTrue(60_000, () -> cluster.node(damaged).status(tp).highWatermark() == end
                    && !cluster.node(damaged).status(tp).repairing(), "the damaged replica repaired");
            PartitionReplicationIT.assertIdenticalLogs(cluster, tp);
        }
    }

    @Test
    void aDamagedPartitionWithNoOtherReplicaIsReportedOnceAndLeftAsItIs() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(1, tmp, b -> scrubbing(b, 0))) {
            TopicPartition tp = cluster.createPartition("alone", 0, 1);
            for (int i = 0; i < BATCHES; i++) {
                cluster.append(tp, TestBatches.sized(RECORDS_PER_BATCH, 1_000, 1L + i), Acks.ALL);
            }
            RaftNode node = cluster.node(0);
            long end = node.log(tp).logEndOffset();
            List<Path> segments = logSegments(cluster.dataDir(0).resolve(tp.dirName()));
            flipBitInFirstBatchRecords(segments.get(2));

            awaitTrue(30_000, () -> node.scrubCounts().damageFound() == 1, "the scrub finds the damage");
            long readBefore = node.scrubCounts().bytesRead();
            awaitTrue(30_000, () -> node.scrubCounts().bytesRead() > readBefore, "the scrub goes on");
            MiniCluster.sleep(1_500);
            assertEquals(1, node.scrubCounts().damageFound(), "reported once");
            assertEquals(end, node.log(tp).logEndOffset(), "nothing cut: no other replica could give it back");
            assertEquals(-1, node.log(tp).revalidatingFrom());
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "still-writable", 1), Acks.ALL);
        }
    }

    @Test
    void aLogReadToItsEndIsReadAgainOnlyAfterTheInterval() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(1, tmp, b -> scrubbing(b, 3_600_000))) {
            TopicPartition tp = cluster.createPartition("once", 0, 1);
            for (int i = 0; i < 20; i++) {
                cluster.append(tp, TestBatches.sized(RECORDS_PER_BATCH, 1_000, 1L + i), Acks.ALL);
            }
            RaftNode node = cluster.node(0);
            awaitTrue(30_000, () -> node.scrubCounts().replicasCompleted() >= 1, "a first pass");
            // (The first pass may have run before the appends: the log then is not read until the interval is over.)
            long read = node.scrubCounts().bytesRead();
            assertTrue(node.log(tp).sizeInBytes() > 40_000, "there is something to read again");
            MiniCluster.sleep(2_500);
            assertEquals(read, node.scrubCounts().bytesRead(), "not read again within the interval");
            assertEquals(1, node.scrubCounts().replicasCompleted());
        }
    }

    /** Small segments, a scrub fast enough for a test, and the given interval between passes. */
    private static RaftNodeConfig.Builder scrubbing(RaftNodeConfig.Builder b, long intervalMs) {
        return b.logConfig(LogConfig.builder().segmentBytes(64 * 1024).build())
                .scrubBytesPerSecond(8L * 1024 * 1024).scrubIntervalMs(intervalMs);
    }

    private static void awaitTrue(long timeoutMs, BooleanSupplier condition, String what) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            assertTrue(System.currentTimeMillis() < deadline, what);
            MiniCluster.sleep(50);
        }
    }

    private static List<Path> logSegments(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    /**
     * Sets bit 20 of the partition leader epoch of a segment's second batch (header bytes 12-15, outside the CRC):
     * higher than the third batch's, written in the same term.
     */
    private static void raiseEpochOfSecondBatch(Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer length = ByteBuffer.allocate(4);
            ch.read(length, 8);
            long at = 12 + length.getInt(0) + 12;
            ByteBuffer epoch = ByteBuffer.allocate(4);
            ch.read(epoch, at);
            epoch.putInt(0, epoch.getInt(0) | 1 << 20);
            ch.write(epoch.rewind(), at);
        }
    }

    /** Flips one bit inside the first record of a segment's first batch: a byte the batch's CRC covers. */
    private static void flipBitInFirstBatchRecords(Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            int at = 61 + 20;  // past the 61-byte batch header, inside the first record's value
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            ch.write(b.rewind(), at);
        }
    }
}
