package io.rafka.common;

/** An offset is below the log start offset or above the log end offset. */
public class OffsetOutOfRangeException extends RafkaException {
    public OffsetOutOfRangeException(String message) {
        super(ErrorCode.OFFSET_OUT_OF_RANGE, message);
    }

    public OffsetOutOfRangeException(String message, Throwable cause) {
        super(ErrorCode.OFFSET_OUT_OF_RANGE, message, cause);
    }
}
