package io.rafka.server.broker;

import io.rafka.record.Header;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * One partition's part of a fetch. Bounds are -1 when the partition could not be read; {@code nextOffset} is
 * where the client fetches next. Data is either {@code batches} (stored bytes, in a buffer nobody writes
 * after the read, so it may be handed to the transport without a copy) or {@code records} (decoded), never
 * both; {@code bytes} is what the data counts against the response limit.
 */
public record PartitionRead(String topic, int partition, long highWatermark, long logStartOffset, long nextOffset,
                            ByteBuffer batches, List<DecodedRecord> records, int bytes, PartitionError error) {

    /** A record as a consumer sees it, its timestamp already resolved to create or append time. */
    public record DecodedRecord(long offset, long timestampMs, boolean logAppendTime, byte[] key, byte[] value,
                                List<Header> headers) {
    }

    public boolean failed() {
        return error != null;
    }

    /**
     * About what this result costs in the response beyond its data: the topic name, the offsets, an error's
     * message and leader. Counted against the response's limit for results with data or an error, so that a fetch
     * of many partitions (or of many unknown topics with long names) is not answered with far more than its
     * {@code max_bytes}.
     */
    public int entryBytes() {
        int bytes = ENTRY_FRAMING_BYTES + topic.length();
        if (error != null) {
            String message = error.error().getMessage();
            bytes += ERROR_FRAMING_BYTES + (message == null ? 0 : message.length());
        }
        return bytes;
    }

    /** A result's fields besides its topic: partition, high watermark, log start, next offset, tags. */
    static final int ENTRY_FRAMING_BYTES = 40;
    /** An error's code, framing and leader hint, besides its message. */
    static final int ERROR_FRAMING_BYTES = 48;
}
