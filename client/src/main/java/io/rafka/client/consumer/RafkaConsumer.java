package io.rafka.client.consumer;

import io.rafka.client.internals.Fetched;
import io.rafka.client.consumer.internals.AsyncCommits;
import io.rafka.client.consumer.internals.GroupSource;
import io.rafka.client.consumer.internals.ManualAssignment;
import io.rafka.client.consumer.internals.PartitionSource;
import io.rafka.client.consumer.internals.OwnerLock;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.CallContexts;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.ConfigValues;
import io.rafka.client.internals.FetchPositions;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.OffsetLookup;
import io.rafka.client.internals.PartitionFetcher;
import io.rafka.client.internals.RetryState;
import io.rafka.client.group.CoordinatorClient;
import io.rafka.client.group.GroupMember;
import io.grpc.Context;
import io.rafka.client.InterruptException;
import io.rafka.common.ErrorCode;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * The Java SDK's consumer, with the semantics of Kafka's: {@code subscribe} joins a consumer group whose
 * coordinator assigns partitions (incrementally, server-side, KIP-848 style), {@code assign} reads given
 * partitions without a group; {@code poll} fetches straight from the partition leaders, following leader
 * changes, and hands out at most {@code max.poll.records} records.
 *
 * <pre>{@code
 * try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
 *         .bootstrap("127.0.0.1:9192").groupId("billing").autoOffsetReset("earliest").enableAutoCommit(false).build()) {
 *     consumer.subscribe(List.of("orders"));
 *     while (running) {
 *         ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
 *         for (ConsumerRecord<String, String> r : records) process(r);
 *         consumer.commitSync();   // at least once: after processing
 *     }
 * }                                // close(): leaves the group at once
 * }</pre>
 *
 * <p>Positions and commits: a partition's position is the offset after the last record poll returned; commits
 * store positions. With {@code enable.auto.commit} (default) each poll first commits, asynchronously, what
 * earlier polls returned, at most every {@code auto.commit.interval.ms} and never while the previous auto-commit is
 * unanswered, and close commits. When the coordinator
 * moves a partition away, the consumer calls {@link ConsumerRebalanceListener#onPartitionsRevoked} and then, with
 * auto-commit, commits its position before releasing it, so the next owner starts after what this one returned
 * (records a poll returned count as processed once the next poll runs, as in Kafka); without auto-commit the
 * listener commits what was processed. A member the coordinator fenced loses its partitions uncommitted
 * ({@code onPartitionsLost}) and rejoins.
 *
 * <p>Liveness, as Kafka's: a heartbeat thread keeps the member in the group while the application processes
 * between polls, for up to {@code max.poll.interval.ms} (5 min by default); a member that does not poll for longer
 * leaves the group, its partitions go to the others, a commit then fails with {@link CommitFailedException}, and
 * the next poll joins again (the listener hears {@code onPartitionsLost}). {@code session.timeout.ms} bounds how
 * long a crashed member's partitions wait.
 *
 * <p>Threads: not thread-safe, as Kafka's: a second thread calling in while one is inside throws
 * {@link ConcurrentModificationException}; only {@link #wakeup()} may be called from any thread (poll notices it
 * within about {@value #WAKEUP_SLICE_MS} ms). {@code commitAsync} runs the commit on a commit thread and its
 * callback on a later poll; commits run there one at a time in the order made, {@code commitSync}'s too, and an
 * asynchronous one made while another waits joins it ({@link AsyncCommits}). Errors are {@link ConsumerException}s carrying the broker's error code.
 */
public final class RafkaConsumer<K, V> implements Consumer<K, V> {

    /** Poll waits in slices this long at most, checking for wakeup() in between. */
    static final int WAKEUP_SLICE_MS = 100;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RafkaConsumer.class);
    /** How long a new subscription waits for the old one's async commits before it leaves. */
    private static final long LEAVE_COMMIT_WAIT_MS = 5_000;

    private final ConsumerConfig config;
    private final Deserializer<K> keyDeserializer;
    private final Deserializer<V> valueDeserializer;
    private final ChannelPool channels;
    private final boolean ownsChannels;
    private final List<BrokerAddress> bootstrap;
    private final Time time;
    private final MetadataClient metadata;
    private final AsyncCommits asyncCommits = new AsyncCommits();
    private final AtomicBoolean wakeup = new AtomicBoolean();
    /** The context of the blocking call in progress outside poll, which {@link #wakeup()} cancels; null if none. */
    private final java.util.concurrent.atomic.AtomicReference<Context.CancellableContext> blockingCall =
            new java.util.concurrent.atomic.AtomicReference<>();
    /** When the poll in progress must return (hi-res clock ms); no limit outside a poll. */
    private volatile long pollDeadlineMs = Long.MAX_VALUE;
    private final OwnerLock lock = new OwnerLock();

    /** The group membership or the manual assignment; null before subscribe/assign. */
    private PartitionSource source;
    /** What commits go through while there is no source ({@link #committing()}); null until needed. */
    private ManualAssignment unassigned;
    private boolean subscribed;
    private List<String> topics = List.of();
    private Pattern pattern;
    private long lastAutoCommitMs;
    /**
     * An auto-commit started and its callback not run yet: the next one waits for it rather than queueing behind
     * it on the commit thread (as Kafka's consumer does), so auto-commits more frequent than the coordinator
     * answers cannot pile up. Read and written under the consumer's lock (callbacks run there too).
     */
    private boolean autoCommitInFlight;
    /**
     * What the newest auto-commit wrote (every position, confirmed) and when: an auto-commit of the same positions is
     * not sent again within {@link io.rafka.client.group.OffsetStore#UNCHANGED_TRUSTED_MS} (an idle consumer would
     * otherwise write its unchanged offsets every interval, keeping its coordinator's partition awake). Any commit the
     * application makes clears it: the group's offsets are then no longer the auto-commit's.
     */
    private Map<TopicPartition, OffsetAndMetadata> lastAutoCommitted = Map.of();
    private long lastAutoCommittedMs;
    /** Commits the application made; an auto-commit that ends after one does not count as what the group holds. */
    private long applicationCommits;
    private boolean closed;

    public static <K, V> ConsumerBuilder<K, V> builder(Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        return new ConsumerBuilder<>(keyDeserializer, valueDeserializer);
    }

    public RafkaConsumer(ConsumerConfig config, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this(config, keyDeserializer, valueDeserializer, ChannelPool.plaintext(), true, Time.SYSTEM);
    }

    /** A consumer on the given channels, which it leaves open on close (the caller owns them). */
    public RafkaConsumer(ConsumerConfig config, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer,
                         ChannelPool channels) {
        this(config, keyDeserializer, valueDeserializer, channels, false, Time.SYSTEM);
    }

    /** A consumer on the given channels and clock (tools and tests that drive time); the channels stay open on close. */
    public RafkaConsumer(ConsumerConfig config, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer,
                         ChannelPool channels, Time time) {
        this(config, keyDeserializer, valueDeserializer, channels, false, time);
    }

    private RafkaConsumer(ConsumerConfig config, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer,
                          ChannelPool channels, boolean ownsChannels, Time time) {
        this.time = time;
        this.config = config;
        this.keyDeserializer = keyDeserializer;
        this.valueDeserializer = valueDeserializer;
        this.channels = channels;
        this.ownsChannels = ownsChannels;
        this.bootstrap = config.bootstrapServers().stream().map(BrokerAddress::parse).toList();
        this.metadata = new MetadataClient(channels, bootstrap, time, config.defaultApiTimeoutMs());
        this.lastAutoCommitMs = time.hiResClockMs();
    }

    /** From Kafka's config keys, deserializers given. */
    public RafkaConsumer(Map<String, ?> configs, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this(ConsumerConfig.fromMap(configs), keyDeserializer, valueDeserializer);
    }

    /**
     * From Kafka's config keys, deserializers included: {@code key.deserializer} and {@code value.deserializer}
     * name a built-in by Kafka's class name (StringDeserializer, ByteArrayDeserializer, ...) or are {@link Deserializer}s.
     */
    @SuppressWarnings("unchecked")
    public RafkaConsumer(Map<String, ?> configs) {
        this(ConsumerConfig.fromMap(configs), (Deserializer<K>) deserializer(configs, "key.deserializer"),
                (Deserializer<V>) deserializer(configs, "value.deserializer"));
    }

    public RafkaConsumer(Properties properties) {
        this(ConfigValues.toMap(properties));
    }

    private static Deserializer<?> deserializer(Map<String, ?> configs, String key) {
        Object v = configs.get(key);
        if (v == null) {
            throw new IllegalArgumentException(key + " is required");
        }
        if (v instanceof Deserializer<?> d) {
            return d;
        }
        return Deserializers.forClassName(key, v instanceof Class<?> c ? c.getName() : v.toString().trim(), configs);
    }

    public ConsumerConfig config() {
        return config;
    }

    @Override
    public void subscribe(Collection<String> topics) {
        subscribe(topics, null);
    }

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        if (topics.isEmpty()) {
            unsubscribe();
            return;
        }
        for (String topic : topics) {
            if (topic == null || topic.isBlank()) {
                // As Kafka's: a blank name is a mistake, not a topic the group could ever be given.
                throw new IllegalArgumentException("topics to subscribe to must not be null, empty or blank: " + topics);
            }
        }
        join(List.copyOf(new TreeSet<>(topics)), null, listener);
    }

    @Override
    public void subscribe(Pattern pattern) {
        subscribe(pattern, null);
    }

    @Override
    public void subscribe(Pattern pattern, ConsumerRebalanceListener listener) {
        join(List.of(), pattern, listener);
    }

    /**
     * A new subscription is a new membership: the old one (if any) leaves first. The same subscription again changes
     * only the listener, as in Kafka's consumer (no leave, no rebalance).
     */
    private void join(List<String> newTopics, Pattern newPattern, ConsumerRebalanceListener listener) {
        acquire();
        try {
            if (config.groupId().isEmpty()) {
                throw new ConsumerException(ErrorCode.INVALID_GROUP_ID, "subscribe needs a group.id");
            }
            if (source != null && !subscribed) {
                throw new IllegalStateException("subscribe and assign exclude each other: unsubscribe first");
            }
            if (subscribed && source instanceof GroupSource group && newTopics.equals(topics) && samePattern(newPattern, pattern)) {
                group.listener(listener);
                return;
            }
            leave();
            source = GroupSource.join(config, newTopics, newPattern, listener, channels, bootstrap, time, wakeup::get,
                    () -> pollDeadlineMs);
            subscribed = true;
            topics = newTopics;
            pattern = newPattern;
        } finally {
            release();
        }
    }

    private static boolean samePattern(Pattern a, Pattern b) {
        return a == null ? b == null : b != null && a.pattern().equals(b.pattern()) && a.flags() == b.flags();
    }

    @Override
    public void unsubscribe() {
        locked(() -> {
            leave();
            topics = List.of();
            pattern = null;
            return null;
        });
    }

    /** Ends the source: waits for async commits, commits with auto-commit, leaves the group. */
    private void leave() {
        if (source != null) {
            asyncCommits.awaitInFlight(LEAVE_COMMIT_WAIT_MS, wakeup::get);
            PartitionSource leaving = source;
            try {
                // The source stays while it closes: its revocation listener may call commitSync or position, as
                // Kafka's documentation shows, and those need it.
                call(() -> {
                    leaving.close(config.enableAutoCommit(), GroupMember.CLOSE_TIMEOUT_MS);
                    return null;
                });
            } finally {
                source = null;
                subscribed = false;
            }
        }
    }

    /** As Kafka's: an empty collection is {@link #unsubscribe()}. */
    @Override
    public void assign(Collection<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            unsubscribe();
            return;
        }
        locked(() -> {
            if (subscribed) {
                throw new IllegalStateException("subscribe and assign exclude each other: unsubscribe first");
            }
            if (source == null) {
                source = newManualAssignment();
            }
            ((ManualAssignment) source).assign(partitions);
            return null;
        });
    }

    private ManualAssignment newManualAssignment() {
        ManualAssignment manual = new ManualAssignment(config.groupId(), config.autoOffsetReset(), channels,
                bootstrap.get(0), metadata, time, config.defaultApiTimeoutMs());
        manual.positions().settings(config.fetchSettings());
        manual.positions().retryWithoutLimit();   // as Kafka's poll: leaders away are waited for, not thrown
        return manual;
    }

    @Override
    public Set<TopicPartition> assignment() {
        return locked(() -> source == null ? Set.of() : source.assignment());
    }

    /** The topics subscribed; with a pattern, those of the partitions assigned now (the coordinator matches it). */
    @Override
    public Set<String> subscription() {
        return locked(() -> {
            if (pattern != null) {
                Set<String> matched = new TreeSet<>();
                (source == null ? Set.<TopicPartition>of() : source.assignment()).forEach(tp -> matched.add(tp.topic()));
                return matched;
            }
            return Set.copyOf(topics);
        });
    }

    @Override
    public ConsumerRecords<K, V> poll(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("the timeout must not be negative: " + timeout);
        }
        return locked(() -> {
            PartitionSource from = sourceOrFail();
            asyncCommits.runCallbacks();
            maybeAutoCommit();
            long deadline = deadlineAfter(timeout);
            pollDeadlineMs = deadline;
            try {
                do {
                    checkWakeup();
                    int slice = (int) Math.max(0, Math.min(WAKEUP_SLICE_MS, deadline - time.hiResClockMs()));
                    List<Fetched> fetched = call(() -> from.poll(slice, config.maxPollRecords()));
                    if (!fetched.isEmpty()) {
                        return decode(from, fetched);
                    }
                } while (time.hiResClockMs() < deadline);
                return ConsumerRecords.empty();
            } finally {
                pollDeadlineMs = Long.MAX_VALUE;
            }
        });
    }

    /**
     * Deserializes what the source handed out. If a record fails, the records before it are returned, and every
     * partition is rewound to its first record not returned (the failed one in its partition), so positions and
     * commits never move past a record the application did not get; if it is the first, the poll throws.
     */
    private ConsumerRecords<K, V> decode(PartitionSource from, List<Fetched> fetched) {
        Map<TopicPartition, List<ConsumerRecord<K, V>>> byPartition = new LinkedHashMap<>();
        for (int i = 0; i < fetched.size(); i++) {
            Fetched f = fetched.get(i);
            String topic = f.tp().topic();
            K key;
            V value;
            try {
                key = keyDeserializer.deserialize(topic, f.key());
                value = valueDeserializer.deserialize(topic, f.value());
            } catch (RuntimeException e) {
                Map<TopicPartition, Long> rewind = new LinkedHashMap<>();
                for (Fetched notReturned : fetched.subList(i, fetched.size())) {
                    rewind.putIfAbsent(notReturned.tp(), notReturned.offset());
                }
                rewind.forEach(from::seek);
                if (byPartition.isEmpty()) {
                    throw new RecordDeserializationException(f.tp(), f.offset(), e);
                }
                break;
            }
            byPartition.computeIfAbsent(f.tp(), tp -> new ArrayList<>())
                    .add(new ConsumerRecord<>(topic, f.partition(), f.offset(), f.timestampMs(), key, value, f.headers()));
        }
        return new ConsumerRecords<>(byPartition);
    }

    private void maybeAutoCommit() {
        if (!config.enableAutoCommit() || !source.hasGroup() || autoCommitInFlight
                || time.hiResClockMs() - lastAutoCommitMs < config.autoCommitIntervalMs()) {
            return;
        }
        lastAutoCommitMs = time.hiResClockMs();
        Map<TopicPartition, OffsetAndMetadata> positions = currentPositions();
        if (positions.equals(lastAutoCommitted)
                && lastAutoCommitMs - lastAutoCommittedMs < io.rafka.client.group.OffsetStore.UNCHANGED_TRUSTED_MS) {
            return;
        }
        autoCommitInFlight = true;
        long commitsBefore = applicationCommits;
        try {
            commitAsync(new AutoCommitOf(committing()), positions, (offsets, error) -> {
                autoCommitInFlight = false;
                if (error == null && applicationCommits == commitsBefore) {
                    lastAutoCommitted = offsets;
                    lastAutoCommittedMs = time.hiResClockMs();
                }
                if (error instanceof CommitFailedException moved && moved.errorCode() == ErrorCode.PARTITION_NOT_OWNED) {
                    // Positions read before a rebalance took a partition away: its revocation committed it already.
                    LOG.debug("auto-commit skipped partitions moved meanwhile: {}", error.getMessage());
                } else if (error != null) {
                    LOG.warn("auto-commit failed: {}", error.getMessage());
                }
            });
        } catch (RuntimeException e) {
            autoCommitInFlight = false;
            throw e;
        }
    }

    /** The positions of the assigned partitions, as a commit stores them. */
    private Map<TopicPartition, OffsetAndMetadata> currentPositions() {
        Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
        if (source != null) {   // none: nothing consumed, nothing to commit (as Kafka's commitSync() before assign)
            source.positionsToCommit().forEach((tp, offset) -> result.put(tp, new OffsetAndMetadata(offset)));
        }
        return result;
    }

    @Override
    public void commitSync() {
        commitSync(Duration.ofMillis(config.defaultApiTimeoutMs()));
    }

    @Override
    public void commitSync(Duration timeout) {
        locked(() -> {
            commitSync(currentPositions(), timeout);
            return null;
        });
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        commitSync(offsets, Duration.ofMillis(config.defaultApiTimeoutMs()));
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        timeoutMs(timeout);   // not negative
        locked(() -> {
            applicationCommitMade();
            PartitionSource to = committing();
            checkWakeup();
            // Behind the asynchronous commits started before (on the commit thread), so none of them can land after
            // this one and move offsets back; their callbacks run here, as in Kafka's commitSync.
            CompletableFuture<Void> done = asyncCommits.startInOrder(plain(offsets), metadata(offsets),
                    to.ownershipMark(), to::commit);
            long deadline = deadlineAfter(timeout);
            while (!done.isDone()) {
                checkWakeup();
                long left = deadline - time.hiResClockMs();
                if (left <= 0) {
                    asyncCommits.runCallbacks();
                    throw new ConsumerException(ErrorCode.REQUEST_TIMED_OUT, "commitSync did not end"
                            + " within " + timeout.toMillis() + " ms; it may still be made");
                }
                try {
                    done.get(Math.min(left, WAKEUP_SLICE_MS), TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                    // again, or ended: looked at below
                } catch (InterruptedException e) {
                    throw new InterruptException("interrupted while commitSync waited for its answer"
                            + " (the commit may still be made)", e);
                }
            }
            asyncCommits.runCallbacks();
            call(() -> {
                try {
                    return done.join();
                } catch (java.util.concurrent.CompletionException e) {
                    throw e.getCause() instanceof RuntimeException cause ? cause : e;
                }
            });
            return null;
        });
    }

    private void applicationCommitMade() {
        applicationCommits++;
        lastAutoCommitted = Map.of();
    }

    /** {@link #commitAsync(OffsetCommitCallback)} without a callback (failures are only logged at debug level). */
    @Override
    public void commitAsync() {
        commitAsync((offsets, error) -> {
            if (error != null) {
                LOG.debug("commitAsync failed: {}", error.getMessage());
            }
        });
    }

    @Override
    public void commitAsync(OffsetCommitCallback callback) {
        locked(() -> {
            applicationCommitMade();
            commitAsync(currentPositions(), callback);
            return null;
        });
    }

    @Override
    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        locked(() -> {
            applicationCommitMade();
            commitAsync(committing(), offsets, callback);
            return null;
        });
    }

    /**
     * Auto-commits join each other while one waits, never an application's commitAsync: a joined commit's outcome
     * goes to every callback, and an auto-commit's positions of a partition the group moved away meanwhile must not
     * fail the application's commit of its own offsets.
     */
    private record AutoCommitOf(PartitionSource source) {
    }

    /** An asynchronous commit that joins a waiting one of the same {@code joinKey} ({@link AsyncCommits#start}). */
    private void commitAsync(Object joinKey, Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        PartitionSource to = committing();
        Map<TopicPartition, OffsetAndMetadata> copy = Map.copyOf(offsets);
        asyncCommits.start(joinKey, plain(copy), metadata(copy), to.ownershipMark(), to::commit, (ok, error) -> {
            if (callback != null) {
                callback.onComplete(copy, error == null ? null : asConsumerException(error));
            }
        });
    }

    private static Exception asConsumerException(Throwable error) {
        if (error instanceof ClientException e) {
            return ConsumerException.from(e);
        }
        return error instanceof Exception e ? e : new RuntimeException(error);
    }

    /**
     * Where commits and {@code committed} go, if they have a group to go to (checked here, on the caller's thread, as
     * Kafka's consumer does): the subscription or the assignment; before either, an assignment of no partitions
     * (Kafka's consumer needs only a {@code group.id} for them), whose commits are made without membership.
     */
    private PartitionSource committing() {
        PartitionSource to = source;
        if (to == null) {
            if (unassigned == null) {
                unassigned = newManualAssignment();
            }
            to = unassigned;
        }
        if (!to.hasGroup()) {
            throw new IllegalStateException("commits need a group.id");
        }
        return to;
    }

    private PartitionSource sourceOrFail() {
        if (source == null) {
            throw new IllegalStateException("neither subscribed nor assigned");
        }
        return source;
    }

    private static Map<TopicPartition, Long> plain(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<TopicPartition, Long> plain = new HashMap<>();
        offsets.forEach((tp, om) -> plain.put(tp, om.offset()));
        return plain;
    }

    private static Map<TopicPartition, String> metadata(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<TopicPartition, String> metadata = new HashMap<>();
        offsets.forEach((tp, om) -> metadata.put(tp, om.metadata()));
        return metadata;
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
        return committed(partitions, -1);
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, Duration timeout) {
        return committed(partitions, timeoutMs(timeout));
    }

    private Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, long timeoutMs) {
        return locked(() -> {
            PartitionSource of = committing();
            Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
            blocking("committed", timeoutMs, () -> of.committed(partitions)).forEach((tp, committed) -> {
                if (committed.offset() >= 0) {
                    result.put(tp, new OffsetAndMetadata(committed.offset(), committed.metadata()));
                }
            });
            return result;
        });
    }

    /**
     * The topic's partitions, as Kafka's {@code partitionsFor}; waits up to {@code default.api.timeout.ms} for a topic
     * that does not exist yet (created a moment ago, or never: then UNKNOWN_TOPIC_OR_PARTITION). Never creates it.
     */
    @Override
    public List<TopicPartition> partitionsFor(String topic) {
        return partitionsFor(topic, -1);
    }

    @Override
    public List<TopicPartition> partitionsFor(String topic, Duration timeout) {
        return partitionsFor(topic, timeoutMs(timeout));
    }

    private List<TopicPartition> partitionsFor(String topic, long timeoutMs) {
        return locked(() -> {
            int count = blocking("partitionsFor", timeoutMs, () -> metadata.awaitTopic(topic, false)).getPartitionsCount();
            List<TopicPartition> partitions = new ArrayList<>(count);
            for (int p = 0; p < count; p++) {
                partitions.add(new TopicPartition(topic, p));
            }
            return partitions;
        });
    }

    /** Looks the position up now when it is still pending (after a reset or seekToBeginning/End). */
    @Override
    public long position(TopicPartition partition) {
        return position(partition, -1);
    }

    @Override
    public long position(TopicPartition partition, Duration timeout) {
        return position(partition, timeoutMs(timeout));
    }

    private long position(TopicPartition partition, long timeoutMs) {
        return locked(() -> {
            PartitionSource in = sourceOrFail();
            long endMs = timeoutMs < 0 ? -1 : time.hiResClockMs() + timeoutMs;
            // The starts of manually assigned partitions are decided first: the group's committed offsets, asked now.
            FetchPositions known = in.assignment().contains(partition) ? blocking("position", timeoutMs, in::positions) : null;
            if (known != null && !known.partitions().contains(partition)) {
                // Assigned under auto.offset.reset=none without a committed offset: as Kafka's, until seek.
                throw new NoOffsetForPartitionException(List.of(partition), "group " + config.groupId()
                        + " has no committed offset for " + partition + " and the offset reset policy is none: seek it", null);
            }
            FetchPositions positions = positionsOf(partition);
            long position = positions.position(partition);
            if (position >= 0) {
                return position;
            }
            Long pending = positions.pendingStart(partition);
            long start = pending == null ? PartitionFetcher.LATEST : pending;
            long found = Math.max(0, lookUp("position", List.of(partition), start,
                    endMs < 0 ? -1 : Math.max(0, endMs - time.hiResClockMs())).get(partition));
            positions.seek(partition, found);
            return found;
        });
    }

    @Override
    public void seek(TopicPartition partition, long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset);
        }
        seekTo(List.of(partition), offset);
    }

    @Override
    public void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata) {
        seek(partition, offsetAndMetadata.offset());
    }

    @Override
    public java.util.OptionalLong currentLag(TopicPartition partition) {
        return locked(() -> {
            PartitionSource in = sourceOrFail();
            if (!in.assignment().contains(partition)) {
                throw new IllegalStateException(partition + " is not assigned to this consumer");
            }
            return in.positionsNow().lag(partition);
        });
    }

    @Override
    public Map<String, List<TopicPartition>> listTopics() {
        return listTopics(-1);
    }

    @Override
    public Map<String, List<TopicPartition>> listTopics(Duration timeout) {
        return listTopics(timeoutMs(timeout));
    }

    private Map<String, List<TopicPartition>> listTopics(long timeoutMs) {
        return locked(() -> {
            Map<String, List<TopicPartition>> topics = new java.util.TreeMap<>();
            blocking("listTopics", timeoutMs, () -> metadata.refreshRetrying(List.of(), false)).topics().forEach(t -> {
                if (t.getErrorCode() == io.rafka.proto.v1.ErrorCode.NONE) {
                    List<TopicPartition> partitions = new ArrayList<>(t.getPartitionsCount());
                    t.getPartitionsList().forEach(p -> partitions.add(new TopicPartition(t.getName(), p.getPartition())));
                    partitions.sort(java.util.Comparator.comparingInt(TopicPartition::partition));
                    topics.put(t.getName(), partitions);
                }
            });
            return topics;
        });
    }

    @Override
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
        return locked(() -> lookUp("beginningOffsets", partitions, PartitionFetcher.EARLIEST, -1));
    }

    @Override
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return locked(() -> lookUp("beginningOffsets", partitions, PartitionFetcher.EARLIEST, timeoutMs(timeout)));
    }

    @Override
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
        return locked(() -> lookUp("endOffsets", partitions, PartitionFetcher.LATEST, -1));
    }

    @Override
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return locked(() -> lookUp("endOffsets", partitions, PartitionFetcher.LATEST, timeoutMs(timeout)));
    }

    @Override
    public Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs) {
        return offsetsForTimes(timestampsMs, -1);
    }

    @Override
    public Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs, Duration timeout) {
        return offsetsForTimes(timestampsMs, timeoutMs(timeout));
    }

    private Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestampsMs, long timeoutMs) {
        timestampsMs.forEach((tp, ts) -> {
            if (ts == null || ts < 0) {
                // As Kafka's: the lookup's negative sentinels (latest, earliest) are not timestamps.
                throw new IllegalArgumentException("the target time for " + tp + " must not be negative: " + ts);
            }
        });
        return locked(() -> {
            Map<TopicPartition, Long> found = new HashMap<>();
            Map<Long, List<TopicPartition>> byTimestamp = new HashMap<>();
            timestampsMs.forEach((tp, ts) -> byTimestamp.computeIfAbsent(ts, t -> new java.util.ArrayList<>()).add(tp));
            long endMs = timeoutMs < 0 ? -1 : time.hiResClockMs() + timeoutMs;
            byTimestamp.forEach((ts, partitions) -> lookUp("offsetsForTimes", partitions, ts,
                    endMs < 0 ? -1 : Math.max(0, endMs - time.hiResClockMs())).forEach((tp, offset) -> {
                if (offset >= 0) {
                    found.put(tp, offset);
                }
            }));
            return found;
        });
    }

    /** ListOffsets for {@code partitions}; {@code timeoutMs} as {@link #blocking}. */
    private Map<TopicPartition, Long> lookUp(String what, Collection<TopicPartition> partitions, long timestampMs,
                                             long timeoutMs) {
        long budgetMs = timeoutMs < 0 ? config.defaultApiTimeoutMs() : timeoutMs;
        return blocking(what, timeoutMs, () -> new OffsetLookup(metadata, channels, time, budgetMs)
                .offsets(List.copyOf(partitions), timestampMs));
    }

    @Override
    public void seekToBeginning(Collection<TopicPartition> partitions) {
        seekTo(partitions, PartitionFetcher.EARLIEST);
    }

    @Override
    public void seekToEnd(Collection<TopicPartition> partitions) {
        seekTo(partitions, PartitionFetcher.LATEST);
    }

    /** As Kafka's: an empty collection means every partition assigned now. */
    private void seekTo(Collection<TopicPartition> partitions, long start) {
        acquire();
        try {
            PartitionSource in = sourceOrFail();
            (partitions.isEmpty() ? in.assignment() : partitions).forEach(tp -> in.seek(tp, start));
        } finally {
            release();
        }
    }

    /** The positions holding an assigned partition. */
    private FetchPositions positionsOf(TopicPartition tp) {
        FetchPositions positions = sourceOrFail().positions();
        if (!source.assignment().contains(tp) || !positions.partitions().contains(tp)) {
            throw new IllegalStateException(tp + " is not assigned to this consumer");
        }
        return positions;
    }

    /** As Kafka's: any assigned partition, also one that has no position yet (it then starts paused). */
    @Override
    public void pause(Collection<TopicPartition> partitions) {
        locked(() -> {
            assigned(partitions).forEach(tp -> source.positionsNow().pause(tp));
            return null;
        });
    }

    @Override
    public void resume(Collection<TopicPartition> partitions) {
        locked(() -> {
            assigned(partitions).forEach(tp -> source.positionsNow().resume(tp));
            return null;
        });
    }

    /** The partitions, once every one of them is checked to be assigned (so none is paused when one is not). */
    private Collection<TopicPartition> assigned(Collection<TopicPartition> partitions) {
        Set<TopicPartition> assignment = sourceOrFail().assignment();
        for (TopicPartition tp : partitions) {
            if (!assignment.contains(tp)) {
                throw new IllegalStateException(tp + " is not assigned to this consumer");
            }
        }
        return partitions;
    }

    @Override
    public Set<TopicPartition> paused() {
        return locked(() -> source == null ? Set.of() : source.positionsNow().paused());
    }

    /**
     * Makes the blocking call in progress throw {@link WakeupException} (poll, commitSync, committed, position's
     * lookup, beginningOffsets, endOffsets, offsetsForTimes, partitionsFor), or the next one if none is: a call to a
     * broker in flight is cancelled, its retries end.
     */
    @Override
    public void wakeup() {
        wakeup.set(true);
        Context.CancellableContext call = blockingCall.get();
        if (call != null) {
            call.cancel(new WakeupException());
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    @Override
    public void close(Duration timeout) {
        long timeoutMs = timeoutMs(timeout);
        long endNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        acquire(true);
        try {
            if (closed) {
                return;
            }
            closed = true;
            asyncCommits.awaitInFlight(timeoutMs, () -> false);
            if (source != null) {
                // The last commit and the leave share what is left of the timeout, as in Kafka's close.
                source.close(config.enableAutoCommit(), TimeUnit.NANOSECONDS.toMillis(Math.max(0, endNanos - System.nanoTime())));
            }
        } catch (ClientException e) {
            LOG.warn("the last commit or leaving the group failed: {}", e.getMessage());
        } finally {
            source = null;
            unassigned = null;
            asyncCommits.close();
            if (ownsChannels) {
                // What is left of the timeout (at most the pool's own wait), so close(timeout) ends near it.
                channels.close(Math.min(ChannelPool.CLOSE_WAIT_MS,
                        TimeUnit.NANOSECONDS.toMillis(Math.max(0, endNanos - System.nanoTime()))));
            }
            release();
        }
    }

    /** Now plus {@code timeout} on the hi-res clock; a timeout too long to add (Long.MAX_VALUE ms) never ends. */
    private long deadlineAfter(Duration timeout) {
        long now = time.hiResClockMs();
        try {
            return Math.addExact(now, Math.max(0, timeout.toMillis()));
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Runs a blocking call made outside poll so that {@link #wakeup()} ends it: in a gRPC {@link Context} that wakeup
     * cancels, which fails the call's request in flight at once and ends its retries ({@code RetryState}). With
     * {@code timeoutMs} >= 0 the context also has that deadline, which bounds its requests and retries; once it
     * passes the call fails with REQUEST_TIMED_OUT.
     */
    private <T> T blocking(String what, long timeoutMs, java.util.function.Supplier<T> body) {
        checkWakeup();
        Context.CancellableContext context = CallContexts.within(timeoutMs);
        blockingCall.set(context);
        try {
            if (wakeup.get()) {
                context.cancel(new WakeupException());   // woken between the check above and now
            }
            return context.call(() -> call(body));
        } catch (WakeupException e) {
            throw e;
        } catch (Exception e) {
            if (context.isCancelled() && context.cancellationCause() instanceof WakeupException) {
                wakeup.set(false);
                throw new WakeupException();
            }
            if (timeoutMs >= 0 && CallContexts.timedOut(context) && (!(e instanceof ConsumerException failure)
                    || failure.retriable() || failure.code().equals(RetryState.CANCELLED))) {
                throw new ConsumerException(ErrorCode.REQUEST_TIMED_OUT,
                        what + " did not end within " + timeoutMs + " ms: " + e.getMessage());
            }
            throw e instanceof RuntimeException unchecked ? unchecked : new IllegalStateException(e);
        } finally {
            blockingCall.set(null);
            context.cancel(null);
        }
    }

    /** A caller's timeout for {@link #blocking}: not negative. */
    private static long timeoutMs(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("the timeout must not be negative: " + timeout);
        }
        return timeout.compareTo(Duration.ofMillis(CallContexts.LONGEST_TIMEOUT_MS)) > 0 ? CallContexts.LONGEST_TIMEOUT_MS
                : timeout.toMillis();
    }

    private void checkWakeup() {
        if (wakeup.getAndSet(false)) {
            throw new WakeupException();
        }
    }

    /** Runs a call of the internals, translating their failures into the SDK's. */
    private <T> T call(java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (ClientException e) {
            if (e.code().equals(CoordinatorClient.WOKEN_UP)) {
                wakeup.set(false);   // a retry of the group's coordinator ended by wakeup() (in a listener inside poll)
                throw new WakeupException();
            }
            if (e.code().equals(INTERRUPTED)) {
                // A back-off or wait of the internals ended by an interrupt (its flag set again there): as Kafka's.
                throw new InterruptException(e.getMessage(), new InterruptedException(e.getMessage()));
            }
            throw ConsumerException.from(e);
        }
    }

    /** The code of the internals' failure when an interrupt ended a wait ({@code RetryState.sleep} and others). */
    private static final String INTERRUPTED = "INTERRUPTED";

    /** Runs {@code body} holding the owner lock (see {@link OwnerLock}). */
    private <T> T locked(java.util.function.Supplier<T> body) {
        acquire(false);
        try {
            return body.get();
        } finally {
            release();
        }
    }

    private void acquire() {
        acquire(false);
    }

    private void acquire(boolean closing) {
        lock.acquire();
        if (closed && !closing && lock.outermost()) {
            lock.release();
            throw new IllegalStateException("the consumer is closed");
        }
    }

    private void release() {
        lock.release();
    }
}
