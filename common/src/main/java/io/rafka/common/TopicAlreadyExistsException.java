package io.rafka.common;

/** A topic of that name exists already. */
public class TopicAlreadyExistsException extends RafkaException {
    public TopicAlreadyExistsException(String message) {
        super(ErrorCode.TOPIC_ALREADY_EXISTS, message);
    }
}
