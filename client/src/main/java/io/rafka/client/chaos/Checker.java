package io.rafka.client.chaos;

import io.rafka.client.chaos.History.Events;
import io.rafka.client.chaos.History.Fault;
import io.rafka.client.chaos.History.Outcome;
import io.rafka.client.chaos.History.Read;
import io.rafka.client.chaos.History.Send;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks a chaos history ({@link History}) against what a broker must guarantee, as counts that must all be 0:
 *
 * <ul>
 *   <li><b>lost-write</b>: an acknowledged send whose value the final read did not find;</li>
 *   <li><b>inconsistent-offsets</b>: one offset read with two different values (across readers), or an
 *       acknowledged value found at another offset than its acknowledgement named;</li>
 *   <li><b>duplicate</b>: a value of an idempotent producer found at two offsets (without idempotence it is
 *       reported as information, {@code duplicate-without-idempotence}: a retry may legitimately write twice);</li>
 *   <li><b>aborted-read</b>: a value read whose send definitely failed (an error the broker gave, not a timeout);</li>
 *   <li><b>phantom-read</b>: a value read that no writer sent (data the broker made up, or served from elsewhere);</li>
 *   <li><b>reordered</b>: two acknowledged values of one idempotent producer ({@code <producer>-<n>}) in one
 *       partition at offsets in the other order than the producer sent them;</li>
 *   <li>what a consumer group saw: <b>consumer-lost</b>, <b>nonmonotonic</b>, <b>poll-skip</b>,
 *       <b>group-ownership</b> ({@link GroupChecker}).</li>
 * </ul>
 *
 * It also reports availability: the longest time without any acknowledgement, overall and during each kind of
 * fault (a gap counts for a kind if it overlaps one of its faults). Pure: a history in, a report out.
 */
public final class Checker {
    /** The counts that must be 0, in a fixed order. */
    public static final List<String> CHECKS = List.of("lost-write", "inconsistent-offsets", "duplicate", "aborted-read",
            "phantom-read", "reordered", "consumer-lost", "nonmonotonic", "poll-skip", "group-ownership");

    /** A check's result: the counts, information lines, and examples of each anomaly (a few per check). */
    public record Report(Map<String, Long> counts, Map<String, String> info, Map<String, List<String>> examples) {
        public boolean ok() {
            return CHECKS.stream().allMatch(c -> counts.getOrDefault(c, 0L) == 0);
        }

        /** {@code name: N} per check, then the information, then examples of what failed. */
        public String render() {
            StringBuilder b = new StringBuilder();
            for (String c : CHECKS) {
                b.append(c).append(": ").append(counts.getOrDefault(c, 0L)).append('\n');
            }
            info.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
            examples.forEach((k, list) -> list.forEach(e -> b.append("  ").append(k).append(" example: ").append(e).append('\n')));
            return b.toString();
        }
    }

    private static final int EXAMPLES = 5;

    private record Position(int partition, long offset) {
    }

    private final Map<String, Long> counts = new LinkedHashMap<>();
    private final Map<String, String> info = new LinkedHashMap<>();
    private final Map<String, List<String>> examples = new LinkedHashMap<>();

    private Checker() {
        CHECKS.forEach(c -> counts.put(c, 0L));
    }

    public static Report check(Events events) {
        Checker c = new Checker();
        c.run(events);
        return new Report(c.counts, c.info, c.examples);
    }

    private void run(Events events) {
        Map<Position, Set<String>> valuesAt = new HashMap<>();
        Map<String, Set<Position>> positionsOf = new HashMap<>();
        for (Read r : events.reads()) {
            Position at = new Position(r.partition(), r.offset());
            valuesAt.computeIfAbsent(at, k -> new HashSet<>()).add(r.value());
            positionsOf.computeIfAbsent(r.value(), k -> new HashSet<>()).add(at);
        }
        valuesAt.forEach((at, values) -> {
            if (values.size() > 1) {
                anomaly("inconsistent-offsets", "partition " + at.partition() + " offset " + at.offset() + " read as " + values);
            }
        });
        Map<String, Send> sendOf = new HashMap<>();
        long acked = 0;
        long unknown = 0;
        long unknownFound = 0;
        for (Send s : events.sends()) {
            sendOf.put(s.value(), s);
            Set<Position> found = positionsOf.getOrDefault(s.value(), Set.of());
            if (s.outcome() == Outcome.OK) {
                acked++;
                Position expected = new Position(s.partition(), s.offset());
                if (found.isEmpty()) {
                    anomaly("lost-write", s.value() + " acknowledged at partition " + s.partition() + " offset " + s.offset()
                            + " is missing");
                } else if (!found.contains(expected)) {
                    anomaly("inconsistent-offsets", s.value() + " acknowledged at partition " + s.partition() + " offset "
                            + s.offset() + " was read at " + found);
                }
            } else if (s.outcome() == Outcome.FAIL && !found.isEmpty()) {
                anomaly("aborted-read", s.value() + " failed for certain, yet was read at " + found);
            } else if (s.outcome() == Outcome.UNKNOWN) {
                unknown++;
                unknownFound += found.isEmpty() ? 0 : 1;
            }
        }
        long duplicatesWithout = 0;
        for (Map.Entry<String, Set<Position>> e : positionsOf.entrySet()) {
            if (e.getValue().size() < 2) {
                continue;
            }
            Send s = sendOf.get(e.getKey());
            if (s == null || s.idempotent()) {
                anomaly("duplicate", e.getKey() + " found at " + e.getValue());
            } else {
                duplicatesWithout++;
            }
        }
        positionsOf.forEach((value, at) -> {
            if (!sendOf.containsKey(value)) {
                anomaly("phantom-read", value + " read at " + at + " was never sent");
            }
        });
        reordered(events.sends());
        info.put("sends", events.sends().size() + " (" + acked + " acknowledged, " + unknown + " unknown of which "
                + unknownFound + " were written)");
        info.put("records-read", Long.toString(events.reads().size()));
        info.put("duplicate-without-idempotence", Long.toString(duplicatesWithout));
        long consumed = GroupChecker.check(events, this::anomaly);
        if (!events.group().isEmpty()) {
            info.put("group-consumed", consumed + " distinct values");
        }
        availability(events);
    }

