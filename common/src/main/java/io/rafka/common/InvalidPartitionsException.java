package io.rafka.common;

/** A partition count is out of range. */
public class InvalidPartitionsException extends RafkaException {
    public InvalidPartitionsException(String message) {
        super(ErrorCode.INVALID_PARTITIONS, message);
    }
}
