package io.rafka.raft.internal;

import org.apache.ratis.protocol.RaftGroupId;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The install-snapshot notices one server's Raft port passed to Ratis, the latest per group: when it came and the
 * first index its leader still holds. Ratis answers a notice whose first index is at most one past the division's
 * snapshot "already installed" without telling the state machine, so this is the only place a replica can see
 * that its leader keeps asking ({@link Hibernation}'s heal of a replica its leader cannot serve). One entry per
 * group that received a notice; a partition node's {@link Hibernation} drops entries older than a minute
 * ({@link #dropOlderThan}), and the metadata node's, which nothing reads, holds one per group it serves.
 */
public final class InstallNotices {
    private final ConcurrentHashMap<RaftGroupId, Notice> latest = new ConcurrentHashMap<>();

    /** A notice: the first index its leader's log holds, and when it arrived ({@link System#nanoTime}). */
    record Notice(long firstAvailableIndex, long atNanos) {
    }

    void received(RaftGroupId group, long firstAvailableIndex) {
        latest.put(group, new Notice(firstAvailableIndex, System.nanoTime()));
    }

    /** When the latest notice for {@code group} arrived if its leader's log starts at or below {@code index}; 0 if not. */
    long lastAtOrBelow(RaftGroupId group, long index) {
        Notice n = latest.get(group);
        return n != null && n.firstAvailableIndex() <= index ? n.atNanos() : 0;
    }

    void dropOlderThan(long nanos) {
        latest.values().removeIf(n -> n.atNanos() - nanos < 0);
    }
}
