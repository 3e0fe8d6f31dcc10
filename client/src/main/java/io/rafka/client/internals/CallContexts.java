package io.rafka.client.internals;

import io.grpc.Context;

import java.util.concurrent.Executors;
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

    /** Whether the context ended because its deadline passed (not cancelled by hand). */
    public static boolean timedOut(Context.CancellableContext context) {
        return context.isCancelled() && context.getDeadline() != null && context.getDeadline().isExpired()
                && context.cancellationCause() instanceof java.util.concurrent.TimeoutException;
    }

    /** The one timer thread of the clients' call deadlines in this JVM, started with the first. */
    private static final class Timer {
        static final ScheduledExecutorService SCHEDULER = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "rafka-client-deadlines");
            thread.setDaemon(true);
            return thread;
        });
    }
}
