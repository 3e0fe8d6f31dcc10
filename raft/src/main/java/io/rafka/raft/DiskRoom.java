package io.rafka.raft;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Room on the disk of a data folder, as Raft members whose log failed to write (a full disk) see it before they open
 * again: a member opened on a disk without room fails in its first writes, and Ratis keeps the storage lock of a
 * member whose start failed, so it waits for {@link #REOPEN_MIN_FREE_BYTES} instead.
 */
public final class DiskRoom {
    /** Free bytes a member whose Raft log failed to write waits for before it opens again. */
    public static final long REOPEN_MIN_FREE_BYTES = 32L << 20;

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

    /** Whether {@code dir}'s disk has room for a member whose log failed to open again. */
    public static boolean roomToReopen(Path dir) {
        return usableBytes(dir) >= REOPEN_MIN_FREE_BYTES;
    }
}
