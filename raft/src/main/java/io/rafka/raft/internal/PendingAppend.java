package io.rafka.raft.internal;

import io.rafka.common.InvalidRecordException;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * One append request on its way into the leader's Raft log: checked, copied, not yet placed. Several of them
 * may travel in one Raft entry ({@link PendingEntry}).
 *
 * <p>It holds the leader's one private copy of the batches. The leader stamps offsets, epoch and append time
 * into that copy in place, and the very same array is what Ratis replicates and what the leader's
 * {@code DataApi.write} appends to the partition log: one heap copy between the caller's bytes and the segment
 * file, and one validation pass ({@link RecordBatches#validateProduced}) on the way in.
 *
 * <p>The copy is taken before {@link #copyOf} returns, so the caller may reuse its buffer at once, whatever
 * Ratis does with the request afterwards (it may start the transaction on another thread, later).
 */
final class PendingAppend {
    final long appendTimeMs;
    /** The private copy of the batches; stamped in place. */
    final byte[] data;
    final List<RecordBatch> batches;
    /** The batch with a producer id, if any (such a batch is appended alone); null otherwise. */
    final RecordBatch producerBatch;
    /**
     * The only term this append may enter the log in, or -1 for any: a writer whose state was read in one term
     * (the group coordinator) must not write in a later one, after another leader wrote in between. Known to the
     * leader that took the append only; not part of the entry's bytes.
     */
    final long requiredTerm;

    private PendingAppend(long appendTimeMs, byte[] data, List<RecordBatch> batches, long requiredTerm) {
        this.appendTimeMs = appendTimeMs;
        this.data = data;
        this.batches = batches;
        this.producerBatch = producerBatch(batches);
        this.requiredTerm = requiredTerm;
    }

    /**
     * Copies {@code batches} (position to limit; left untouched) and checks the copy as a produce request is
     * checked: size limit, header, CRC, every record.
     */
    static PendingAppend copyOf(long appendTimeMs, ByteBuffer batches, int maxBatchBytes, int maxDecompressedBytes) {
        return copyOf(appendTimeMs, batches, maxBatchBytes, maxDecompressedBytes, -1);
    }

    /** {@link #copyOf(long, ByteBuffer, int, int)} for an append that may enter the log only in {@code requiredTerm}. */
    static PendingAppend copyOf(long appendTimeMs, ByteBuffer batches, int maxBatchBytes, int maxDecompressedBytes,
                                long requiredTerm) {
        return copyOf(appendTimeMs, batches, maxBatchBytes, maxDecompressedBytes, Long.MAX_VALUE, requiredTerm);
    }

    /**
     * {@link #copyOf(long, ByteBuffer, int, int, long)} that also refuses a batch whose newest record is dated more than
     * {@code maxAheadMs} after {@code appendTimeMs} (a CreateTime topic's {@code message.timestamp.after.max.ms}).
     */
    static PendingAppend copyOf(long appendTimeMs, ByteBuffer batches, int maxBatchBytes, int maxDecompressedBytes,
                                long maxAheadMs, long requiredTerm) {
        byte[] data = new byte[batches.remaining()];
        batches.duplicate().get(data);
        List<RecordBatch> checked = RecordBatches.validateProduced(ByteBuffer.wrap(data), maxBatchBytes, maxDecompressedBytes);
        for (RecordBatch b : checked) {
            if (b.maxTimestamp() != RecordBatch.NO_TIMESTAMP && b.maxTimestamp() - appendTimeMs > maxAheadMs) {
                throw new InvalidRecordException("a record dated " + b.maxTimestamp() + " is " + (b.maxTimestamp() - appendTimeMs)
                        + " ms ahead of the broker's clock, more than message.timestamp.after.max.ms = " + maxAheadMs);
            }
        }
        return new PendingAppend(appendTimeMs, data, checked, requiredTerm);
    }

    /** This append's part header, verdict and offsets still undecided. */
    byte[] undecidedHeader() {
        RecordBatch p = producerBatch;
        return DataEntry.undecided(appendTimeMs, data.length,
                p == null ? -1 : p.producerId(), p == null ? -1 : p.producerEpoch(),
                p == null ? -1 : p.baseSequence(), p == null ? -1 : p.lastSequence());
    }

    int requestBytes() {
        return PartitionMessages.APPEND_HEADER + data.length;
    }

    private static RecordBatch producerBatch(List<RecordBatch> batches) {
        RecordBatch producerBatch = null;
        for (RecordBatch b : batches) {
            if (b.hasProducerId()) {
                if (batches.size() > 1) {
                    throw new InvalidRecordException("a batch with a producer id must be appended alone");
                }
                if (b.baseSequence() < 0 || b.producerEpoch() < 0) {
                    throw new InvalidRecordException("producer batch without sequence or epoch");
                }
                producerBatch = b;
            }
        }
        return producerBatch;
    }
}
