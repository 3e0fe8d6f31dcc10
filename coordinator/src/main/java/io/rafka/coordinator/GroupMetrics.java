package io.rafka.coordinator;

import java.util.concurrent.atomic.LongAdder;

/** What the coordinator counts, read by the broker's metrics endpoint. */
public final class GroupMetrics {
    final LongAdder rebalances = new LongAdder();
    final LongAdder rebalanceMillis = new LongAdder();
    final LongAdder commits = new LongAdder();
    final LongAdder fencedMembers = new LongAdder();
    volatile int groups;
    volatile int members;

    /** Rebalances completed (every member at its target) since start. */
    public long rebalances() {
        return rebalances.sum();
    }

    /** Summed duration of those rebalances, from the epoch change to the last member reaching its target. */
    public long rebalanceMillis() {
        return rebalanceMillis.sum();
    }

    public long commits() {
        return commits.sum();
    }

    /** Members removed by the coordinator: session timeout, broken stream, release not in time. */
    public long fencedMembers() {
        return fencedMembers.sum();
    }

    /** Groups coordinated here now. */
    public int groups() {
        return groups;
    }

    /** Members of the groups coordinated here now. */
    public int members() {
        return members;
    }
}
