package io.rafka.server.broker;

import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordDecoderTest {
    /** Three records of 100-byte values at offsets {@code base}.., compressed so they store far smaller. */
    private static RecordBatch batch(long base, TimestampType type) {
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.GZIP).baseOffset(base).timestampType(type);
        for (int i = 0; i < 3; i++) {
            b.append(1000 + i, null, new byte[100]);
        }
        return new RecordBatch(b.build());
    }

    private static final int RECORD = RecordDecoder.RECORD_OVERHEAD + 100;

    @Test
    void decodesFromTheRequestedOffsetWithinTheLimit() {
        List<RecordBatch> batches = List.of(batch(10, TimestampType.CREATE_TIME), batch(13, TimestampType.CREATE_TIME));
        RecordDecoder.Decoded all = RecordDecoder.decode(batches, 11, 1 << 20, 1 << 20, 1 << 20);
        assertEquals(List.of(11L, 12L, 13L, 14L, 15L), all.records().stream().map(PartitionRead.DecodedRecord::offset).toList());
        assertEquals(5 * RECORD, all.bytes());
        assertEquals(-1, all.cutAt());

        RecordDecoder.Decoded cut = RecordDecoder.decode(batches, 11, 3 * RECORD - 1, 1 << 20, 1 << 20);
        assertEquals(2, cut.records().size());
        assertEquals(13, cut.cutAt(), "the next fetch starts at the first record left out");
        assertTrue(cut.bytes() <= 3 * RECORD - 1);
    }

    @Test
    void returnsAtLeastOneRecordEvenAboveTheLimit() {
        RecordDecoder.Decoded one = RecordDecoder.decode(List.of(batch(0, TimestampType.CREATE_TIME)), 0, 1, 1 << 20, 1 << 20);
        assertEquals(1, one.records().size());
        assertEquals(1, one.cutAt());
    }

    @Test
    void headersCountWithTheirFramingAndARecordTooLargeForAnyAnswerIsRefusedUnbuilt() {
        List<io.rafka.record.Header> headers = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            headers.add(new io.rafka.record.Header("h" + i, new byte[0]));   // 2-3 bytes each, 8 more on the wire
        }
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.GZIP).baseOffset(0).timestampType(TimestampType.CREATE_TIME);
        for (int i = 0; i < 3; i++) {
            b.append(1000 + i, null, new byte[20], headers);
        }
        List<RecordBatch> batches = List.of(new RecordBatch(b.build()));
        int headerBytes = 10 * 2 + 10 * 3 + 20 * RecordDecoder.HEADER_OVERHEAD;
        int record = RecordDecoder.RECORD_OVERHEAD + 20 + headerBytes;
        RecordDecoder.Decoded all = RecordDecoder.decode(batches, 0, 1 << 20, 1 << 20, 1 << 20);
        assertEquals(3 * record, all.bytes());
        assertEquals(20, all.records().get(2).headers().size());
        RecordDecoder.Decoded two = RecordDecoder.decode(batches, 0, 3 * record - 1, 1 << 20, 1 << 20);
        assertEquals(2, two.records().size(), "the headers' framing counts against the limit");

        io.rafka.common.RafkaException tooLarge = org.junit.jupiter.api.Assertions.assertThrows(
                io.rafka.common.RafkaException.class, () -> RecordDecoder.decode(batches, 1, 1, 1 << 20, record - 1));
        assertEquals(io.rafka.common.ErrorCode.RECORD_TOO_LARGE, tooLarge.errorCode());
        assertTrue(tooLarge.getMessage().contains("offset 1"), tooLarge.getMessage());
    }

    @Test
    void logAppendTimeBatchesGiveEveryRecordTheBatchTime() {
        RecordBatch b = batch(0, TimestampType.LOG_APPEND_TIME);
        b.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, 5555);
        for (PartitionRead.DecodedRecord r : RecordDecoder.decode(List.of(b), 0, 1 << 20, 1 << 20, 1 << 20).records()) {
            assertTrue(r.logAppendTime());
            assertEquals(5555, r.timestampMs());
        }
        PartitionRead.DecodedRecord first = RecordDecoder.decode(List.of(batch(0, TimestampType.CREATE_TIME)), 0, 1 << 20, 1 << 20, 1 << 20).records().get(0);
        assertEquals(1000, first.timestampMs());
        assertTrue(!first.logAppendTime());
    }
}
