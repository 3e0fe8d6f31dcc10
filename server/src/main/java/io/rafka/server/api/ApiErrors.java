package io.rafka.server.api;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.common.RafkaException;
import io.rafka.proto.v1.ErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one place where Rafka's errors become API errors. Per-partition results carry the numeric
 * {@link ErrorCode} (the same numbers as {@link io.rafka.common.ErrorCode}); request-level failures are gRPC
 * statuses with the code in the {@value #ERROR_CODE_KEY} trailer, so clients in any language can branch on
 * the number rather than on message text.
 */
public final class ApiErrors {
    private static final Logger LOG = LoggerFactory.getLogger(ApiErrors.class);

    /** Trailer holding the numeric error code of a failed call. */
    public static final String ERROR_CODE_KEY = "rafka-error-code";
    public static final Metadata.Key<String> ERROR_CODE_TRAILER = Metadata.Key.of(ERROR_CODE_KEY, Metadata.ASCII_STRING_MARSHALLER);

    private ApiErrors() {
    }

    /** An error code with its message. */
    public record Failure(ErrorCode code, String message) {
    }

    public static ErrorCode toProto(io.rafka.common.ErrorCode code) {
        ErrorCode p = ErrorCode.forNumber(code.code());
        return p == null ? ErrorCode.UNKNOWN_SERVER_ERROR : p;
    }

    /** Classifies any failure; unexpected ones are logged, since they are bugs or environment problems. */
    public static Failure classify(Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof RafkaException r) {
            return new Failure(toProto(r.errorCode()), r.getMessage());
        }
        if (e instanceof IllegalArgumentException) {
            return new Failure(ErrorCode.INVALID_REQUEST, e.getMessage());
        }
        LOG.warn("unexpected error while serving a request", e);
        return new Failure(ErrorCode.UNKNOWN_SERVER_ERROR, String.valueOf(e));
    }

    public static Throwable unwrap(Throwable error) {
        Throwable e = error;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** A request-level failure: a gRPC status with a message and the numeric code in the trailer. */
    public static StatusRuntimeException status(Status status, ErrorCode code, String message) {
        Metadata trailers = new Metadata();
        trailers.put(ERROR_CODE_TRAILER, Integer.toString(code.getNumber()));
        return status.withDescription(message).asRuntimeException(trailers);
    }

    public static StatusRuntimeException invalidArgument(String message) {
        return status(Status.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, message);
    }

    /** The gRPC status that fits a Rafka error, for calls that fail as a whole (admin calls, subscribe). */
    public static StatusRuntimeException toStatus(Failure f) {
        Status s = switch (f.code()) {
            case INVALID_REQUEST, INVALID_TOPIC, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG,
                 INVALID_FETCH_SIZE, INVALID_REQUIRED_ACKS, INVALID_RECORD, CORRUPT_MESSAGE, RECORD_TOO_LARGE,
                 RECORD_LIST_TOO_LARGE, UNSUPPORTED_COMPRESSION_TYPE -> Status.INVALID_ARGUMENT;
            case UNKNOWN_TOPIC_OR_PARTITION -> Status.NOT_FOUND;
            case TOPIC_ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case OFFSET_OUT_OF_RANGE -> Status.OUT_OF_RANGE;
            case BUSY -> Status.RESOURCE_EXHAUSTED;
            case REQUEST_TIMED_OUT -> Status.DEADLINE_EXCEEDED;
            case NOT_LEADER, LEADER_NOT_AVAILABLE, NOT_CONTROLLER, NOT_ENOUGH_REPLICAS, STORAGE_ERROR -> Status.UNAVAILABLE;
            case OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH -> Status.FAILED_PRECONDITION;
            default -> Status.INTERNAL;
        };
        return status(s, f.code(), f.message());
    }
}
