package io.rafka.client.internals;

import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.ErrorCode;

import java.util.Optional;

/**
 * A failure the CLI reports as {@code rafka: <CODE>: <message>} with exit status 1. The code is the
 * {@link ErrorCode} name the broker answered with, or the gRPC status name when the call itself failed
 * (for example {@code UNAVAILABLE} when no broker listens), so that a script can match on a stable word
 * rather than on message text. Each one knows whether it is {@linkplain #retriable() retriable}, as
 * decided by {@link ErrorCodes}, so retry loops need not look at codes themselves.
 */
public class ClientException extends RuntimeException {

    private final String code;
    private final boolean retriable;

    public ClientException(String code, String message) {
        this(code, message, false);
    }

    protected ClientException(String code, String message, boolean retriable) {
        super(message);
        this.code = code;
        this.retriable = retriable;
    }

    /**
     * A per-topic or per-partition error the broker answered with.
     *
     * @param subject       what failed, such as {@code topic orders} or {@code orders-2}
     * @param brokerMessage the broker's error_message, possibly empty
     */
    public static ClientException of(ErrorCode code, int codeValue, String subject, String brokerMessage) {
        String message = brokerMessage.isEmpty() ? subject : subject + ": " + brokerMessage;
        return new ClientException(ErrorCodes.name(code, codeValue), message, ErrorCodes.isRetriable(code));
    }

    public static ClientException of(ErrorCode code, String message) {
        return new ClientException(code.name(), message, ErrorCodes.isRetriable(code));
    }

    /**
     * A call that failed as a whole, named by the broker's code in the {@code rafka-error-code} trailer when it sent
     * one (a broker at its connection limit: RESOURCE_EXHAUSTED with BUSY, which is retriable), else by its gRPC
     * status; {@code where} says which broker.
     */
    public static ClientException fromStatus(StatusRuntimeException e, Object where) {
        String detail = e.getStatus().getDescription() != null ? e.getStatus().getDescription() : "no detail";
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && !detail.contains(cause.getMessage())) {
            detail += " (" + cause.getMessage() + ")";   // "io exception" alone does not say "connection refused"
        }
        Optional<ErrorCode> code = ErrorCodes.trailerCode(e);
        if (code.isPresent() && code.get() != ErrorCode.UNRECOGNIZED) {
            return new ClientException(code.get().name(), "broker " + where + ": " + detail, ErrorCodes.isRetriable(code.get()));
        }
        return new ClientException(e.getStatus().getCode().name(), "broker " + where + ": " + detail,
                ErrorCodes.isRetriable(e.getStatus().getCode()));
    }

    /**
     * A failed call of an API that names its failures in the {@code rafka-error-code} trailer (GroupService), as
     * {@link #fromStatus} without naming the broker in the message.
     */
    public static ClientException fromCall(StatusRuntimeException e, Object where) {
        Optional<ErrorCode> code = ErrorCodes.trailerCode(e);
        if (code.isEmpty()) {
            return fromStatus(e, where);
        }
        String detail = e.getStatus().getDescription() != null ? e.getStatus().getDescription() : "no detail";
        return new ClientException(code.get().name(), detail, ErrorCodes.isRetriable(code.get()));
    }

    /** Whether this is the broker's {@code code}. */
    public boolean is(ErrorCode code) {
        return this.code.equals(code.name());
    }

    public String code() {
        return code;
    }

    public boolean retriable() {
        return retriable;
    }

    /** The same failure, now final, with a note appended (for example how long it was retried). */
    public ClientException withNote(String note) {
        return new ClientException(code, getMessage() + " (" + note + ")", false);
    }
}
