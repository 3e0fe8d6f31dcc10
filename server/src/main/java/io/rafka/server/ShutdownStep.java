package io.rafka.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One step of a broker's stop, run on a daemon thread of its own so the stop can stop waiting for it at its
 * deadline: Ratis calls such as closing a server or handing over a leadership wait on peers, and with no live
 * majority they may wait far longer than {@code shutdown.timeout.ms}. An abandoned step keeps running in the
 * background (until the process exits); it is logged, never silently dropped.
 */
final class ShutdownStep {
    private static final Logger LOG = LoggerFactory.getLogger(ShutdownStep.class);

    /** What a step does; may block. */
    interface Action {
        void run() throws Exception;
    }

    /** A step that needs the deadline it runs under. */
    interface Task {
        void run(long deadlineMs) throws Exception;
    }

    private final String what;
    private final String nodeId;
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    private ShutdownStep(String what, String nodeId) {
        this.what = what;
        this.nodeId = nodeId;
    }

    /** Starts closing {@code closeable} (nothing to do when null). */
    static ShutdownStep closing(String what, String nodeId, Closeable closeable) {
        return closeable == null ? finished(what, nodeId) : start(what, nodeId, (Action) closeable::close);
    }

    static ShutdownStep start(String what, String nodeId, Action action) {
        ShutdownStep step = new ShutdownStep(what, nodeId);
        Thread t = new Thread(() -> {
            try {
                action.run();
                step.done.complete(null);
            } catch (Throwable e) {
                step.done.completeExceptionally(e);
            }
        }, "rafka-stop-" + nodeId);
        t.setDaemon(true);
        t.start();
        return step;
    }

    private static ShutdownStep finished(String what, String nodeId) {
        ShutdownStep step = new ShutdownStep(what, nodeId);
        step.done.complete(null);
        return step;
    }

    /**
     * Waits for the step until {@code deadlineMs} ({@link Long#MAX_VALUE}: for as long as it takes). Returns
     * false if it was abandoned there; a step that failed is logged and counts as finished.
     */
    boolean await(long deadlineMs) {
        try {
            if (deadlineMs == Long.MAX_VALUE) {
                done.get();
            } else {
                done.get(Math.max(0, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            }
            return true;
        } catch (TimeoutException e) {
            LOG.warn("broker {}: {} did not finish by the stop deadline (shutdown.timeout.ms); abandoned", nodeId, what);
            return false;
        } catch (ExecutionException e) {
            LOG.warn("broker {}: {} failed", nodeId, what, e.getCause());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("broker {}: interrupted while {}; abandoned", nodeId, what);
            return false;
        }
    }
}
