package io.rafka.record;

import io.rafka.common.CorruptRecordException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A batch's records one at a time ({@link RecordBatch#cursor}): {@link #peek} sizes the next one in place, then
 * {@link #next} decodes it or {@link #skip} passes over it. A compressed batch is decompressed as the cursor moves,
 * one record at a time, so a reader that wants a few records of a batch that decompresses to tens of MiB holds (and
 * decompresses) only those. Hostile input ends in {@link CorruptRecordException}, as with
 * {@link RecordBatch#records()}. Not thread-safe; {@link #close} frees a compressed batch's decompressor early (it
 * is freed once the last record is read too).
 */
public final class RecordCursor implements AutoCloseable {
    private static final int FIRST_BODY_BYTES = 64 * 1024;

    private final long baseOffset;
    private final long baseTimestamp;
    private final long logAppendTime;
    private final int count;
    /** The decompressed records, for a compressed batch; null for an uncompressed one. */
    private final InputStream stream;
    private final int maxBytes;
    private long streamed;
    /** All records of an uncompressed batch, or the next record of a compressed one (length, then body). */
    private RecordReader reader;
    private ByteBuffer current;
    private int read;

    /** Over an uncompressed records section. */
    RecordCursor(ByteBuffer section, long baseOffset, long baseTimestamp, long logAppendTime, int count) {
        this(null, 0, baseOffset, baseTimestamp, logAppendTime, count);
        this.current = section;
        this.reader = new RecordReader(section, baseOffset, baseTimestamp, logAppendTime);
    }

    /** Over a compressed batch's records as {@code stream} decompresses them, at most {@code maxBytes} in all. */
    RecordCursor(InputStream stream, int maxBytes, long baseOffset, long baseTimestamp, long logAppendTime, int count) {
        this.stream = stream;
        this.maxBytes = maxBytes;
        this.baseOffset = baseOffset;
        this.baseTimestamp = baseTimestamp;
        this.logAppendTime = logAppendTime;
        this.count = Math.max(0, count);
    }

    public boolean hasNext() {
        return read < count;
    }

    /**
     * The next record's offset ({@code [0]}) and its size as a reader of decoded records gets it ({@code [1]}): the
     * bytes of its key, value and headers, plus {@code recordOverhead} and {@code headerOverhead} for each header.
     */
    public long[] peek(int recordOverhead, int headerOverhead) {
        return load().peek(recordOverhead, headerOverhead);
    }

    public Record next() {
        Record r = load().next();
        moved();
        return r;
    }

    public void skip() {
        load().skip();
        moved();
    }

    @Override
    public void close() {
        if (stream != null) {
            try {
                stream.close();
            } catch (IOException | RuntimeException e) {
                // nothing held that matters: the decompressor's buffers go with it
            }
        }
    }

    private void moved() {
        read++;
        if (!hasNext()) {
            close();
        }
    }

    /** The reader positioned at the next record: for a compressed batch, that record decompressed into memory. */
    private RecordReader load() {
        if (stream == null || current != null && current.hasRemaining()) {
            return reader;
        }
        int length = readLength();
        if (length < 1 || length > maxBytes - streamed) {
            throw new CorruptRecordException("invalid record length " + length + " with at most " + (maxBytes - streamed)
                    + " bytes left in the batch");
        }
        byte[] body = new byte[Varints.sizeOfVarint(length) + Math.min(length, FIRST_BODY_BYTES)];
        ByteBuffer prefix = ByteBuffer.wrap(body);
        Varints.writeVarint(length, prefix);
        int start = prefix.position();
        int filled = 0;
        try {
            while (filled < length) {
                if (start + filled == body.length) {
                    // Grown as bytes arrive: a length that promises more than the stream holds allocates no more than it.
                    body = Arrays.copyOf(body, start + (int) Math.min(length, 2L * (body.length - start)));
                }
                int n = stream.read(body, start + filled, body.length - start - filled);
                if (n <= 0) {
                    throw new CorruptRecordException("batch ends inside a record of " + length + " bytes");
                }
                filled += n;
            }
        } catch (IOException e) {
            throw new CorruptRecordException("cannot decompress batch: " + e, e);
        }
        streamed += length;
        current = ByteBuffer.wrap(body);
        reader = new RecordReader(current, baseOffset, baseTimestamp, logAppendTime);
        return reader;
    }

    private int readLength() {
        int raw = 0;
        try {
            for (int shift = 0; ; shift += 7) {
                if (shift > 28) {
                    throw new CorruptRecordException("varint is longer than 5 bytes");
                }
                int b = stream.read();
                if (b < 0) {
                    throw new CorruptRecordException("batch ends before record " + read + " of " + count);
                }
                streamed++;
                raw |= (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
            }
        } catch (IOException e) {
            throw new CorruptRecordException("cannot decompress batch: " + e, e);
        }
    }
}
