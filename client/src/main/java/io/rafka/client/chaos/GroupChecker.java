package io.rafka.client.chaos;

import io.rafka.client.chaos.History.Events;
import io.rafka.client.chaos.History.Group;
import io.rafka.client.chaos.History.Outcome;
import io.rafka.client.chaos.History.Read;
import io.rafka.client.chaos.History.Send;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The {@link Checker}'s checks of what a consumer group and a reader with manual assignment (named
 * {@code assigned...}: outside the group, so not in the ownership check) saw ({@link Group} events, in the order each
 * saw them):
 *
 * <ul>
 *   <li><b>nonmonotonic</b>: a member's poll returned an offset of a partition at or below one it returned before,
 *       with no new assignment of that partition in between;</li>
 *   <li><b>poll-skip</b>: the same, an offset past the next one (offsets of a partition are contiguous);</li>
 *   <li><b>group-ownership</b>: a member consumed a partition after another member had been given it, before
 *       being told it had lost it (two members consuming one partition at once);</li>
 *   <li><b>consumer-lost</b>: an acknowledged value the group never consumed (when a group member started, even if
 *       it never got a partition), or that the reader with manual assignment never consumed (when it started);</li>
 *   <li>and, into <b>inconsistent-offsets</b>: a consumed offset holding another value than the final read found.</li>
 * </ul>
 */
final class GroupChecker {
    private record Position(int partition, long offset) {
    }

    private final BiConsumer<String, String> anomaly;
    /** Member → partition → the last offset its polls returned since it was given the partition. */
    private final Map<String, Map<Integer, Long>> last = new HashMap<>();
    /** Partition → the member that was given it last (and has not been told it lost it). */
    private final Map<Integer, String> owner = new HashMap<>();
    /** Member → the partitions it believes it owns. */
    private final Map<String, Set<Integer>> owns = new HashMap<>();

    private GroupChecker(BiConsumer<String, String> anomaly) {
        this.anomaly = anomaly;
    }

    /** Runs the checks; {@code anomaly} gets (check, example) per finding. Returns the distinct values consumed. */
    static long check(Events events, BiConsumer<String, String> anomaly) {
        return new GroupChecker(anomaly).run(events);
    }

    private long run(Events events) {
        Map<Position, String> finalRead = new HashMap<>();
        for (Read r : events.reads()) {
            finalRead.put(new Position(r.partition(), r.offset()), r.value());
        }
        Set<String> consumed = new HashSet<>();
        Set<String> consumedAssigned = new HashSet<>();
        boolean groupRan = false;
        boolean assignedRan = false;
        for (Group g : events.group()) {
            boolean manual = manual(g.member());
            groupRan |= !manual;
            assignedRan |= manual;
            switch (g.kind()) {
                case Group.ASSIGN -> assign(g);
                case Group.RELEASE -> release(g);
                case Group.START -> { }
                default -> {
                    consume(g);
                    (manual ? consumedAssigned : consumed).add(g.value());
                    String read = finalRead.get(new Position(g.partition(), g.offset()));
                    if (read != null && !read.equals(g.value())) {
                        anomaly.accept("inconsistent-offsets", g.member() + " consumed " + g.value() + " at partition "
                                + g.partition() + " offset " + g.offset() + " where the final read found " + read);
                    }
                }
            }
        }
        for (Send s : events.sends()) {
            if (s.outcome() != Outcome.OK) {
                continue;
            }
            if (groupRan && !consumed.contains(s.value())) {
                anomaly.accept("consumer-lost", s.value() + " acknowledged at partition " + s.partition() + " offset "
                        + s.offset() + " was never consumed by the group");
            }
            if (assignedRan && !consumedAssigned.contains(s.value())) {
                anomaly.accept("consumer-lost", s.value() + " acknowledged at partition " + s.partition() + " offset "
                        + s.offset() + " was never consumed by the reader with manual assignment");
            }
        }
        return consumed.size();
    }

    private static boolean manual(String member) {
        return member.startsWith(ChaosConsumers.ASSIGNED_PREFIX);
    }

    private void assign(Group g) {
        last.computeIfAbsent(g.member(), m -> new HashMap<>()).remove(g.partition());
        if (manual(g.member())) {
            return;
        }
        owns.computeIfAbsent(g.member(), m -> new HashSet<>()).add(g.partition());
        owner.put(g.partition(), g.member());
    }

    private void release(Group g) {
        if (manual(g.member())) {
            return;
        }
        Set<Integer> mine = owns.computeIfAbsent(g.member(), m -> new HashSet<>());
        Set<Integer> released = g.partition() < 0 ? Set.copyOf(mine) : Set.of(g.partition());
        for (int p : released) {
            mine.remove(p);
            owner.remove(p, g.member());
        }
    }

    private void consume(Group g) {
        String current = owner.get(g.partition());
        if (current != null && !current.equals(g.member()) && !manual(g.member())) {
            anomaly.accept("group-ownership", g.member() + " consumed partition " + g.partition() + " offset " + g.offset()
                    + " after " + current + " had been given the partition");
        }
        Map<Integer, Long> mine = last.computeIfAbsent(g.member(), m -> new HashMap<>());
        Long before = mine.put(g.partition(), g.offset());
        if (before == null) {
            return;
        }
        if (g.offset() <= before) {
            anomaly.accept("nonmonotonic", g.member() + ": partition " + g.partition() + " offset " + g.offset()
                    + " after " + before);
        } else if (g.offset() > before + 1) {
            anomaly.accept("poll-skip", g.member() + ": partition " + g.partition() + " offset " + g.offset() + " after "
                    + before + ", skipping " + (g.offset() - before - 1));
        }
    }
}
