package io.rafka.record;

import io.rafka.common.CorruptRecordException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the records section of a batch. Every length is checked against what is left of the record
 * and of the section, so hostile input ends in {@link CorruptRecordException}, never in an
 * out-of-bounds access or a huge allocation.
 */
final class RecordReader {
    private final ByteBuffer in;
    private final long baseOffset;
    private final long baseTimestamp;
    private final long logAppendTime;

    RecordReader(ByteBuffer in, long baseOffset, long baseTimestamp, long logAppendTime) {
        this.in = in;
        this.baseOffset = baseOffset;
        this.baseTimestamp = baseTimestamp;
        this.logAppendTime = logAppendTime;
    }

    Record next() {
        ByteBuffer body = nextBody();
        body.get(); // attributes: unused in v2
        long timestamp = baseTimestamp + Varints.readVarlong(body);
        int offsetDelta = Varints.readVarint(body);
        byte[] key = readBytes(body, "key");
        byte[] value = readBytes(body, "value");
        int headerCount = Varints.readVarint(body);
        if (headerCount < 0 || headerCount > body.remaining()) {
            throw new CorruptRecordException("invalid header count " + headerCount);
        }
        List<Header> headers = new ArrayList<>(headerCount);
        for (int h = 0; h < headerCount; h++) {
            byte[] headerKey = readBytes(body, "header key");
            if (headerKey == null) {
                throw new CorruptRecordException("null header key");
            }
            headers.add(new Header(new String(headerKey, StandardCharsets.UTF_8), readBytes(body, "header value")));
        }
        ensureConsumed(body);
        long ts = logAppendTime != RecordBatch.NO_TIMESTAMP ? logAppendTime : timestamp;
        return new Record(baseOffset + offsetDelta, ts, key, value, headers);
    }

    /** Checks one record's structure and returns {offsetDelta, timestamp}, copying no key or value. */
    long[] skip() {
        ByteBuffer body = nextBody();
        body.get();
        long timestamp = baseTimestamp + Varints.readVarlong(body);
        int offsetDelta = Varints.readVarint(body);
        skipBytes(body, "key");
        skipBytes(body, "value");
        int headerCount = Varints.readVarint(body);
        if (headerCount < 0 || headerCount > body.remaining()) {
            throw new CorruptRecordException("invalid header count " + headerCount);
        }
        for (int h = 0; h < headerCount; h++) {
            if (skipBytes(body, "header key") < 0) {
                throw new CorruptRecordException("null header key");
            }
            skipBytes(body, "header value");
        }
        ensureConsumed(body);
        return new long[] {offsetDelta, timestamp};
    }

    /**
     * The next record's offset and what a reader of decoded records is given of it: its key's, value's and
     * headers' bytes, plus {@code recordOverhead} and {@code headerOverhead} per header. Read in place: nothing is
     * copied and the reader does not move past the record.
     */
    long[] peek(int recordOverhead, int headerOverhead) {
        int start = in.position();
        try {
            ByteBuffer body = nextBody();
            body.get();
            Varints.readVarlong(body);
            int offsetDelta = Varints.readVarint(body);
            long size = recordOverhead + Math.max(0, skipBytes(body, "key")) + Math.max(0, skipBytes(body, "value"));
            int headerCount = Varints.readVarint(body);
            if (headerCount < 0 || headerCount > body.remaining()) {
                throw new CorruptRecordException("invalid header count " + headerCount);
            }
            for (int h = 0; h < headerCount; h++) {
                size += headerOverhead + Math.max(0, skipBytes(body, "header key")) + Math.max(0, skipBytes(body, "header value"));
            }
            return new long[] {baseOffset + offsetDelta, size};
        } finally {
            in.position(start);
        }
    }

    void ensureExhausted(int count) {
        if (in.hasRemaining()) {
            throw new CorruptRecordException(in.remaining() + " bytes left after the " + count
                    + " records the batch header announces");
        }
    }

    private ByteBuffer nextBody() {
        int length = Varints.readVarint(in);
        if (length < 1 || length > in.remaining()) {
            throw new CorruptRecordException("invalid record length " + length + " with " + in.remaining()
                    + " bytes left in the batch");
        }
        ByteBuffer body = in.slice();
        body.limit(length);
        in.position(in.position() + length);
        return body;
    }

    private static void ensureConsumed(ByteBuffer body) {
        if (body.hasRemaining()) {
            throw new CorruptRecordException("record has " + body.remaining() + " unexpected trailing bytes");
        }
    }

    private static byte[] readBytes(ByteBuffer body, String what) {
        int len = checkedLength(body, what);
        if (len < 0) {
            return null;
        }
        byte[] bytes = new byte[len];
        body.get(bytes);
        return bytes;
    }

    private static int skipBytes(ByteBuffer body, String what) {
        int len = checkedLength(body, what);
        if (len > 0) {
            body.position(body.position() + len);
        }
        return len;
    }

    private static int checkedLength(ByteBuffer body, String what) {
        int len = Varints.readVarint(body);
        if (len < -1 || len > body.remaining()) {
            throw new CorruptRecordException("invalid " + what + " length " + len);
        }
        return len;
    }
}
