package io.rafka.client.internals;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.ErrorCode;

import java.util.Optional;

/**
 * The one place that decides which errors the CLI retries. Retrying a fatal error only delays the same
 * answer, and giving up on a retriable one turns a leader election into a user-visible failure, so both
 * produce and consume take the decision from here.
 */
public final class ErrorCodes {

    private ErrorCodes() {
    }

    /**
     * Whether a per-partition error clears up on its own (leadership moving, a topic being auto-created,
     * back-pressure, a slow commit, too few live replicas, ...). The broker's own table decides, so client and
     * broker cannot disagree; a number this build does not know counts as fatal.
     */
    public static boolean isRetriable(ErrorCode code) {
        return code != ErrorCode.UNRECOGNIZED && io.rafka.common.ErrorCode.forCode(code.getNumber()).retriable();
    }

    /**
     * Whole-call failures worth another try: the broker is down or restarting ({@code UNAVAILABLE}), did not
     * answer in time ({@code DEADLINE_EXCEEDED}), or reset the call while shutting down ({@code CANCELLED}: its
     * open calls end with RST_STREAM CANCEL; the client itself cancels only calls whose answers it no longer
     * reads). Anything else (a malformed request, a request over the broker's size limit) would fail the same
     * way again.
     */
    public static boolean isRetriable(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED || code == Status.Code.CANCELLED;
    }

    /** The code's name; a number this build does not know (from a newer broker) prints as ERROR_n. */
    public static String name(ErrorCode code, int value) {
        return code == ErrorCode.UNRECOGNIZED ? "ERROR_" + value : code.name();
    }

    /** The trailer in which a failed call carries its numeric Rafka error code (docs/api.md). */
    public static final Metadata.Key<String> ERROR_CODE_TRAILER =
            Metadata.Key.of("rafka-error-code", Metadata.ASCII_STRING_MARSHALLER);

    /** The Rafka error code a failed call carries in its trailer; empty when it carries none (or garbage). */
    public static Optional<ErrorCode> trailerCode(StatusRuntimeException e) {
        String text = e.getTrailers() == null ? null : e.getTrailers().get(ERROR_CODE_TRAILER);
        if (text == null) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(ErrorCode.forNumber(Integer.parseInt(text.trim())));
        } catch (NumberFormatException ignored) {
            return Optional.empty();
        }
    }
}
