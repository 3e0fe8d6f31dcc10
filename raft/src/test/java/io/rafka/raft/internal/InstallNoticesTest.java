package io.rafka.raft.internal;

import org.apache.ratis.protocol.RaftGroupId;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InstallNoticesTest {
    private final InstallNotices notices = new InstallNotices();
    private final RaftGroupId a = RaftGroupId.randomId();
    private final RaftGroupId b = RaftGroupId.randomId();

    @Test
    void aNoticeCountsOnlyIfItsLeadersLogStartsAtOrBelowTheIndexAsked() {
        assertEquals(0, notices.lastAtOrBelow(a, 1), "no notice yet");
        long before = System.nanoTime();
        notices.received(a, 1);
        long at = notices.lastAtOrBelow(a, 1);
        assertNotEquals(0, at);
        assertTrue(at - before >= 0, "stamped when it arrived");
        assertEquals(0, notices.lastAtOrBelow(b, 1), "per group");

        notices.received(a, 300);  // the latest notice replaces the one before
        assertEquals(0, notices.lastAtOrBelow(a, 1), "a leader whose log starts past index 1");
        assertNotEquals(0, notices.lastAtOrBelow(a, 300));
    }

    @Test
    void noticesOlderThanTheCutOffAreDropped() throws InterruptedException {
        notices.received(a, 1);
        Thread.sleep(2);
        long cutOff = System.nanoTime();
        Thread.sleep(2);
        notices.received(b, 1);
        notices.dropOlderThan(cutOff);
        assertEquals(0, notices.lastAtOrBelow(a, 1), "older: dropped");
        assertNotEquals(0, notices.lastAtOrBelow(b, 1), "newer: kept");
    }
}
