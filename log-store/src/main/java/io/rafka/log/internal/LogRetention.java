package io.rafka.log.internal;

import io.rafka.log.LogConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * Time- and size-based retention of one partition log, with Kafka's rules: whole closed segments go,
 * oldest first; a segment expires by {@code retention.ms} once its newest batch timestamp (its file's
 * modification time if no batch has one) is older than that, and by {@code retention.bytes} while the log
 * would still hold at least that many bytes without it. The active segment is never deleted, so replicas
 * with the same settings keep identical segment boundaries (docs/storage.md, "Determinism", says when their
 * settings differ for a while).
 *
 * <p><b>Threads:</b> the caller holds the partition log's lock.
 */
public final class LogRetention {
    private static final Logger LOG = LoggerFactory.getLogger(LogRetention.class);

    private LogRetention() {
    }

    /**
     * Deletes expired segments of {@code segments}, never one holding offsets at or above {@code maxOffset}.
     * Before each deletion {@code newLogStartOffset} receives the base offset of the segment after it, so
     * concurrent readers see the offsets as out of range rather than missing.
     *
     * @return how many segments were deleted
     */
    public static int deleteExpired(Path dir, LogSegments segments, LogConfig config, long nowMs, long maxOffset,
                                    LongConsumer newLogStartOffset) throws IOException {
        long excess = config.retentionBytes() < 0 ? Long.MIN_VALUE : segments.sizeInBytes() - config.retentionBytes();
        int deleted = 0;
        while (segments.count() > 1) {
            LogSegment oldest = segments.first();
            long newest = oldest.maxTimestamp();
            if (newest < 0) {
                newest = oldest.lastModifiedMs();
            }
            boolean expiredByTime = config.retentionMs() >= 0 && nowMs - newest > config.retentionMs();
            boolean expiredBySize = config.retentionBytes() >= 0 && excess - oldest.size() >= 0;
            if (!expiredByTime && !expiredBySize) {
                break;
            }
            long nextBase = segments.nextBaseOffset(oldest.baseOffset());
            if (nextBase > maxOffset) {
                break;
            }
            newLogStartOffset.accept(nextBase);
            segments.remove(oldest.baseOffset());
            oldest.delete();
            excess -= oldest.size();
            deleted++;
            LOG.info("{}: deleted segment {} by {}; log start offset is now {}", dir, oldest.baseOffset(),
                    expiredByTime ? "retention.ms" : "retention.bytes", nextBase);
        }
        return deleted;
    }

    /**
     * Deletes closed segments whose every offset is below {@code offset} (and below {@code maxOffset}), for logs
     * whose owner knows the records there are no longer needed (a coordinator partition below its latest
     * checkpoint). Same order and log-start rule as {@link #deleteExpired}.
     *
     * @return how many segments were deleted
     */
    public static int deleteBelow(Path dir, LogSegments segments, long offset, long maxOffset,
                                  LongConsumer newLogStartOffset) throws IOException {
        int deleted = 0;
        while (segments.count() > 1) {
            LogSegment oldest = segments.first();
            long nextBase = segments.nextBaseOffset(oldest.baseOffset());
            if (nextBase > offset || nextBase > maxOffset) {
                break;
            }
            newLogStartOffset.accept(nextBase);
            segments.remove(oldest.baseOffset());
            oldest.delete();
            deleted++;
            LOG.info("{}: deleted segment {} (all below offset {}); log start offset is now {}", dir,
                    oldest.baseOffset(), offset, nextBase);
        }
        return deleted;
    }
}
