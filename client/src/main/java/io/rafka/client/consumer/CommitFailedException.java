package io.rafka.client.consumer;

import io.rafka.common.ErrorCode;

/**
 * A commit the group's coordinator refused because this consumer is no longer the partitions' owner: it was
 * fenced (it missed its session, {@code FENCED_MEMBER_EPOCH} / {@code UNKNOWN_MEMBER_ID}) or the partition moved
 * ({@code PARTITION_NOT_OWNED}). The records since the last successful commit may be read again by the new owner;
 * the consumer rejoins on its next poll.
 *
 * <pre>{@code
 * try { consumer.commitSync(); } catch (CommitFailedException e) { log.warn("processed records may be redelivered", e); }
 * }</pre>
 */
public final class CommitFailedException extends ConsumerException {
    CommitFailedException(ErrorCode errorCode, String message, Throwable cause) {
        super(errorCode, errorCode.name(), message, cause);
    }
}
