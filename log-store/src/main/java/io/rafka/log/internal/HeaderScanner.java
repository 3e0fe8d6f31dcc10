package io.rafka.log.internal;

import io.rafka.log.LogConfig;
import io.rafka.record.RecordBatch;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Walks batch headers in a segment file between two positions without reading the records: reads
 * are chunked, so a run of small batches costs one read per chunk, not one per batch. Stops, returning
 * null, at the end, at a torn header, or at a length field that cannot be right; it never decides what
 * is corrupt (recovery does, with the CRC).
 */
final class HeaderScanner {
    private static final int CHUNK = 16 * 1024;

    private final FileChannel channel;
    private final int end;
    private final ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
    private int chunkStart = -1;
    private int position;

    HeaderScanner(FileChannel channel, int start, int end) {
        this.channel = channel;
        this.position = start;
        this.end = end;
    }

    /** The next header, or null at the end of the range or at an implausible header. */
    BatchHeader next() throws IOException {
        if (end - position < RecordBatch.HEADER_SIZE) {
            return null;
        }
        ByteBuffer h = header(position);
        if (h == null) {
            return null;
        }
        int batchLength = h.getInt(RecordBatch.LENGTH_OFFSET);
        long size = (long) batchLength + RecordBatch.LOG_OVERHEAD;
        if (!plausibleLength(batchLength) || position + size > end) {
            return null;
        }
        long baseOffset = h.getLong(RecordBatch.BASE_OFFSET_OFFSET);
        BatchHeader header = new BatchHeader(position, (int) size, baseOffset,
                baseOffset + h.getInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET),
                h.getLong(RecordBatch.MAX_TIMESTAMP_OFFSET), h.get(RecordBatch.MAGIC_OFFSET));
        position += (int) size;
        return header;
    }

    int position() {
        return position;
    }

    /** Whether {@link #next} stopped before the end of the range: at a torn or implausible header. */
    boolean stoppedShort() {
        return position < end;
    }

    /**
     * Whether a batch's length field can be right: a whole header, and no more than the largest batch a topic may
     * allow ({@code max.message.bytes} at most {@value LogConfig#MAX_MAX_MESSAGE_BYTES}), so a damaged length is
     * never read as a batch of up to 2 GiB.
     */
    static boolean plausibleLength(int batchLength) {
        return batchLength >= RecordBatch.HEADER_SIZE - RecordBatch.LOG_OVERHEAD
                && batchLength <= LogConfig.MAX_MAX_MESSAGE_BYTES;
    }

    private ByteBuffer header(int at) throws IOException {
        if (chunkStart < 0 || at < chunkStart || at + RecordBatch.HEADER_SIZE > chunkStart + chunk.limit()) {
            chunk.clear();
            int want = Math.min(CHUNK, end - at);
            chunk.limit(want);
            while (chunk.hasRemaining()) {
                int n = channel.read(chunk, at + chunk.position());
                if (n < 0) {
                    break;
                }
            }
            chunk.flip();
            chunkStart = at;
            if (chunk.limit() < RecordBatch.HEADER_SIZE) {
                return null;
            }
        }
        ByteBuffer view = chunk.duplicate();
        view.position(at - chunkStart);
        return view.slice();
    }
}
