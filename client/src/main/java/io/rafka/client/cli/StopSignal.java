package io.rafka.client.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C (SIGINT) or SIGTERM asking a long-running command to end cleanly: a group consumer commits what it
 * printed and leaves its group instead of vanishing (its partitions would then wait for the coordinator to
 * notice). The JVM runs shutdown hooks on those signals and halts when they return, so the hook raises the
 * flag and waits, bounded, for the command to say it finished; it waits only for commands that
 * {@linkplain #watch() watch} the flag, so Ctrl-C on any other command still ends it at once.
 */
final class StopSignal {

    /** Longest the hook keeps the JVM alive for a command that is finishing. */
    static final long FINISH_WAIT_MS = 15_000;

    private volatile boolean requested;
    private volatile boolean watched;
    private volatile Runnable onStop;
    private final CountDownLatch finished = new CountDownLatch(1);

    /** A signal nothing raises but {@link #request()} (tests, embedded use). */
    StopSignal() {
    }

    /** A signal raised by the JVM's shutdown (SIGINT, SIGTERM, System.exit). */
    static StopSignal onShutdown() {
        StopSignal signal = new StopSignal();
        Runtime.getRuntime().addShutdownHook(new Thread(signal::requestAndWait, "rafka-stop"));
        return signal;
    }

    /** The running command checks {@link #requested()} and calls {@link #finished()} when done. */
    void watch() {
        watched = true;
    }

    /**
     * Runs {@code action} on the signal, on the signalling thread, before the JVM ends (null: nothing): for a command
     * whose own thread may be blocked (reading stdin) and so cannot finish by itself. Bound its time: the JVM halts
     * when it returns.
     */
    void onStop(Runnable action) {
        onStop = action;
    }

    boolean requested() {
        return requested;
    }

    void request() {
        requested = true;
    }

    void finished() {
        finished.countDown();
    }

    void requestAndWait() {
        request();
        Runnable action = onStop;
        if (action != null) {
            action.run();
        }
        if (!watched) {
            return;
        }
        try {
            finished.await(FINISH_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
