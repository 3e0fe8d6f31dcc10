package io.rafka.server.broker;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.record.CompressionType;
import io.rafka.record.Header;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RecordSetEncoderTest {
    private static final long NOW = 1_700_000_000_000L;

    private static ProducePartition.NewRecord record(OptionalLong ts, String key, String value, Header... headers) {
        return new ProducePartition.NewRecord(ts, key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value == null ? null : value.getBytes(StandardCharsets.UTF_8), List.of(headers));
    }

    @Test
    void encodesOneValidBatchWithTheClientsCodecProducerAndTimestamps() {
        var set = new ProducePartition.Records(CompressionType.ZSTD.id, new ProducePartition.Producer(7, 3, 40), List.of(
                record(OptionalLong.of(5), "k", "v", new Header("h", new byte[]{1})),
                record(OptionalLong.empty(), null, null)));
        List<RecordBatch> batches = RecordBatches.validateProduced(RecordSetEncoder.encode(set, () -> NOW), 1 << 20, 1 << 20);
        assertEquals(1, batches.size());
        RecordBatch b = batches.get(0);
        assertEquals(CompressionType.ZSTD, b.compressionType());
        assertEquals(7, b.producerId());
        assertEquals(3, b.producerEpoch());
        assertEquals(40, b.baseSequence());
        List<Record> records = b.records();
        assertEquals(5, records.get(0).timestamp());
        assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), records.get(0).value());
        assertEquals(List.of(new Header("h", new byte[]{1})), records.get(0).headers());
        assertEquals(NOW, records.get(1).timestamp(), "no timestamp: the broker's clock");
        assertNull(records.get(1).key());
        assertNull(records.get(1).value());
    }

    @Test
    void refusesWhatTheClientGotWrongWithTypedErrors() {
        assertCode(ErrorCode.INVALID_RECORD, new ProducePartition.Records(0, null, List.of()));
        assertCode(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, new ProducePartition.Records(9, null, List.of(record(OptionalLong.empty(), null, "v"))));
        assertCode(ErrorCode.INVALID_RECORD, new ProducePartition.Records(0, null, List.of(record(OptionalLong.of(-5), null, "v"))));
        for (var p : List.of(new ProducePartition.Producer(-1, 0, 0), new ProducePartition.Producer(1, -1, 0),
                new ProducePartition.Producer(1, Short.MAX_VALUE + 1, 0), new ProducePartition.Producer(1, 0, -1))) {
            assertCode(ErrorCode.INVALID_RECORD, new ProducePartition.Records(0, p, List.of(record(OptionalLong.empty(), null, "v"))));
        }
    }

    private static void assertCode(ErrorCode code, ProducePartition.Records set) {
        RafkaException e = assertThrows(RafkaException.class, () -> RecordSetEncoder.encode(set, () -> NOW));
        assertEquals(code, e.errorCode(), e.getMessage());
    }
}
