package io.rafka.common;

import java.util.Optional;

/** This broker is not the controller; carries the controller's broker id when known. */
public class NotControllerException extends RafkaException {
    private final String controllerId;

    public NotControllerException(String message, String controllerId) {
        super(ErrorCode.NOT_CONTROLLER, message);
        this.controllerId = controllerId;
    }

    public Optional<String> controllerId() {
        return Optional.ofNullable(controllerId);
    }
}
