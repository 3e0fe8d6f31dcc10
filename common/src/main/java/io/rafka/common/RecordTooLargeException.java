package io.rafka.common;

/** A record batch is larger than the configured limit. */
public class RecordTooLargeException extends RafkaException {
    public RecordTooLargeException(String message) {
        super(ErrorCode.RECORD_TOO_LARGE, message);
    }

    public RecordTooLargeException(String message, Throwable cause) {
        super(ErrorCode.RECORD_TOO_LARGE, message, cause);
    }
}
