package io.rafka.raft.internal;

import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
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
 * it waited) leaves the queue at once, never appended: its caller's budget is given back at that moment, so its
 * bytes must not stay here (a drain stuck in Ratis would otherwise let the queue grow past every budget).
 * Thread-safe.
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

    /** In arrival order; a set, so that an append answered while it waits leaves in O(1). */
    private final LinkedHashSet<Waiting> waiting = new LinkedHashSet<>();
    private int entriesInFlight;
    /** Whether a drain task is scheduled or running. */
    private boolean draining;

    void add(Waiting w, Sender sender) {
        boolean drain;
        synchronized (this) {
            waiting.add(w);
            drain = startDrain(sender);
        }
        w.reply.whenComplete((r, e) -> dropIfWaiting(w));
        if (drain) {
            schedule(sender);
        }
    }

    /** An append answered before it was handed over (its timeout ran out): not appended, and not kept. */
    private synchronized void dropIfWaiting(Waiting w) {
        waiting.remove(w);
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
        Iterator<Waiting> it = waiting.iterator();
        while (it.hasNext() && group.size() < MAX_PARTS) {
            Waiting next = it.next();
            if (next.reply.isDone()) {
                it.remove();  // answered (timed out) while it waited: not appended at all
                continue;
            }
            long partBytes = DataEntry.SIZE + next.append.data.length;
            if (!group.isEmpty() && bytes + partBytes > maxEntryBytes) {
                break;
            }
            it.remove();
            group.add(next);
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
