package io.rafka.client.consumer;

import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads records from Rafka: {@link RafkaConsumer} does it for real, {@link MockConsumer} in users' unit tests.
 * The calls and their meaning are Kafka's {@code Consumer}'s.
 *
 * <pre>{@code
 * try (Consumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
 *         .bootstrap("127.0.0.1:9192").groupId("billing").build()) {
 *     consumer.subscribe(List.of("orders"));
 *     while (running) {
 *         for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) process(r);
 *     }
 * }
 * }</pre>
 */
public interface Consumer<K, V> extends AutoCloseable {

    /** Joins the group ({@code group.id}) for these topics; replaces an earlier subscription. */
    void subscribe(Collection<String> topics);

    void subscribe(Collection<String> topics, ConsumerRebalanceListener listener);

    /**
     * Joins the group for every topic whose name matches (also topics created later). The coordinator matches the
     * pattern's text in RE2 syntax (as Kafka's server-side patterns): java.util.regex's lookarounds and backreferences
     * are refused (INVALID_REQUEST).
     */
    void subscribe(Pattern pattern);

    void subscribe(Pattern pattern, ConsumerRebalanceListener listener);

    /** Leaves the group (commits first with auto-commit) and drops every partition. */
    void unsubscribe();

    /** Reads exactly these partitions, without group membership; commits still go to {@code group.id} if set. */
    void assign(Collection<TopicPartition> partitions);

    /** The partitions this consumer reads now. */
    Set<TopicPartition> assignment();

    /** The topics (or the pattern) subscribed; empty with {@code assign}. */
    Set<String> subscription();

    /**
     * Waits at most {@code timeout} for records of the assigned partitions; joins, heartbeats, rebalances and
     * (with auto-commit) commits on the way.
     *
     * @throws IllegalArgumentException   a negative timeout
     * @throws WakeupException            {@link #wakeup()} was called
     * @throws NoOffsetForPartitionException {@code auto.offset.reset=none} and no committed offset
     * @throws ConsumerException          a fatal error, or a retriable one that outlasted {@code default.api.timeout.ms}
     */
    ConsumerRecords<K, V> poll(Duration timeout);

    /**
     * Commits the positions of every assigned partition (what poll returned so far) and waits for it. Waits
     * first for the {@code commitAsync} calls still in flight and runs their callbacks, so that an older
     * asynchronous commit never lands after this one.
     */
    void commitSync();

    /** {@link #commitSync()} within {@code timeout} instead of {@code default.api.timeout.ms}. */
    void commitSync(Duration timeout);

    void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets);

    void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout);

    /** Commits the positions without waiting and without a callback. */
    void commitAsync();

    /** Commits the positions without waiting; the callback runs on a later poll, commitSync or close. */
    void commitAsync(OffsetCommitCallback callback);

    void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback);

    /** The group's committed offsets; partitions without one are absent. */
    Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions);

    /**
     * {@link #committed(Set)} within {@code timeout} instead of {@code default.api.timeout.ms}. The calls below that
     * take a timeout do the same; one that passes throws a {@link ConsumerException} with REQUEST_TIMED_OUT. (Retries
     * of the group's coordinator, and of a topic not found yet in {@code partitionsFor}, still end after
     * {@code default.api.timeout.ms} when the timeout is longer.)
     */
    Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, Duration timeout);

    /** The offset of the next record poll returns for an assigned partition (looked up now if still unknown). */
    long position(TopicPartition partition);

    long position(TopicPartition partition, Duration timeout);

    void seek(TopicPartition partition, long offset);

    /** {@link #seek(TopicPartition, long)} to the offset of {@code offsetAndMetadata} (as Kafka's; the metadata is not used). */
    void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata);

    /**
     * How far the partition's position is behind the end of its log (high watermark) as the last fetch answer told
     * it, without asking a broker; empty before the first answer (Kafka's {@code currentLag}).
     *
     * @throws IllegalStateException the partition is not assigned to this consumer
     */
    java.util.OptionalLong currentLag(TopicPartition partition);

    /** The log start offset of each partition (assigned or not). */
    Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions);

    Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout);

    /** The end offset (high watermark: the next offset to be written and committed) of each partition. */
    Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions);

    Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout);

    /**
     * Per partition, the first offset whose record's timestamp is at or after the given one; absent where no record
     * is. (Kafka answers {@code OffsetAndTimestamp}; Rafka's lookup returns the offset only.)
     *
     * @throws IllegalArgumentException a negative timestamp
     */
    Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs);

    Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs, Duration timeout);

    /**
     * The topic's partitions; waits up to {@code default.api.timeout.ms} for a topic that does not exist yet (then
     * UNKNOWN_TOPIC_OR_PARTITION). Never creates it.
     */
    List<TopicPartition> partitionsFor(String topic);

    List<TopicPartition> partitionsFor(String topic, Duration timeout);

    /** Every topic of the cluster (internal ones included) and its partitions, asked of a broker now. */
    Map<String, List<TopicPartition>> listTopics();

    Map<String, List<TopicPartition>> listTopics(Duration timeout);

    void seekToBeginning(Collection<TopicPartition> partitions);

    void seekToEnd(Collection<TopicPartition> partitions);

    void pause(Collection<TopicPartition> partitions);

    void resume(Collection<TopicPartition> partitions);

    Set<TopicPartition> paused();

    /**
     * Makes the running (or next) blocking call throw {@link WakeupException} (poll, commitSync, committed, position,
     * the offset lookups, partitionsFor); the only call safe from another thread.
     */
    void wakeup();

    /** {@link #close(Duration)} with 30 s. */
    @Override
    void close();

    /** Commits (with auto-commit), waits for async commits and leaves the group, within about {@code timeout}. */
    void close(Duration timeout);
}
