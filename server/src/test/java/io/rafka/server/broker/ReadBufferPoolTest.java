package io.rafka.server.broker;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ReadBufferPoolTest {
    private static final int MIB = 1024 * 1024;

    @Test
    void anArrayComesBackOnlyAfterItsLeaseIsReleased() {
        ReadBufferPool pool = new ReadBufferPool(8 * MIB);
        ReadBufferPool.Lease first = pool.lease();
        ByteBuffer a = first.allocate(700 * 1024);
        assertEquals(0, a.position());
        assertEquals(700 * 1024, a.limit());
        assertEquals(MIB, a.capacity(), "the next power of two");

        ReadBufferPool.Lease second = pool.lease();
        ByteBuffer b = second.allocate(MIB);
        assertNotSame(a.array(), b.array(), "not released yet: a new array");

        first.release();
        assertEquals(MIB, pool.keptBytes());
        ByteBuffer c = second.allocate(600 * 1024);
        assertSame(a.array(), c.array(), "released: reused");
        assertEquals(600 * 1024, c.limit());
        assertEquals(0, pool.keptBytes());
        assertEquals(1, pool.reusedCount());
        assertEquals(2, pool.createdCount());

        second.release();
        assertEquals(2 * MIB, pool.keptBytes());
        second.release(); // nothing borrowed any more: gives nothing back twice
        assertEquals(2 * MIB, pool.keptBytes());
    }

    @Test
    void smallAndHugeReadsAreNotPooled() {
        ReadBufferPool pool = new ReadBufferPool(64 * MIB);
        ReadBufferPool.Lease lease = pool.lease();
        ByteBuffer small = lease.allocate(ReadBufferPool.MIN_POOLED - 1);
        assertEquals(ReadBufferPool.MIN_POOLED - 1, small.capacity());
        ByteBuffer huge = lease.allocate(ReadBufferPool.MAX_POOLED + 1);
        assertEquals(ReadBufferPool.MAX_POOLED + 1, huge.capacity());
        lease.release();
        assertEquals(0, pool.keptBytes());
        assertEquals(0, pool.createdCount());
        assertEquals(ReadBufferPool.MIN_POOLED, lease.allocate(ReadBufferPool.MIN_POOLED).capacity(), "the smallest class");
        assertEquals(ReadBufferPool.MAX_POOLED, lease.allocate(ReadBufferPool.MAX_POOLED).capacity(), "the largest class");
    }

    @Test
    void keepsAtMostItsCapacity() {
        ReadBufferPool pool = new ReadBufferPool(3 * MIB);
        ReadBufferPool.Lease lease = pool.lease();
        for (int i = 0; i < 5; i++) {
            lease.allocate(MIB);
        }
        lease.release();
        assertEquals(3 * MIB, pool.keptBytes(), "two of five are garbage");

        ReadBufferPool off = new ReadBufferPool(0);
        ReadBufferPool.Lease l = off.lease();
        byte[] array = l.allocate(MIB).array();
        l.release();
        assertNotSame(array, l.allocate(MIB).array(), "capacity 0: nothing is reused");
        assertEquals(0, off.reusedCount());
        assertThrows(IllegalArgumentException.class, () -> new ReadBufferPool(-1));
    }
}
