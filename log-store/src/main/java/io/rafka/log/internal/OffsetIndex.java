package io.rafka.log.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The sparse offset index of a segment ({@code .index}): 8-byte entries of 4-byte offset relative to the
 * segment's base offset and 4-byte byte position of a batch in the {@code .log} file. An entry
 * {@code (o, p)} says the batch whose last offset is {@code o} starts at position {@code p}, so a lookup
 * for offset {@code t} finds the largest {@code o <= t} and scans forward from {@code p}.
 * Byte-compatible with Kafka's {@code OffsetIndex}. See {@link AbstractIndex} for crash and thread rules.
 */
public final class OffsetIndex extends AbstractIndex {
    public static final int ENTRY_SIZE = 8;

    public OffsetIndex(Path file, long baseOffset, int maxIndexSize, boolean writable) throws IOException {
        super(file, baseOffset, maxIndexSize, writable, ENTRY_SIZE);
    }

    /** Offset and position of an entry; {@code (baseOffset, 0)} stands for "no entry: scan from the start". */
    public record Entry(long offset, int position) {
    }

    @Override
    protected long key(int n) {
        return baseOffset + mmap().getInt(slot(n));
    }

    public Entry entry(int n) {
        MappedByteBuffer m = mmap();
        return new Entry(baseOffset + m.getInt(slot(n)), m.getInt(slot(n) + 4));
    }

    /** The last entry, or {@code (baseOffset, 0)} if there is none. */
    public Entry lastEntry() {
        int n = entries();
        return n == 0 ? new Entry(baseOffset, 0) : entry(n - 1);
    }

    /** The entry with the largest offset at most {@code targetOffset}, or {@code (baseOffset, 0)}. */
    public Entry lookup(long targetOffset) {
        int n = entries();
        int i = largestLowerBound(targetOffset, n);
        return i < 0 ? new Entry(baseOffset, 0) : entry(i);
    }

    public void append(long offset, int position) throws IOException {
        ensureWritable();
        int n = entries();
        if (isFull()) {
            throw new IllegalStateException("offset index " + file() + " is full");
        }
        if (n > 0 && offset <= entry(n - 1).offset()) {
            throw new IllegalStateException("offset " + offset + " is not larger than the last indexed offset "
                    + entry(n - 1).offset() + " in " + file());
        }
        long relative = offset - baseOffset;
        if (relative < 0 || relative > Integer.MAX_VALUE) {
            throw new IllegalStateException("offset " + offset + " does not fit segment " + baseOffset);
        }
        writeEntry(n, ByteBuffer.allocate(ENTRY_SIZE).putInt((int) relative).putInt(position).flip());
        publishEntry();
    }

    /** Removes every entry whose offset is at least {@code offset}. */
    public void truncateTo(long offset) {
        int n = entries();
        int keep = largestLowerBound(offset - 1, n) + 1;
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
        if (first.offset() < baseOffset || last.offset() < first.offset() || (n > 1 && last.offset() <= baseOffset)) {
            throw new CorruptIndexException("corrupt offset index " + file() + ": " + n + " entries, first "
                    + first + ", last " + last + ", base offset " + baseOffset);
        }
        if (last.position() < first.position() || first.position() < 0) {
            throw new CorruptIndexException("corrupt offset index " + file() + ": positions go backwards");
        }
    }
}
