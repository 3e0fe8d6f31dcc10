package io.rafka.raft;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoppedElectionsTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path current;

    @Test
    void aCandidateWhoseTermAndVoteStayUnreadableForASecondHasStopped() throws Exception {
        Files.writeString(current.resolve("raft-meta"), "");  // what Ratis leaves when the write fails
        StoppedElections elections = new StoppedElections();
        assertFalse(elections.stopped(true, current, 10 * SECOND), "seen once");
        assertFalse(elections.stopped(true, current, 10 * SECOND + SECOND / 2), "not yet a second");
        assertTrue(elections.stopped(true, current, 11 * SECOND));
        assertFalse(elections.stopped(true, current, 11 * SECOND + 1), "told once per stretch");
        assertTrue(elections.stopped(true, current, 12 * SECOND + 1));
    }

    @Test
    void aFollowerOrAReadableFileOrOneCheckInBetweenIsNotAStoppedElection() throws Exception {
        Path meta = current.resolve("raft-meta");
        StoppedElections elections = new StoppedElections();
        assertFalse(elections.stopped(true, current, 0), "no file yet: a group that never voted");
        assertFalse(elections.stopped(true, current, 5 * SECOND));

        Files.writeString(meta, "#\nterm=7\nvotedFor=n1\n");
        assertFalse(elections.stopped(true, current, 10 * SECOND));
        assertFalse(elections.stopped(true, current, 20 * SECOND), "a candidate that stored its vote is electing");

        Files.writeString(meta, "term=");
        assertFalse(elections.stopped(false, current, 30 * SECOND));
        assertFalse(elections.stopped(false, current, 40 * SECOND), "a follower with a lost vote still follows");

        assertFalse(elections.stopped(true, current, 50 * SECOND));
        assertFalse(elections.stopped(false, current, 50 * SECOND + SECOND / 2), "it followed a leader in between");
        assertFalse(elections.stopped(true, current, 51 * SECOND), "so the stretch starts again");
        assertTrue(elections.stopped(true, current, 52 * SECOND));
    }
}
