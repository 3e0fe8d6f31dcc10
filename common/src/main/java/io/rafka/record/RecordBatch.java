package io.rafka.record;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.InvalidRecordException;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A view over one record batch in Kafka's v2 (magic 2) format. This class is the only place that
 * knows the byte layout; every other part of Rafka (log, replication, broker, SDK) goes through it.
 *
 * <pre>
 * offset  size  field
 *      0     8  baseOffset
 *      8     4  batchLength            bytes after this field (total size - 12)
 *     12     4  partitionLeaderEpoch
 *     16     1  magic                  always 2
 *     17     4  crc                    CRC32C of bytes [21, end)
 *     21     2  attributes             bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
 *     23     4  lastOffsetDelta
 *     27     8  baseTimestamp
 *     35     8  maxTimestamp
 *     43     8  producerId
 *     51     2  producerEpoch
 *     53     4  baseSequence
 *     57     4  recordCount
 *     61     -  records (compressed as one stream when the codec is not none)
 * </pre>
 *
 * <p>Each record: varint length, int8 attributes, varlong timestampDelta, varint offsetDelta, varint
 * keyLength (-1 = null), key, varint valueLength (-1 = null), value, varint headerCount, then per header
 * varint keyLength, UTF-8 key, varint valueLength (-1 = null), value.
 *
 * <p>The CRC does not cover {@code baseOffset}, {@code batchLength} or {@code partitionLeaderEpoch}, so the
 * broker stamps the first and last in place without recomputing it.
 *
 * <p>Not thread-safe for the setters; the accessors only read absolute positions, so concurrent readers
 * of an unchanging buffer are safe.
 */
public final class RecordBatch {
    public static final byte MAGIC = 2;

    public static final int BASE_OFFSET_OFFSET = 0;
    public static final int LENGTH_OFFSET = 8;
    public static final int PARTITION_LEADER_EPOCH_OFFSET = 12;
    public static final int MAGIC_OFFSET = 16;
    public static final int CRC_OFFSET = 17;
    public static final int ATTRIBUTES_OFFSET = 21;
    public static final int LAST_OFFSET_DELTA_OFFSET = 23;
    public static final int BASE_TIMESTAMP_OFFSET = 27;
    public static final int MAX_TIMESTAMP_OFFSET = 35;
    public static final int PRODUCER_ID_OFFSET = 43;
    public static final int PRODUCER_EPOCH_OFFSET = 51;
    public static final int BASE_SEQUENCE_OFFSET = 53;
    public static final int RECORDS_COUNT_OFFSET = 57;
    public static final int RECORDS_OFFSET = 61;

    /** Size of the batch header; also the smallest possible batch (one with no records). */
    public static final int HEADER_SIZE = RECORDS_OFFSET;
    /** baseOffset + batchLength: the bytes before the part that {@code batchLength} counts. */
    public static final int LOG_OVERHEAD = 12;

    public static final int TIMESTAMP_TYPE_MASK = 0x08;
    public static final int TRANSACTIONAL_MASK = 0x10;
    public static final int CONTROL_MASK = 0x20;

    public static final long NO_PRODUCER_ID = -1L;
    public static final short NO_PRODUCER_EPOCH = -1;
    public static final int NO_SEQUENCE = -1;
    public static final int NO_PARTITION_LEADER_EPOCH = -1;
    public static final long NO_TIMESTAMP = -1L;

    /** Default cap on the decompressed size of one batch's records. */
    public static final int DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

    private final ByteBuffer buffer;

    /**
     * Wraps the batch that occupies {@code buffer} from its position to its limit. The buffer is
     * sliced, so later changes to the caller's position and limit do not affect this view.
     */
    public RecordBatch(ByteBuffer buffer) {
        this.buffer = buffer.slice();
        if (this.buffer.remaining() < HEADER_SIZE) {
            throw new CorruptRecordException("record batch of " + this.buffer.remaining()
                    + " bytes is smaller than the " + HEADER_SIZE + "-byte header");
        }
    }

    /** The batch's bytes, position 0 to limit {@link #sizeInBytes()}; shares content with this view. */
    public ByteBuffer buffer() {
        return buffer.duplicate();
    }

    public int sizeInBytes() {
        return buffer.limit();
    }

    public long baseOffset() {
        return buffer.getLong(BASE_OFFSET_OFFSET);
    }

    public long lastOffset() {
        return baseOffset() + lastOffsetDelta();
    }

    public long nextOffset() {
        return lastOffset() + 1;
    }

    public int batchLength() {
        return buffer.getInt(LENGTH_OFFSET);
    }

    public int partitionLeaderEpoch() {
        return buffer.getInt(PARTITION_LEADER_EPOCH_OFFSET);
    }

    public byte magic() {
        return buffer.get(MAGIC_OFFSET);
    }

    public long checksum() {
        return Integer.toUnsignedLong(buffer.getInt(CRC_OFFSET));
    }

