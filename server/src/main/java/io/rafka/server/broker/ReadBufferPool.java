package io.rafka.server.broker;

import io.rafka.log.ReadBuffers;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Arrays that fetches read partition data into, kept for later fetches once an answer has been written.
 *
 * <p>A fetch reads up to a partition's max bytes (1 MiB from most consumers) per partition into a heap buffer
 * that the answer then shares without a copy. A new array per read is zeroed by the JVM before the file's bytes
 * overwrite it: on a broker serving one consumer that zeroing was 17 % of its CPU samples, more than any copy
 * (docs/BENCHMARKS.md, "The fetch path's new arrays"). Reads of at least {@link #MIN_POOLED} bytes take an
 * array of the next power of two from here instead; smaller ones, and ones above {@link #MAX_POOLED}, get a new
 * buffer as before.
 *
 * <p>Arrays are only borrowed through a {@link Lease}, one per answer, and go back when its owner calls
 * {@link Lease#release()}, which it must do only once nothing refers to the data any more (for a gRPC answer:
 * once {@code onNext} has returned, since grpc-java serializes a message into its transport buffers within that
 * call). A lease never released costs nothing but the reuse: its arrays are garbage as usual. At most
 * {@code capacity} bytes of free arrays are kept; the arrays in use are bounded by the fetch limits, not here.
 */
public final class ReadBufferPool {
    static final int MIN_POOLED = 64 * 1024;
    static final int MAX_POOLED = 16 * 1024 * 1024;
    private static final int MIN_SHIFT = Integer.numberOfTrailingZeros(MIN_POOLED);
    private static final int MAX_SHIFT = Integer.numberOfTrailingZeros(MAX_POOLED);

    private final long capacity;
    private final AtomicLong kept = new AtomicLong();
    private final AtomicLong reused = new AtomicLong();
    private final AtomicLong created = new AtomicLong();
    private final List<ConcurrentLinkedQueue<byte[]>> free = new ArrayList<>();

    /** A pool keeping at most {@code capacity} bytes of free arrays; 0 turns reuse off. */
    public ReadBufferPool(long capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must not be negative: " + capacity);
        }
        this.capacity = capacity;
        for (int shift = MIN_SHIFT; shift <= MAX_SHIFT; shift++) {
            free.add(new ConcurrentLinkedQueue<>());
        }
    }

    /** Buffers for one answer. */
    public Lease lease() {
        return new Lease();
    }

    /** Bytes of free arrays kept for reuse now. */
    public long keptBytes() {
        return kept.get();
    }

    /** Pooled-size reads that reused a kept array since the start. */
    public long reusedCount() {
        return reused.get();
    }

    /** Pooled-size reads that needed a new array since the start. */
    public long createdCount() {
        return created.get();
    }

    /** Index into {@link #free} of the smallest class holding {@code size} bytes; -1 if not pooled. */
    private static int sizeClass(int size) {
        if (size < MIN_POOLED || size > MAX_POOLED) {
            return -1;
        }
        int shift = 32 - Integer.numberOfLeadingZeros(size - 1);
        return shift - MIN_SHIFT;
    }

    private byte[] take(int sizeClass) {
        byte[] array = free.get(sizeClass).poll();
        if (array != null) {
            kept.addAndGet(-array.length);
            reused.incrementAndGet();
            return array;
        }
        created.incrementAndGet();
        return new byte[1 << (sizeClass + MIN_SHIFT)];
    }

    private void give(byte[] array) {
        int sizeClass = sizeClass(array.length);
        if (sizeClass < 0 || array.length != 1 << (sizeClass + MIN_SHIFT)) {
            throw new IllegalArgumentException("not an array of this pool: " + array.length + " bytes");
        }
        while (true) {
            long k = kept.get();
            if (k + array.length > capacity) {
                return; // enough kept: this one is garbage
            }
            if (kept.compareAndSet(k, k + array.length)) {
                free.get(sizeClass).offer(array);
                return;
            }
        }
    }

    /** The buffers of one answer; its owner releases them all at once when the answer is written. */
    public final class Lease implements ReadBuffers {
        private final List<byte[]> borrowed = new ArrayList<>(4);

        @Override
        public synchronized ByteBuffer allocate(int size) {
            int sizeClass = sizeClass(size);
            if (sizeClass < 0) {
                return ByteBuffer.allocate(size);
            }
            byte[] array = take(sizeClass);
            borrowed.add(array);
            return ByteBuffer.wrap(array, 0, size);
        }

        /**
         * Gives every array borrowed so far back to the pool: the caller guarantees that nothing reads or keeps
         * the data read into them any more. The lease may borrow again afterwards.
         */
        public synchronized void release() {
            for (byte[] array : borrowed) {
                give(array);
            }
            borrowed.clear();
        }
    }
}
