package io.rafka.log.internal;

import java.io.Closeable;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A memory-mapped file of fixed-size entries sorted by key, as Kafka's sparse indexes are.
 *
 * <p><b>File:</b> entries back to back, big-endian, no header. While a segment is active the file is
 * preallocated to {@code maxIndexSize} (zero-filled) and the valid entry count lives in memory; when
 * the segment is rolled or closed the file is trimmed to the valid entries, so a cleanly closed index
 * holds nothing but entries and its length tells their count.
 *
 * <p><b>Crashes:</b> an index is never trusted after an unclean shutdown for the segments after the
 * recovery point; those are rebuilt from the log. {@link #sanityCheck()} catches the untrimmed,
 * zero-filled tail a crash leaves behind.
 *
 * <p><b>Writes</b> go through a file channel ({@code pwrite}), not through the mapping, which only reads (Linux keeps the
 * two coherent: both are the file's page cache). The file is sparse until written, and a page of a mapping that the
 * file system cannot back (a full disk) faults: the JVM turns that SIGBUS into an {@link InternalError} that may
 * surface instructions or calls later, anywhere on the thread, even between a lock's acquisition and the
 * {@code try} that would release it (seen: a partition log's lock held for good, its node's close hung). A
 * positional write fails at once with an {@link IOException} instead. Reads touch only written entries.
 *
 * <p><b>Threads:</b> one writer; readers may look up concurrently. The writer publishes an entry by
 * writing it and then incrementing the volatile {@code entries}; readers read only below that count,
 * and the file is never shortened below the valid entries, so a reader never touches an unmapped or
 * truncated page. Mappings are released by the garbage collector, not unmapped by hand, which is what
 * makes concurrent readers safe without a lock.
 */
abstract class AbstractIndex implements Closeable {
    protected final long baseOffset;
    private final int entrySize;
    private final Path file;
    private volatile MappedByteBuffer mmap;
    private volatile int entries;
    private int maxEntries;
    private boolean writable;
    /** Open while writable: where entries are written. */
    private FileChannel writer;

    AbstractIndex(Path file, long baseOffset, int maxIndexSize, boolean writable, int entrySize) throws IOException {
        this.file = file;
        this.baseOffset = baseOffset;
        this.entrySize = entrySize;
        boolean exists = Files.exists(file);
        if (!exists && !writable) {
            throw new IOException("index file " + file + " does not exist");
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), writable ? "rw" : "r")) {
            long length = raf.length();
            int existingEntries = (int) Math.min(length / entrySize, Integer.MAX_VALUE / entrySize);
            long mapSize;
            if (writable) {
                mapSize = Math.max(roundDown(maxIndexSize), (long) existingEntries * entrySize);
                raf.setLength(mapSize);
            } else {
                mapSize = (long) existingEntries * entrySize;
            }
            this.mmap = raf.getChannel().map(FileChannel.MapMode.READ_ONLY, 0, mapSize);
            this.entries = existingEntries;
            this.maxEntries = (int) (mapSize / entrySize);
            this.writable = writable;
        }
        if (writable) {
            writer = FileChannel.open(file, StandardOpenOption.WRITE);
        }
    }

    private long roundDown(int size) {
        return (long) (size / entrySize) * entrySize;
    }

    public Path file() {
        return file;
    }

    public int entries() {
        return entries;
    }

    public int maxEntries() {
        return maxEntries;
    }

    public boolean isFull() {
        return entries >= maxEntries;
    }

    public long sizeInBytes() {
        return (long) entries * entrySize;
    }

    /** Checks the cheap invariants of a loaded index; throws {@link CorruptIndexException} if broken. */
    public abstract void sanityCheck();

    protected MappedByteBuffer mmap() {
        return mmap;
    }

    protected int slot(int n) {
        return n * entrySize;
    }

    protected void ensureWritable() {
        if (!writable) {
            throw new IllegalStateException("index " + file + " is not writable");
        }
    }

    /** Writes entry {@code n} (its whole {@code bytes}) into the file; see the class comment for why not through the mapping. */
    protected void writeEntry(int n, ByteBuffer bytes) throws IOException {
        long position = slot(n);
        while (bytes.hasRemaining()) {
            position += writer.write(bytes, position);
        }
    }

    /** Publishes the entry just written at slot {@code entries}. */
    protected void publishEntry() {
        entries = entries + 1;
    }

    protected void truncateEntries(int n) {
        if (n < 0 || n > entries) {
            throw new IllegalStateException("cannot truncate " + entries + " entries to " + n);
        }
        entries = n;
    }

    /**
     * Binary search: the index of the last entry whose key is at most {@code target}, or -1 if every
     * entry's key is larger. Keys must be non-decreasing.
     */
    protected int largestLowerBound(long target, int count) {
        int lo = 0;
        int hi = count - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (key(mid) <= target) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** The sort key of entry {@code n}. */
    protected abstract long key(int n);

    /** Makes the index writable again with room for {@code maxIndexSize} bytes (when a segment becomes active again). */
    public synchronized void resize(int maxIndexSize) throws IOException {
        if (writer == null) {
            writer = FileChannel.open(file, StandardOpenOption.WRITE);
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            long size = Math.max(roundDown(maxIndexSize), sizeInBytes());
            raf.setLength(size);
            mmap = raf.getChannel().map(FileChannel.MapMode.READ_ONLY, 0, size);
            maxEntries = (int) (size / entrySize);
            writable = true;
        }
    }

    /** Shrinks the file to the valid entries; afterwards the index is full and read-only. */
    public synchronized void trimToValidSize() throws IOException {
        if (!writable) {
            return;
        }
        if (Files.exists(file)) {
            writer.truncate(sizeInBytes());
            writer.force(true);
        }
        closeWriter();
        maxEntries = entries;
        writable = false;
    }

    public synchronized void flush() throws IOException {
        if (writable && writer != null) {
            writer.force(false);
        }
    }

    /**
     * Closes what writes the file, without a flush or a trim (the segment is being deleted, or its index dropped for a
     * rebuild); the mapping stays for readers that hold it.
     */
    public synchronized void release() {
        writable = false;
        try {
            closeWriter();
        } catch (IOException e) {
            // nothing more to release
        }
    }

    private void closeWriter() throws IOException {
        FileChannel w = writer;
        writer = null;
        if (w != null) {
            w.close();
        }
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            flush();
            trimToValidSize();
        } finally {
            writable = false;  // a failed flush or trim leaves it untrimmed, as a crash would (recovery rebuilds it)
            closeWriter();
        }
    }
}
