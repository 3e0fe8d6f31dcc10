package io.rafka.record;

import io.rafka.common.RafkaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Validation and cursors walk a compressed batch's records as they are decompressed. */
class StreamedRecordsTest {
    private static final int MiB = 1024 * 1024;

    /**
     * 32 MiB of records in a batch of a few KiB: validating it must not hold them whole (a broker validating many such
     * produce requests at once would run out of memory), only the codec's own buffers and the walk's.
     */
    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void aLargeBatchIsCheckedAFewKiBAtATime(CompressionType codec) {
        RecordBatch batch = thirtyTwoRecordsOfOneMiB(codec);
        assertTrue(batch.sizeInBytes() < 4 * MiB, "zeros compress well: " + batch.sizeInBytes());
        batch.validateRecords(64 * MiB); // once first: classes loaded, codecs' native parts set up

        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        long largest = batch.validateRecords(64 * MiB);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertEquals(32L, largest);
        assertTrue(allocated < 8L * MiB, codec + " validation allocated " + allocated + " bytes for 32 MiB of records");
    }

    /** A reader that wants the first record of such a batch decompresses and holds about that record only. */
    @ParameterizedTest
    @EnumSource(value = CompressionType.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void aCursorDecompressesOnlyAsFarAsItIsRead(CompressionType codec) {
        RecordBatch batch = thirtyTwoRecordsOfOneMiB(codec);
        try (RecordCursor warm = batch.cursor(64 * MiB)) {
            warm.next();
        }

        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        Record first;
        long[] second;
        try (RecordCursor cursor = batch.cursor(64 * MiB)) {
            first = cursor.next();
            second = cursor.peek(0, 0);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertEquals(MiB, first.value().length);
        assertEquals(1L, second[0]);
        assertEquals(MiB, second[1]);
        assertTrue(allocated < 8L * MiB, codec + ": reading 2 of 32 records of 1 MiB allocated " + allocated + " bytes");
    }

    /** Read through a cursor, every codec's records are the records the batch was built with. */
    @Test
    void aCursorReadsWhatRecordsDecodes() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int iteration = 0; iteration < 300; iteration++) {
            CompressionType codec = CompressionType.values()[random.nextInt(CompressionType.values().length)];
            RecordBatchBuilder builder = new RecordBatchBuilder(codec);
            for (int i = 1 + random.nextInt(20); i > 0; i--) {
                byte[] value = new byte[random.nextInt(random.nextBoolean() ? 50 : 100_000)];
                random.nextBytes(value);
                builder.append(5L + random.nextInt(99), random.nextBoolean() ? null : new byte[random.nextInt(9)], value,
                        random.nextBoolean() ? List.of() : List.of(new Header("h", new byte[3]), new Header("k", null)));
            }
            RecordBatch batch = new RecordBatch(builder.build());
            List<Record> expected = batch.records();
            int skipped = random.nextInt(expected.size() + 1);
            try (RecordCursor cursor = batch.cursor(64 * MiB)) {
                for (int i = 0; i < expected.size(); i++) {
                    Record e = expected.get(i);
                    assertTrue(cursor.hasNext());
                    long[] peeked = cursor.peek(10, 1);
                    assertEquals(e.offset(), peeked[0], "seed " + seed);
                    assertEquals(10 + length(e.key()) + length(e.value())
                            + e.headers().stream().mapToLong(h -> 1 + length(h.key().getBytes(java.nio.charset.StandardCharsets.UTF_8))
                            + length(h.value())).sum(), peeked[1], "seed " + seed);
                    if (i < skipped) {
                        cursor.skip();
                        continue;
                    }
                    Record a = cursor.next();
                    assertEquals(e.offset(), a.offset(), "seed " + seed);
                    assertEquals(e.timestamp(), a.timestamp(), "seed " + seed);
                    assertTrue(Arrays.equals(e.key(), a.key()) && Arrays.equals(e.value(), a.value()), "seed " + seed);
                    assertEquals(e.headers(), a.headers(), "seed " + seed);
                }
                assertFalse(cursor.hasNext());
            }
        }
    }

    /** 32 records of 1 MiB of zeros, timestamps 1..32: a few KiB compressed. */
    private static RecordBatch thirtyTwoRecordsOfOneMiB(CompressionType codec) {
        RecordBatchBuilder builder = new RecordBatchBuilder(codec);
        for (int i = 0; i < 32; i++) {
            builder.append(1L + i, null, new byte[MiB]);
        }
        return new RecordBatch(builder.build());
    }

    private static int length(byte[] bytes) {
        return bytes == null ? 0 : bytes.length;
    }

    /**
     * The streamed walk and the walk of an uncompressed batch agree on every records section, damaged or not: the
     * same result, or errors of the same type. Each damaged section is compressed whole, so the codec is intact
     * and only the walk sees the damage.
     */
    @Test
    void agreesWithTheWalkOfTheSameRecordsUncompressed() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int iteration = 0; iteration < 2000; iteration++) {
            RecordBatchBuilder plain = new RecordBatchBuilder(CompressionType.NONE);
            int count = 1 + random.nextInt(6);
            for (int i = 0; i < count; i++) {
                byte[] value = new byte[random.nextInt(random.nextBoolean() ? 40 : 40_000)];
                random.nextBytes(value);
                plain.append(1000L + random.nextInt(1000), random.nextBoolean() ? null : new byte[random.nextInt(9)], value,
                        random.nextBoolean() ? List.of() : List.of(new Header("h", new byte[3])));
            }
            ByteBuffer built = plain.build();
            byte[] header = new byte[RecordBatch.RECORDS_OFFSET];
            built.duplicate().get(header);
            byte[] section = new byte[built.remaining() - RecordBatch.RECORDS_OFFSET];
            built.duplicate().position(RecordBatch.RECORDS_OFFSET).get(section);
            section = damage(section, random);
            CompressionType codec = CompressionType.values()[1 + random.nextInt(CompressionType.values().length - 1)];

            Object expected = outcome(batch(header, CompressionType.NONE, section));
            Object actual = outcome(batch(header, codec, compress(codec, section)));
            assertEquals(expected, actual, "seed " + seed + " iteration " + iteration + " codec " + codec);
        }
    }

    private static byte[] damage(byte[] section, Random random) {
        switch (random.nextInt(5)) {
            case 0:
                return section;
            case 1:
                return Arrays.copyOf(section, random.nextInt(section.length + 1));
            case 2:
                return Arrays.copyOf(section, section.length + 1 + random.nextInt(20));
            default:
                byte[] damaged = section.clone();
                for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                    damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
                }
                return damaged;
        }
    }

    private static Object outcome(RecordBatch batch) {
        try {
            return batch.validateRecords(1 << 20);
        } catch (RafkaException e) {
            return e.getClass();
        }
    }

    private static RecordBatch batch(byte[] header, CompressionType codec, byte[] stored) {
        ByteBuffer buf = ByteBuffer.allocate(header.length + stored.length).put(header).put(stored).flip();
        buf.putInt(RecordBatch.LENGTH_OFFSET, buf.limit() - RecordBatch.LOG_OVERHEAD);
        short attributes = buf.getShort(RecordBatch.ATTRIBUTES_OFFSET);
        buf.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) ((attributes & ~CompressionType.ATTRIBUTE_MASK) | codec.id));
        RecordBatch batch = new RecordBatch(buf);
        buf.putInt(RecordBatch.CRC_OFFSET, (int) batch.computeChecksum());
        batch.ensureValid();
        return batch;
    }

    private static byte[] compress(CompressionType codec, byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = codec.wrapForOutput(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }
}
