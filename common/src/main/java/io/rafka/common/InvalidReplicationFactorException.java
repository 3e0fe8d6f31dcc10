package io.rafka.common;

/** A replication factor is below 1 or above the number of live brokers. */
public class InvalidReplicationFactorException extends RafkaException {
    public InvalidReplicationFactorException(String message) {
        super(ErrorCode.INVALID_REPLICATION_FACTOR, message);
    }
}
