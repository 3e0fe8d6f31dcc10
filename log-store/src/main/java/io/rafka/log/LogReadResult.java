package io.rafka.log;

import java.nio.ByteBuffer;

/**
 * The result of a read: whole record batches back to back (possibly none), and the log's bounds at the
 * time of the read so a consumer can tell how far behind it is.
 */
public record LogReadResult(ByteBuffer records, long logStartOffset, long logEndOffset) {
    public int sizeInBytes() {
        return records.remaining();
    }
}
