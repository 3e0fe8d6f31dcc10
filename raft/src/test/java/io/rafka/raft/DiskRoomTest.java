package io.rafka.raft;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The back-off of a Raft member whose log failed: how long it stays closed, by how many failures came in a row. */
class DiskRoomTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void aFirstFailureWaitsASecondAndEachOneInARowTwiceAsLongUpToAMinute() {
        assertEquals(SECOND, DiskRoom.reopenDelayNanos(0));
        assertEquals(2 * SECOND, DiskRoom.reopenDelayNanos(1));
        assertEquals(32 * SECOND, DiskRoom.reopenDelayNanos(5));
        assertEquals(60 * SECOND, DiskRoom.reopenDelayNanos(6));
        assertEquals(60 * SECOND, DiskRoom.reopenDelayNanos(Integer.MAX_VALUE), "no overflow");
    }

    @Test
    void aFailureCountsInARowOnlyWithinAMinuteOfTheLastReopen() {
        long t = 1_000 * SECOND;  // System.nanoTime may be any value, negative too
        for (long origin : new long[] {t, -t}) {
            assertEquals(0, DiskRoom.failuresInARow(3, 0, origin), "never reopened: a first failure");
            assertEquals(4, DiskRoom.failuresInARow(3, origin, origin + 59 * SECOND));
            assertEquals(0, DiskRoom.failuresInARow(3, origin, origin + 61 * SECOND), "a minute without failing starts over");
        }
    }
}
