package io.rafka.client.perf;

import io.grpc.Status;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The perf tool's idempotent producer, with the semantics of Kafka's producer as {@code ProducerPerformance}
 * drives it: records go into per-partition batches (sticky partitioning: a partition takes records until its
 * batch is full, then the next one does), a batch is sent when full or after the linger time, one sender
 * thread sends each broker's ready batches (one per partition per request) over a {@code ProduceStream} with
 * at most {@code maxInFlight} unanswered requests, acks=all, and retriable errors are retried in order (see
 * {@link PartitionQueue}) until the delivery timeout. A random producer id, epoch 0, sequences per partition.
 * Memory held by unacknowledged records is bounded; {@link #send} waits when it is used up.
 *
 * <p>One lock guards all state: the generating thread appends under it, the sender thread drains under it,
 * and gRPC's threads apply answers under it. Stream calls are made by the sender thread only.
 */
final class PerfProducer implements AutoCloseable {
    private static final long RETRY_BACKOFF_MS = 100;
    private static final short PRODUCER_EPOCH = 0;

    private final ProducePerf.Options options;
    private final LeaderTable leaders;
    private final LatencyStats stats;
    private final long producerId;
    private final PartitionQueue[] partitions;
    private final Map<String, BrokerStream> streams = new HashMap<>();
    private final Thread sender;
    private final Object lock = new Object();
    private long bufferedBytes;
    private int memoryWaiters;
    private int sticky;
    private long nextRequestId;
    private boolean closing;
    private boolean refreshWanted;
    private RuntimeException fatal;
    private long retries;
    private long notLeaderAnswers;

    PerfProducer(ProducePerf.Options options, LeaderTable leaders, LatencyStats stats, long producerId) {
        this.options = options;
        this.leaders = leaders;
        this.stats = stats;
        this.producerId = producerId;
        this.partitions = new PartitionQueue[leaders.partitionCount()];
        for (int p = 0; p < partitions.length; p++) {
            partitions[p] = new PartitionQueue(p);
        }
        this.sender = new Thread(this::runSender, "perf-sender");
        this.sender.setDaemon(true);
        this.sender.start();
    }

    /** Appends one record, waiting while buffer memory is used up. */
    void send(byte[] value, long startNanos) throws InterruptedException {
        synchronized (lock) {
            while (bufferedBytes + value.length > options.bufferMemoryBytes() && fatal == null) {
                memoryWaiters++;
                lock.notifyAll();
                lock.wait();
                memoryWaiters--;
            }
            throwIfFailed();
            PartitionQueue q = partitions[sticky];
            if (!q.fits(value.length, options.batchSizeBytes())) {
                sealAndMoveOn(q);
                q = partitions[sticky];
            }
            q.append(System.currentTimeMillis(), value, startNanos);
            bufferedBytes += value.length;
            if (!q.fits(value.length, options.batchSizeBytes())) {
                sealAndMoveOn(q);
            }
        }
    }

    private void sealAndMoveOn(PartitionQueue q) {
        q.seal(producerId, PRODUCER_EPOCH);
        if (q.partition == sticky) {
            sticky = (sticky + 1) % partitions.length;
        }
        lock.notifyAll();
    }

    /** Sends what is buffered and waits until every record is acknowledged (or the run failed). */
    void flush() throws InterruptedException {
        synchronized (lock) {
            closing = true;
            lock.notifyAll();
            while (fatal == null && !allIdle()) {
                lock.wait(1000);
            }
            throwIfFailed();
        }
    }

    private boolean allIdle() {
        for (PartitionQueue q : partitions) {
            if (!q.idle()) {
                return false;
            }
        }
        return true;
    }

    private void throwIfFailed() {
        if (fatal != null) {
            throw fatal;
        }
    }

    private void runSender() {
        try {
            while (true) {
                boolean refresh;
                synchronized (lock) {
                    if (fatal != null || (closing && allIdle())) {
                        return;
                    }
                    long now = System.nanoTime();
                    sealLingered(now);
                    expireStuckRequests(now);
                    int sent = drain(now);
                    refresh = refreshWanted;
                    refreshWanted = false;
                    if (sent == 0 && !refresh) {
                        lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextWakeNanos(now) - now)));
                    }
                }
                if (refresh) {
                    refreshLeaders();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private void sealLingered(long now) {
        long lingerNanos = TimeUnit.MILLISECONDS.toNanos(options.lingerMs());
        for (PartitionQueue q : partitions) {
            if (q.hasOpen() && (closing || memoryWaiters > 0 || now - q.openCreatedNanos() >= lingerNanos)) {
                sealAndMoveOn(q);
            }
        }
    }

    /** When the sender must look again: the next linger expiry or retry time, at most 50 ms away. */
    private long nextWakeNanos(long now) {
        long wake = now + TimeUnit.MILLISECONDS.toNanos(50);
        long lingerNanos = TimeUnit.MILLISECONDS.toNanos(options.lingerMs());
        for (PartitionQueue q : partitions) {
            if (q.hasOpen()) {
                wake = Math.min(wake, q.openCreatedNanos() + lingerNanos);
            }
            if (!q.ready.isEmpty() && q.retryNotBeforeNanos > now) {
                wake = Math.min(wake, q.retryNotBeforeNanos);
            }
        }
        return wake;
    }

    /** Builds and sends one request per broker with room in its window; returns how many were sent. */
    private int drain(long now) {
        Map<String, List<PerfBatch>> byBroker = new LinkedHashMap<>();
        Map<String, Long> requestBytes = new HashMap<>();
        for (PartitionQueue q : partitions) {
            if (q.ready.isEmpty()) {
                continue;
            }
            String leader = leaders.leader(q.partition);
            if (leader == null) {
                refreshWanted = true;
                continue;
            }
            BrokerStream stream = stream(leader);
            long bytes = requestBytes.getOrDefault(leader, 0L);
            if (stream.pending.size() >= options.maxInFlight() || !q.canSend(stream, now)
                    || (bytes > 0 && bytes + q.ready.peekFirst().data().size() > options.maxRequestBytes())) {
                continue;
            }
            PerfBatch batch = q.sendNext(stream);
            byBroker.computeIfAbsent(leader, k -> new ArrayList<>()).add(batch);
            requestBytes.put(leader, bytes + batch.data().size());
        }
        for (Map.Entry<String, List<PerfBatch>> e : byBroker.entrySet()) {
            ProduceRequest.Builder request = ProduceRequest.newBuilder().setRequestId(++nextRequestId)
                    .setAcks(Acks.ACKS_ALL).setTimeoutMs(options.requestTimeoutMs());
            for (PerfBatch b : e.getValue()) {
                request.addPartitions(PartitionData.newBuilder().setTopic(options.topic()).setPartition(b.partition())
                        .setEncodedBatches(b.data()));
            }
            streams.get(e.getKey()).send(request.build(), e.getValue(), now);
        }
        return byBroker.size();
    }

    private BrokerStream stream(String address) {
        BrokerStream s = streams.get(address);
        if (s == null) {
            s = new BrokerStream(address, leaders.channel(address), this);
            streams.put(address, s);
        }
        return s;
    }

    /** A broker that does not answer a request within its timeout plus slack: drop the stream, retry elsewhere. */
    private void expireStuckRequests(long now) {
        long limit = TimeUnit.MILLISECONDS.toNanos(options.requestTimeoutMs() + 15_000L);
        for (BrokerStream s : new ArrayList<>(streams.values())) {
            BrokerStream.Pending oldest = s.pending.peekFirst();
            if (oldest != null && now - oldest.sentNanos() > limit) {
                s.cancel(Status.DEADLINE_EXCEEDED.withDescription("no answer in time").asRuntimeException());
                onStreamFailed(s, new PerfException("broker " + s.address + " did not answer in time"));
            }
        }
    }

    private void refreshLeaders() {
        try {
            leaders.refresh(5_000);
        } catch (PerfException e) {
            if (e.fatal()) {
                fail(e);
            }
        }
    }

    void onResponse(BrokerStream stream, ProduceResponse response) {
        synchronized (lock) {
            if (stream.failed) {
                return;
            }
            BrokerStream.Pending p = stream.pending.pollFirst();
            if (p == null || p.requestId() != response.getRequestId() || p.batches().size() != response.getResultsCount()) {
                fail(new PerfException("broker " + stream.address + " answered request " + response.getRequestId()
                        + " out of order or with the wrong number of results", true));
                return;
            }
            long now = System.nanoTime();
            for (int i = 0; i < p.batches().size(); i++) {
                onResult(p.batches().get(i), response.getResults(i), now);
            }
            lock.notifyAll();
        }
    }

    private void onResult(PerfBatch batch, PartitionProduceResult result, long now) {
        PartitionQueue q = partitions[batch.partition()];
        ErrorCode code = result.getErrorCode();
        if (code == ErrorCode.NONE) {
            q.answered(batch);
            acknowledged(q, batch, now);
            return;
        }
        boolean retriable = code != ErrorCode.UNRECOGNIZED
                && io.rafka.common.ErrorCode.forCode(result.getErrorCodeValue()).retriable();
        // A batch sent behind one that failed finds a gap in the sequence: it is re-sent after it, not an error.
        boolean behindFailure = code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && q.recovering();
        if (!retriable && !behindFailure) {
            fail(new PerfException(code + " on partition " + batch.partition() + ": " + result.getErrorMessage(), true));
            return;
        }
        if (code == ErrorCode.NOT_LEADER) {
            notLeaderAnswers++;
            if (!leaders.hint(batch.partition(), result.hasLeader(), result.getLeader())) {
                refreshWanted = true;
            }
        } else if (code == ErrorCode.LEADER_NOT_AVAILABLE || code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
            refreshWanted = true;
        }
        retry(q, batch, now, code + ": " + result.getErrorMessage());
    }

    private void retry(PartitionQueue q, PerfBatch batch, long now, String why) {
        if (now - batch.createdNanos() > TimeUnit.MILLISECONDS.toNanos(options.deliveryTimeoutMs())) {
            fail(new PerfException("partition " + q.partition + ": batch at sequence " + batch.baseSequence()
                    + " not delivered within " + options.deliveryTimeoutMs() + " ms; last error " + why, true));
            return;
        }
        retries++;
        q.failed(batch, now + TimeUnit.MILLISECONDS.toNanos(RETRY_BACKOFF_MS));
        q.answered(batch);
    }

    private void acknowledged(PartitionQueue q, PerfBatch batch, long now) {
        q.acked += batch.records();
        bufferedBytes -= batch.payloadBytes();
        long nowMs = TimeUnit.NANOSECONDS.toMillis(now);
        int perRecord = (int) (batch.payloadBytes() / batch.records());
        for (long start : batch.startNanos()) {
            stats.record((int) TimeUnit.NANOSECONDS.toMillis(now - start), perRecord, nowMs);
        }
    }

    /** Every request still pending on a failed stream fails with it (retriable: the broker may be back soon). */
    void onStreamFailed(BrokerStream stream, Throwable cause) {
        synchronized (lock) {
            if (stream.failed) {
                return;
            }
            stream.failed = true;
            streams.remove(stream.address, stream);
            refreshWanted = true;
            if (!retriable(cause)) {
                fail(new PerfException("broker " + stream.address + ": " + cause, cause));
            }
            long now = System.nanoTime();
            for (BrokerStream.Pending p : stream.pending) {
                for (PerfBatch b : p.batches()) {
                    if (fatal == null) {
                        retry(partitions[b.partition()], b, now, String.valueOf(cause));
                    }
                }
            }
            stream.pending.clear();
            lock.notifyAll();
        }
    }

    /** Whole-stream failures worth another try: the broker went away, restarts, or was too slow. */
    private static boolean retriable(Throwable cause) {
        Status.Code code = Status.fromThrowable(cause).getCode();
        return cause instanceof PerfException || code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED
                || code == Status.Code.CANCELLED || code == Status.Code.ABORTED || code == Status.Code.RESOURCE_EXHAUSTED;
    }

    private void fail(RuntimeException e) {
        synchronized (lock) {
            if (fatal == null) {
                fatal = e;
            }
            lock.notifyAll();
        }
    }

    long[] ackedByPartition() {
        synchronized (lock) {
            long[] acked = new long[partitions.length];
            for (PartitionQueue q : partitions) {
                acked[q.partition] = q.acked;
            }
            return acked;
        }
    }

    long retries() {
        synchronized (lock) {
            return retries;
        }
    }

    long notLeaderAnswers() {
        synchronized (lock) {
            return notLeaderAnswers;
        }
    }

    @Override
    public void close() throws InterruptedException {
        synchronized (lock) {
            closing = true;
            if (fatal == null && !allIdle()) {
                fatal = new PerfException("producer closed with records unacknowledged");
            }
            lock.notifyAll();
        }
        sender.join(5_000);
        synchronized (lock) {
            for (BrokerStream s : streams.values()) {
                s.failed = true;
                s.finish();
            }
            streams.clear();
        }
    }
}
