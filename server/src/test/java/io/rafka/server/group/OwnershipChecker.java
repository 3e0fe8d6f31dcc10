package io.rafka.server.group;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Watches, from the test's side, which member consumes which partition: a member reports when it starts and when
 * it stops. Two members consuming one partition at the same moment is a violation.
 */
final class OwnershipChecker {
    private final Map<TopicPartition, String> owners = new HashMap<>();
    private final List<String> violations = new ArrayList<>();

    synchronized void acquire(String member, TopicPartition tp) {
        String other = owners.putIfAbsent(tp, member);
        if (other != null && !other.equals(member)) {
            violations.add(tp + " taken by " + member + " while " + other + " still consumed it");
        }
    }

    synchronized void release(String member, TopicPartition tp) {
        owners.remove(tp, member);
    }

    synchronized List<String> violations() {
        return new ArrayList<>(violations);
    }

    synchronized Map<TopicPartition, String> owners() {
        return new HashMap<>(owners);
    }
}
