package io.rafka.raft.internal;

/** What a partition's state machine tells its node, on Ratis's threads: handlers are quick and never block. */
public interface PartitionEvents {
    /** This replica leads and accepts appends. */
    void leaderReady();

    /** This replica stopped leading. */
    void notLeader();

    /** Records were committed (the high watermark moved). */
    void committed();

    /** The group applied a HIBERNATE entry at {@code index}: this replica may close ({@link Hibernation}). */
    default void hibernateApplied(long term, long index) {
    }

    /**
     * Ratis's log of this replica failed to write or sync (a full disk, an I/O error): it refuses every later entry
     * until the division is reopened ({@link Hibernation} does that). Called for the first failure of a division.
     */
    default void logFailed(Throwable cause) {
    }
}
