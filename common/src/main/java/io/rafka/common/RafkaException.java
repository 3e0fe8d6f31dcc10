package io.rafka.common;

/**
 * Base of every typed Rafka error. Each carries the {@link ErrorCode} that the API reports for it,
 * so the mapping to wire errors happens in one place per side.
 */
public class RafkaException extends RuntimeException {
    private final ErrorCode errorCode;

    public RafkaException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode;
    }

    public RafkaException(ErrorCode errorCode, String message, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
    }

    public ErrorCode errorCode() {
        return errorCode;
    }

    public boolean retriable() {
        return errorCode.retriable();
    }
}