    public long computeChecksum() {
        CRC32C crc = new CRC32C();
        ByteBuffer covered = buffer.duplicate();
        covered.position(ATTRIBUTES_OFFSET);
        crc.update(covered);
        return crc.getValue();
    }

    public short attributes() {
        return buffer.getShort(ATTRIBUTES_OFFSET);
    }

    public int compressionId() {
        return attributes() & CompressionType.ATTRIBUTE_MASK;
    }

    public CompressionType compressionType() {
        return CompressionType.forId(compressionId());
    }

    public TimestampType timestampType() {
        return (attributes() & TIMESTAMP_TYPE_MASK) == 0 ? TimestampType.CREATE_TIME : TimestampType.LOG_APPEND_TIME;
    }

    public boolean isTransactional() {
        return (attributes() & TRANSACTIONAL_MASK) != 0;
    }

    public boolean isControl() {
        return (attributes() & CONTROL_MASK) != 0;
    }

    public int lastOffsetDelta() {
        return buffer.getInt(LAST_OFFSET_DELTA_OFFSET);
    }

    public long baseTimestamp() {
        return buffer.getLong(BASE_TIMESTAMP_OFFSET);
    }

    public long maxTimestamp() {
        return buffer.getLong(MAX_TIMESTAMP_OFFSET);
    }

    public long producerId() {
        return buffer.getLong(PRODUCER_ID_OFFSET);
    }

    public short producerEpoch() {
        return buffer.getShort(PRODUCER_EPOCH_OFFSET);
    }

    public int baseSequence() {
        return buffer.getInt(BASE_SEQUENCE_OFFSET);
    }

    /** The sequence of the last record, wrapping at {@code Integer.MAX_VALUE} as Kafka does. */
    public int lastSequence() {
        int base = baseSequence();
        if (base == NO_SEQUENCE) {
            return NO_SEQUENCE;
        }
        long last = (long) base + lastOffsetDelta();
        return (int) (last > Integer.MAX_VALUE ? last - Integer.MAX_VALUE - 1 : last);
    }

    public boolean hasProducerId() {
        return producerId() != NO_PRODUCER_ID;
    }

    public int recordCount() {
        return buffer.getInt(RECORDS_COUNT_OFFSET);
    }

    /** Stamps the base offset. Not covered by the CRC. */
    public void setBaseOffset(long baseOffset) {
        buffer.putLong(BASE_OFFSET_OFFSET, baseOffset);
    }

    /** Stamps the partition leader epoch (the Raft term). Not covered by the CRC. */
    public void setPartitionLeaderEpoch(int epoch) {
        buffer.putInt(PARTITION_LEADER_EPOCH_OFFSET, epoch);
    }

    /**
     * Sets the max timestamp and timestamp type, as the broker does for topics with
     * {@code message.timestamp.type=LogAppendTime}. Both are covered by the CRC, which is recomputed.
     */
    public void setMaxTimestamp(TimestampType type, long maxTimestamp) {
        short attributes = attributes();
        short updated = (short) (type == TimestampType.LOG_APPEND_TIME
                ? attributes | TIMESTAMP_TYPE_MASK : attributes & ~TIMESTAMP_TYPE_MASK);
        if (updated == attributes && maxTimestamp == maxTimestamp()) {
            return;
        }
        buffer.putShort(ATTRIBUTES_OFFSET, updated);
        buffer.putLong(MAX_TIMESTAMP_OFFSET, maxTimestamp);
        buffer.putInt(CRC_OFFSET, (int) computeChecksum());
    }

    public boolean isValid() {
        return sizeInBytes() >= HEADER_SIZE && checksum() == computeChecksum();
    }

    /**
     * Checks the header and CRC without touching the records: the cheap check run on every append and
     * every recovery scan.
     *
     * @throws CorruptRecordException if the batch is not intact
     */
    public void ensureValid() {
        if (magic() != MAGIC) {
            throw new CorruptRecordException("unsupported record batch magic " + magic() + "; only v2 is supported");
        }
        if (batchLength() + LOG_OVERHEAD != sizeInBytes()) {
            throw new CorruptRecordException("batch length field " + batchLength() + " does not match the "
                    + sizeInBytes() + "-byte batch");
        }
        long stored = checksum();
        long computed = computeChecksum();
        if (stored != computed) {
            throw new CorruptRecordException("record batch at offset " + baseOffset() + " is corrupt (stored crc = "
                    + stored + ", computed crc = " + computed + ")");
        }
        int count = recordCount();
        if (count < 0 || (count > 0 && lastOffsetDelta() != count - 1) || (count == 0 && lastOffsetDelta() < 0)) {
            throw new InvalidRecordException("record count " + count + " does not match last offset delta "
                    + lastOffsetDelta());
        }
        compressionType();
    }

    /** Decodes every record, decompressing if needed, with the default decompressed-size cap. */
    public List<Record> records() {
        return records(DEFAULT_MAX_DECOMPRESSED_BYTES);
    }

