package io.rafka.common;

/**
 * A request field the client got wrong (a negative timeout, an unknown ListOffsets timestamp, a missing
 * broker id). Input checks throw this rather than {@link IllegalArgumentException}, so that a broker's own
 * bug is never reported to the client as the client's mistake.
 */
public class InvalidRequestException extends RafkaException {
    public InvalidRequestException(String message) {
        super(ErrorCode.INVALID_REQUEST, message);
    }
}
