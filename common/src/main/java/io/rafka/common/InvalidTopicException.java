package io.rafka.common;

/** A topic name breaks the naming rules. */
public class InvalidTopicException extends RafkaException {
    public InvalidTopicException(String message) {
        super(ErrorCode.INVALID_TOPIC, message);
    }
}
