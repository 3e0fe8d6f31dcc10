package io.rafka.common;

/** A record batch is well-formed but breaks a rule (offset deltas, counts, timestamps, control batches). */
public class InvalidRecordException extends RafkaException {
    public InvalidRecordException(String message) {
        super(ErrorCode.INVALID_RECORD, message);
    }

    public InvalidRecordException(String message, Throwable cause) {
        super(ErrorCode.INVALID_RECORD, message, cause);
    }
}
