package io.rafka.raft.internal;

import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Group commit at a partition's leader: the appends of one partition waiting to be handed to Ratis, sent as
 * few Raft entries as possible. Each Raft entry costs the same thread hand-offs, log writes and replies on
 * every replica whatever it carries, so while {@code maxEntriesInFlight} entries of the partition await
 * commit, further appends wait here and then leave together as one entry (up to {@link #MAX_PARTS} appends
 * and the bytes one entry holds), each keeping its own verdict and offsets ({@link PendingEntry}).
 *
 * <p>Order: one drain at a time hands entries over, each only after Ratis took the previous one, so appends
 * enter the Raft log in the order they were added. An append answered meanwhile (its timeout ran out while
 * it waited) is dropped, never appended. Thread-safe.
 */
final class AppendQueue {
    /** Most appends in one entry: bounds the entry header (56 bytes per append) and per-entry work. */
    static final int MAX_PARTS = 64;

    /** An append and its caller's answer. */
    record Waiting(PendingAppend append, CompletableFuture<AppendReply> reply) {
    }

    /** Hands entries to the partition's Raft group: the partition appender. */
    interface Sender {
        Executor executor();

        int maxEntriesInFlight();

        /** Largest entry: header plus batches. */
        int maxEntryBytes();

        /**
         * Hands the entry to Ratis, returning once Ratis took it; the future completes with one reply per
         * append, or fails for all of them.
         */
        CompletableFuture<List<AppendReply>> send(PendingEntry entry);
    }

    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private int entriesInFlight;
    /** Whether a drain task is scheduled or running. */
    private boolean draining;

    void add(Waiting w, Sender sender) {
        synchronized (this) {
            waiting.addLast(w);
            if (!startDrain(sender)) {
                return;
            }
        }
        schedule(sender);
    }

    /** Appends waiting to be handed over (a gauge). */
    synchronized int waiting() {
        return waiting.size();
    }

    /** Whether a drain should start now; if so marks it started. Under the monitor. */
    private boolean startDrain(Sender sender) {
        if (draining || waiting.isEmpty() || entriesInFlight >= sender.maxEntriesInFlight()) {
            return false;
        }
        draining = true;
        return true;
    }

    private void schedule(Sender sender) {
        try {
            sender.executor().execute(() -> drain(sender));
        } catch (RejectedExecutionException e) {
            List<Waiting> dropped;
            synchronized (this) {
                draining = false;
                dropped = new ArrayList<>(waiting);
                waiting.clear();
            }
            dropped.forEach(w -> w.reply.completeExceptionally(e));
        }
    }

    private void drain(Sender sender) {
        List<Waiting> group;
        synchronized (this) {
            group = takeGroup(sender.maxEntryBytes());
            if (!group.isEmpty()) {
                entriesInFlight++;
            }
        }
        if (!group.isEmpty()) {
            send(group, sender);
        }
        synchronized (this) {
            draining = false;
            if (!startDrain(sender)) {
                return;
            }
        }
        schedule(sender);
    }

    /** The oldest waiting appends that fit one entry; at least one if any waits. Under the monitor. */
    private List<Waiting> takeGroup(int maxEntryBytes) {
        List<Waiting> group = new ArrayList<>();
        long bytes = EntryHeader.GROUP_HEADER;
        while (!waiting.isEmpty() && group.size() < MAX_PARTS) {
            Waiting next = waiting.peekFirst();
            if (next.reply.isDone()) {
                waiting.pollFirst();  // answered (timed out) while it waited: not appended at all
                continue;
            }
            long partBytes = DataEntry.SIZE + next.append.data.length;
            if (!group.isEmpty() && bytes + partBytes > maxEntryBytes) {
                break;
            }
            group.add(waiting.pollFirst());
            bytes += partBytes;
        }
        return group;
    }

    private void send(List<Waiting> group, Sender sender) {
        CompletableFuture<List<AppendReply>> replies;
        try {
            replies = sender.send(PendingEntry.of(group.stream().map(Waiting::append).toList()));
        } catch (RuntimeException e) {
            replies = CompletableFuture.failedFuture(e);
        }
        replies.whenComplete((r, e) -> {
            boolean drainNow;
            synchronized (this) {
                entriesInFlight--;
                drainNow = startDrain(sender);
            }
            if (drainNow) {
                schedule(sender);
            }
            answer(group, r, e);
        });
    }

    private static void answer(List<Waiting> group, List<AppendReply> replies, Throwable error) {
        if (error == null && replies.size() != group.size()) {
            error = new IllegalStateException(replies.size() + " replies to an entry of " + group.size() + " appends");
        }
        for (int i = 0; i < group.size(); i++) {
            if (error != null) {
                group.get(i).reply.completeExceptionally(error);
            } else {
                group.get(i).reply.complete(replies.get(i));
            }
        }
    }
}
