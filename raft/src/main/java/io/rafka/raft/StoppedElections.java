package io.rafka.raft;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Tells a Raft member whose election stopped for good. Ratis ends an election whose new term and vote fail to write (a
 * full disk: {@code LeaderElection: Failed ... No space left on device}) and starts none after it, so the member stays a
 * candidate: it votes, but never stands again until a leader of a newer term reaches it. With the longest log of its
 * group no other member can win its vote meanwhile, and the group has no leader (the chaos suite's full fault: 25 s,
 * until the dead leader came back). Its owner closes it like a member whose log failed, and it opens again, its term
 * and vote restored ({@link RaftLogRepair#repairMetadata}), once its disk has room.
 *
 * <p>A candidate writes its term and vote before it asks for votes, and Ratis leaves that file unreadable when the write
 * fails ({@link RaftLogRepair#termAndVoteLost}), so a candidate with an unreadable file has no election running. Seen on
 * two checks at least a second apart, so a candidate about to rewrite a file an earlier failure emptied is not taken
 * for one. One instance per member; checks come from one thread at a time.
 */
public final class StoppedElections {
    private static final long CONFIRM_NANOS = TimeUnit.SECONDS.toNanos(1);

    private long seenSinceNanos;

    /**
     * Whether the member's election has stopped: it is a {@code candidate} and the term and vote in its log folder
     * {@code current} have been unreadable since a check at least a second before this one ({@code nowNanos},
     * System.nanoTime). True once per such stretch.
     */
    public synchronized boolean stopped(boolean candidate, Path current, long nowNanos) {
        if (!candidate || !RaftLogRepair.termAndVoteLost(current)) {
            seenSinceNanos = 0;
            return false;
        }
        if (seenSinceNanos == 0) {
            seenSinceNanos = nowNanos;
            return false;
        }
        if (nowNanos - seenSinceNanos < CONFIRM_NANOS) {
            return false;
        }
        seenSinceNanos = 0;
        return true;
    }
}
