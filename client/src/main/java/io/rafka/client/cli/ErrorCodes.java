package io.rafka.client.cli;

import io.grpc.Status;
import io.rafka.proto.v1.ErrorCode;

import java.util.EnumSet;
import java.util.Set;

/**
 * The one place that decides which errors the CLI retries. Retrying a fatal error only delays the same
 * answer, and giving up on a retriable one turns a leader election into a user-visible failure, so both
 * produce and consume take the decision from here.
 */
final class ErrorCodes {

    /**
     * Conditions that clear up on their own: leadership moving ({@code NOT_LEADER},
     * {@code LEADER_NOT_AVAILABLE}), a topic being auto-created ({@code UNKNOWN_TOPIC_OR_PARTITION}),
     * back-pressure ({@code BUSY}), a slow commit ({@code REQUEST_TIMED_OUT}) and too few live replicas
     * ({@code NOT_ENOUGH_REPLICAS}, marked retriable in the API because a broker coming back fixes it).
     */
    private static final Set<ErrorCode> RETRIABLE = EnumSet.of(
            ErrorCode.NOT_LEADER,
            ErrorCode.LEADER_NOT_AVAILABLE,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode.BUSY,
            ErrorCode.REQUEST_TIMED_OUT,
            ErrorCode.NOT_ENOUGH_REPLICAS);

    private ErrorCodes() {
    }

    static boolean isRetriable(ErrorCode code) {
        return RETRIABLE.contains(code);
    }

    /**
     * Whole-call failures worth another try: the broker is down or restarting ({@code UNAVAILABLE}) or
     * did not answer in time ({@code DEADLINE_EXCEEDED}). Anything else (a malformed request, a request
     * over the broker's size limit) would fail the same way again.
     */
    static boolean isRetriable(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
    }

    /** The code's name; a number this build does not know (from a newer broker) prints as ERROR_n. */
    static String name(ErrorCode code, int value) {
        return code == ErrorCode.UNRECOGNIZED ? "ERROR_" + value : code.name();
    }
}
