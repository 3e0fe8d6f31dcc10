package io.rafka.record;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Our codec against Kafka's own (kafka-clients, test scope): batches we write are read by Kafka's
 * decoder with their CRC and every field intact, and batches Kafka writes are read by ours, for every
 * compression codec. This is what makes the SDK and the files interoperable with Kafka tooling.
 */
class KafkaCodecInteropTest {

    @ParameterizedTest
    @EnumSource(CompressionType.class)
    void kafkaReadsOurBatches(CompressionType codec) {
        Random random = new Random(codec.id);
        RecordBatchBuilder builder = new RecordBatchBuilder(codec).baseOffset(500).partitionLeaderEpoch(4)
                .producer(77L, (short) 2, 1000);
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            byte[] value = new byte[random.nextInt(2000)];
            random.nextBytes(value);
            values.add(value);
            builder.append(1_700_000_000_000L + i, ("key-" + i).getBytes(StandardCharsets.UTF_8), value,
                    List.of(new Header("n", new byte[] {(byte) i})));
        }
        MemoryRecords kafka = MemoryRecords.readableRecords(builder.build());
        int batches = 0;
        for (MutableRecordBatch batch : kafka.batches()) {
            batches++;
            batch.ensureValid();
            assertEquals(500, batch.baseOffset());
            assertEquals(699, batch.lastOffset());
            assertEquals(4, batch.partitionLeaderEpoch());
            assertEquals(77L, batch.producerId());
            assertEquals(1000, batch.baseSequence());
            assertEquals(codec.id, batch.compressionType().id);
            assertEquals(1_700_000_000_199L, batch.maxTimestamp());
            int i = 0;
            for (org.apache.kafka.common.record.internal.Record r : batch) {
                assertEquals(500 + i, r.offset());
                assertEquals(1_700_000_000_000L + i, r.timestamp());
                assertEquals("key-" + i, StandardCharsets.UTF_8.decode(r.key()).toString());
                assertArrayEquals(values.get(i), bytes(r.value()));
                assertEquals("n", r.headers()[0].key());
                assertArrayEquals(new byte[] {(byte) i}, r.headers()[0].value());
                i++;
            }
            assertEquals(200, i);
        }
        assertEquals(1, batches);
    }

    @ParameterizedTest
    @EnumSource(CompressionType.class)
    void weReadKafkasBatches(CompressionType codec) {
        SimpleRecord[] input = new SimpleRecord[150];
        for (int i = 0; i < input.length; i++) {
            input[i] = new SimpleRecord(1_000L + i * 3L, i % 5 == 0 ? null : ("k" + i).getBytes(StandardCharsets.UTF_8),
                    ("value-" + i).repeat(i % 17).getBytes(StandardCharsets.UTF_8),
                    new org.apache.kafka.common.header.Header[] {new RecordHeader("h", ("x" + i).getBytes(StandardCharsets.UTF_8))});
        }
        MemoryRecords kafka = MemoryRecords.withRecords(42L,
                Compression.of(org.apache.kafka.common.record.internal.CompressionType.forId(codec.id)).build(), input);
        List<RecordBatch> batches = RecordBatches.split(kafka.buffer());
        assertEquals(1, batches.size());
        RecordBatch batch = batches.get(0);
        batch.ensureValid();
        RecordBatches.validateProduced(batch.buffer(), Integer.MAX_VALUE, 1 << 24);
        List<Record> records = batch.records();
        assertEquals(input.length, records.size());
        for (int i = 0; i < input.length; i++) {
            Record r = records.get(i);
            assertEquals(42L + i, r.offset());
            assertEquals(input[i].timestamp(), r.timestamp());
            assertArrayEquals(input[i].key() == null ? null : bytes(input[i].key()), r.key());
            assertArrayEquals(bytes(input[i].value()), r.value());
            assertEquals(List.of(new Header("h", ("x" + i).getBytes(StandardCharsets.UTF_8))), r.headers());
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        if (b == null) {
            return null;
        }
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
