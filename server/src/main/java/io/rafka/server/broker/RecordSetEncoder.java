package io.rafka.server.broker;

import io.rafka.common.InvalidRecordException;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;

import java.nio.ByteBuffer;
import java.util.function.LongSupplier;

/**
 * Encodes a produce request's structured records into one stored-format batch, after checking what the
 * client chose: codec, producer identity, timestamps. Records without a timestamp get the clock's time.
 */
final class RecordSetEncoder {
    private RecordSetEncoder() {
    }

    static ByteBuffer encode(ProducePartition.Records set, LongSupplier clockMs) {
        if (set.records().isEmpty()) {
            throw new InvalidRecordException("a record set needs at least one record");
        }
        CompressionType compression = CompressionType.forId(set.compressionId());
        RecordBatchBuilder builder = new RecordBatchBuilder(compression);
        ProducePartition.Producer p = set.producer();
        if (p != null) {
            if (p.producerId() < 0 || p.producerEpoch() < 0 || p.producerEpoch() > Short.MAX_VALUE || p.baseSequence() < 0) {
                throw new InvalidRecordException("producer_id, producer_epoch (0.." + Short.MAX_VALUE
                        + ") and base_sequence must not be negative");
            }
            builder.producer(p.producerId(), (short) p.producerEpoch(), p.baseSequence());
        }
        long now = clockMs.getAsLong();
        for (ProducePartition.NewRecord r : set.records()) {
            long timestamp = r.timestampMs().orElse(now);
            if (timestamp < 0) {
                throw new InvalidRecordException("timestamp_ms must not be negative: " + timestamp);
            }
            builder.append(timestamp, r.key(), r.value(), r.headers());
        }
        return builder.build();
    }
}
