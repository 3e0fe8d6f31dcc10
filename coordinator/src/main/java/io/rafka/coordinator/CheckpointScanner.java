package io.rafka.coordinator;

import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;

import java.nio.ByteBuffer;

/**
 * Follows one replica of a coordinator partition (leader or follower) to find its latest complete checkpoint:
 * everything below that checkpoint's begin marker is dead (each live key was written again after it), so the
 * broker deletes the segments below it, on every replica alike since all read the same committed records.
 */
public final class CheckpointScanner {
    private long position;
    private long begin = -1;
    private long beginId = -1;
    private long latestComplete = -1;

    /** The next offset to scan. */
    public long position() {
        return position;
    }

    /** Starts at {@code offset} (the log start, when the scanner is new or the log was trimmed past it). */
    public void seek(long offset) {
        position = Math.max(position, offset);
    }

    /** Scans committed batches read from {@link #position()}. */
    public void scan(ByteBuffer batches) {
        for (RecordBatch b : RecordBatches.split(batches)) {
            for (Record r : b.records()) {
                if (r.offset() < position || r.key() == null || r.key().length == 0) {
                    continue;
                }
                byte type = GroupRecords.type(r.key());
                if (type == GroupRecords.CHECKPOINT_BEGIN) {
                    begin = r.offset();
                    beginId = GroupRecords.markerId(r.value());
                } else if (type == GroupRecords.CHECKPOINT_END && begin >= 0 && beginId >= 0
                        && GroupRecords.markerId(r.value()) == beginId) {
                    latestComplete = begin;   // the end of the checkpoint that began there, written once it all committed
                }
            }
            position = Math.max(position, b.nextOffset());
        }
    }

    /** The begin offset of the latest checkpoint whose end marker was scanned; -1 if none yet. */
    public long latestCheckpoint() {
        return latestComplete;
    }
}