    /**
     * An idempotent producer's acknowledged values in one partition, in the order it sent them (the {@code n} of
     * {@code <producer>-<n>}), must be at increasing offsets: retries never reorder.
     */
    private void reordered(List<Send> sends) {
        Map<String, TreeMap<Long, Send>> sent = new HashMap<>();
        for (Send s : sends) {
            int dash = s.value().lastIndexOf('-');
            if (!s.idempotent() || s.outcome() != Outcome.OK || dash < 0) {
                continue;
            }
            long n;
            try {
                n = Long.parseLong(s.value().substring(dash + 1));
            } catch (NumberFormatException notNumbered) {
                continue;
            }
            sent.computeIfAbsent(s.producer() + "/" + s.partition(), k -> new TreeMap<>()).put(n, s);
        }
        sent.values().forEach(inOrder -> {
            Send before = null;
            for (Send s : inOrder.values()) {
                if (before != null && s.offset() <= before.offset()) {
                    anomaly("reordered", s.value() + " at offset " + s.offset() + " of partition " + s.partition()
                            + ", sent after " + before.value() + " at offset " + before.offset());
                }
                before = s;
            }
        });
    }

    private void anomaly(String check, String example) {
        counts.merge(check, 1L, Long::sum);
        List<String> list = examples.computeIfAbsent(check, k -> new ArrayList<>());
        if (list.size() < EXAMPLES) {
            list.add(example);
        }
    }

    /**
     * The longest stretch without an acknowledgement, overall and per kind of fault that overlapped it; then the
     * same per partition (the longest over the partitions), which is what a writer to one partition sees.
     */
    private void availability(Events events) {
        List<Send> acked = events.sends().stream().filter(s -> s.outcome() == Outcome.OK).toList();
        if (acked.size() < 2) {
            info.put("longest-gap-ms", "-");
            return;
        }
        Map<String, Long> overall = new TreeMap<>();
        gaps(acked.stream().map(Send::endMs).sorted().toList(), events.faults(), overall);
        Map<String, Long> perPartition = new TreeMap<>();
        acked.stream().collect(java.util.stream.Collectors.groupingBy(Send::partition)).values().forEach(sends ->
                gaps(sends.stream().map(Send::endMs).sorted().toList(), events.faults(), perPartition));
        overall.forEach((name, gap) -> info.put("longest-gap-ms" + name, Long.toString(gap)));
        perPartition.forEach((name, gap) -> info.put("longest-partition-gap-ms" + name, Long.toString(gap)));
        recovery(acked, events.faults());
    }

    /**
     * Recovery after healing: per fault, from its end (the node restarted and healthy, resumed, or the network
     * healed) to the first acknowledgement on each partition after it; the longest over faults and partitions.
     */
    private void recovery(List<Send> acked, List<Fault> faults) {
        Map<Integer, List<Long>> byPartition = new TreeMap<>();
        acked.forEach(s -> byPartition.computeIfAbsent(s.partition(), p -> new ArrayList<>()).add(s.endMs()));
        byPartition.values().forEach(java.util.Collections::sort);
        long longest = -1;
        for (Fault f : faults) {
            for (List<Long> times : byPartition.values()) {
                for (long t : times) {
                    if (t >= f.endMs()) {
                        longest = Math.max(longest, t - f.endMs());
                        break;
                    }
                }
            }
        }
        if (longest >= 0) {
            info.put("recovery-ms", Long.toString(longest));
        }
    }

    /** Merges into {@code longest} the longest gap between {@code times} ("") and per overlapping fault kind. */
    private static void gaps(List<Long> times, List<Fault> faults, Map<String, Long> longest) {
        for (int i = 1; i < times.size(); i++) {
            long from = times.get(i - 1);
            long to = times.get(i);
            longest.merge("", to - from, Math::max);
            for (Fault f : faults) {
                if (f.startMs() < to && f.endMs() > from) {
                    longest.merge("-during-" + f.kind(), to - from, Math::max);
                }
            }
        }
    }
}
