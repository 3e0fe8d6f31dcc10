package io.rafka.record;

import io.rafka.common.CorruptRecordException;

import java.nio.ByteBuffer;

/**
 * Zig-zag variable-length integers as used by Kafka's v2 records (protobuf's sint32/sint64 encoding).
 * Reads fail with {@link CorruptRecordException} on malformed or truncated input, never with an
 * unchecked buffer exception, so garbage from the network is reported, not crashed on.
 */
public final class Varints {
    private Varints() {
    }

    public static int sizeOfVarint(int value) {
        int v = (value << 1) ^ (value >> 31);
        int bytes = 1;
        while ((v & 0xffffff80) != 0) {
            bytes++;
            v >>>= 7;
        }
        return bytes;
    }

    public static int sizeOfVarlong(long value) {
        long v = (value << 1) ^ (value >> 63);
        int bytes = 1;
        while ((v & 0xffffffffffffff80L) != 0L) {
            bytes++;
            v >>>= 7;
        }
        return bytes;
    }

    public static void writeVarint(int value, ByteBuffer out) {
        int v = (value << 1) ^ (value >> 31);
        while ((v & 0xffffff80) != 0) {
            out.put((byte) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.put((byte) v);
    }

    public static void writeVarlong(long value, ByteBuffer out) {
        long v = (value << 1) ^ (value >> 63);
        while ((v & 0xffffffffffffff80L) != 0L) {
            out.put((byte) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.put((byte) v);
    }

    public static int readVarint(ByteBuffer in) {
        int raw = 0;
        int shift = 0;
        while (true) {
            if (!in.hasRemaining()) {
                throw new CorruptRecordException("truncated varint");
            }
            byte b = in.get();
            raw |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            shift += 7;
            if (shift > 28) {
                throw new CorruptRecordException("varint is longer than 5 bytes");
            }
        }
        return (raw >>> 1) ^ -(raw & 1);
    }

    public static long readVarlong(ByteBuffer in) {
        long raw = 0;
        int shift = 0;
        while (true) {
            if (!in.hasRemaining()) {
                throw new CorruptRecordException("truncated varlong");
            }
            byte b = in.get();
            raw |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            shift += 7;
            if (shift > 63) {
                throw new CorruptRecordException("varlong is longer than 10 bytes");
            }
        }
        return (raw >>> 1) ^ -(raw & 1);
    }
}
