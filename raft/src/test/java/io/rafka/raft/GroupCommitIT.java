package io.rafka.raft;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Group commit on a real 3-node cluster: appends that arrive while the partition's entries await commit go
 * as one Raft entry, yet each keeps its own answer, idempotent batches stay in sequence, and every replica
 * ends up with the same records.
 */
class GroupCommitIT {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitIT.class);
    private static final int APPENDS = 300;

    @TempDir
    Path tmp;

    @Test
    void concurrentAppendsShareRaftEntriesAndEachGetsItsOwnOffsets() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.maxEntriesInFlightPerPartition(1))) {
            TopicPartition tp = cluster.createPartition("group", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "first", 1), Acks.ALL);
            RaftNode leader = cluster.node(cluster.leaderIndex(tp));
            long indexBefore = leader.status(tp).appliedIndex();

            List<CompletableFuture<AppendResult>> results = new ArrayList<>();
            for (int i = 0; i < APPENDS; i++) {
                // Every other append is the next batch of one idempotent producer (one record each).
                ByteBuffer batch = i % 2 == 0 ? producerBatch(42, i / 2)
                        : TestBatches.batch(CompressionType.NONE, "plain-" + i, 2);
                results.add(leader.append(tp, batch, Acks.ALL));
            }
            TreeSet<Long> offsets = new TreeSet<>();
            for (int i = 0; i < APPENDS; i++) {
                AppendResult r = results.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(i % 2 == 0 ? 0 : 1, r.lastOffset() - r.baseOffset(), "append " + i);
                for (long o = r.baseOffset(); o <= r.lastOffset(); o++) {
                    assertTrue(offsets.add(o), "offset " + o + " given twice");
                }
            }
            long entries = leader.status(tp).appliedIndex() - indexBefore;
            LOG.info("{} appends took {} Raft entries", APPENDS, entries);
            assertEquals(1, offsets.first());
            assertEquals(offsets.first() + offsets.size() - 1, offsets.last(), "no gap");
            assertTrue(entries < APPENDS / 2, APPENDS + " appends took " + entries + " Raft entries");

            // A retry of an already committed batch is a duplicate with the original offsets; a gap is refused.
            AppendResult retry = leader.append(tp, producerBatch(42, APPENDS / 2 - 1), Acks.ALL).get(30, TimeUnit.SECONDS);
            assertEquals(results.get(APPENDS - 2).get().baseOffset(), retry.baseOffset());
            ExecutionException gap = assertThrows(ExecutionException.class,
                    () -> leader.append(tp, producerBatch(42, APPENDS), Acks.ALL).get(30, TimeUnit.SECONDS));
            assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, MiniCluster.errorOf(gap.getCause()));

            long end = offsets.last() + 1;
            cluster.awaitReplicated(tp, end, 30_000);
            List<Integer> sequences = new ArrayList<>();
            ByteBuffer leaderBytes = leader.read(tp, 0, Integer.MAX_VALUE).records();
            for (RecordBatch b : RecordBatches.split(leaderBytes.duplicate())) {
                if (b.hasProducerId()) {
                    sequences.add(b.baseSequence());
                }
            }
            assertEquals(APPENDS / 2, sequences.size());
            for (int s = 0; s < sequences.size(); s++) {
                assertEquals(s, sequences.get(s), "the producer's batches in sequence order");
            }
            for (int i : cluster.replicaIndexes(tp)) {
                assertEquals(leaderBytes, cluster.node(i).read(tp, 0, Integer.MAX_VALUE).records(), "replica n" + i);
            }
        }
    }

    private static ByteBuffer producerBatch(long producerId, int sequence) {
        return new RecordBatchBuilder(CompressionType.NONE).producer(producerId, (short) 0, sequence)
                .append(1L, null, ("seq-" + sequence).getBytes()).build();
    }
}
