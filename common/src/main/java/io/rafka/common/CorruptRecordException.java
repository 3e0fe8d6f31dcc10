package io.rafka.common;

/** A record batch failed its CRC or structural checks. */
public class CorruptRecordException extends RafkaException {
    public CorruptRecordException(String message) {
        super(ErrorCode.CORRUPT_MESSAGE, message);
    }

    public CorruptRecordException(String message, Throwable cause) {
        super(ErrorCode.CORRUPT_MESSAGE, message, cause);
    }
}
