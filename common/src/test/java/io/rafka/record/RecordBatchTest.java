package io.rafka.record;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.RafkaException;
import io.rafka.common.RecordTooLargeException;
import io.rafka.common.UnsupportedCompressionTypeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordBatchTest {

    @ParameterizedTest
    @EnumSource(CompressionType.class)
    void roundTripsRecordsWithEveryCodec(CompressionType codec) {
        List<Header> headers = List.of(new Header("trace", "abc".getBytes(StandardCharsets.UTF_8)), new Header("empty", null));
        ByteBuffer buf = new RecordBatchBuilder(codec)
                .baseOffset(100)
                .partitionLeaderEpoch(7)
                .producer(42L, (short) 3, 10)
                .append(1_000L, "k0".getBytes(StandardCharsets.UTF_8), "v0".getBytes(StandardCharsets.UTF_8), headers)
                .append(1_005L, null, "v1".getBytes(StandardCharsets.UTF_8))
                .append(999L, "k2".getBytes(StandardCharsets.UTF_8), null)
                .build();
        RecordBatch batch = new RecordBatch(buf);
        batch.ensureValid();
        batch.validateRecords(RecordBatch.DEFAULT_MAX_DECOMPRESSED_BYTES);
        assertEquals(100, batch.baseOffset());
        assertEquals(102, batch.lastOffset());
        assertEquals(3, batch.recordCount());
        assertEquals(7, batch.partitionLeaderEpoch());
        assertEquals(codec, batch.compressionType());
        assertEquals(1_000L, batch.baseTimestamp());
        assertEquals(1_005L, batch.maxTimestamp());
        assertEquals(42L, batch.producerId());
        assertEquals(3, batch.producerEpoch());
        assertEquals(10, batch.baseSequence());
        assertEquals(12, batch.lastSequence());
        assertEquals(buf.remaining(), batch.sizeInBytes());

        List<Record> records = batch.records();
        assertEquals(3, records.size());
        assertEquals(new Record(100, 1_000L, "k0".getBytes(StandardCharsets.UTF_8), "v0".getBytes(StandardCharsets.UTF_8), headers),
                records.get(0));
        assertEquals(101, records.get(1).offset());
        assertNull(records.get(1).key());
        assertEquals(999L, records.get(2).timestamp());
        assertNull(records.get(2).value());
    }

    @Test
    void stampingOffsetAndEpochKeepsTheCrcValid() {
        RecordBatch batch = new RecordBatch(new RecordBatchBuilder(CompressionType.NONE)
                .append(5L, null, new byte[] {1}).append(6L, null, new byte[] {2}).build());
        long crc = batch.checksum();
        batch.setBaseOffset(1_000_000L);
        batch.setPartitionLeaderEpoch(99);
        assertEquals(crc, batch.checksum());
        batch.ensureValid();
        assertEquals(1_000_001L, batch.records().get(1).offset());
    }

    @Test
    void logAppendTimeRewritesTimestampAndCrc() {
        RecordBatch batch = new RecordBatch(new RecordBatchBuilder(CompressionType.GZIP)
                .append(5L, null, new byte[] {1}).append(6L, null, new byte[] {2}).build());
        batch.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, 12_345L);
        batch.ensureValid();
        assertEquals(TimestampType.LOG_APPEND_TIME, batch.timestampType());
        for (Record r : batch.records()) {
            assertEquals(12_345L, r.timestamp());
        }
    }

    @Test
    void lastSequenceWrapsLikeKafka() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE)
                .producer(1L, (short) 0, Integer.MAX_VALUE - 1)
                .append(1L, null, new byte[0]).append(1L, null, new byte[0]).append(1L, null, new byte[0])
                .build();
        assertEquals(0, new RecordBatch(buf).lastSequence());
    }

    @Test
    void detectsFlippedBitsAnywhereCoveredByTheCrc() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE)
                .append(10L, "key".getBytes(StandardCharsets.UTF_8), "value".getBytes(StandardCharsets.UTF_8)).build();
        for (int pos = RecordBatch.ATTRIBUTES_OFFSET; pos < buf.limit(); pos++) {
            ByteBuffer copy = copyOf(buf);
            copy.put(pos, (byte) (copy.get(pos) ^ 0x10));
            RecordBatch b = new RecordBatch(copy);
            assertFalse(b.isValid(), "flip at " + pos);
            assertThrows(CorruptRecordException.class, b::ensureValid);
        }
    }

    @Test
    void validateProducedRejectsOversizedBatchWithTypedError() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[1000]).build();
        RecordTooLargeException e = assertThrows(RecordTooLargeException.class,
                () -> RecordBatches.validateProduced(buf, 500, 1 << 20));
        assertTrue(e.getMessage().contains("500"));
    }

    /**
     * A hand-encoded batch whose records carry negative timestamps (base timestamp -15: records at -15 and -5) is
     * refused, compressed or not; -1, Kafka's "no timestamp", is kept.
     */
    @ParameterizedTest
    @EnumSource(CompressionType.class)
    void validateProducedRefusesNegativeTimestampsButNone(CompressionType codec) {
        ByteBuffer buf = new RecordBatchBuilder(codec).append(10L, null, new byte[] {1}).append(20L, null, new byte[] {2}).build();
        buf.putLong(buf.position() + RecordBatch.BASE_TIMESTAMP_OFFSET, -15L);
        new RecordBatch(buf.duplicate()).setMaxTimestamp(TimestampType.CREATE_TIME, -5L);  // and the CRC again
        new RecordBatch(buf.duplicate()).ensureValid();
        InvalidRecordException e = assertThrows(InvalidRecordException.class,
                () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
        assertTrue(e.getMessage().contains("timestamp -15"), e.getMessage());

        ByteBuffer none = new RecordBatchBuilder(codec).append(RecordBatch.NO_TIMESTAMP, null, new byte[] {1}).build();
        assertEquals(RecordBatch.NO_TIMESTAMP, RecordBatches.validateProduced(none, 1 << 20, 1 << 20).get(0).records().get(0).timestamp());
    }

    /** A producer does not pick LogAppendTime (with a time of its choosing): the batch becomes CreateTime. */
    @Test
    void validateProducedTurnsAProducersLogAppendTimeIntoCreateTime() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE).timestampType(TimestampType.LOG_APPEND_TIME)
                .append(1_000L, null, new byte[] {1}).append(3_000L, null, new byte[] {2}).append(2_000L, null, new byte[] {3})
                .build();
        RecordBatch sent = new RecordBatch(buf.duplicate());
        assertEquals(TimestampType.LOG_APPEND_TIME, sent.timestampType());
        RecordBatch stored = RecordBatches.validateProduced(buf, 1 << 20, 1 << 20).get(0);
        assertEquals(TimestampType.CREATE_TIME, stored.timestampType());
        assertEquals(3_000L, stored.maxTimestamp());
        stored.ensureValid();
        assertEquals(java.util.List.of(1_000L, 3_000L, 2_000L), stored.records().stream().map(Record::timestamp).toList());
    }

    @Test
    void validateProducedRejectsUnknownCodec() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[10]).build();
        buf.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) 6);
        buf.putInt(RecordBatch.CRC_OFFSET, (int) new RecordBatch(buf).computeChecksum());
        assertThrows(UnsupportedCompressionTypeException.class, () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
    }

    @Test
    void validateProducedRejectsCountThatDisagreesWithOffsets() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE)
                .append(1L, null, new byte[10]).append(1L, null, new byte[10]).build();
        buf.putInt(RecordBatch.RECORDS_COUNT_OFFSET, 3);
        buf.putInt(RecordBatch.CRC_OFFSET, (int) new RecordBatch(buf).computeChecksum());
        assertThrows(InvalidRecordException.class, () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
    }

    @Test
    void validateProducedRejectsWrongMaxTimestamp() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE).append(10L, null, new byte[1]).build();
        buf.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, 11L);
        buf.putInt(RecordBatch.CRC_OFFSET, (int) new RecordBatch(buf).computeChecksum());
        assertThrows(InvalidRecordException.class, () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
    }

    @Test
    void validateProducedRejectsTruncatedInput() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE).append(10L, null, new byte[100]).build();
        buf.limit(buf.limit() - 1);
        assertThrows(CorruptRecordException.class, () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
        assertThrows(InvalidRecordException.class,
                () -> RecordBatches.validateProduced(ByteBuffer.allocate(0), 1 << 20, 1 << 20));
    }

    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void decompressionIsBoundedAgainstBombs(CompressionType codec) {
        RecordBatchBuilder builder = new RecordBatchBuilder(codec);
        for (int i = 0; i < 64; i++) {
            builder.append(1L, null, new byte[64 * 1024]);
        }
        ByteBuffer buf = builder.build();
        assertTrue(buf.remaining() < 256 * 1024, "zeros compress well: " + buf.remaining());
        // Too large for the limit, as a retry would be: RECORD_TOO_LARGE (not retriable), not CORRUPT_MESSAGE.
        io.rafka.common.RecordTooLargeException e = assertThrows(io.rafka.common.RecordTooLargeException.class,
                () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
        assertTrue(e.getMessage().contains("more than"), e.getMessage());
        // Read back (from a log) it is a batch that does not check, as before.
        assertThrows(CorruptRecordException.class, () -> new RecordBatch(buf.duplicate()).records(1 << 20));
    }

    @Test
    void validateProducedRefusesOldMagicAsInvalidNotCorrupt() {
        ByteBuffer buf = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[3]).build();
        buf.put(16, (byte) 1);   // magic
        assertThrows(InvalidRecordException.class, () -> RecordBatches.validateProduced(buf, 1 << 20, 1 << 20));
    }

    @Test
    void splitsBackToBackBatches() {
        ByteBuffer a = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[3]).build();
        ByteBuffer b = new RecordBatchBuilder(CompressionType.ZSTD).append(2L, null, new byte[5]).append(3L, null, null).build();
        ByteBuffer both = ByteBuffer.allocate(a.remaining() + b.remaining()).put(a.duplicate()).put(b.duplicate()).flip();
        List<RecordBatch> batches = RecordBatches.split(both);
        assertEquals(2, batches.size());
        assertEquals(1, batches.get(0).recordCount());
        assertEquals(2, batches.get(1).recordCount());
        assertEquals(CompressionType.ZSTD, batches.get(1).compressionType());
    }

    /** Property test: random records, headers and codecs survive encode/decode exactly. */
    @Test
    void randomBatchesRoundTrip() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int iteration = 0; iteration < 300; iteration++) {
            CompressionType codec = CompressionType.values()[random.nextInt(CompressionType.values().length)];
            List<Record> expected = new ArrayList<>();
            RecordBatchBuilder builder = new RecordBatchBuilder(codec).baseOffset(random.nextInt(1_000_000));
            long base = random.nextBoolean() ? random.nextLong(1L << 45) : RecordBatch.NO_TIMESTAMP;
            int n = 1 + random.nextInt(40);
            long baseOffset = -1;
            for (int i = 0; i < n; i++) {
                long ts = base < 0 ? RecordBatch.NO_TIMESTAMP : base + random.nextInt(100_000) - 50_000;
                if (ts < 0 && base >= 0) {
                    ts = 0;
                }
                byte[] key = randomBytesOrNull(random, 50);
                byte[] value = randomBytesOrNull(random, 3000);
                List<Header> headers = new ArrayList<>();
                for (int h = random.nextInt(4); h > 0; h--) {
                    headers.add(new Header("h" + random.nextInt(1000) + "\u00e9", randomBytesOrNull(random, 20)));
                }
                builder.append(ts, key, value, headers);
                expected.add(new Record(i, ts, key, value, headers));
            }
            RecordBatch batch = new RecordBatch(builder.build());
            batch.ensureValid();
            baseOffset = batch.baseOffset();
            List<Record> actual = batch.records();
            assertEquals(n, actual.size(), "seed " + seed);
            for (int i = 0; i < n; i++) {
                Record e = expected.get(i);
                Record a = actual.get(i);
                assertEquals(baseOffset + i, a.offset(), "seed " + seed);
                assertEquals(e.timestamp(), a.timestamp(), "seed " + seed);
                assertArrayEquals(e.key(), a.key(), "seed " + seed);
                assertArrayEquals(e.value(), a.value(), "seed " + seed);
                assertEquals(e.headers(), a.headers(), "seed " + seed);
            }
            RecordBatches.validateProduced(batch.buffer(), Integer.MAX_VALUE, 1 << 24);
        }
    }

    /** Fuzz: random bytes and random mutations of valid batches never crash the validator or decoder. */
    @Test
    void garbageNeverCrashesTheValidator() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int iteration = 0; iteration < 3000; iteration++) {
            ByteBuffer input;
            if (iteration % 3 == 0) {
                byte[] junk = new byte[random.nextInt(300)];
                random.nextBytes(junk);
                input = ByteBuffer.wrap(junk);
            } else {
                CompressionType codec = CompressionType.values()[random.nextInt(CompressionType.values().length)];
                RecordBatchBuilder b = new RecordBatchBuilder(codec);
                for (int i = 1 + random.nextInt(5); i > 0; i--) {
                    b.append(random.nextInt(1000), randomBytesOrNull(random, 10), randomBytesOrNull(random, 200));
                }
                input = b.build();
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                    int pos = random.nextInt(input.limit());
                    input.put(pos, (byte) random.nextInt(256));
                }
                if (iteration % 3 == 2) {
                    // Mutate, then repair the CRC so the record walk itself sees the garbage.
                    if (input.limit() > RecordBatch.HEADER_SIZE && input.getInt(RecordBatch.LENGTH_OFFSET) + 12 == input.limit()) {
                        input.putInt(RecordBatch.CRC_OFFSET, (int) new RecordBatch(input).computeChecksum());
                    }
                }
            }
            ByteBuffer finalInput = input;
            try {
                List<RecordBatch> batches = RecordBatches.validateProduced(finalInput, 1 << 20, 1 << 20);
                for (RecordBatch batch : batches) {
                    batch.records();
                }
            } catch (RafkaException expected) {
                // A typed error is the contract.
            } catch (RuntimeException unexpected) {
                throw new AssertionError("seed " + seed + " iteration " + iteration + ": untyped " + unexpected, unexpected);
            }
        }
    }

    private static byte[] randomBytesOrNull(Random random, int maxLen) {
        if (random.nextInt(8) == 0) {
            return null;
        }
        byte[] b = new byte[random.nextInt(maxLen + 1)];
        if (random.nextBoolean()) {
            random.nextBytes(b);
        }
        return b;
    }

    static ByteBuffer copyOf(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocate(b.remaining());
        c.put(b.duplicate());
        return c.flip();
    }
}
