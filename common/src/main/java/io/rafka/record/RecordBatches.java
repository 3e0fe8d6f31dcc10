package io.rafka.record;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.RecordTooLargeException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Splitting and validating buffers that hold record batches back to back. */
public final class RecordBatches {
    private RecordBatches() {
    }

    /**
     * Splits {@code buffer} (position to limit) into whole batches. Used for data that must be complete,
     * such as a produce request.
     *
     * @throws CorruptRecordException if a length field is impossible or the last batch is cut short
     */
    public static List<RecordBatch> split(ByteBuffer buffer) {
        List<RecordBatch> out = new ArrayList<>();
        ByteBuffer b = buffer.duplicate();
        while (b.hasRemaining()) {
            int size = nextBatchSize(b);
            if (size < 0 || size > b.remaining()) {
                throw new CorruptRecordException("truncated record batch at byte " + (b.position() - buffer.position())
                        + ": " + b.remaining() + " bytes left");
            }
            ByteBuffer one = b.slice();
            one.limit(size);
            out.add(new RecordBatch(one));
            b.position(b.position() + size);
        }
        return out;
    }

    /**
     * The size of the batch starting at {@code b}'s position, from its length field, or -1 if fewer
     * than 12 bytes remain. Impossible sizes throw, so a scan never loops or over-allocates on garbage.
     */
    public static int nextBatchSize(ByteBuffer b) {
        if (b.remaining() < RecordBatch.LOG_OVERHEAD) {
            return -1;
        }
        int batchLength = b.getInt(b.position() + RecordBatch.LENGTH_OFFSET);
        if (batchLength < RecordBatch.HEADER_SIZE - RecordBatch.LOG_OVERHEAD
                || batchLength > Integer.MAX_VALUE - RecordBatch.LOG_OVERHEAD) {
            throw new CorruptRecordException("invalid record batch length " + batchLength);
        }
        return batchLength + RecordBatch.LOG_OVERHEAD;
    }

    /**
     * The full check of batches that a producer sends: sizes, magic, CRC, codec, record count, and the
     * structure of every record (offset deltas 0..n-1, lengths, timestamps). Compressed batches are
     * decompressed, up to {@code maxDecompressedBytes}, to be checked; uncompressed ones are walked in place.
     * A batch flagged LogAppendTime is rewritten in {@code buffer} to CreateTime with its records' largest
     * timestamp (producers do not pick the timestamp type).
     *
     * @param maxBatchBytes the largest batch accepted ({@code message.max.bytes})
     * @return the batches, in order
     * @throws RecordTooLargeException if a batch exceeds {@code maxBatchBytes}, or decompresses to more than
     *                                 {@code maxDecompressedBytes}
     * @throws CorruptRecordException if the bytes are not intact v2 batches
     * @throws InvalidRecordException if a batch breaks a rule producers must follow (magic other than 2, ...)
     */
    public static List<RecordBatch> validateProduced(ByteBuffer buffer, int maxBatchBytes, int maxDecompressedBytes) {
        if (!buffer.hasRemaining()) {
            throw new InvalidRecordException("no record batches");
        }
        List<RecordBatch> batches = split(buffer);
        for (RecordBatch batch : batches) {
            if (batch.sizeInBytes() > maxBatchBytes) {
                throw new RecordTooLargeException("record batch of " + batch.sizeInBytes()
                        + " bytes exceeds the limit of " + maxBatchBytes
                        + " bytes (the topic's max.message.bytes; its default is the broker's message.max.bytes)");
            }
            if (batch.magic() != RecordBatch.MAGIC) {
                // Not retriable (CORRUPT_MESSAGE is): a producer that sends old formats sends them again.
                throw new InvalidRecordException("record batch magic " + batch.magic() + ": only v2 batches (magic "
                        + RecordBatch.MAGIC + ") are accepted");
            }
            batch.ensureValid();
            if (batch.recordCount() < 1) {
                throw new InvalidRecordException("a produced record batch must hold at least one record");
            }
            if (batch.isControl() || batch.isTransactional()) {
                throw new InvalidRecordException("transactional and control batches are not supported");
            }
            long largest;
            try {
                largest = batch.validateRecords(maxDecompressedBytes);
            } catch (DecompressedSizeException e) {
                throw new RecordTooLargeException(e.getMessage() + " (message.max.decompressed.bytes)");
            }
            if (batch.timestampType() == TimestampType.LOG_APPEND_TIME) {
                // The topic picks the timestamp type, not the producer (as Kafka's broker rewrites it): a batch sent
                // flagged LogAppendTime would otherwise be stored with a "log append time" of the producer's
                // choosing on a CreateTime topic. A LogAppendTime topic's leader stamps its own time over this.
                batch.setMaxTimestamp(TimestampType.CREATE_TIME, largest);
            }
        }
        return batches;
    }
}
