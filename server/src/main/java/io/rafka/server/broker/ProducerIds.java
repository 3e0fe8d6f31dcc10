package io.rafka.server.broker;

import io.rafka.controller.ControllerLogic;

/**
 * Hands out producer ids for idempotent producers (InitProducerId), from a block of ids the controller reserved
 * for this broker through the metadata log ({@link TopicAdmin#allocateProducerIds}). Blocks never overlap and the
 * next free id is part of the metadata image (and its snapshots), so ids are unique across brokers and restarts;
 * ids left in a block when the broker stops are skipped, never reused. Every new producer gets epoch 0.
 *
 * <p>Thread-safe. A caller that finds the block used up reserves the next one while holding the lock (one
 * metadata write per {@value ControllerLogic#PRODUCER_ID_BLOCK_SIZE} producers), so concurrent callers wait for
 * it rather than each reserving a block of its own.
 */
public final class ProducerIds {
    private final TopicAdmin admin;
    private long next;
    private long blockEnd;

    /** A producer id with its epoch. */
    public record ProducerIdAndEpoch(long producerId, short epoch) {
    }

    public ProducerIds(TopicAdmin admin) {
        this.admin = admin;
    }

    /**
     * The next unused producer id.
     *
     * @throws io.rafka.common.RafkaException NOT_CONTROLLER or REQUEST_TIMED_OUT (retriable) when a new block
     *         was needed and the controller could not reserve it
     */
    public synchronized ProducerIdAndEpoch next() {
        if (next >= blockEnd) {
            if (!admin.registered()) {
                // The controller reserves blocks for registered brokers only, and refuses others with INVALID_REQUEST,
                // which a producer takes as final: a broker that serves before its registration is seen says retry.
                throw new io.rafka.common.NotControllerException("broker " + admin.brokerId()
                        + " has not registered with the controller yet: retry", null);
            }
            long first = admin.allocateProducerIds(admin.brokerId(), false);
            next = first;
            blockEnd = first + ControllerLogic.PRODUCER_ID_BLOCK_SIZE;
        }
        return new ProducerIdAndEpoch(next++, (short) 0);
    }
}
