package io.rafka.server.group;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What members consumed (every delivery, duplicates included) and the offsets they committed. */
final class Consumed {
    private final Map<TopicPartition, Map<Long, Integer>> deliveries = new HashMap<>();
    private final Map<TopicPartition, Long> committed = new HashMap<>();

    synchronized void record(String member, TopicPartition tp, long offset) {
        deliveries.computeIfAbsent(tp, k -> new TreeMap<>()).merge(offset, 1, Integer::sum);
    }

    synchronized void committed(TopicPartition tp, long offset) {
        committed.merge(tp, offset, Math::max);
    }

    synchronized long committed(TopicPartition tp) {
        return committed.getOrDefault(tp, 0L);
    }

    /** Offsets below {@code end} never delivered. */
    synchronized List<Long> missing(TopicPartition tp, long end) {
        List<Long> missing = new ArrayList<>();
        Map<Long, Integer> d = deliveries.getOrDefault(tp, Map.of());
        for (long o = 0; o < end; o++) {
            if (!d.containsKey(o)) {
                missing.add(o);
            }
        }
        return missing;
    }

    /** Offsets delivered more than once. */
    synchronized List<Long> duplicates(TopicPartition tp) {
        List<Long> dups = new ArrayList<>();
        deliveries.getOrDefault(tp, Map.of()).forEach((o, n) -> {
            if (n > 1) {
                dups.add(o);
            }
        });
        return dups;
    }
}
