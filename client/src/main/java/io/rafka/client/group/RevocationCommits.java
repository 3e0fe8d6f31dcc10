package io.rafka.client.group;

import io.rafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Commits the positions of a member's revoked partitions off its poll thread and then releases them, one
 * revocation after another, so the partitions the member keeps go on being consumed while the commit (a Raft write
 * on the coordinator) is under way. A commit that fails for good (its retries outlasted the retry timeout) is
 * logged and the partitions are released all the same, as Kafka's consumer completes a revocation whose callback
 * failed: their next owner starts at the last committed offset and may read a few records again (at least once).
 * Used by the poll thread only; the thread starts with the first revocation.
 */
final class RevocationCommits implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RevocationCommits.class);

    private final String groupId;
    private final OffsetStore offsets;
    private ExecutorService executor;
    private Future<?> last;

    RevocationCommits(String groupId, OffsetStore offsets) {
        this.groupId = groupId;
        this.offsets = offsets;
    }

    /** Commits {@code positions}, then hands {@code partitions} to {@code release}, on the commit thread. */
    void commitThenRelease(Set<TopicPartition> partitions, Map<TopicPartition, Long> positions,
                           Consumer<Set<TopicPartition>> release) {
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(r -> {
                Thread thread = new Thread(r, "rafka-release-" + groupId);
                thread.setDaemon(true);
                return thread;
            });
        }
        last = executor.submit(() -> {
            try {
                offsets.commit(positions);
            } catch (RuntimeException e) {
                LOG.warn("group {}: committing revoked {} failed ({}); releasing them anyway, their next owner starts "
                        + "at the last committed offset", groupId, partitions, e.getMessage());
            }
            release.accept(partitions);
        });
    }

    /** Waits at most {@code timeoutMs} for every revocation handed over so far to be committed and released. */
    void await(long timeoutMs) {
        if (last == null) {
            return;
        }
        try {
            last.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("group {}: a revocation was not committed and released in time: {}", groupId, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
