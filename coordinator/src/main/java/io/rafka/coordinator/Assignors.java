package io.rafka.coordinator;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;

/**
 * The assignors: a pure function from members' subscriptions, partition counts and the previous target to the new
 * target. Deterministic (members and partitions in sorted order), so every replay computes the same.
 */
final class Assignors {
    private Assignors() {
    }

    /**
     * @param subscriptions member id to the topics it subscribes to (existing topics only)
     * @param partitionCounts partitions per topic
     * @param previous the previous target, kept where it stays valid and balanced (uniform only)
     */
    static SortedMap<String, SortedSet<TopicPartition>> assign(AssignorType type, SortedMap<String, Set<String>> subscriptions,
                                                               Map<String, Integer> partitionCounts,
                                                               Map<String, ? extends Set<TopicPartition>> previous) {
        SortedMap<String, SortedSet<TopicPartition>> result = new TreeMap<>();
        subscriptions.keySet().forEach(m -> result.put(m, new java.util.TreeSet<>(MemberState.ORDER)));
        if (type == AssignorType.RANGE) {
            range(subscriptions, partitionCounts, result);
        } else {
            uniform(subscriptions, partitionCounts, previous, result);
        }
        return result;
    }

    private static void range(SortedMap<String, Set<String>> subscriptions, Map<String, Integer> counts,
                              SortedMap<String, SortedSet<TopicPartition>> result) {
        for (String topic : new java.util.TreeSet<>(counts.keySet())) {
            List<String> members = subscribers(subscriptions, topic);
            if (members.isEmpty()) {
                continue;
            }
            int n = counts.get(topic);
            int each = n / members.size();
            int extra = n % members.size();
            int p = 0;
            for (int i = 0; i < members.size(); i++) {
                int take = each + (i < extra ? 1 : 0);
                for (int k = 0; k < take; k++) {
                    result.get(members.get(i)).add(new TopicPartition(topic, p++));
                }
            }
        }
    }

    /**
     * Sticky first (each partition stays with its previous member if that member still subscribes), then every
     * free partition to the eligible member with the fewest, then moves from the most loaded to an eligible member
     * with at least two fewer until none is possible: with equal subscriptions the counts differ by at most one.
     */
    private static void uniform(SortedMap<String, Set<String>> subscriptions, Map<String, Integer> counts,
                                Map<String, ? extends Set<TopicPartition>> previous,
                                SortedMap<String, SortedSet<TopicPartition>> result) {
        Map<TopicPartition, String> owner = new TreeMap<>(MemberState.ORDER);
        previous.forEach((member, partitions) -> {
            Set<String> topics = subscriptions.get(member);
            if (topics == null) {
                return;
            }
            for (TopicPartition tp : partitions) {
                Integer n = counts.get(tp.topic());
                if (topics.contains(tp.topic()) && n != null && tp.partition() < n && !owner.containsKey(tp)) {
                    owner.put(tp, member);
                    result.get(member).add(tp);
                }
            }
        });
        for (String topic : new java.util.TreeSet<>(counts.keySet())) {
            List<String> members = subscribers(subscriptions, topic);
            if (members.isEmpty()) {
                continue;
            }
            for (int p = 0; p < counts.get(topic); p++) {
                TopicPartition tp = new TopicPartition(topic, p);
                if (!owner.containsKey(tp)) {
                    String least = leastLoaded(members, result);
                    owner.put(tp, least);
                    result.get(least).add(tp);
                }
            }
        }
        balance(subscriptions, result);
    }

    /**
     * Moves one partition at a time from the most loaded member that can give one to the least loaded subscriber of
     * its topic, while that one has at least two fewer. A pass costs the partitions plus topics x subscribers (the
     * least loaded subscriber of a topic is found once per pass, and members no more than one above the least
     * loaded of all cannot give), not partitions x members: a group of a thousand members joining one by one pays
     * this on every join.
     */
    private static void balance(SortedMap<String, Set<String>> subscriptions, SortedMap<String, SortedSet<TopicPartition>> result) {
        Map<String, List<String>> subscribersOf = new java.util.HashMap<>();
        boolean moved = !result.isEmpty();
        while (moved) {
            moved = false;
            List<String> byLoad = new ArrayList<>(result.keySet());
            byLoad.sort((a, b) -> result.get(b).size() != result.get(a).size()
                    ? Integer.compare(result.get(b).size(), result.get(a).size()) : a.compareTo(b));
            int fewest = result.get(byLoad.get(byLoad.size() - 1)).size();
            Map<String, String> leastOf = new java.util.HashMap<>();
            for (String from : byLoad) {
                if (result.get(from).size() <= fewest + 1) {
                    break;
                }
                List<TopicPartition> owned = new ArrayList<>(result.get(from));
                for (int i = owned.size() - 1; i >= 0; i--) {
                    TopicPartition tp = owned.get(i);
                    String to = leastOf.computeIfAbsent(tp.topic(), t -> leastLoaded(
                            subscribersOf.computeIfAbsent(t, u -> subscribers(subscriptions, u)), result));
                    if (result.get(to).size() + 1 < result.get(from).size()) {
                        result.get(from).remove(tp);
                        result.get(to).add(tp);
                        moved = true;
                        break;
                    }
                }
                if (moved) {
                    break;
                }
            }
        }
    }

    private static List<String> subscribers(SortedMap<String, Set<String>> subscriptions, String topic) {
        List<String> members = new ArrayList<>();
        subscriptions.forEach((m, topics) -> {
            if (topics.contains(topic)) {
                members.add(m);
            }
        });
        return members;
    }

    private static String leastLoaded(List<String> members, SortedMap<String, SortedSet<TopicPartition>> result) {
        String least = members.get(0);
        for (String m : members) {
            if (result.get(m).size() < result.get(least).size()) {
                least = m;
            }
        }
        return least;
    }
}
