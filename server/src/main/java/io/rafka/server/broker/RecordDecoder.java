package io.rafka.server.broker;

import io.rafka.common.CorruptRecordException;
import io.rafka.record.Header;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
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

    private RecordDecoder() {
    }

    /**
     * Decoded records, the offset to fetch next when the limit or a damaged batch cut the batches short (else -1),
     * and where a damaged batch starts (else -1).
     */
    record Decoded(List<PartitionRead.DecodedRecord> records, int bytes, long cutAt, long damagedAt) {
    }

    static Decoded decode(List<RecordBatch> batches, long fromOffset, int maxBytes, int maxDecompressedBytes) {
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
            for (Record r : batch.records(maxDecompressedBytes)) {
                if (r.offset() < fromOffset) {
                    continue;
                }
                long size = size(r);
                if (decoded > 0 && decoded + size > maxBytes) {
                    return new Decoded(out, (int) decoded, r.offset(), -1);
                }
                decoded += size;
                out.add(new PartitionRead.DecodedRecord(r.offset(), appendTime ? batch.maxTimestamp() : r.timestamp(),
                        appendTime, r.key(), r.value(), r.headers()));
            }
        }
        return new Decoded(out, (int) Math.min(decoded, Integer.MAX_VALUE), -1, -1);
    }

    private static long size(Record r) {
        long size = RECORD_OVERHEAD + (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
        for (Header h : r.headers()) {
            size += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return size;
    }
}
