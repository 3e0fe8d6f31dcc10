package io.rafka.client.consumer;

import io.rafka.client.internals.ClientException;
import io.rafka.common.ErrorCode;

/**
 * <pre>{@code
 * try {
 *     consumer.poll(Duration.ofSeconds(1));
 * } catch (ConsumerException e) {
 *     if (e.errorCode() == ErrorCode.FENCED_INSTANCE_ID) { ... }   // or e.code() for any code, "UNAVAILABLE" too
 * }
 * }</pre>
 *
 * Why a consumer call failed, with the broker's {@link ErrorCode} (INVALID_GROUP_ID, FENCED_INSTANCE_ID,
 * UNKNOWN_TOPIC_OR_PARTITION, ...). A retriable code means the consumer retried it for its retry timeout
 * ({@code default.api.timeout.ms}) before giving up. When no broker answered at all, {@link #code()} names the
 * transport failure ({@code UNAVAILABLE}, {@code DEADLINE_EXCEEDED}) and {@link #errorCode()} is
 * REQUEST_TIMED_OUT.
 */
public class ConsumerException extends RuntimeException {
    private final ErrorCode errorCode;
    private final String code;

    public ConsumerException(ErrorCode errorCode, String message) {
        this(errorCode, errorCode.name(), message, null);
    }

    protected ConsumerException(ErrorCode errorCode, String code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.errorCode = errorCode;
        this.code = code;
    }

    /** The one translation of the client internals' failures into the SDK's. */
    static ConsumerException from(ClientException e) {
        if (e instanceof io.rafka.client.group.NoOffsetForPartitionException n) {
            return new NoOffsetForPartitionException(n.partitions(), n.getMessage(), n);
        }
        ErrorCode code = errorCode(e.code());
        if (code == ErrorCode.FENCED_MEMBER_EPOCH || code == ErrorCode.UNKNOWN_MEMBER_ID
                || code == ErrorCode.PARTITION_NOT_OWNED) {
            return new CommitFailedException(code, e.getMessage(), e);   // only commits let these out
        }
        return new ConsumerException(code, e.code(), e.getMessage(), e);
    }

    static ErrorCode errorCode(String code) {
        try {
            return ErrorCode.valueOf(code);
        } catch (IllegalArgumentException notABrokerCode) {
            return code.equals("UNAVAILABLE") || code.equals("DEADLINE_EXCEEDED")
                    ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.UNKNOWN_SERVER_ERROR;
        }
    }

    public ErrorCode errorCode() {
        return errorCode;
    }

    /** The code's name: an {@link ErrorCode} name, or a gRPC status name when no broker answered. */
    public String code() {
        return code;
    }

    /** Whether the same call may succeed later. */
    public boolean retriable() {
        return errorCode.retriable();
    }
}
