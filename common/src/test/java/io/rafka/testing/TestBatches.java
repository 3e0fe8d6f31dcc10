package io.rafka.testing;

import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Builders and readers of record batches for tests of the layers above the codec. */
public final class TestBatches {
    private TestBatches() {
    }

    /** A batch of {@code count} records "prefix-i" with the given timestamps (one per record, or one for all). */
    public static ByteBuffer batch(CompressionType codec, String prefix, int count, long... timestamps) {
        RecordBatchBuilder b = new RecordBatchBuilder(codec);
        for (int i = 0; i < count; i++) {
            long ts = timestamps.length == 0 ? RecordBatch.NO_TIMESTAMP : timestamps[Math.min(i, timestamps.length - 1)];
            b.append(ts, null, (prefix + "-" + i).getBytes(StandardCharsets.UTF_8));
        }
        return b.build();
    }

    /** A batch of {@code count} records of {@code valueBytes} bytes each. */
    public static ByteBuffer sized(int count, int valueBytes, long timestamp) {
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE);
        for (int i = 0; i < count; i++) {
            b.append(timestamp, null, new byte[valueBytes]);
        }
        return b.build();
    }

    /** Every record in a buffer of whole batches. */
    public static List<Record> records(ByteBuffer batches) {
        List<Record> out = new ArrayList<>();
        for (RecordBatch batch : RecordBatches.split(batches)) {
            batch.ensureValid();
            out.addAll(batch.records());
        }
        return out;
    }

    public static String value(Record r) {
        return new String(r.value(), StandardCharsets.UTF_8);
    }
}
