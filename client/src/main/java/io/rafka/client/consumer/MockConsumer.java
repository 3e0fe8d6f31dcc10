package io.rafka.client.consumer;

import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A {@link Consumer} for users' unit tests, as Kafka's MockConsumer: no broker, records handed to it with
 * {@link #addRecord}, a rebalance simulated with {@link #rebalance}, work run inside a poll with
 * {@link #schedulePollTask}. Positions, commits, seeks and pauses behave as in {@link RafkaConsumer}. Not
 * thread-safe except {@link #wakeup()}, as the real one.
 *
 * <pre>{@code
 * MockConsumer<String, String> consumer = new MockConsumer<>("earliest");
 * TopicPartition tp = new TopicPartition("orders", 0);
 * consumer.subscribe(List.of("orders"));
 * consumer.rebalance(List.of(tp));
 * consumer.updateBeginningOffsets(Map.of(tp, 0L));
 * consumer.addRecord(new ConsumerRecord<>("orders", 0, 0, "k", "v"));
 * assertEquals(1, consumer.poll(Duration.ZERO).count());
 * }</pre>
 */
public final class MockConsumer<K, V> implements Consumer<K, V> {
    private final String offsetReset;
    private final Map<TopicPartition, List<ConsumerRecord<K, V>>> records = new HashMap<>();
    private final Map<TopicPartition, Long> beginningOffsets = new HashMap<>();
    private final Map<TopicPartition, Long> endOffsets = new HashMap<>();
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
    private final Map<String, Integer> partitionCounts = new HashMap<>();
    private final Set<TopicPartition> assignment = new LinkedHashSet<>();
    private final Set<TopicPartition> paused = new LinkedHashSet<>();
    private final Queue<Runnable> pollTasks = new LinkedList<>();
    private Set<String> subscription = Set.of();
    private Pattern pattern;
    private ConsumerRebalanceListener listener;
    private RuntimeException pollException;
    private volatile boolean wakeup;
    private boolean closed;

    /** @param offsetReset earliest, latest or none: where a partition without a committed offset starts */
    public MockConsumer(String offsetReset) {
        this.offsetReset = io.rafka.client.group.GroupMemberConfig.OffsetReset.parse(offsetReset).name();
    }

    @Override
    public void subscribe(Collection<String> topics) {
        subscribe(topics, null);
    }

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        ensureOpen();
        subscription = Set.copyOf(topics);
        pattern = null;
        this.listener = listener;
    }

    @Override
    public void subscribe(Pattern pattern) {
        subscribe(pattern, null);
    }

    @Override
    public void subscribe(Pattern pattern, ConsumerRebalanceListener listener) {
        ensureOpen();
        this.pattern = pattern;
        subscription = Set.of();
        this.listener = listener;
    }

    @Override
    public void unsubscribe() {
        ensureOpen();
        if (listener != null && !assignment.isEmpty()) {
            listener.onPartitionsRevoked(Set.copyOf(assignment));
        }
        subscription = Set.of();
        pattern = null;
        assignment.clear();
        paused.clear();
    }

    @Override
    public void assign(Collection<TopicPartition> partitions) {
        ensureOpen();
        assignment.retainAll(partitions);
        assignment.addAll(partitions);
        positions.keySet().retainAll(assignment);
    }

    /**
     * What the group's coordinator would do: the partitions now assigned to this (subscribed) consumer. The
     * listener hears of the ones revoked and the ones added, at once.
     */
    public void rebalance(Collection<TopicPartition> newAssignment) {
        Set<TopicPartition> revoked = new LinkedHashSet<>(assignment);
        revoked.removeAll(newAssignment);
        Set<TopicPartition> added = new LinkedHashSet<>(newAssignment);
        added.removeAll(assignment);
        if (listener != null && !revoked.isEmpty()) {
            listener.onPartitionsRevoked(revoked);
        }
        assignment.removeAll(revoked);
        positions.keySet().removeAll(revoked);
        paused.removeAll(revoked);
        assignment.addAll(added);
        if (listener != null && !added.isEmpty()) {
            listener.onPartitionsAssigned(added);
        }
    }

    @Override
    public Set<TopicPartition> assignment() {
        return Set.copyOf(assignment);
    }

    @Override
    public Set<String> subscription() {
        if (pattern != null) {
            Set<String> matched = new LinkedHashSet<>();
            assignment.forEach(tp -> matched.add(tp.topic()));
            return matched;
        }
        return subscription;
    }

    /** A record for poll to return; its partition must be assigned by the time it is polled. */
    public synchronized void addRecord(ConsumerRecord<K, V> record) {
        records.computeIfAbsent(record.topicPartition(), tp -> new ArrayList<>()).add(record);
        endOffsets.merge(record.topicPartition(), record.offset() + 1, Math::max);
    }

    /** Runs {@code task} inside the next poll (before records are returned): simulate what happens meanwhile. */
    public void schedulePollTask(Runnable task) {
        pollTasks.add(task);
    }

    /** The next poll throws this (once). */
    public void setPollException(RuntimeException exception) {
        this.pollException = exception;
    }

    public void updateBeginningOffsets(Map<TopicPartition, Long> offsets) {
        beginningOffsets.putAll(offsets);
    }

    public void updateEndOffsets(Map<TopicPartition, Long> offsets) {
        endOffsets.putAll(offsets);
    }

    @Override
    public synchronized ConsumerRecords<K, V> poll(Duration timeout) {
        ensureOpen();
        if (wakeup) {
            wakeup = false;
            throw new WakeupException();
        }
        Runnable task = pollTasks.poll();
        if (task != null) {
            task.run();
        }
        if (pollException != null) {
            RuntimeException e = pollException;
            pollException = null;
            throw e;
        }
        Map<TopicPartition, List<ConsumerRecord<K, V>>> out = new LinkedHashMap<>();
        for (TopicPartition tp : assignment) {
            if (paused.contains(tp)) {
                continue;
            }
            long position = position(tp);
            for (ConsumerRecord<K, V> r : records.getOrDefault(tp, List.of())) {
                if (r.offset() >= position) {
                    out.computeIfAbsent(tp, x -> new ArrayList<>()).add(r);
                    positions.put(tp, r.offset() + 1);
                }
            }
            records.remove(tp);
        }
        return new ConsumerRecords<>(out);
    }

    @Override
    public void commitSync() {
        Map<TopicPartition, OffsetAndMetadata> current = new HashMap<>();
        positions.forEach((tp, offset) -> current.put(tp, new OffsetAndMetadata(offset)));
        commitSync(current);
    }

    @Override
    public void commitSync(Duration timeout) {
        commitSync();
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        ensureOpen();
        committed.putAll(offsets);
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        commitSync(offsets);
    }

    @Override
    public void commitAsync() {
        commitSync();
    }

    @Override
    public void commitAsync(OffsetCommitCallback callback) {
        commitSync();
        if (callback != null) {
            Map<TopicPartition, OffsetAndMetadata> current = new HashMap<>();
            positions.forEach((tp, offset) -> current.put(tp, new OffsetAndMetadata(offset)));
            callback.onComplete(current, null);
        }
    }

    @Override
    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        commitSync(offsets);
        if (callback != null) {
            callback.onComplete(offsets, null);
        }
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
        for (TopicPartition tp : partitions) {
            if (committed.containsKey(tp)) {
                result.put(tp, committed.get(tp));
            }
        }
        return result;
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, Duration timeout) {
        return committed(partitions);
    }

    @Override
    public long position(TopicPartition partition, Duration timeout) {
        return position(partition);
    }

    /** Committed offset, else per the reset policy (beginning or end offsets given, 0 by default). */
    @Override
    public long position(TopicPartition partition) {
        ensureOpen();
        if (!assignment.contains(partition)) {
            throw new IllegalStateException(partition + " is not assigned to this consumer");
        }
        return positions.computeIfAbsent(partition, tp -> {
            if (committed.containsKey(tp)) {
                return committed.get(tp).offset();
            }
            return switch (offsetReset) {
                case "EARLIEST" -> beginningOffsets.getOrDefault(tp, 0L);
                case "LATEST" -> endOffsets.getOrDefault(tp, 0L);
                default -> throw new NoOffsetForPartitionException(List.of(tp), "no committed offset for " + tp, null);
            };
        });
    }

    @Override
    public void seek(TopicPartition partition, long offset) {
        ensureOpen();
        if (!assignment.contains(partition)) {
            throw new IllegalStateException(partition + " is not assigned to this consumer");
        }
        positions.put(partition, offset);
    }

    @Override
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
        Map<TopicPartition, Long> result = new HashMap<>();
        partitions.forEach(tp -> result.put(tp, beginningOffsets.getOrDefault(tp, 0L)));
        return result;
    }

    @Override
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
        Map<TopicPartition, Long> result = new HashMap<>();
        partitions.forEach(tp -> result.put(tp, endOffsets.getOrDefault(tp, 0L)));
        return result;
    }

    @Override
    public void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata) {
        seek(partition, offsetAndMetadata.offset());
    }

    /** The end offset given ({@link #updateEndOffsets}, 0 by default) minus the position. */
    @Override
    public java.util.OptionalLong currentLag(TopicPartition partition) {
        return java.util.OptionalLong.of(Math.max(0, endOffsets.getOrDefault(partition, 0L) - position(partition)));
    }

    /** The topics {@link #updatePartitions} gave. */
    @Override
    public synchronized Map<String, List<TopicPartition>> listTopics() {
        Map<String, List<TopicPartition>> topics = new java.util.TreeMap<>();
        partitionCounts.keySet().forEach(topic -> topics.put(topic, partitionsFor(topic)));
        return topics;
    }

    @Override
    public Map<String, List<TopicPartition>> listTopics(Duration timeout) {
        return listTopics();
    }

    @Override
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return beginningOffsets(partitions);
    }

    @Override
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return endOffsets(partitions);
    }

    @Override
    public Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs, Duration timeout) {
        return offsetsForTimes(timestampsMs);
    }

    /** Gives {@code topic} this many partitions, for {@link #partitionsFor}. */
    public synchronized void updatePartitions(String topic, int count) {
        partitionCounts.put(topic, count);
    }

    /** The partitions {@link #updatePartitions} gave the topic; UNKNOWN_TOPIC_OR_PARTITION for another. */
    @Override
    public synchronized List<TopicPartition> partitionsFor(String topic) {
        Integer count = partitionCounts.get(topic);
        if (count == null) {
            throw new ConsumerException(io.rafka.common.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic " + topic
                    + " is not known to this MockConsumer (updatePartitions)");
        }
        List<TopicPartition> partitions = new java.util.ArrayList<>(count);
        for (int p = 0; p < count; p++) {
            partitions.add(new TopicPartition(topic, p));
        }
        return partitions;
    }

    @Override
    public List<TopicPartition> partitionsFor(String topic, Duration timeout) {
        return partitionsFor(topic);
    }

    /** The first added record (not yet polled) at or after the timestamp, per partition. */
    @Override
    public synchronized Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs) {
        timestampsMs.forEach((tp, ts) -> {
            if (ts < 0) {
                throw new IllegalArgumentException("the target time for " + tp + " must not be negative: " + ts);
            }
        });
        Map<TopicPartition, Long> result = new HashMap<>();
        timestampsMs.forEach((tp, ts) -> records.getOrDefault(tp, List.of()).stream()
                .filter(r -> r.timestampMs() >= ts).findFirst().ifPresent(r -> result.put(tp, r.offset())));
        return result;
    }

    @Override
    public void seekToBeginning(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> seek(tp, beginningOffsets.getOrDefault(tp, 0L)));
    }

    @Override
    public void seekToEnd(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> seek(tp, endOffsets.getOrDefault(tp, 0L)));
    }

    @Override
    public void pause(Collection<TopicPartition> partitions) {
        partitions.stream().filter(assignment::contains).forEach(paused::add);
    }

    @Override
    public void resume(Collection<TopicPartition> partitions) {
        paused.removeAll(partitions);
    }

    @Override
    public Set<TopicPartition> paused() {
        return Set.copyOf(paused);
    }

    @Override
    public void wakeup() {
        wakeup = true;
    }

    @Override
    public void close() {
        close(Duration.ZERO);
    }

    @Override
    public void close(Duration timeout) {
        closed = true;
    }

    public boolean closed() {
        return closed;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the consumer is closed");
        }
    }
}
