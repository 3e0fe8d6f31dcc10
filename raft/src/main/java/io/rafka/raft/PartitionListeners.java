package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.PartitionEvents;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The {@link PartitionListener}s of one node, and the per-partition events its state machines raise,
 * fanned out to them. A listener that throws is logged and skipped: it must never break a Ratis thread.
 * Thread-safe.
 */
final class PartitionListeners {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionListeners.class);

    private final List<PartitionListener> listeners = new CopyOnWriteArrayList<>();

    void add(PartitionListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    /** The events of {@code tp}'s state machine, as the listeners hear them. */
    PartitionEvents forPartition(TopicPartition tp) {
        return new PartitionEvents() {
            @Override
            public void leaderReady() {
                tell(tp, l -> l.onLeader(tp));
            }

            @Override
            public void notLeader() {
                tell(tp, l -> l.onResign(tp));
            }

            @Override
            public void committed() {
                tell(tp, l -> l.onCommittedAppend(tp));
            }
        };
    }

    private void tell(TopicPartition tp, Consumer<PartitionListener> event) {
        for (PartitionListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                LOG.warn("{}: partition listener failed", tp, e);
            }
        }
    }
}
