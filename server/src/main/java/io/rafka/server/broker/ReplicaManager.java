package io.rafka.server.broker;

import io.rafka.common.BusyException;
import io.rafka.common.CorruptRecordException;
import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.NotLeaderException;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogReadResult;
import io.rafka.log.ReadBuffers;
import io.rafka.log.TimestampAndOffset;
import io.rafka.raft.Acks;
import io.rafka.raft.AppendResult;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import io.rafka.server.metrics.BrokerMetrics;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The broker's side of produce and fetch, for every API in front of it (gRPC today): validation, produce
 * memory accounting, topic auto-creation, and the calls into the partition Raft groups. Results are domain
 * records; per-partition failures are {@link PartitionError}s, request-level ones are thrown as typed
 * {@link RafkaException}s. Thread-safe: any thread may call it.
 */
public final class ReplicaManager {
    /** A partition's share of a fetch when the request does not say. */
    public static final int DEFAULT_PARTITION_MAX_BYTES = 1024 * 1024;

    private final ClusterView view;
    private final RaftNode raftNode;
    private final TopicAdmin admin;
    private final MemoryPool memory;
    private final ReadBufferPool readBuffers;
    private final BrokerMetrics metrics;
    private final FetchWaiters waiters;
    private final ScheduledExecutorService timer;
    private final Settings settings;
    private volatile boolean closing;

    /** Limits and switches from the broker config. */
    public record Settings(boolean autoCreateTopics, long requestTimeoutMs, int maxDecompressedBytes, int fetchMaxBytes,
                           int fetchMaxWaitMs) {
    }

