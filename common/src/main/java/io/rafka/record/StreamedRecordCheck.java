package io.rafka.record;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.InvalidRecordException;

import java.io.IOException;
import java.io.InputStream;

/**
 * Checks the records of a compressed batch as they are decompressed, with one small buffer: the checks of
 * {@link RecordBatch#validateRecords} without holding the decompressed records. A batch of a few KiB may decompress to
 * tens of MiB; a broker validating many such produce requests at once would otherwise hold all of them whole.
 */
final class StreamedRecordCheck {
    private static final int BUFFER_BYTES = 16 * 1024;

    private final InputStream in;
    private final int maxBytes;
    private final byte[] buf = new byte[BUFFER_BYTES];
    private int pos;
    private int limit;
    /** Decompressed bytes read from the stream so far. */
    private long read;
    /** Decompressed bytes the walk has passed. */
    private long consumed;

    private StreamedRecordCheck(InputStream in, int maxBytes) {
        this.in = in;
        this.maxBytes = maxBytes;
    }

    /**
     * Walks {@code count} records from {@code in} and requires the stream to end after them. Returns the largest
     * record timestamp ({@link RecordBatch#NO_TIMESTAMP} if there are none).
     *
     * @throws DecompressedSizeException if the stream yields more than {@code maxBytes}
     * @throws CorruptRecordException if the records do not parse or do not fill the stream exactly
     * @throws InvalidRecordException if the offset deltas are not 0..count-1, or a timestamp is negative (but -1: none)
     */
    static long check(InputStream in, int count, long baseTimestamp, int maxBytes) {
        StreamedRecordCheck walk = new StreamedRecordCheck(in, maxBytes);
        long maxSeen = RecordBatch.NO_TIMESTAMP;
        for (int i = 0; i < count; i++) {
            long end = walk.recordEnd();
            walk.readByte(); // attributes: unused in v2
            long timestamp = baseTimestamp + walk.readVarlong();
            int offsetDelta = walk.readVarint();
            walk.skipBytes(end, "key");
            walk.skipBytes(end, "value");
            int headerCount = walk.readVarint();
            if (headerCount < 0 || headerCount > end - walk.consumed) {
                throw new CorruptRecordException("invalid header count " + headerCount);
            }
            for (int h = 0; h < headerCount; h++) {
                if (walk.skipBytes(end, "header key") < 0) {
                    throw new CorruptRecordException("null header key");
                }
                walk.skipBytes(end, "header value");
            }
            if (walk.consumed != end) {
                throw new CorruptRecordException("record has " + (end - walk.consumed) + " unexpected trailing bytes");
            }
            if (offsetDelta != i) {
                throw new InvalidRecordException("record " + i + " has offset delta " + offsetDelta
                        + "; deltas must be consecutive from 0");
            }
            RecordBatch.requireTimestamp(i, timestamp);
            maxSeen = Math.max(maxSeen, timestamp);
        }
        if (walk.pos < walk.limit || walk.fill()) {
            throw new CorruptRecordException("bytes left after the " + count + " records the batch header announces");
        }
        return maxSeen;
    }

    /** Reads a record's length and returns where the record ends. */
    private long recordEnd() {
        int length = readVarint();
        if (length < 1) {
            throw new CorruptRecordException("invalid record length " + length);
        }
        return consumed + length;
    }

    private int skipBytes(long end, String what) {
        int len = readVarint();
        if (len < -1 || len > end - consumed) {
            throw new CorruptRecordException("invalid " + what + " length " + len);
        }
        long left = len;
        while (left > 0) {
            if (pos == limit && !fill()) {
                throw new CorruptRecordException("batch ends inside a record's " + what);
            }
            int step = (int) Math.min(left, limit - pos);
            pos += step;
            consumed += step;
            left -= step;
        }
        return len;
    }

    private byte readByte() {
        if (pos == limit && !fill()) {
            throw new CorruptRecordException("batch ends inside a record");
        }
        consumed++;
        return buf[pos++];
    }

    private int readVarint() {
        int raw = 0;
        for (int shift = 0; ; shift += 7) {
            if (shift > 28) {
                throw new CorruptRecordException("varint is longer than 5 bytes");
            }
            byte b = readByte();
            raw |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
    }

    private long readVarlong() {
        long raw = 0;
        for (int shift = 0; ; shift += 7) {
            if (shift > 63) {
                throw new CorruptRecordException("varlong is longer than 10 bytes");
            }
            byte b = readByte();
            raw |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
    }

    /** Reads more of the stream into the buffer (which the walk has passed); false at its end. */
    private boolean fill() {
        try {
            int n = in.read(buf, 0, buf.length);
            if (n < 0) {
                return false;
            }
            if (n == 0) {
                // InputStream's contract rules this out; looping on it could spin forever.
                throw new CorruptRecordException("the decompressor returned no bytes and no end");
            }
            read += n;
            if (read > maxBytes) {
                throw new DecompressedSizeException("batch decompresses to more than " + maxBytes + " bytes");
            }
            pos = 0;
            limit = n;
            return true;
        } catch (IOException e) {
            throw new CorruptRecordException("cannot decompress batch: " + e, e);
        }
    }
}
