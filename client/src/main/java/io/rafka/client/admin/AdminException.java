package io.rafka.client.admin;

import io.rafka.client.internals.ClientException;
import io.rafka.common.ErrorCode;

import java.util.Map;

/**
 * <pre>{@code
 * try {
 *     admin.createTopics(List.of(new NewTopic("orders", 6, 3))).join();
 * } catch (CompletionException e) {
 *     if (e.getCause() instanceof AdminException a && a.errorCode() == ErrorCode.TOPIC_ALREADY_EXISTS) { ... }
 * }
 * }</pre>
 *
 * Why an admin call failed, with the broker's {@link ErrorCode} (TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_PARTITIONS, GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...). A call about several topics fails with the first
 * failed topic's code, and {@link #failures()} names every failed topic: the others were done. When no broker
 * answered, {@link #code()} names the transport failure (UNAVAILABLE, DEADLINE_EXCEEDED) and {@link #errorCode()}
 * is REQUEST_TIMED_OUT.
 */
public class AdminException extends RuntimeException {
    private final ErrorCode errorCode;
    private final String code;
    private final Map<String, ErrorCode> failures;

    public AdminException(ErrorCode errorCode, String code, String message, Map<String, ErrorCode> failures) {
        super(code + ": " + message);
        this.errorCode = errorCode;
        this.code = code;
        this.failures = Map.copyOf(failures);
    }

    static AdminException from(ClientException e) {
        ErrorCode errorCode;
        try {
            errorCode = ErrorCode.valueOf(e.code());
        } catch (IllegalArgumentException notABrokerCode) {
            errorCode = e.retriable() ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.UNKNOWN_SERVER_ERROR;
        }
        return new AdminException(errorCode, e.code(), e.getMessage(), Map.of());
    }

    public ErrorCode errorCode() {
        return errorCode;
    }

    /** An {@link ErrorCode} name, or a gRPC status name when no broker answered. */
    public String code() {
        return code;
    }

    /** Per topic, the failures of a call about several topics (empty for others). */
    public Map<String, ErrorCode> failures() {
        return failures;
    }

    public boolean retriable() {
        return errorCode.retriable();
    }
}