    /**
     * Decodes every record.
     *
     * @throws CorruptRecordException if the records do not parse or do not fill the batch exactly
     */
    public List<Record> records(int maxDecompressedBytes) {
        ByteBuffer recordsBuffer = recordsSection(maxDecompressedBytes);
        int count = recordCount();
        List<Record> out = new ArrayList<>(Math.min(Math.max(count, 0), 4096));
        RecordReader reader = new RecordReader(recordsBuffer, baseOffset(), baseTimestamp(),
                timestampType() == TimestampType.LOG_APPEND_TIME ? maxTimestamp() : NO_TIMESTAMP);
        for (int i = 0; i < count; i++) {
            out.add(reader.next());
        }
        reader.ensureExhausted(count);
        return out;
    }

    /**
     * The records one at a time (decompressed as the cursor moves, if compressed): each can be sized or passed over
     * before it is decoded, so a reader that wants a few records of a large batch decodes only those.
     */
    public RecordCursor cursor(int maxDecompressedBytes) {
        long appendTime = timestampType() == TimestampType.LOG_APPEND_TIME ? maxTimestamp() : NO_TIMESTAMP;
        CompressionType codec = compressionType();
        if (codec == CompressionType.NONE) {
            return new RecordCursor(storedSection(), baseOffset(), baseTimestamp(), appendTime, recordCount());
        }
        // Buffered: the cursor reads each record's length a byte at a time (a call into zstd's native code each, else).
        return new RecordCursor(new BufferedInputStream(codec.open(storedSection(), maxDecompressedBytes), 16 * 1024),
                maxDecompressedBytes, baseOffset(), baseTimestamp(), appendTime, recordCount());
    }

    /**
     * Walks the records and checks their structure without materializing keys and values: lengths in
     * bounds, offset deltas 0..count-1, timestamps not negative (but -1: none) and not above {@code maxTimestamp} for create-time
     * batches, and nothing left over. Compressed batches are walked as they are decompressed, a few KiB at a time
     * and at most {@code maxDecompressedBytes} in all. Returns the largest record timestamp.
     */
    public long validateRecords(int maxDecompressedBytes) {
        int count = recordCount();
        long maxSeen;
        CompressionType codec = compressionType();
        if (codec == CompressionType.NONE) {
            RecordReader reader = new RecordReader(recordsSection(maxDecompressedBytes), baseOffset(), baseTimestamp(),
                    NO_TIMESTAMP);
            maxSeen = NO_TIMESTAMP;
            for (int i = 0; i < count; i++) {
                long[] deltaAndTimestamp = reader.skip();
                if (deltaAndTimestamp[0] != i) {
                    throw new InvalidRecordException("record " + i + " has offset delta " + deltaAndTimestamp[0]
                            + "; deltas must be consecutive from 0");
                }
                requireTimestamp(i, deltaAndTimestamp[1]);
                maxSeen = Math.max(maxSeen, deltaAndTimestamp[1]);
            }
            reader.ensureExhausted(count);
        } else {
            try (InputStream in = codec.open(storedSection(), maxDecompressedBytes)) {
                maxSeen = StreamedRecordCheck.check(in, count, baseTimestamp(), maxDecompressedBytes);
            } catch (IOException e) {
                throw new CorruptRecordException("cannot decompress " + codec.configName + " batch: " + e, e);
            }
        }
        if (timestampType() == TimestampType.CREATE_TIME && count > 0 && maxSeen != maxTimestamp()) {
            throw new InvalidRecordException("batch max timestamp " + maxTimestamp()
                    + " differs from the largest record timestamp " + maxSeen);
        }
        return maxSeen;
    }

    /**
     * A produced record's timestamp is a time (not negative) or {@link #NO_TIMESTAMP}, as Kafka's record format has it;
     * time retention and timestamp lookups go by it.
     */
    static void requireTimestamp(int record, long timestamp) {
        if (timestamp < 0 && timestamp != NO_TIMESTAMP) {
            throw new InvalidRecordException("record " + record + " has timestamp " + timestamp
                    + "; a timestamp is not negative, or -1 for none");
        }
    }

    /** The records section as stored: compressed for a compressed batch. */
    private ByteBuffer storedSection() {
        ByteBuffer section = buffer.duplicate();
        section.position(RECORDS_OFFSET);
        return section.slice();
    }

    private ByteBuffer recordsSection(int maxDecompressedBytes) {
        ByteBuffer section = storedSection();
        CompressionType codec = compressionType();
        if (codec == CompressionType.NONE) {
            return section;
        }
        return ByteBuffer.wrap(codec.decompress(section, maxDecompressedBytes));
    }

    @Override
    public String toString() {
        return "RecordBatch(baseOffset=" + baseOffset() + ", lastOffset=" + lastOffset() + ", count=" + recordCount()
                + ", size=" + sizeInBytes() + ", codec=" + compressionType().configName + ", epoch="
                + partitionLeaderEpoch() + ")";
    }
}
