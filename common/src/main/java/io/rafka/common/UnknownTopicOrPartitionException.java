package io.rafka.common;

/** The topic or partition does not exist here. */
public class UnknownTopicOrPartitionException extends RafkaException {
    public UnknownTopicOrPartitionException(String message) {
        super(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message);
    }
}