    public ReplicaManager(ClusterView view, RaftNode raftNode, TopicAdmin admin, MemoryPool memory, ReadBufferPool readBuffers,
                          BrokerMetrics metrics, FetchWaiters waiters, ScheduledExecutorService timer, Settings settings) {
        this.view = view;
        this.raftNode = raftNode;
        this.admin = admin;
        this.memory = memory;
        this.readBuffers = readBuffers;
        this.metrics = metrics;
        this.waiters = waiters;
        this.timer = timer;
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /** The buffers fetches read into; a fetch's caller takes a lease and releases it once the answer is written. */
    public ReadBufferPool readBuffers() {
        return readBuffers;
    }

    /** On shutdown: waiting fetches answer with what they have, subscriptions end. */
    public void close() {
        closing = true;
        waiters.wakeAll();
    }

    public boolean isClosing() {
        return closing;
    }

    /**
     * Appends each partition's data through its Raft group; results come in request order. {@code acks} null
     * means the client sent a value this version does not know; {@code timeoutMs} 0 means the broker's
     * request timeout (which also caps larger values).
     */
    public CompletableFuture<List<ProduceResult>> produce(List<ProducePartition> partitions, Acks acks, long timeoutMs) {
        if (partitions.isEmpty()) {
            throw new InvalidRequestException("a produce request needs at least one partition");
        }
        if (acks == null) {
            throw new RafkaException(ErrorCode.INVALID_REQUIRED_ACKS, "unknown acks value");
        }
        if (timeoutMs < 0) {
            throw new InvalidRequestException("timeout_ms must not be negative");
        }
        long timeout = timeoutMs == 0 ? settings.requestTimeoutMs() : Math.min(timeoutMs, settings.requestTimeoutMs());
        List<CompletableFuture<ProduceResult>> results = new ArrayList<>(partitions.size());
        for (ProducePartition p : partitions) {
            results.add(append(p, acks, timeout));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(v -> results.stream().map(CompletableFuture::join).toList());
    }

    /**
     * One partition's append. The batches are checked once, by {@link RaftNode#append} (size, CRC, structure, the
     * topic's max.message.bytes), which also takes the one private copy Raft works on; this method only adds what
     * the broker owns: auto-create, the produce memory pool, timeouts and metrics.
     */
    private CompletableFuture<ProduceResult> append(ProducePartition p, Acks acks, long timeoutMs) {
        TopicPartition tp;
        ByteBuffer batches;
        try {
            topicFor(p.topic(), p.partition());
            tp = new TopicPartition(p.topic(), p.partition());
            batches = batchesOf(p.data());
            if (view.localStatus(tp).isEmpty()) {
                throw new NotLeaderException("broker " + view.brokerId() + " hosts no replica of " + tp,
                        view.leaderOf(tp).map(ClusterView.Leader::id).orElse(null));
            }
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(failed(p, e));
        }
        int size = batches.remaining();
        if (!memory.tryReserve(size)) {
            return CompletableFuture.completedFuture(failed(p, new BusyException("broker " + view.brokerId() + " holds "
                    + memory.used() + " bytes of produce data awaiting commit (produce.memory.bytes = " + memory.capacity() + ")")));
        }
        long startNs = System.nanoTime();
        CompletableFuture<AppendResult> append;
        try {
            append = raftNode.append(tp, batches, acks);
        } catch (RuntimeException e) {
            memory.release(size);
            return CompletableFuture.completedFuture(failed(p, e));
        } catch (Error e) {
            memory.release(size);   // kept, the broker would answer BUSY to every produce for good
            throw e;
        }
        // What the answer and the metrics need, taken now: nothing waiting for the commit refers to the request's
        // bytes (Raft works on its own copy), so the request is garbage once this returns and the memory pool's count
        // is what the broker holds.
        long records = acceptedRecordCount(batches);
        String topic = p.topic();
        int partition = p.partition();
        if (acks == Acks.NONE && !append.isCompletedExceptionally()) {
            // Answered at once. The memory stays reserved until Raft has the data (at once, unless the partition
            // must wake first), and only data Raft accepted (so validated) is counted.
            append.whenComplete((r, e) -> {
                memory.release(size);
                if (e == null) {
                    metrics.produced(topic, size, records);
                }
            });
            return CompletableFuture.completedFuture(ProduceResult.unknownOffsets(topic, partition));
        }
        // Released when Raft is done with the data, not when the caller stops waiting: the timeout applies to a copy.
        append.whenComplete((r, e) -> memory.release(size));
        return append.copy().orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((r, e) -> {
            if (e != null) {
                if (PartitionError.unwrap(e) instanceof TimeoutException) {
                    return failed(topic, partition, new RafkaException(ErrorCode.REQUEST_TIMED_OUT, "not committed within "
                            + timeoutMs + " ms; it may still commit"));
                }
                return failed(topic, partition, e);
            }
            metrics.produced(topic, size, records);
            metrics.committed((System.nanoTime() - startNs) / 1e9);
            long logStart = view.localStatus(tp).map(PartitionStatus::logStartOffset).orElse(-1L);
            return new ProduceResult(topic, partition, r.baseOffset(), r.logAppendTimeMs(), logStart, null);
        });
    }

    /**
     * Records in the batches, a walk over their headers (no CRC pass); 0 if they do not even split into batches
     * (Raft refuses those, and only accepted data is counted).
     */
    private static long acceptedRecordCount(ByteBuffer batches) {
        try {
            return RecordBatches.split(batches.duplicate()).stream().mapToLong(RecordBatch::recordCount).sum();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static ByteBuffer batchesOf(ProducePartition.Data data) {
        if (data instanceof ProducePartition.EncodedBatches e) {
            return e.batches();
        }
        if (data instanceof ProducePartition.Records r) {
            return RecordSetEncoder.encode(r, System::currentTimeMillis);
        }
        throw new InvalidRecordException("partition data has neither records nor encoded_batches");
    }

    /** The topic for a produce, starting its auto-creation if it does not exist and that is allowed. */
    private TopicInfo topicFor(String name, int partition) {
        TopicNames.validate(name);
        if (name.equals(io.rafka.coordinator.GroupConfig.TOPIC)) {
            throw new io.rafka.common.InvalidTopicException(name + " is internal: only the group coordinator writes it");
        }
        if (view.image().topic(name) == null && settings.autoCreateTopics()) {
            admin.autoCreate(name);
            throw new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "topic '" + name
                    + "' does not exist yet: it is being created (auto.create.topics.enable); retry");
        }
        return view.requirePartition(name, partition);
    }

    private ProduceResult failed(ProducePartition p, Throwable e) {
        return failed(p.topic(), p.partition(), e);
    }

    private ProduceResult failed(String topic, int partition, Throwable e) {
        return ProduceResult.failed(topic, partition, PartitionError.of(e, view::broker));
    }

    /**
     * A long-poll fetch: completes once the partitions hold at least {@code minBytes} (at least one byte, at most the
     * fetch's limit), on
     * any partition error, at the deadline ({@code maxWaitMs}, capped by fetch.max.wait.ms) or on shutdown.
     * Waiting costs no thread; cancelling the future stops the wait. {@code maxBytes} 0 = {@code defaultMaxBytes}.
     * Stored batches are read into buffers of {@code buffers}, which the caller releases once it has no more use
     * for the result's data.
     */
    public CompletableFuture<List<PartitionRead>> fetch(List<FetchPartition> partitions, int minBytes, int maxBytes,
                                                        int defaultMaxBytes, int maxWaitMs, boolean decode,
                                                        ReadBufferPool.Lease buffers) {
        if (partitions.isEmpty()) {
            throw new InvalidRequestException("a fetch needs at least one partition");
        }
        if (maxWaitMs < 0 || minBytes < 0 || maxBytes < 0) {
            throw new RafkaException(ErrorCode.INVALID_FETCH_SIZE, "max_wait_ms, min_bytes and max_bytes must not be negative");
        }
        Set<TopicPartition> listed = new HashSet<>();
        for (FetchPartition p : partitions) {
            if (!listed.add(new TopicPartition(p.topic(), p.partition()))) {
                // Each entry would be read and answered on its own: the same data again, past max_bytes' intent.
                throw new InvalidRequestException("partition " + p.topic() + "-" + p.partition() + " is listed twice in one fetch");
            }
        }
        int limit = Math.min(maxBytes == 0 ? defaultMaxBytes : maxBytes, settings.fetchMaxBytes());
        long waitMs = Math.min(maxWaitMs, settings.fetchMaxWaitMs());
        // A fetch reads at most its limit, so a larger minimum could only be met by the deadline: as in Kafka,
        // the answer goes out once the limit's worth is there.
        return new DelayedFetch(this, partitions, Math.max(1, Math.min(minBytes, limit)), limit, decode,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs), timer, buffers).start();
    }

    /**
     * Calls {@code onData} (on a worker thread) whenever one of the partitions commits, until the waiter is
     * cancelled; refused with BUSY beyond fetch.max.waiters.
     */
    public FetchWaiters.Waiter watch(Set<TopicPartition> partitions, Runnable onData) {
        FetchWaiters.Waiter waiter = waiters.register(partitions, onData);
        if (waiter == null) {
            throw new BusyException("too many fetches are waiting for data (fetch.max.waiters); retry");
        }
        return waiter;
    }

    /**
     * Reads one partition: committed data only, from the leader's replica, at most {@code budget} bytes of
     * what is left of the response. Errors become the result's {@link PartitionError}.
     */
    public PartitionRead read(FetchPartition p, int budget, boolean decode) {
        return read(p, budget, decode, ReadBuffers.NEW);
    }

    /** {@link #read(FetchPartition, int, boolean)} with stored batches read into buffers of {@code buffers}. */
    public PartitionRead read(FetchPartition p, int budget, boolean decode, ReadBuffers buffers) {
        long highWatermark = -1;
        long logStart = -1;
        try {
            view.requirePartition(p.topic(), p.partition());
            if (p.maxBytes() < 0) {
                throw new RafkaException(ErrorCode.INVALID_FETCH_SIZE, "max_bytes must not be negative: " + p.maxBytes());
            }
            TopicPartition tp = new TopicPartition(p.topic(), p.partition());
            PartitionStatus status = view.leaderStatus(tp);
            highWatermark = status.highWatermark();
            logStart = status.logStartOffset();
            if (p.offset() < logStart || p.offset() > highWatermark) {
                throw new OffsetOutOfRangeException("offset " + p.offset() + " of " + tp + " is outside the readable range ["
                        + logStart + ", " + highWatermark + "]");
            }
            int maxBytes = Math.min(p.maxBytes() == 0 ? DEFAULT_PARTITION_MAX_BYTES : p.maxBytes(), budget);
            if (p.offset() == highWatermark || maxBytes <= 0) {
                return empty(p, highWatermark, logStart);
            }
            LogReadResult read;
            try {
                read = raftNode.read(tp, p.offset(), maxBytes, buffers);
            } catch (CorruptRecordException e) {
                raftNode.damagedRead(tp, p.offset(), maxBytes);   // a damaged batch header: repaired as the scrub would
                throw e;
            }
            // A buffer of this read alone (the log copies from its file): nobody writes it until it is released.
            ByteBuffer stored = read.records();
            int bytes = stored.remaining();
            if (bytes == 0) {
                return empty(p, highWatermark, logStart);
            }
            List<RecordBatch> batches = RecordBatches.split(stored.duplicate());
            long next = batches.get(batches.size() - 1).nextOffset();
            metrics.fetched(p.topic(), bytes);
            if (!decode) {
                return new PartitionRead(p.topic(), p.partition(), highWatermark, logStart, next, stored, List.of(), bytes, null);
            }
            RecordDecoder.Decoded d;
            try {
                d = RecordDecoder.decode(batches, p.offset(), maxBytes, settings.maxDecompressedBytes(), settings.fetchMaxBytes());
            } catch (CorruptRecordException e) {
                raftNode.damagedRead(tp, p.offset(), bytes);
                throw e;
            }
            if (d.damagedAt() >= 0) {
                raftNode.damagedRead(tp, d.damagedAt(), bytes);
            }
            return new PartitionRead(p.topic(), p.partition(), highWatermark, logStart, d.cutAt() >= 0 ? d.cutAt() : next,
                    null, d.records(), d.bytes(), null);
        } catch (RuntimeException e) {
            return new PartitionRead(p.topic(), p.partition(), highWatermark, logStart, p.offset(), null, List.of(), 0,
                    PartitionError.of(e, view::broker));
        }
    }

    private static PartitionRead empty(FetchPartition p, long highWatermark, long logStart) {
        return new PartitionRead(p.topic(), p.partition(), highWatermark, logStart, p.offset(), null, List.of(), 0, null);
    }

    /** Answers each query from the leader's replica; results come in request order. */
    public List<ListedOffset> listOffsets(List<OffsetQuery> queries) {
        if (queries.isEmpty()) {
            throw new InvalidRequestException("list offsets needs at least one partition");
        }
        List<ListedOffset> results = new ArrayList<>(queries.size());
        for (OffsetQuery q : queries) {
            results.add(listOffset(q));
        }
        return results;
    }

    private ListedOffset listOffset(OffsetQuery q) {
        try {
            view.requirePartition(q.topic(), q.partition());
            TopicPartition tp = new TopicPartition(q.topic(), q.partition());
            PartitionStatus status = view.leaderStatus(tp);
            long ts = q.timestampMs();
            if (ts == OffsetQuery.LATEST) {
                return new ListedOffset(q.topic(), q.partition(), status.highWatermark(), -1, null);
            }
            if (ts == OffsetQuery.EARLIEST) {
                return new ListedOffset(q.topic(), q.partition(), status.logStartOffset(), -1, null);
            }
            if (ts < 0) {
                throw new InvalidRequestException("timestamp_ms must be -1 (latest), -2 (earliest) or a time >= 0, not " + ts);
            }
            Optional<TimestampAndOffset> found = raftNode.offsetForTimestamp(tp, ts)
                    .filter(f -> f.offset() < status.highWatermark());
            return found.map(f -> new ListedOffset(q.topic(), q.partition(), f.offset(), f.timestamp(), null))
                    .orElseGet(() -> new ListedOffset(q.topic(), q.partition(), -1, -1, null));
        } catch (RuntimeException e) {
            return new ListedOffset(q.topic(), q.partition(), -1, -1, PartitionError.of(e, view::broker));
        }
    }
}
