package io.rafka.server.broker;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryPoolTest {
    @Test
    void refusesWhatDoesNotFitButAlwaysAdmitsOneRequestWhenEmpty() {
        MemoryPool pool = new MemoryPool(100);
        assertTrue(pool.tryReserve(60));
        assertFalse(pool.tryReserve(50), "60 + 50 > 100");
        assertTrue(pool.tryReserve(40));
        assertEquals(100, pool.used());
        pool.release(100);
        assertTrue(pool.tryReserve(500), "a single oversized reservation passes on an empty pool");
        assertFalse(pool.tryReserve(1));
        pool.release(500);
        assertEquals(0, pool.used());
        assertThrows(IllegalStateException.class, () -> pool.release(1));
    }
}
