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
}
