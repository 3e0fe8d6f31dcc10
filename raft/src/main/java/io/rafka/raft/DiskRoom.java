package io.rafka.raft;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Room on the disk of a data folder, as Raft members whose log failed to write (a full disk) see it before they open
 * again: a member opened on a disk without room fails in its first writes, and Ratis keeps the storage lock of a
 * member whose start failed, so it waits for {@link #REOPEN_MIN_FREE_BYTES} instead.
 */
public final class DiskRoom {
    /** Free bytes a member whose Raft log failed to write waits for before it opens again. */
    public static final long REOPEN_MIN_FREE_BYTES = 32L << 20;

    /**
     * How long a member whose log failed stays closed at least after its first failure: doubled for each failure that
     * follows its last reopen within {@link #FAILURES_IN_A_ROW_NANOS}, up to {@link #MAX_REOPEN_DELAY_NANOS}. A disk
     * freed a moment after it filled gets its members back in a second or two; a disk that fails every write with
     * room to spare is not tried every second.
     */
    public static final long FIRST_REOPEN_DELAY_NANOS = TimeUnit.SECONDS.toNanos(1);
    public static final long MAX_REOPEN_DELAY_NANOS = TimeUnit.SECONDS.toNanos(60);
    public static final long FAILURES_IN_A_ROW_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private DiskRoom() {
    }

    /**
     * Bytes this process may still write to {@code dir}'s file system: for root, the blocks ext4 reserves for it
     * count too (root fills those before its writes fail). Long.MAX_VALUE if that cannot be told.
     */
    public static long usableBytes(Path dir) {
        try {
            FileStore store = Files.getFileStore(dir);
            return ROOT ? store.getUnallocatedSpace() : store.getUsableSpace();
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * The failures in a row a member's latest one makes: 0 for a first, one more than {@code before} if it failed
     * within {@link #FAILURES_IN_A_ROW_NANOS} of its last reopen ({@code reopenedNanos}, System.nanoTime; 0: never).
     */
    public static int failuresInARow(int before, long reopenedNanos, long failedNanos) {
        boolean soonAgain = reopenedNanos != 0 && failedNanos - reopenedNanos < FAILURES_IN_A_ROW_NANOS;
        return soonAgain ? before + 1 : 0;
    }

    /** How long a member whose log failed stays closed after failure number {@code inARow} + 1 in a row. */
    public static long reopenDelayNanos(int inARow) {
        return Math.min(FIRST_REOPEN_DELAY_NANOS << Math.min(inARow, 20), MAX_REOPEN_DELAY_NANOS);
    }

    /** Whether {@code dir}'s disk has room for a member whose log failed to open again. */
    public static boolean roomToReopen(Path dir) {
        return usableBytes(dir) >= REOPEN_MIN_FREE_BYTES;
    }
}
