package io.rafka.common;

/** A bounded queue or in-flight limit is full; retry after a short back-off. */
public class BusyException extends RafkaException {
    public BusyException(String message) {
        super(ErrorCode.BUSY, message);
    }
}
