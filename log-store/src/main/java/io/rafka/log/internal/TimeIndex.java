package io.rafka.log.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The sparse time index of a segment ({@code .timeindex}): 12-byte entries of 8-byte timestamp and 4-byte
 * offset relative to the segment's base offset. An entry {@code (t, o)} says the largest timestamp in the
 * segment up to and including offset {@code o} is {@code t}; timestamps strictly increase from entry to
 * entry. One slot is kept free so the final entry can always be written when the segment is rolled.
 * Byte-compatible with Kafka's {@code TimeIndex}. See {@link AbstractIndex} for crash and thread rules.
 */
public final class TimeIndex extends AbstractIndex {
    public static final int ENTRY_SIZE = 12;

    public TimeIndex(Path file, long baseOffset, int maxIndexSize, boolean writable) throws IOException {
        super(file, baseOffset, maxIndexSize, writable, ENTRY_SIZE);
    }

    /** A timestamp and offset; {@code (-1, baseOffset)} stands for "no entry". */
    public record Entry(long timestamp, long offset) {
    }

    @Override
    public boolean isFull() {
        return entries() >= maxEntries() - 1;
    }

    @Override
    protected long key(int n) {
        return mmap().getLong(slot(n));
    }

    public Entry entry(int n) {
        MappedByteBuffer m = mmap();
        return new Entry(m.getLong(slot(n)), baseOffset + m.getInt(slot(n) + 8));
    }

    public Entry lastEntry() {
        int n = entries();
        return n == 0 ? new Entry(-1L, baseOffset) : entry(n - 1);
    }

    /** The entry with the largest timestamp at most {@code timestamp}, or {@code (-1, baseOffset)}. */
    public Entry lookup(long timestamp) {
        int n = entries();
        int i = largestLowerBound(timestamp, n);
        return i < 0 ? new Entry(-1L, baseOffset) : entry(i);
    }

    /**
     * Appends {@code (timestamp, offset)} if the timestamp is larger than the last entry's (or than -1 when
     * there is none).
     *
     * @param skipFullCheck true only for the final entry written when the segment is rolled
     */
    public void maybeAppend(long timestamp, long offset, boolean skipFullCheck) throws IOException {
        ensureWritable();
        int n = entries();
        if (n >= maxEntries() || (!skipFullCheck && isFull())) {
            throw new IllegalStateException("time index " + file() + " is full");
        }
        Entry last = lastEntry();
        if (n > 0 && offset < last.offset()) {
            throw new IllegalStateException("offset " + offset + " is smaller than the last indexed offset "
                    + last.offset() + " in " + file());
        }
        if (n > 0 && timestamp < last.timestamp()) {
            throw new IllegalStateException("timestamp " + timestamp + " is smaller than the last indexed timestamp "
                    + last.timestamp() + " in " + file());
        }
        if (timestamp <= last.timestamp()) {
            // Nothing newer to record. With no entries the last is (-1, baseOffset), so batches without
            // timestamps add no entry, as in Kafka (and none whose offset would not fit the segment).
            return;
        }
        long relative = offset - baseOffset;
        if (relative < 0 || relative > Integer.MAX_VALUE) {
            throw new IllegalStateException("offset " + offset + " does not fit segment " + baseOffset);
        }
        writeEntry(n, ByteBuffer.allocate(ENTRY_SIZE).putLong(timestamp).putInt((int) relative).flip());
        publishEntry();
    }

    /** Removes every entry whose offset is at least {@code offset}. */
    public void truncateTo(long offset) {
        int n = entries();
        int keep = n;
        while (keep > 0 && entry(keep - 1).offset() >= offset) {
            keep--;
        }
        truncateEntries(keep);
    }

    @Override
    public void sanityCheck() {
        int n = entries();
        if (n == 0) {
            return;
        }
        Entry first = entry(0);
        Entry last = entry(n - 1);
        if (last.timestamp() < first.timestamp() || last.offset() < baseOffset || first.offset() < baseOffset
                || last.offset() < first.offset() || (n > 1 && last.timestamp() == first.timestamp())) {
            throw new CorruptIndexException("corrupt time index " + file() + ": " + n + " entries, first "
                    + first + ", last " + last + ", base offset " + baseOffset);
        }
    }
}
