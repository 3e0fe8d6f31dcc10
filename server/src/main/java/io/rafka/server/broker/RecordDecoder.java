package io.rafka.server.broker;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordCursor;
import io.rafka.record.TimestampType;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes stored batches for consumers that asked for records. Compressed batches can decode to far more
 * than they store, so decoding stops where the records' keys, values and headers reach the limit (at least
 * one record is returned, so a consumer always makes progress). Each batch's CRC is checked first, as a client
 * reading the stored batches checks it: a consumer of decoded records gets no batch to check, and a bit the disk
 * flipped must not reach it as a wrong value. Decoding stops before a damaged batch; if it is the first, the
 * read fails with {@link CorruptRecordException} (CORRUPT_MESSAGE, retriable: the replica repairs itself).
 */
final class RecordDecoder {
    /** What a record costs beyond its key, value and headers (offset, timestamp, framing). */
    static final int RECORD_OVERHEAD = 32;
    /** What a header costs beyond its key and value: the framing of the header and of its two fields. */
    static final int HEADER_OVERHEAD = 8;

    private RecordDecoder() {
    }

    /**
     * Decoded records, the offset to fetch next when the limit or a damaged batch cut the batches short (else -1),
     * and where a damaged batch starts (else -1).
     */
    record Decoded(List<PartitionRead.DecodedRecord> records, int bytes, long cutAt, long damagedAt) {
    }

    /**
     * Decodes from {@code fromOffset} until the records reach {@code maxBytes}, the first record whatever its size
     * unless it alone is above {@code maxRecordBytes} (then RECORD_TOO_LARGE: its decoded form is more than any
     * answer may hold, and only a reader of stored batches can have it). Each record is sized before it is decoded,
     * so records past the limit, or before {@code fromOffset}, are never built.
     */
    static Decoded decode(List<RecordBatch> batches, long fromOffset, int maxBytes, int maxDecompressedBytes,
                          int maxRecordBytes) {
        List<PartitionRead.DecodedRecord> out = new ArrayList<>();
        long decoded = 0;
        for (RecordBatch batch : batches) {
            try {
                batch.ensureValid();
            } catch (CorruptRecordException e) {
                if (out.isEmpty()) {
                    throw e;
                }
                return new Decoded(out, (int) decoded, batch.baseOffset(), batch.baseOffset());
            }
            boolean appendTime = batch.timestampType() == TimestampType.LOG_APPEND_TIME;
            // Closed on every way out: a compressed batch's decompressor may hold native memory (zstd's).
            try (RecordCursor records = batch.cursor(maxDecompressedBytes)) {
                while (records.hasNext()) {
                    long[] offsetAndSize = records.peek(RECORD_OVERHEAD, HEADER_OVERHEAD);
                    long offset = offsetAndSize[0];
                    long size = offsetAndSize[1];
                    if (offset < fromOffset) {
                        records.skip();
                        continue;
                    }
                    if (!out.isEmpty() && decoded + size > maxBytes) {
                        return new Decoded(out, (int) decoded, offset, -1);
                    }
                    if (out.isEmpty() && size > maxRecordBytes) {
                        throw new RafkaException(ErrorCode.RECORD_TOO_LARGE, "the record at offset " + offset + " decodes to "
                                + size + " bytes, more than an answer may hold (" + maxRecordBytes + "); fetch it as stored"
                                + " batches (RECORD_FORMAT_ENCODED)");
                    }
                    Record r = records.next();
                    decoded += size;
                    out.add(new PartitionRead.DecodedRecord(r.offset(), appendTime ? batch.maxTimestamp() : r.timestamp(),
                            appendTime, r.key(), r.value(), r.headers()));
                }
            }
        }
        return new Decoded(out, (int) Math.min(decoded, Integer.MAX_VALUE), -1, -1);
    }
}
