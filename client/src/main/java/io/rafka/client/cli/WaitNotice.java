package io.rafka.client.cli;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A line on stderr when a step that is usually quick (finding a topic's partitions) is still waiting after
 * {@link #AFTER_MS}: a command that retries an unreachable broker or a missing topic for its retry timeout says so,
 * instead of staying silent until it gives up.
 *
 * <pre>{@code
 * try (WaitNotice notice = WaitNotice.start(context, "waiting for topic t ...")) {
 *     partitions = producer.partitionsFor("t");
 * }
 * }</pre>
 */
final class WaitNotice implements AutoCloseable {

    static final long AFTER_MS = 2_000;

    private final CompletableFuture<Void> timer;

    private WaitNotice(CompletableFuture<Void> timer) {
        this.timer = timer;
    }

    static WaitNotice start(CliContext context, String message) {
        return new WaitNotice(CompletableFuture.runAsync(() -> context.err().println(message),
                CompletableFuture.delayedExecutor(AFTER_MS, TimeUnit.MILLISECONDS)));
    }

    /** The text for finding a topic's partitions: what is waited for, through which broker, and for how long at most. */
    static String forTopic(CliContext context, String topic, long retryTimeoutMs) {
        return "waiting for the partitions of topic " + topic + " (bootstrap " + context.bootstrap()
                + "): the broker is not answering or the topic does not exist yet; retrying for up to "
                + retryTimeoutMs + " ms (--retry-timeout-ms)";
    }

    @Override
    public void close() {
        timer.cancel(false);
    }
}
