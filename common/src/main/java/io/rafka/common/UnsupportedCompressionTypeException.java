package io.rafka.common;

/** A record batch names a compression codec this version does not know. */
public class UnsupportedCompressionTypeException extends RafkaException {
    public UnsupportedCompressionTypeException(String message) {
        super(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message);
    }

    public UnsupportedCompressionTypeException(String message, Throwable cause) {
        super(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message, cause);
    }
}
