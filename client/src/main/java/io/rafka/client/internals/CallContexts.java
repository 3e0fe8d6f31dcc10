package io.rafka.client.internals;

import io.grpc.Context;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * gRPC {@link Context}s that bound a client call made of requests and retries as a whole: a deadline the context
 * carries bounds each request in it (gRPC takes the earlier of the stub's and the context's) and ends the retries
 * ({@link RetryState}), and cancelling it ends both at once (a consumer's {@code wakeup()}, an admin client closing).
 */
public final class CallContexts {

    /** Longer timeouts are this (a deadline must fit in nanoseconds). */
    public static final long LONGEST_TIMEOUT_MS = TimeUnit.DAYS.toMillis(365);

    private CallContexts() {
    }

    /** A cancellable context under the current one, with a deadline {@code timeoutMs} from now if it is >= 0. */
    public static Context.CancellableContext within(long timeoutMs) {
        return timeoutMs < 0 ? Context.current().withCancellation()
                : Context.current().withDeadlineAfter(Math.min(timeoutMs, LONGEST_TIMEOUT_MS), TimeUnit.MILLISECONDS,
                Timer.SCHEDULER);
    }

    /**
     * Whether the context's deadline has passed, or is less than a millisecond away: a retry loop gives up then
     * ({@link RetryState} counts whole milliseconds, and ends with {@link RetryState#CANCELLED}), possibly just before
     * the timer cancels the context. A call failing then timed out if its failure is that or a retriable one (a request
     * cut by the deadline), not if it is a definite answer that came in its last millisecond.
     */
    public static boolean timedOut(Context context) {
        return context.getDeadline() != null && context.getDeadline().timeRemaining(TimeUnit.MILLISECONDS) <= 0;
    }

    /** Deadlines of contexts not ended yet (their timer tasks queued), for tests. */
    static int pendingDeadlines() {
        return ((java.util.concurrent.ScheduledThreadPoolExecutor) Timer.SCHEDULER).getQueue().size();
    }

    /** The one timer thread of the clients' call deadlines in this JVM, started with the first. */
    private static final class Timer {
        static final ScheduledExecutorService SCHEDULER = scheduler();

        private static ScheduledExecutorService scheduler() {
            java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
                    runnable -> {
                        Thread thread = new Thread(runnable, "rafka-client-deadlines");
                        thread.setDaemon(true);
                        return thread;
                    });
            timer.setRemoveOnCancelPolicy(true);   // a call that ended before its deadline leaves nothing queued
            return timer;
        }
    }
}
