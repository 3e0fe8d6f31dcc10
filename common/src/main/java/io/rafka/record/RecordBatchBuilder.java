package io.rafka.record;

import io.rafka.common.RecordTooLargeException;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Encodes records into one v2 record batch.
 *
 * <pre>{@code
 * ByteBuffer batch = new RecordBatchBuilder(CompressionType.LZ4)
 *         .append(System.currentTimeMillis(), "k".getBytes(), "v".getBytes())
 *         .build();
 * }</pre>
 *
 * <p>Records are encoded uncompressed as they are appended; {@link #build()} compresses the section once
 * and writes the header and CRC. A builder makes one batch; it is not thread-safe.
 */
public final class RecordBatchBuilder {
    private final CompressionType compression;
    private TimestampType timestampType = TimestampType.CREATE_TIME;
    private long baseOffset;
    private int partitionLeaderEpoch = RecordBatch.NO_PARTITION_LEADER_EPOCH;
    private long producerId = RecordBatch.NO_PRODUCER_ID;
    private short producerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
    private int baseSequence = RecordBatch.NO_SEQUENCE;

    private ByteBuffer records = ByteBuffer.allocate(256);
    private int count;
    private long baseTimestamp = RecordBatch.NO_TIMESTAMP;
    private long maxTimestamp = RecordBatch.NO_TIMESTAMP;
    private boolean built;

    public RecordBatchBuilder(CompressionType compression) {
        this.compression = Objects.requireNonNull(compression, "compression");
    }

    public RecordBatchBuilder timestampType(TimestampType type) {
        this.timestampType = Objects.requireNonNull(type);
        return this;
    }

    public RecordBatchBuilder baseOffset(long offset) {
        this.baseOffset = offset;
        return this;
    }

    public RecordBatchBuilder partitionLeaderEpoch(int epoch) {
        this.partitionLeaderEpoch = epoch;
        return this;
    }

    /** Marks the batch as sent by an idempotent producer. */
    public RecordBatchBuilder producer(long producerId, short producerEpoch, int baseSequence) {
        this.producerId = producerId;
        this.producerEpoch = producerEpoch;
        this.baseSequence = baseSequence;
        return this;
    }

    public RecordBatchBuilder append(long timestamp, byte[] key, byte[] value) {
        return append(timestamp, key, value, List.of());
    }

    public RecordBatchBuilder append(long timestamp, byte[] key, byte[] value, List<Header> headers) {
        if (built) {
            throw new IllegalStateException("batch already built");
        }
        if (timestamp < 0 && timestamp != RecordBatch.NO_TIMESTAMP) {
            throw new IllegalArgumentException("invalid timestamp " + timestamp);
        }
        if (count == 0) {
            baseTimestamp = timestamp;
        }
        long timestampDelta = timestamp - baseTimestamp;
        int offsetDelta = count;
        byte[][] headerKeys = new byte[headers.size()][];
        int bodySize = 1 + Varints.sizeOfVarlong(timestampDelta) + Varints.sizeOfVarint(offsetDelta)
                + sizeOfBytes(key) + sizeOfBytes(value) + Varints.sizeOfVarint(headers.size());
        for (int i = 0; i < headers.size(); i++) {
            headerKeys[i] = headers.get(i).key().getBytes(StandardCharsets.UTF_8);
            bodySize += sizeOfBytes(headerKeys[i]) + sizeOfBytes(headers.get(i).value());
        }
        ensureRoom(Varints.sizeOfVarint(bodySize) + bodySize);
        Varints.writeVarint(bodySize, records);
        records.put((byte) 0);
        Varints.writeVarlong(timestampDelta, records);
        Varints.writeVarint(offsetDelta, records);
        writeBytes(key);
        writeBytes(value);
        Varints.writeVarint(headers.size(), records);
        for (int i = 0; i < headers.size(); i++) {
            writeBytes(headerKeys[i]);
            writeBytes(headers.get(i).value());
        }
        count++;
        maxTimestamp = Math.max(maxTimestamp, timestamp);
        return this;
    }

    public int recordCount() {
        return count;
    }

    /** Upper bound of the built size: the header plus the uncompressed records. */
    public int estimatedSizeInBytes() {
        return RecordBatch.HEADER_SIZE + records.position();
    }

    /** Writes header, (compressed) records and CRC; returns the batch with position 0. */
    public ByteBuffer build() {
        if (count == 0) {
            throw new IllegalStateException("a record batch needs at least one record");
        }
        built = true;
        ByteBuffer out;
        if (compression == CompressionType.NONE) {
            out = ByteBuffer.allocate(RecordBatch.HEADER_SIZE + records.position());
            out.position(RecordBatch.HEADER_SIZE);
            out.put(records.array(), 0, records.position());
        } else {
            GrowableOutput sink = new GrowableOutput(RecordBatch.HEADER_SIZE + records.position() / 2 + 64);
            sink.skip(RecordBatch.HEADER_SIZE);
            try (OutputStream os = compression.wrapForOutput(sink)) {
                os.write(records.array(), 0, records.position());
            } catch (IOException e) {
                throw new UncheckedIOException("compressing a batch in memory", e);
            }
            out = sink.toBuffer();
        }
        int size = out.position();
        out.putLong(RecordBatch.BASE_OFFSET_OFFSET, baseOffset);
        out.putInt(RecordBatch.LENGTH_OFFSET, size - RecordBatch.LOG_OVERHEAD);
        out.putInt(RecordBatch.PARTITION_LEADER_EPOCH_OFFSET, partitionLeaderEpoch);
        out.put(RecordBatch.MAGIC_OFFSET, RecordBatch.MAGIC);
        int attributes = compression.id | (timestampType == TimestampType.LOG_APPEND_TIME ? RecordBatch.TIMESTAMP_TYPE_MASK : 0);
        out.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) attributes);
        out.putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, count - 1);
        out.putLong(RecordBatch.BASE_TIMESTAMP_OFFSET, baseTimestamp);
        out.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, maxTimestamp);
        out.putLong(RecordBatch.PRODUCER_ID_OFFSET, producerId);
        out.putShort(RecordBatch.PRODUCER_EPOCH_OFFSET, producerEpoch);
        out.putInt(RecordBatch.BASE_SEQUENCE_OFFSET, baseSequence);
        out.putInt(RecordBatch.RECORDS_COUNT_OFFSET, count);
        CRC32C crc = new CRC32C();
        crc.update(out.array(), RecordBatch.ATTRIBUTES_OFFSET, size - RecordBatch.ATTRIBUTES_OFFSET);
        out.putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
        out.flip();
        return out;
    }

    private static int sizeOfBytes(byte[] b) {
        return b == null ? Varints.sizeOfVarint(-1) : Varints.sizeOfVarint(b.length) + b.length;
    }

    private void writeBytes(byte[] b) {
        if (b == null) {
            Varints.writeVarint(-1, records);
        } else {
            Varints.writeVarint(b.length, records);
            records.put(b);
        }
    }

    private void ensureRoom(int needed) {
        if (records.remaining() >= needed) {
            return;
        }
        long wanted = Math.max((long) records.capacity() * 2, (long) records.position() + needed);
        if (wanted > Integer.MAX_VALUE - RecordBatch.HEADER_SIZE - 64) {
            throw new RecordTooLargeException("record batch would exceed 2 GiB");
        }
        ByteBuffer bigger = ByteBuffer.allocate((int) wanted);
        records.flip();
        bigger.put(records);
        records = bigger;
    }

    /** An in-memory sink that hands out its array without a copy. */
    private static final class GrowableOutput extends OutputStream {
        private byte[] buf;
        private int len;

        GrowableOutput(int initial) {
            buf = new byte[initial];
        }

        void skip(int n) {
            ensure(n);
            len += n;
        }

        @Override
        public void write(int b) {
            ensure(1);
            buf[len++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int n) {
            ensure(n);
            System.arraycopy(b, off, buf, len, n);
            len += n;
        }

        private void ensure(int n) {
            if (len + n > buf.length) {
                long wanted = Math.max(2L * buf.length, (long) len + n);
                if (wanted > Integer.MAX_VALUE - 64) {
                    throw new RecordTooLargeException("record batch would exceed 2 GiB");
                }
                buf = java.util.Arrays.copyOf(buf, (int) wanted);
            }
        }

        ByteBuffer toBuffer() {
            ByteBuffer b = ByteBuffer.wrap(buf);
            b.position(len);
            return b;
        }
    }
}
