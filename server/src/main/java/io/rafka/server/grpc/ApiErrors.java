package io.rafka.server.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.common.RafkaException;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.server.broker.PartitionError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become API errors, for every handler. Only typed Rafka errors
 * ({@link RafkaException} and its subclasses) are known: they keep their code and message. Anything else is a
 * bug or an environment problem: it is logged here, once, with its stack, and answered UNKNOWN_SERVER_ERROR,
 * never blamed on the request. Per-partition results carry the numeric {@link ErrorCode} (the same numbers as
 * {@link io.rafka.common.ErrorCode}); request-level failures are gRPC statuses with the code in the
 * {@value #ERROR_CODE_KEY} trailer, so clients in any language can branch on the number, not on message text.
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
        /** This failure as a whole call's status, with the code in the trailer. */
        public StatusRuntimeException asStatus() {
            return status(statusOf(code), code, message);
        }
    }

    public static ErrorCode toProto(io.rafka.common.ErrorCode code) {
        ErrorCode p = ErrorCode.forNumber(code.code());
        return p == null ? ErrorCode.UNKNOWN_SERVER_ERROR : p;
    }

    /** Classifies any failure (inside future wrappers); unexpected ones are logged with their stack. */
    public static Failure classify(Throwable error) {
        Throwable e = PartitionError.unwrap(error);
        if (e instanceof RafkaException r) {
            return new Failure(toProto(r.errorCode()), r.getMessage());
        }
        LOG.warn("unexpected error while serving a request", e);
        return new Failure(ErrorCode.UNKNOWN_SERVER_ERROR, "unexpected server error: " + e);
    }

    /**
     * A failure as a whole call's status. A status already made (by {@link #status}, or gRPC's own) passes
     * unchanged.
     */
    public static StatusRuntimeException toStatus(Throwable error) {
        Throwable e = PartitionError.unwrap(error);
        if (e instanceof StatusRuntimeException s) {
            return s;
        }
        return classify(e).asStatus();
    }

    /**
     * A request-level failure: a gRPC status with a message and the numeric code in the trailer. The message is cut
     * to {@value #MAX_MESSAGE_BYTES} bytes of UTF-8: it travels as a header, and one that echoes a long request
     * field (a member id of 20,000 characters) went over the client's header limit, so the client saw a transport
     * error without the code.
     */
    public static StatusRuntimeException status(Status status, ErrorCode code, String message) {
        return status.withDescription(bounded(message)).asRuntimeException(trailers(code));
    }

    /**
     * The most bytes of UTF-8 of a status message: percent-encoded on the wire, at most three times this, within
     * grpc-java's default 8 KiB of headers a client accepts.
     */
    static final int MAX_MESSAGE_BYTES = 2_000;

    /** {@code message} cut at a character boundary to {@value #MAX_MESSAGE_BYTES} bytes of UTF-8, saying how much went. */
    static String bounded(String message) {
        if (message == null || message.length() <= MAX_MESSAGE_BYTES / 3) {
            return message;
        }
        int total = message.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (total <= MAX_MESSAGE_BYTES) {
            return message;
        }
        int keep = 0;
        int bytes = 0;
        int budget = MAX_MESSAGE_BYTES - 48;   // room for the note
        while (keep < message.length()) {
            int codePoint = message.codePointAt(keep);
            int size = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
            if (bytes + size > budget) {
                break;
            }
            bytes += size;
            keep += Character.charCount(codePoint);
        }
        return message.substring(0, keep) + "... (" + (total - bytes) + " more bytes left out)";
    }

    /** Trailers carrying {@code code}, for interceptors that close a call themselves. */
    public static Metadata trailers(ErrorCode code) {
        Metadata trailers = new Metadata();
        trailers.put(ERROR_CODE_TRAILER, Integer.toString(code.getNumber()));
        return trailers;
    }

    /** The gRPC status that fits a Rafka error, for calls that fail as a whole. */
    public static Status statusOf(ErrorCode code) {
        return switch (code) {
            case INVALID_REQUEST, INVALID_TOPIC, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT,
                 INVALID_CONFIG,
                 INVALID_FETCH_SIZE, INVALID_REQUIRED_ACKS, INVALID_RECORD, CORRUPT_MESSAGE, RECORD_TOO_LARGE,
                 RECORD_LIST_TOO_LARGE, UNSUPPORTED_COMPRESSION_TYPE, INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT,
                 INVALID_COMMIT_OFFSET_SIZE -> Status.INVALID_ARGUMENT;
            case UNKNOWN_TOPIC_OR_PARTITION, GROUP_ID_NOT_FOUND -> Status.NOT_FOUND;
            case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS -> Status.UNAVAILABLE;
            case NON_EMPTY_GROUP, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, STALE_MEMBER_EPOCH, FENCED_INSTANCE_ID,
                 UNRELEASED_INSTANCE_ID, PARTITION_NOT_OWNED -> Status.FAILED_PRECONDITION;
            case GROUP_MAX_SIZE_REACHED, POLICY_VIOLATION -> Status.RESOURCE_EXHAUSTED;
            case TOPIC_ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case OFFSET_OUT_OF_RANGE -> Status.OUT_OF_RANGE;
            case BUSY -> Status.RESOURCE_EXHAUSTED;
            case REQUEST_TIMED_OUT -> Status.DEADLINE_EXCEEDED;
            case NOT_LEADER, LEADER_NOT_AVAILABLE, NOT_CONTROLLER, NOT_ENOUGH_REPLICAS, STORAGE_ERROR -> Status.UNAVAILABLE;
            case OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID ->
                    Status.FAILED_PRECONDITION;
            default -> Status.INTERNAL;
        };
    }

    /** A remote broker's answer (code and message) as the typed error it stands for. */
    public static RafkaException fromWire(int code, String message) {
        return new RafkaException(io.rafka.common.ErrorCode.forCode(code), message);
    }
}
