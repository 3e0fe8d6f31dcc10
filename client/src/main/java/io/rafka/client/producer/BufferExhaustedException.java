package io.rafka.client.producer;

import io.rafka.common.ErrorCode;

/**
 * <pre>{@code
 * producer.send(record).whenComplete((m, e) -> {
 *     if (e instanceof BufferExhaustedException) slowDown();
 * });
 * }</pre>
 *
 * {@code send} waited {@code max.block.ms} for room in {@code buffer.memory} (or for the topic's metadata) and
 * found none: the producer is faster than the cluster takes records. Thrown by {@code send} itself; code BUSY.
 */
public final class BufferExhaustedException extends ProducerException {
    public BufferExhaustedException(String message) {
        super(ErrorCode.BUSY, message);
    }
}
