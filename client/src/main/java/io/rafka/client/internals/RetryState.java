package io.rafka.client.internals;

import io.grpc.Context;
import io.rafka.common.Time;

/**
 * The retry budget of one piece of work (a partition's pending batch, a partition's fetch position):
 * exponential backoff from {@value #INITIAL_BACKOFF_MS} ms doubling to {@value #MAX_BACKOFF_MS} ms, and
 * a limit on how long failures may go on before the last one is reported. The clock starts at the first
 * failure and is cleared by a success, so a long-running consumer survives any number of separate
 * leader elections as long as each one ends within the budget. The caller's gRPC {@link Context} bounds it too: a
 * deadline there ends the retries if it comes first, and a cancelled context ends them at once ({@link #CANCELLED}).
 *
 * <p>Not thread-safe: owned by the single thread driving the command.
 */
public final class RetryState {

    public static final long INITIAL_BACKOFF_MS = 100;
    public static final long MAX_BACKOFF_MS = 1000;

    private final Time time;
    private final long retryTimeoutMs;
    private long nextBackoffMs = INITIAL_BACKOFF_MS;
    private long firstFailureMs = -1;
    /** The newest retriable failure, named if the caller's time runs out during the back-off that follows it. */
    private ClientException lastFailure;

    public RetryState(Time time, long retryTimeoutMs) {
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
    }

    /**
     * Records a retriable failure and answers how long to wait before trying again: never past the end
     * of the budget, so the last attempt happens right at its end rather than a backoff after it.
     *
     * @throws ClientException the failure itself, noted with the time spent, once the budget is used up
     */
    public long onFailure(ClientException failure) {
        checkCancelled(failure);
        lastFailure = failure;
        long now = time.hiResClockMs();
        if (firstFailureMs < 0) {
            firstFailureMs = now;
        }
        long remainingMs = retryTimeoutMs - (now - firstFailureMs);   // no overflow for a timeout of Long.MAX_VALUE
        io.grpc.Deadline deadline = Context.current().getDeadline();
        if (deadline != null) {
            // The caller's own timeout (a consumer call given one, an admin call) ends the retries too, with
            // CANCELLED: its caller reports a timeout, not the last failure, which was retriable.
            long deadlineMs = deadline.timeRemaining(java.util.concurrent.TimeUnit.MILLISECONDS);
            if (deadlineMs <= 0) {
                throw new ClientException(CANCELLED, "the call's time is up; the last failure was " + failure.code()
                        + ": " + failure.getMessage());
            }
            remainingMs = Math.min(remainingMs, deadlineMs);
        }
        if (remainingMs <= 0) {
            throw failure.withNote("still failing after retrying for " + retryTimeoutMs + " ms");
        }
        long delayMs = Math.min(nextBackoffMs, remainingMs);
        nextBackoffMs = Math.min(nextBackoffMs * 2, MAX_BACKOFF_MS);
        return delayMs;
    }

    /**
     * Records a retriable failure of work that is retried for as long as the failure lasts (no budget), and answers
     * how long to wait before trying again.
     */
    public long onFailureWithoutLimit() {
        checkCancelled(null);
        if (firstFailureMs < 0) {
            firstFailureMs = time.hiResClockMs();
        }
        long delayMs = nextBackoffMs;
        nextBackoffMs = Math.min(nextBackoffMs * 2, MAX_BACKOFF_MS);
        return delayMs;
    }

    /** How long the work has been failing without a success in between; 0 when its last attempt got through. */
    public long failingForMs() {
        return firstFailureMs < 0 ? 0 : time.hiResClockMs() - firstFailureMs;
    }

    /**
     * {@link #sleep} for a back-off that {@link #onFailure} answered: if the caller's time runs out meanwhile, the
     * {@link #CANCELLED} failure names the failure that was being retried (a topic that does not exist, a leader away),
     * so that the caller's timeout says why.
     */
    public void backOff(long ms) {
        try {
            sleep(time, ms);
        } catch (ClientException e) {
            if (CANCELLED.equals(e.code()) && lastFailure != null && !e.getMessage().contains("the last failure was")) {
                throw new ClientException(CANCELLED, e.getMessage() + "; the last failure was " + lastFailure.code() + ": "
                        + lastFailure.getMessage());
            }
            throw e;
        }
    }

    /**
     * A failure of an attempt made after earlier retriable ones, as its caller should report it: if the caller's own
     * time ran out during the attempt (its deadline cut the call short), the retried failure says more than "context
     * timed out", so it is named; otherwise the failure itself.
     */
    public ClientException whenTimeIsUp(ClientException failure) {
        io.grpc.Deadline deadline = Context.current().getDeadline();
        if (lastFailure == null || deadline == null || !deadline.isExpired()) {
            return failure;
        }
        return new ClientException(CANCELLED, "the call's time is up; the last failure was " + lastFailure.code() + ": "
                + lastFailure.getMessage());
    }

    /** The work got through: the next failure starts a fresh budget and backoff. */
    public void onSuccess() {
        lastFailure = null;
        firstFailureMs = -1;
        nextBackoffMs = INITIAL_BACKOFF_MS;
    }

    /**
     * Sleeps on {@code time}, turning an interrupt (Ctrl-C during a backoff) into a CLI failure; ends within
     * {@value #CANCEL_CHECK_MS} ms once the caller's gRPC {@link Context} is cancelled ({@link #checkCancelled}).
     */
    public static void sleep(Time time, long ms) {
        Context context = Context.current();
        try {
            if (context == Context.ROOT) {
                time.sleep(ms);   // nothing can cancel it
                return;
            }
            for (long left = ms; left > 0; left -= CANCEL_CHECK_MS) {
                checkCancelled(context, null);
                time.sleep(Math.min(left, CANCEL_CHECK_MS));
            }
            checkCancelled(context, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("INTERRUPTED", "interrupted while backing off");
        }
    }

    /** How often a back-off looks whether its caller's context was cancelled. */
    static final long CANCEL_CHECK_MS = 50;

    /**
     * Ends a retry loop whose caller's gRPC {@link Context} was cancelled (the SDK consumer's {@code wakeup()} or a
     * call's own timeout): every call it would make fails at once, so retrying could only spin until the budget ends.
     * Throws {@link #CANCELLED}, not retriable, naming the failure at hand if any.
     */
    private static void checkCancelled(ClientException failure) {
        checkCancelled(Context.current(), failure);
    }

    private static void checkCancelled(Context context, ClientException failure) {
        if (context.isCancelled()) {
            Throwable cause = context.cancellationCause();
            throw new ClientException(CANCELLED, "the call was given up: " + (cause == null ? "its context was cancelled"
                    : cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName())
                    + (failure == null ? "" : "; the last failure was " + failure.code() + ": " + failure.getMessage()));
        }
    }

    /** The code of the failure a retry loop ends with once its caller's context is cancelled. */
    public static final String CANCELLED = "CALL_CANCELLED";
}
