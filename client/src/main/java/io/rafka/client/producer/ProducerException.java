package io.rafka.client.producer;

import io.rafka.common.ErrorCode;

/**
 * <pre>{@code
 * producer.send(record).exceptionally(e -> {
 *     if (e.getCause() instanceof ProducerException p && !p.retriable()) log.error("refused: {}", p.errorCode());
 *     return null;
 * });
 * }</pre>
 *
 * Why a record was not delivered (the future or callback of {@code send} gets it), with the broker's
 * {@link ErrorCode}: for example RECORD_TOO_LARGE or INVALID_TOPIC (fatal for that record, the producer keeps
 * working), or, when retries ran out within {@code delivery.timeout.ms}, the last retriable error
 * (NOT_LEADER, REQUEST_TIMED_OUT, ...): a retriable code means the record may still have been written.
 */
public class ProducerException extends RuntimeException {
    private final ErrorCode errorCode;
    private final String detail;

    public ProducerException(ErrorCode errorCode, String message) {
        this(errorCode, message, null);
    }

    public ProducerException(ErrorCode errorCode, String message, Throwable cause) {
        super(errorCode + ": " + message, cause);
        this.errorCode = errorCode;
        this.detail = message;
    }

    /** The message without the code in front. */
    public String detail() {
        return detail;
    }

    public ErrorCode errorCode() {
        return errorCode;
    }

    /** Whether sending the same record again may succeed. */
    public boolean retriable() {
        return errorCode.retriable();
    }
}
