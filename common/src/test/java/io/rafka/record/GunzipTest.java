package io.rafka.record;

import io.rafka.common.CorruptRecordException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GunzipTest {
    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            all.writeBytes(p);
        }
        return all.toByteArray();
    }

    private static byte[] gunzip(byte[] compressed, int maxBytes) {
        return CompressionType.GZIP.decompress(ByteBuffer.wrap(compressed), maxBytes);
    }

    @Test
    void decompressesWhatTheJdkWritesMemberAfterMember() throws IOException {
        byte[] data = new byte[300_000];
        new Random(7).nextBytes(data);
        Arrays.fill(data, 100_000, 200_000, (byte) 'x');
        assertArrayEquals(data, gunzip(gzip(data), 1 << 20));
        byte[] a = "first member ".getBytes(StandardCharsets.UTF_8);
        byte[] b = "second".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(concat(a, b), gunzip(concat(gzip(a), gzip(b)), 1 << 20));
        assertArrayEquals(a, gunzip(concat(gzip(a), new byte[] {0, 0, 0}), 1 << 20), "trailing bytes that start no member");
        assertArrayEquals(data, gunzip(gzip(data), data.length), "exactly the limit");
    }

    /** Tens of thousands of empty members in ~1 MiB: the JDK's stream recursed once per member, off the stack's end. */
    @Test
    void manyEmptyMembersAreALoopNotARecursion() throws IOException {
        byte[] empty = gzip(new byte[0]);
        byte[] many = new byte[empty.length * 60_000];
        for (int i = 0; i < 60_000; i++) {
            System.arraycopy(empty, 0, many, i * empty.length, empty.length);
        }
        assertEquals(0, gunzip(many, 1 << 20).length);
    }

    @Test
    void damagedTruncatedOrTooLargeIsACorruptRecord() throws IOException {
        byte[] data = "some records, some records, some records".getBytes(StandardCharsets.UTF_8);
        byte[] good = gzip(data);
        byte[] badCrc = good.clone();
        badCrc[good.length - 8] ^= 1;
        assertThrows(CorruptRecordException.class, () -> gunzip(badCrc, 1 << 20));
        for (int cut = 0; cut < good.length; cut++) {
            byte[] truncated = Arrays.copyOf(good, cut);
            assertThrows(CorruptRecordException.class, () -> gunzip(truncated, 1 << 20), "cut at " + cut);
        }
        byte[] notGzip = "plain text".getBytes(StandardCharsets.UTF_8);
        assertThrows(CorruptRecordException.class, () -> gunzip(notGzip, 1 << 20));
        CorruptRecordException big = assertThrows(CorruptRecordException.class, () -> gunzip(good, data.length - 1));
        assertEquals(true, big.getMessage().contains("more than"), big.getMessage());
    }
}
