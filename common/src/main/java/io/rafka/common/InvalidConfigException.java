package io.rafka.common;

/** A configuration key is unknown or its value out of range. */
public class InvalidConfigException extends RafkaException {
    public InvalidConfigException(String message) {
        super(ErrorCode.INVALID_CONFIG, message);
    }
}
