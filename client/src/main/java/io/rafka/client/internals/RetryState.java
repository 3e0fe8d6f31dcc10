package io.rafka.client.internals;

import io.rafka.common.Time;
/**
 * The retry budget of one piece of work (a partition's pending batch, a partition's fetch position):
 * exponential backoff from {@value #INITIAL_BACKOFF_MS} ms doubling to {@value #MAX_BACKOFF_MS} ms, and
 * a limit on how long failures may go on before the last one is reported. The clock starts at the first
 * failure and is cleared by a success, so a long-running consumer survives any number of separate
 * leader elections as long as each one ends within the budget.
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
        long now = time.hiResClockMs();
        if (firstFailureMs < 0) {
            firstFailureMs = now;
        }
        long remainingMs = retryTimeoutMs - (now - firstFailureMs);   // no overflow for a timeout of Long.MAX_VALUE
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

    /** The work got through: the next failure starts a fresh budget and backoff. */
    public void onSuccess() {
        firstFailureMs = -1;
        nextBackoffMs = INITIAL_BACKOFF_MS;
    }

    /** Sleeps on {@code time}, turning an interrupt (Ctrl-C during a backoff) into a CLI failure. */
    public static void sleep(Time time, long ms) {
        try {
            time.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("INTERRUPTED", "interrupted while backing off");
        }
    }
}
