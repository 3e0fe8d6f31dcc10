package io.rafka.common;

/** A disk operation failed; the partition cannot serve until it is reopened. */
public class StorageException extends RafkaException {
    public StorageException(String message) {
        super(ErrorCode.STORAGE_ERROR, message);
    }

    public StorageException(String message, Throwable cause) {
        super(ErrorCode.STORAGE_ERROR, message, cause);
    }
}
