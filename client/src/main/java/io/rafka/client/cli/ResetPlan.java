package io.rafka.client.cli;

import io.rafka.client.internals.ClientException;
import io.rafka.common.TopicPartition;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code group reset-offsets} would set: per partition the committed offset now and the new one, computed
 * from the log's bounds (ListOffsets earliest and latest), the group's committed offsets (FetchOffsets) and,
 * for {@code --to-datetime}, the first offset at or after the time. The new offset is always clamped into
 * [log start, log end], as Kafka's tool does, so a reset never points a group outside its log. Pure: the
 * command gathers the offsets, this decides.
 */
final class ResetPlan {

    /** How to compute the new offset; {@code value} is the offset, shift or epoch milliseconds. */
    record Spec(Kind kind, long value) {
        enum Kind { EARLIEST, LATEST, DATETIME, OFFSET, SHIFT_BY }

        /** The spec the options ask for: exactly one of the five (null when not given). */
        static Spec of(boolean toEarliest, boolean toLatest, String toDatetime, Long toOffset, Long shiftBy) {
            List<Spec> given = new ArrayList<>();
            if (toEarliest) {
                given.add(new Spec(Kind.EARLIEST, 0));
            }
            if (toLatest) {
                given.add(new Spec(Kind.LATEST, 0));
            }
            if (toDatetime != null) {
                given.add(new Spec(Kind.DATETIME, parseDateTime(toDatetime)));
            }
            if (toOffset != null) {
                given.add(new Spec(Kind.OFFSET, CliCommand.checkRange("--to-offset", toOffset, 0, Long.MAX_VALUE)));
            }
            if (shiftBy != null) {
                given.add(new Spec(Kind.SHIFT_BY, CliCommand.checkRange("--shift-by", shiftBy, Long.MIN_VALUE / 2, Long.MAX_VALUE / 2)));
            }
            if (given.size() != 1) {
                throw new UsageException("group reset-offsets needs exactly one of --to-earliest, --to-latest, "
                        + "--to-datetime, --to-offset, --shift-by");
            }
            return given.get(0);
        }
    }

    /** One partition's line of the plan; {@code current} is -1 when nothing is committed. */
    record Row(TopicPartition tp, long current, long target) {
    }

    private ResetPlan() {
    }

    /**
     * @param committed the group's committed offsets (absent or -1: none)
     * @param earliest  log start per partition
     * @param latest    log end (high watermark) per partition
     * @param byTime    for DATETIME: the first offset at or after the time, -1 when there is none (then the end)
     */
    static List<Row> compute(Spec spec, List<TopicPartition> partitions, Map<TopicPartition, Long> committed,
                             Map<TopicPartition, Long> earliest, Map<TopicPartition, Long> latest,
                             Map<TopicPartition, Long> byTime) {
        List<Row> rows = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            long start = earliest.get(tp);
            long end = latest.get(tp);
            long current = committed.getOrDefault(tp, -1L);
            long wanted = switch (spec.kind()) {
                case EARLIEST -> start;
                case LATEST -> end;
                case OFFSET -> spec.value();
                case DATETIME -> byTime.get(tp) < 0 ? end : byTime.get(tp);
                case SHIFT_BY -> {
                    if (current < 0) {
                        throw new ClientException("NO_COMMITTED_OFFSET",
                                "cannot shift " + tp + ": the group has no committed offset for it");
                    }
                    yield current + spec.value();
                }
            };
            rows.add(new Row(tp, current, Math.max(start, Math.min(end, wanted))));
        }
        return rows;
    }

    /**
     * An ISO-8601 date-time: with a zone ({@code 2026-11-30T12:00:00Z}, {@code ...+01:00}) or without one,
     * then in this machine's zone, as Kafka's tool reads it.
     */
    static long parseDateTime(String text) {
        try {
            return Instant.parse(text).toEpochMilli();
        } catch (DateTimeException notInstant) {
            try {
                return OffsetDateTime.parse(text).toInstant().toEpochMilli();
            } catch (DateTimeException notOffset) {
                try {
                    return LocalDateTime.parse(text).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
                } catch (DateTimeException e) {
                    throw new UsageException("--to-datetime needs an ISO-8601 date-time such as 2026-11-30T12:00:00Z, not '"
                            + text + "'");
                }
            }
        }
    }
}
