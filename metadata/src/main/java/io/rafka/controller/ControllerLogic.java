package io.rafka.controller;

import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataRecord;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;
import io.rafka.common.InvalidPartitionsException;
import io.rafka.common.InvalidReplicationFactorException;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.PolicyViolationException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicAlreadyExistsException;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.log.LogConfig;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The controller's decisions, as pure functions from the current {@link MetadataImage} (and the set of live
 * brokers) to the records that carry them out. No I/O and no Raft here: the metadata state machine applies
 * the records, and a deterministic simulation checks the invariants after every step.
 *
 * <p><b>Placement</b> follows the seeds' rule — replica j of a partition on broker {@code (first + j) mod n}
 * over the live brokers sorted by id — with the first replica (the preferred leader) chosen per partition as
 * the live broker that currently prefers-leads the fewest partitions, ties broken by rotating from a random
 * start. Plain {@code (start + i) mod n} keeps one topic balanced but lets imbalance accumulate across
 * topics; choosing the first replica by load keeps every broker within one preferred leadership of every
 * other (the invariant the simulation checks). After deletions, {@link #balanceLeaders} restores it by
 * reordering replica lists (no data moves).
 */
public final class ControllerLogic {
    /** Upper bound on partitions per topic, so one request cannot create an unbounded number of Raft groups. */
    public static final int MAX_PARTITIONS_PER_TOPIC = 10_000;

    private ControllerLogic() {
    }

    /**
     * A request to create a topic. {@code topicId}, when set, is the id the topic gets: a retry of a create
     * whose first attempt did commit (its answer lost with a crashed controller) finds the topic with that
     * same id and succeeds without a change, so a create is made once however often it is retried. Null
     * lets the controller pick a random id (no such retry protection).
     */
    public record CreateTopicRequest(String name, int partitions, int replicationFactor, Map<String, String> configs,
                                     UUID topicId) {
        public CreateTopicRequest(String name, int partitions, int replicationFactor, Map<String, String> configs) {
            this(name, partitions, replicationFactor, configs, null);
        }
    }

    /**
     * Validates a create request against the image and the live brokers and places its replicas. A topic
     * that already exists with the request's {@code topicId} was made by an earlier attempt of the same
     * request: no records, and the caller answers it as created.
     *
     * @throws io.rafka.common.RafkaException INVALID_TOPIC, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
     *         INVALID_REPLICATION_FACTOR or INVALID_CONFIG
     */
    public static List<MetadataRecord> createTopic(MetadataImage image, Set<String> liveBrokers, CreateTopicRequest request,
                                                   LogConfig defaults, Random random) {
        TopicNames.validate(request.name());
        TopicInfo existing = image.topic(request.name());
        if (existing != null && existing.id().equals(request.topicId())) {
            return List.of();
        }
        if (existing != null) {
            throw new TopicAlreadyExistsException("topic '" + request.name() + "' already exists");
        }
        if (request.topicId() != null && image.topics().values().stream().anyMatch(t -> t.id().equals(request.topicId()))) {
            throw new InvalidRequestException("topic id " + request.topicId() + " is taken by another topic");
        }
        checkPartitions(request.partitions());
        List<String> live = sortedLive(image, liveBrokers);
        if (request.replicationFactor() < 1 || request.replicationFactor() > live.size()) {
            throw new InvalidReplicationFactorException("replication factor " + request.replicationFactor()
                    + " must be between 1 and the number of live brokers (" + live.size() + ")");
        }
        Map<String, String> configs = TopicConfigs.canonical(request.configs());
        TopicConfigs.toLogConfig(configs, defaults);
        List<List<String>> assignments = place(image.preferredLeaderCounts(), live, request.partitions(),
                request.replicationFactor(), random);
        UUID id = request.topicId() != null ? request.topicId() : new UUID(random.nextLong(), random.nextLong());
        return List.of(new MetadataRecord.CreateTopic(new TopicInfo(request.name(), id, assignments, configs)));
    }

    /**
     * Refuses {@code records} (topics or partitions created, replicas reassigned) if they would leave a broker that
     * gains replicas with more than {@code maxPerBroker} partition replicas: every replica is a Raft group member
     * with its files, memory and a share of the broker's wake-ups, so a broker's count is bounded like every other
     * resource. Brokers that gain nothing are not checked (a lowered limit does not block other changes).
     *
     * @throws PolicyViolationException naming the broker, what it would host and the limit
     */
    public static void checkReplicasPerBroker(MetadataImage image, List<MetadataRecord> records, int maxPerBroker) {
        Map<String, Integer> gained = new TreeMap<>();
        for (MetadataRecord r : records) {
            if (r instanceof MetadataRecord.CreateTopic created) {
                created.topic().assignments().forEach(replicas -> replicas.forEach(b -> gained.merge(b, 1, Integer::sum)));
            } else if (r instanceof MetadataRecord.CreatePartitions added) {
                added.added().forEach(replicas -> replicas.forEach(b -> gained.merge(b, 1, Integer::sum)));
            } else if (r instanceof MetadataRecord.ReassignReplicas moved) {
                List<String> before = image.topic(moved.topic()).assignments().get(moved.partition());
                moved.replicas().stream().filter(b -> !before.contains(b)).forEach(b -> gained.merge(b, 1, Integer::sum));
            }
        }
        if (gained.isEmpty()) {
            return;
        }
        Map<String, Integer> hosted = new TreeMap<>();
        for (TopicInfo t : image.topics().values()) {
            t.assignments().forEach(replicas -> replicas.forEach(b -> hosted.merge(b, 1, Integer::sum)));
        }
        for (Map.Entry<String, Integer> e : gained.entrySet()) {
            int total = hosted.getOrDefault(e.getKey(), 0) + e.getValue();
            if (total > maxPerBroker) {
                throw new PolicyViolationException("broker " + e.getKey() + " would host " + total
                        + " partition replicas (" + hosted.getOrDefault(e.getKey(), 0) + " now), above max.partitions.per.broker ("
                        + maxPerBroker + "): delete topics, add brokers or raise the limit");
            }
        }
    }

    /** Adds partitions to a topic, placed like new ones, with the topic's replication factor. */
    public static List<MetadataRecord> createPartitions(MetadataImage image, Set<String> liveBrokers, String topic,
                                                        int newTotal, Random random) {
        TopicInfo t = requireTopic(image, topic);
        checkPartitions(newTotal);
        if (newTotal <= t.partitionCount()) {
            throw new InvalidPartitionsException("topic '" + topic + "' has " + t.partitionCount()
                    + " partitions; the new count " + newTotal + " must be larger");
        }
        List<String> live = sortedLive(image, liveBrokers);
        if (t.replicationFactor() > live.size()) {
            throw new InvalidReplicationFactorException("topic '" + topic + "' needs " + t.replicationFactor()
                    + " replicas per partition but only " + live.size() + " brokers are live");
        }
        List<List<String>> added = place(image.preferredLeaderCounts(), live, newTotal - t.partitionCount(),
                t.replicationFactor(), random);
        return List.of(new MetadataRecord.CreatePartitions(topic, added));
    }

    public static List<MetadataRecord> deleteTopic(MetadataImage image, String topic) {
        requireTopic(image, topic);
        return List.of(new MetadataRecord.DeleteTopic(topic));
    }

    public static List<MetadataRecord> alterConfigs(MetadataImage image, String topic, Map<String, String> configs,
                                                    LogConfig defaults) {
        requireTopic(image, topic);
        Map<String, String> canonical = TopicConfigs.canonical(configs);
        TopicConfigs.toLogConfig(canonical, defaults);
        return List.of(new MetadataRecord.AlterConfigs(topic, canonical));
    }

    /** Producer ids a broker reserves at a time (Kafka's block size): one metadata write per 1000 producers. */
    public static final int PRODUCER_ID_BLOCK_SIZE = 1000;

    /** The next block of producer ids, for {@code brokerId}: it starts where the last one ended. */
    public static List<MetadataRecord> allocateProducerIds(MetadataImage image, String brokerId) {
        if (!image.brokers().containsKey(brokerId)) {
            throw new InvalidRequestException("broker " + brokerId + " is not registered");
        }
        return List.of(new MetadataRecord.AllocateProducerIds(brokerId, image.nextProducerId(), PRODUCER_ID_BLOCK_SIZE));
    }

    /** The new replica list of one partition of a reassignment, or why it could not be moved. */
    public record Reassignment(String topic, int partition, List<String> replicas, RafkaException error) {
    }

    /**
     * Replaces {@code brokerId}'s replica in every partition that has one (a dead broker's, typically) with a
     * replica on {@code target}, or, if {@code target} is null, on the live broker not yet in that partition
     * that hosts the fewest replicas (counting the moves made so far), keeping the replica's position in the
     * list. A partition that cannot be moved gets an error and stays as it is.
     *
     * @return one {@link Reassignment} per partition that has a replica on {@code brokerId}
     */
    public static List<Reassignment> replaceBroker(MetadataImage image, Set<String> liveBrokers, String brokerId, String target) {
        if (target != null && (!image.brokers().containsKey(target) || !liveBrokers.contains(target))) {
            throw new InvalidReplicationFactorException("target broker " + target + " is not a live, registered broker");
        }
        if (brokerId.equals(target)) {
            throw new InvalidReplicationFactorException("a broker cannot replace itself");
        }
        if (!image.brokers().containsKey(brokerId) && image.topics().values().stream()
                .noneMatch(t -> t.assignments().stream().anyMatch(r -> r.contains(brokerId)))) {
            // A mistyped id would otherwise move nothing and report success, leaving the dead broker's replicas.
            throw new InvalidRequestException("broker " + brokerId + " is not registered and holds no replica; registered: "
                    + new java.util.TreeSet<>(image.brokers().keySet()));
        }
        Map<String, Integer> load = new TreeMap<>();
        for (String b : sortedLive(image, liveBrokers)) {
            load.put(b, 0);
        }
        for (TopicInfo t : image.topics().values()) {
            for (List<String> replicas : t.assignments()) {
                replicas.forEach(b -> load.computeIfPresent(b, (k, n) -> n + 1));
            }
        }
        load.remove(brokerId);
        List<Reassignment> out = new ArrayList<>();
        for (TopicInfo t : new TreeMap<>(image.topics()).values()) {
            for (int p = 0; p < t.partitionCount(); p++) {
                List<String> replicas = t.assignments().get(p);
                int at = replicas.indexOf(brokerId);
                if (at < 0) {
                    continue;
                }
                long survivors = replicas.stream().filter(b -> !b.equals(brokerId) && liveBrokers.contains(b)).count();
                if (survivors < replicas.size() / 2 + 1) {
                    // Raft changes membership only with a majority of the current members: a group that lost it
                    // (any failure at replication factor 2) cannot be repaired safely, only restored.
                    out.add(new Reassignment(t.name(), p, replicas, new RafkaException(io.rafka.common.ErrorCode.NOT_ENOUGH_REPLICAS,
                            t.name() + "-" + p + " has " + survivors + " live replicas besides broker " + brokerId + " of " + replicas
                                    + "; a membership change needs a majority (" + (replicas.size() / 2 + 1) + ")")));
                    continue;
                }
                String chosen = target != null ? (replicas.contains(target) ? null : target)
                        : load.entrySet().stream().filter(e -> !replicas.contains(e.getKey()))
                        .min(Map.Entry.<String, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
                        .map(Map.Entry::getKey).orElse(null);
                if (chosen == null) {
                    out.add(new Reassignment(t.name(), p, replicas, new InvalidReplicationFactorException("no live broker outside "
                            + replicas + " can take the replica of " + t.name() + "-" + p)));
                    continue;
                }
                List<String> moved = new ArrayList<>(replicas);
                moved.set(at, chosen);
                load.merge(chosen, 1, Integer::sum);
                out.add(new Reassignment(t.name(), p, List.copyOf(moved), null));
            }
        }
        if (target == null && !out.isEmpty() && out.stream().allMatch(r -> r.error() instanceof InvalidReplicationFactorException)) {
            // One cause for every partition (typically as many live brokers as the replication factor): say it once.
            throw new InvalidReplicationFactorException("no live broker can take the replicas of broker " + brokerId
                    + ": the live brokers " + load.keySet() + " already hold a replica of each of its " + out.size()
                    + " partitions; start another broker first (a cluster needs more brokers than the replication factor)");
        }
        return out;
    }

    /** Partitions one {@link #reassign} may name: its records go into one metadata entry. */
    public static final int MAX_REASSIGNMENTS_PER_REQUEST = 10_000;

    /**
     * Checks new replica lists, each on its own: the topic and partition exist; the list is not empty, names no
     * broker twice and only registered brokers, and every broker it adds is live; the partition is named once;
     * and Raft can make the change, i.e. a majority of the current replicas is live (they agree to it) and a
     * majority of the new list is live (it must run the group afterwards). A list equal to the current one is
     * answered as done with nothing to change.
     *
     * @return one {@link Reassignment} per requested one, in order: the new list, or the current one with the error
     */
    public static List<Reassignment> reassign(MetadataImage image, Set<String> liveBrokers, List<Reassignment> wanted) {
        if (wanted.isEmpty()) {
            throw new InvalidRequestException("no partitions to reassign");
        }
        if (wanted.size() > MAX_REASSIGNMENTS_PER_REQUEST) {
            throw new InvalidRequestException(wanted.size() + " partitions in one reassignment; at most "
                    + MAX_REASSIGNMENTS_PER_REQUEST);
        }
        Map<String, Integer> named = new java.util.HashMap<>();
        wanted.forEach(w -> named.merge(w.topic() + "-" + w.partition(), 1, Integer::sum));
        List<Reassignment> out = new ArrayList<>();
        for (Reassignment w : wanted) {
            TopicInfo t = image.topic(w.topic());
            if (t == null || w.partition() < 0 || w.partition() >= t.partitionCount()) {
                out.add(new Reassignment(w.topic(), w.partition(), List.of(), new UnknownTopicOrPartitionException(
                        t == null ? "topic '" + w.topic() + "' does not exist"
                                : "topic '" + w.topic() + "' has partitions 0.." + (t.partitionCount() - 1) + ", not " + w.partition())));
                continue;
            }
            List<String> current = t.assignments().get(w.partition());
            RafkaException refused = named.get(w.topic() + "-" + w.partition()) == 1
                    ? checkReassignment(image, liveBrokers, t.name() + "-" + w.partition(), current, w.replicas())
                    : new InvalidRequestException(t.name() + "-" + w.partition() + " is named more than once in the reassignment");
            out.add(new Reassignment(w.topic(), w.partition(), refused == null ? List.copyOf(w.replicas()) : current, refused));
        }
        return out;
    }

    /** Why {@code partition} cannot go from {@code current} to {@code wanted}; null if it can. */
    private static RafkaException checkReassignment(MetadataImage image, Set<String> live, String partition,
                                                    List<String> current, List<String> wanted) {
        if (wanted.isEmpty()) {
            return new RafkaException(io.rafka.common.ErrorCode.INVALID_REPLICA_ASSIGNMENT, partition + ": the new replica list is empty");
        }
        if (new java.util.HashSet<>(wanted).size() != wanted.size()) {
            return new RafkaException(io.rafka.common.ErrorCode.INVALID_REPLICA_ASSIGNMENT, partition + ": " + wanted
                    + " names a broker twice");
        }
        for (String b : wanted) {
            if (!image.brokers().containsKey(b)) {
                return new RafkaException(io.rafka.common.ErrorCode.INVALID_REPLICA_ASSIGNMENT, partition + ": broker " + b
                        + " is not registered; registered: " + new java.util.TreeSet<>(image.brokers().keySet()));
            }
            if (!current.contains(b) && !live.contains(b)) {
                return new RafkaException(io.rafka.common.ErrorCode.INVALID_REPLICA_ASSIGNMENT, partition + ": broker " + b
                        + " is not live, so it cannot take a new replica");
            }
        }
        if (wanted.equals(current)) {
            return null;
        }
        long liveNow = current.stream().filter(live::contains).count();
        if (liveNow < current.size() / 2 + 1) {
            return new RafkaException(io.rafka.common.ErrorCode.NOT_ENOUGH_REPLICAS, partition + " has " + liveNow
                    + " live replicas of " + current + "; a membership change needs a majority (" + (current.size() / 2 + 1) + ")");
        }
        long liveAfter = wanted.stream().filter(live::contains).count();
        if (liveAfter < wanted.size() / 2 + 1) {
            return new RafkaException(io.rafka.common.ErrorCode.NOT_ENOUGH_REPLICAS, partition + ": only " + liveAfter
                    + " of the new replicas " + wanted + " are live; the new group needs a majority (" + (wanted.size() / 2 + 1) + ")");
        }
        List<String> added = wanted.stream().filter(b -> !current.contains(b)).toList();
        if (!addsAMinority(current, wanted)) {
            return new RafkaException(io.rafka.common.ErrorCode.INVALID_REPLICA_ASSIGNMENT, partition + ": it adds " + added
                    + " to " + current + " and keeps fewer: Raft changes a group's members only when it keeps more than it adds "
                    + "(or grows one replica to two), so go in steps and let each step's new replicas catch up first (e.g. "
                    + "[1,2] -> [1,2,3] -> [1,3], or [1] -> [1,2] -> [2])");
        }
        return null;
    }

    /**
     * Whether Raft can take a partition's group from {@code current} to {@code wanted}: a majority of the current
     * members must be live to agree to the change (they all stay until it is made: a dropped replica leaves only
     * once the group's leader runs without it), a majority of the new ones to run the group afterwards, and the
     * members it adds must be fewer than a majority of the new list ({@link #addsAMinority}).
     */
    private static boolean canChangeMembers(List<String> current, List<String> wanted, Set<String> live) {
        return current.stream().filter(live::contains).count() >= current.size() / 2 + 1
                && wanted.stream().filter(live::contains).count() >= wanted.size() / 2 + 1
                && addsAMinority(current, wanted);
    }

    /**
     * Whether the brokers {@code wanted} adds to {@code current} are fewer than those it keeps, or it grows one
     * replica to two: Ratis 3.3's own rule for a configuration change ({@code RaftConfigurationImpl.changeMajority},
     * RATIS-1912; it refuses any other change, so the group would never get the new list). It also keeps a new
     * replica's broker, which starts the group empty with the new list as its members before the leader adds it,
     * from being part of a majority of new members that could elect a leader of their own.
     */
    private static boolean addsAMinority(List<String> current, List<String> wanted) {
        long added = wanted.stream().filter(b -> !current.contains(b)).count();
        long kept = wanted.size() - added;
        return added < kept || current.size() == 1 && wanted.size() == 2 && added == 1;
    }

    /**
     * A plan that evens out how many partition replicas each live broker holds (a broker just added holds none):
     * one replica at a time moves from a broker holding the most to one holding the fewest, until no two live
     * brokers differ by more than one, or no partition can make the next move (it has a replica on both, or too
     * few live replicas to change membership, {@link #canChangeMembers}). A moved replica keeps its place in the list;
     * a partition moves one replica per plan (the copies spread over partitions), and a plan moves at most
     * {@link #MAX_REASSIGNMENTS_PER_REQUEST}, so a plan that could not even everything out does more when asked again. Replicas on dead brokers are neither counted nor moved ({@link #replaceBroker} is for
     * them).
     *
     * @return the partitions whose lists change, with their new lists, ordered by topic and partition
     */
    public static List<Reassignment> balanceReplicas(MetadataImage image, Set<String> liveBrokers) {
        Map<String, Integer> load = new TreeMap<>();
        sortedLive(image, liveBrokers).forEach(b -> load.put(b, 0));
        // Each live broker's replicas, by topic and partition: where the next move from it is looked for.
        Map<String, List<Slot>> held = new TreeMap<>();
        for (TopicInfo t : new TreeMap<>(image.topics()).values()) {
            for (int p = 0; p < t.partitionCount(); p++) {
                for (String b : t.assignments().get(p)) {
                    if (load.containsKey(b)) {
                        load.merge(b, 1, Integer::sum);
                        held.computeIfAbsent(b, k -> new ArrayList<>()).add(new Slot(t.name(), p));
                    }
                }
            }
        }
        Map<Slot, List<String>> moved = new TreeMap<>();
        while (moved.size() < MAX_REASSIGNMENTS_PER_REQUEST && moveOne(image, liveBrokers, load, held, moved)) {
            // one replica per round, from the fullest to the emptiest broker a partition allows
        }
        List<Reassignment> out = new ArrayList<>();
        moved.forEach((slot, replicas) -> out.add(new Reassignment(slot.topic(), slot.partition(), replicas, null)));
        return out;
    }

    /** A partition in {@link #balanceReplicas}'s plan, ordered by topic and partition. */
    private record Slot(String topic, int partition) implements Comparable<Slot> {
        @Override
        public int compareTo(Slot o) {
            int c = topic.compareTo(o.topic);
            return c != 0 ? c : Integer.compare(partition, o.partition);
        }
    }

    /** Makes the best single move of {@link #balanceReplicas}; false if none evens the counts out any more. */
    private static boolean moveOne(MetadataImage image, Set<String> live, Map<String, Integer> load,
                                   Map<String, List<Slot>> held, Map<Slot, List<String>> moved) {
        java.util.Comparator<Map.Entry<String, Integer>> byLoad = Map.Entry.<String, Integer>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey());
        List<Map.Entry<String, Integer>> fullestFirst = load.entrySet().stream().sorted(byLoad.reversed()).toList();
        List<Map.Entry<String, Integer>> emptiestFirst = load.entrySet().stream().sorted(byLoad).toList();
        for (Map.Entry<String, Integer> from : fullestFirst) {
            for (Map.Entry<String, Integer> to : emptiestFirst) {
                if (from.getValue() - to.getValue() < 2) {
                    break;
                }
                for (Slot slot : held.getOrDefault(from.getKey(), List.of())) {
                    List<String> replicas = image.topic(slot.topic()).assignments().get(slot.partition());
                    if (moved.containsKey(slot) || replicas.contains(to.getKey())) {
                        continue;
                    }
                    List<String> after = new ArrayList<>(replicas);
                    after.set(replicas.indexOf(from.getKey()), to.getKey());
                    if (canChangeMembers(replicas, after, live)) {
                        moved.put(slot, List.copyOf(after));
                        load.merge(from.getKey(), -1, Integer::sum);
                        load.merge(to.getKey(), 1, Integer::sum);
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Reorders replica lists so that no live broker is the preferred leader of more than one partition more
     * than another live broker, as far as reordering can achieve it (a broker that hosts no replica cannot gain
     * leadership without moving data). Preferred leaderships of dead brokers move to live replicas first.
     */
    public static List<MetadataRecord> balanceLeaders(MetadataImage image, Set<String> liveBrokers) {
        List<MetadataRecord> out = new ArrayList<>();
        MetadataImage current = image;
        for (int guard = 0; guard < 100_000; guard++) {
            Map<String, Integer> counts = new TreeMap<>(current.preferredLeaderCounts());
            counts.keySet().retainAll(liveBrokers);
            List<MetadataRecord> moves = findImprovingMoves(current, counts);
            if (moves.isEmpty()) {
                return out;
            }
            for (MetadataRecord m : moves) {
                out.add(m);
                current = current.apply(m);
            }
        }
        return out;
    }

    /**
     * Reorders that improve preferred-leader balance among the live brokers in {@code liveCounts}: a partition
     * led by a dead broker handed to a live replica, or a chain of hand-overs (u leads a partition that v
     * replicates, v one that w replicates, ...) from a most-loaded broker to one with at least two fewer, which
     * moves one leadership without changing the brokers in between. Empty if none exists.
     */
    public static List<MetadataRecord> findImprovingMoves(MetadataImage image, Map<String, Integer> liveCounts) {
        List<TopicInfo> topics = new ArrayList<>(new TreeMap<>(image.topics()).values());
        for (TopicInfo t : topics) {
            for (int p = 0; p < t.partitionCount(); p++) {
                List<String> replicas = t.assignments().get(p);
                if (!liveCounts.containsKey(replicas.get(0))) {
                    for (int at = 1; at < replicas.size(); at++) {
                        if (liveCounts.containsKey(replicas.get(at))) {
                            return List.of(reorder(t, p, at));
                        }
                    }
                }
            }
        }
        if (liveCounts.isEmpty()) {
            return List.of();
        }
        int max = java.util.Collections.max(liveCounts.values());
        // Breadth-first search over "u can hand a leadership to v" from the most loaded brokers.
        Map<String, MetadataRecord> via = new java.util.HashMap<>();
        Map<String, String> parent = new java.util.HashMap<>();
        java.util.ArrayDeque<String> queue = new java.util.ArrayDeque<>();
        for (Map.Entry<String, Integer> e : liveCounts.entrySet()) {
            if (e.getValue() == max) {
                queue.add(e.getKey());
                parent.put(e.getKey(), null);
            }
        }
        while (!queue.isEmpty()) {
            String u = queue.poll();
            for (TopicInfo t : topics) {
                for (int p = 0; p < t.partitionCount(); p++) {
                    List<String> replicas = t.assignments().get(p);
                    if (!replicas.get(0).equals(u)) {
                        continue;
                    }
                    for (int at = 1; at < replicas.size(); at++) {
                        String v = replicas.get(at);
                        if (!liveCounts.containsKey(v) || parent.containsKey(v)) {
                            continue;
                        }
                        parent.put(v, u);
                        via.put(v, reorder(t, p, at));
                        if (liveCounts.get(v) <= max - 2) {
                            List<MetadataRecord> path = new ArrayList<>();
                            for (String w = v; parent.get(w) != null; w = parent.get(w)) {
                                path.add(0, via.get(w));
                            }
                            return path;
                        }
                        queue.add(v);
                    }
                }
            }
        }
        return List.of();
    }

    private static MetadataRecord reorder(TopicInfo t, int partition, int newLeaderAt) {
        List<String> replicas = t.assignments().get(partition);
        List<String> reordered = new ArrayList<>(replicas);
        reordered.set(0, replicas.get(newLeaderAt));
        reordered.set(newLeaderAt, replicas.get(0));
        return new MetadataRecord.ReorderReplicas(t.name(), partition, reordered);
    }

    /** Places {@code count} partitions of {@code rf} replicas on {@code live} brokers (sorted), updating no state. */
    static List<List<String>> place(Map<String, Integer> leaderCounts, List<String> live, int count, int rf, Random random) {
        Map<String, Integer> load = new TreeMap<>();
        for (String b : live) {
            load.put(b, leaderCounts.getOrDefault(b, 0));
        }
        int n = live.size();
        int rotation = random.nextInt(n);
        List<List<String>> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int first = -1;
            for (int k = 0; k < n; k++) {
                int candidate = (rotation + i + k) % n;
                if (first < 0 || load.get(live.get(candidate)) < load.get(live.get(first))) {
                    first = candidate;
                }
            }
            List<String> replicas = new ArrayList<>(rf);
            for (int j = 0; j < rf; j++) {
                replicas.add(live.get((first + j) % n));
            }
            load.merge(live.get(first), 1, Integer::sum);
            out.add(replicas);
        }
        return out;
    }

    private static void checkPartitions(int partitions) {
        if (partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
            throw new InvalidPartitionsException("partition count " + partitions + " must be between 1 and "
                    + MAX_PARTITIONS_PER_TOPIC);
        }
    }

    private static TopicInfo requireTopic(MetadataImage image, String topic) {
        TopicInfo t = image.topic(topic);
        if (t == null) {
            throw new UnknownTopicOrPartitionException("topic '" + topic + "' does not exist");
        }
        return t;
    }

    private static List<String> sortedLive(MetadataImage image, Collection<String> liveBrokers) {
        return liveBrokers.stream().filter(image.brokers()::containsKey).sorted().toList();
    }
}
