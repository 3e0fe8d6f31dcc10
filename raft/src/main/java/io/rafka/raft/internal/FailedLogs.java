package io.rafka.raft.internal;

import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * What a Raft member whose log failed to write (a full disk, an I/O error) must do at once, before Ratis answers the
 * write that failed: stop acknowledging. Ratis keeps the entries it could not write in its cache, and a follower
 * answers SUCCESS when its leader sends them again, so the leader would count an entry that only it has stored as
 * stored on a majority; with the third member down or closed (its disk full too), it committed such entries, and a
 * later leader elected without them lost acknowledged records (found by the chaos suite's full fault, and by
 * {@code FullDiskIT}). A closed division refuses every append ({@code ServerNotReadyException}).
 */
public final class FailedLogs {
    private static final Logger LOG = LoggerFactory.getLogger(FailedLogs.class);
    /** How long the failed write's thread waits for the close to begin (it only moves the division's state). */
    private static final long CLOSING_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private FailedLogs() {
    }

    /**
     * Closes {@code division} unless it leads, and returns once it refuses appends. Ratis tells a state machine of a
     * failed write ({@code notifyLogFailed}) before it fails the write's future, so calling this from there closes
     * the follower before its leader can hear of the failure and send the entries again. A leader is left open: its
     * own acknowledgement counts only for entries it wrote, and its owner hands the leadership over before closing
     * it; once a follower, its first failed write of the next leader's entries calls this again. {@code closing} is
     * set once for the division, so repeated failures close it once, and every caller waits for the close to begin.
     * Closing runs on a thread of its own (Ratis's close waits for the log worker, which may be the caller).
     */
    public static void stopAcknowledging(RaftServer.Division division, AtomicBoolean closing, Object who) {
        if (!closing.get() && division.getInfo().isLeader()) {
            return;
        }
        if (closing.compareAndSet(false, true)) {
            LOG.warn("{}: closing its Raft division at once: with its log failing it must not acknowledge entries it "
                    + "could not write", who);
            Thread closer = new Thread(() -> {
                try {
                    division.close();
                } catch (RuntimeException e) {
                    LOG.warn("{}: closing its Raft division failed", who, e);
                }
            }, "rafka-close-failed-" + division.getMemberId());
            closer.setDaemon(true);
            closer.start();
        }
        // Every caller waits, not only the first: each is about to fail a write of its own, which the leader answers
        // by sending those entries again.
        long deadline = System.nanoTime() + CLOSING_WAIT_NANOS;
        while (!division.getInfo().getLifeCycleState().isClosingOrClosed()) {
            if (System.nanoTime() > deadline) {
                LOG.warn("{}: its Raft division is still not closing after a second", who);
                return;
            }
            LockSupport.parkNanos(50_000);
        }
    }
}
