package io.rafka.client.perf;

/** A failure that ends a perf run; {@link #fatal()} says whether retrying could not help. */
public final class PerfException extends RuntimeException {
    private final boolean fatal;

    PerfException(String message) {
        this(message, false);
    }

    PerfException(String message, boolean fatal) {
        super(message);
        this.fatal = fatal;
    }

    PerfException(String message, Throwable cause) {
        super(message, cause);
        this.fatal = false;
    }

    boolean fatal() {
        return fatal;
    }
}
