package io.rafka.client.producer.internals;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.client.internals.ErrorCodes;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.producer.ProducerConfig;
import io.rafka.client.producer.ProducerException;
import io.rafka.client.producer.ProducerMetrics;
import io.rafka.common.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The producer's I/O thread: seals batches whose linger time passed, and sends each broker's ready batches (one
 * per partition per request) over one {@code ProduceStream}, with at most {@code max.in.flight} unanswered
 * requests per broker. Answers arrive on gRPC's threads and are applied under the accumulator's lock: an
 * acknowledged batch completes its records; a retriable failure (NOT_LEADER, a broken stream, ...) is sent again
 * in order ({@link PartitionQueue}) after {@code retry.backoff.ms}, with leaders refreshed from the metadata or
 * the NOT_LEADER hint, until {@code retries} or {@code delivery.timeout.ms} run out; any other failure fails that
 * batch's records only, with a {@link ProducerException} carrying the broker's code.
 */
public final class Sender implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Sender.class);
    /** A broker that does not answer within the request timeout plus this is given up on (stream dropped). */
    private static final long STUCK_SLACK_MS = 15_000;

    private final RecordAccumulator acc;
    private final ProducerMetadata metadata;
    private final ProducerConfig config;
    private final Object lock;
    private final Map<BrokerAddress, BrokerStream> streams = new HashMap<>();
    private long nextRequestId;
    /** The thread metadata refreshes run on (see {@link #startRefresh}). */
    private final ExecutorService refresher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "rafka-producer-metadata");
        t.setDaemon(true);
        return t;
    });
    /** Whether a refresh is under way. Guarded by the lock. */
    private boolean refreshing;
    /** Drains that sent a request so far: where the next one starts in the partitions' list. */
    private long drainsThatSent;
    private boolean refreshWanted;
    /** When the I/O thread last refreshed the metadata ({@link System#nanoTime}). */
    private long lastRefreshNanos = System.nanoTime() - TimeUnit.DAYS.toNanos(1);
    /** metadata.max.age.ms, at least the retry backoff (so 0 does not mean a refresh per loop), at most a year. */
    private final long metadataMaxAgeNanos;
    /** When the metadata was last refreshed, or the sender started: the next refresh is due metadata.max.age.ms later. */
    private long metadataAsOfNanos = System.nanoTime();
    /** No new producer id is asked for before this ({@link System#nanoTime}): the last request failed. */
    private long renewNotBeforeNanos = System.nanoTime();
    /** Set by close: stop as soon as every batch is done ({@link #forceClose}: at once). */
    private boolean closing;
    private boolean stopped;
    private long batchesRetried;
    private long notLeaderAnswers;
    private long batchesSplit;
    private long leaderChanges;

    public Sender(RecordAccumulator acc, ProducerMetadata metadata) {
        this.acc = acc;
        this.metadata = metadata;
        this.config = acc.config;
        this.lock = acc.lock;
        this.metadataMaxAgeNanos = TimeUnit.MILLISECONDS.toNanos(Math.min(TimeUnit.DAYS.toMillis(365),
                Math.max(config.metadataMaxAgeMs(), config.retryBackoffMs())));
    }

    @Override
    public void run() {
        try {
            while (true) {
                boolean refresh;
                List<PartitionQueue> wantIds;
                synchronized (lock) {
                    if (stopped || (closing && acc.allIdle())) {
                        return;
                    }
                    long now = System.nanoTime();
                    sealLingered(now);
                    expire(now);
                    int sent = drain(now);
                    // At most one metadata refresh per retry backoff: while a partition has no leader (an election)
                    // every round wants one, and back-to-back GetMetadata calls would only load the cluster.
                    long refreshDue = lastRefreshNanos + TimeUnit.MILLISECONDS.toNanos(config.retryBackoffMs());
                    // and one every metadata.max.age.ms anyway, which is how partitions added to a topic are learnt
                    long staleAt = metadataAsOfNanos + metadataMaxAgeNanos;
                    refresh = refreshWanted && now - refreshDue >= 0 || now - staleAt >= 0;
                    if (refresh) {
                        refreshWanted = false;
                        lastRefreshNanos = now;
                        metadataAsOfNanos = now;
                    }
                    wantIds = now - renewNotBeforeNanos < 0 ? List.of()
                            : acc.queues().stream().filter(PartitionQueue::wantsProducerId).toList();
                    if (sent == 0 && !refresh && wantIds.isEmpty()) {
                        long wake = Math.min(refreshWanted ? Math.min(nextWakeNanos(now), refreshDue) : nextWakeNanos(now), staleAt);
                        acc.senderWaiting = true;
                        acc.senderWakeNanos = wake;
                        try {
                            lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wake - now)));
                        } finally {
                            acc.senderWaiting = false;
                        }
                    }
                }
                acc.runCompletions();
                if (Thread.interrupted()) {
                    // Only a callback run here can have (nothing else interrupts this thread): ended by it, the thread
                    // would leave every record after it unsent.
                    LOG.warn("a producer callback interrupted the producer's I/O thread; ignored");
                }
                if (refresh) {
                    startRefresh();
                }
                wantIds.forEach(this::renewProducerId);
            }
        } catch (InterruptedException e) {
            // Nothing here interrupts it (a callback on this thread may have): the records still pending fail
            // rather than wait for a thread that is gone.
            failPending(e);
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            // An Error too (out of memory building a request): left pending, records never completed and flush hung.
            failPending(e);
            if (e instanceof Error error) {
                throw error;
            }
        } finally {
            refresher.shutdownNow();
            synchronized (lock) {
                streams.values().forEach(BrokerStream::finish);
                streams.clear();
            }
            acc.runCompletions();
        }
    }

    /**
     * Refreshes the metadata on a thread of its own, one refresh at a time: a broker that takes connections but does
     * not answer holds a refresh for its RPC deadline (10 s per broker asked), during which this thread, doing it
     * itself, sealed, sent and expired nothing.
     */
    private void startRefresh() {
        synchronized (lock) {
            if (refreshing) {
                return;
            }
            refreshing = true;
        }
        try {
            refresher.execute(() -> {
                try {
                    metadata.refresh();
                } catch (RuntimeException e) {
                    LOG.debug("metadata refresh failed: {}", e.toString());  // a forced close shut the channels under it
                } finally {
                    synchronized (lock) {
                        refreshing = false;
                        lock.notifyAll();  // batches waiting for a leader may go now
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            synchronized (lock) {
                refreshing = false;  // stopping
            }
        }
    }

    /** The thread ends for {@code cause}: every record not yet told is failed, unless a forced close did it already. */
    private void failPending(Throwable cause) {
        boolean closedUnderIt;
        synchronized (lock) {
            closedUnderIt = stopped;  // a forced close shut the channels while a refresh was using them
        }
        if (!closedUnderIt) {
            LOG.error("producer I/O thread failed; failing every pending record", cause);
            forceClose(new ProducerException(ErrorCode.UNKNOWN_SERVER_ERROR, "producer I/O thread failed: " + cause, cause));
        }
    }

    /** A partition whose epochs are used up goes on under a new producer id (an RPC: called without the lock). */
    private void renewProducerId(PartitionQueue q) {
        long id;
        try {
            id = metadata.initProducerId(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.retryBackoffMs()));
        } catch (ProducerException e) {
            synchronized (lock) {
                renewNotBeforeNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.retryBackoffMs());
            }
            LOG.warn("{}: no new producer id yet ({}); its batches wait, within {}", q.tp, e.getMessage(),
                    ProducerConfig.DELIVERY_TIMEOUT_MS);
            return;
        }
        synchronized (lock) {
            if (q.wantsProducerId()) {
                LOG.info("{}: producer epochs used up after batches failed for good; going on as producer id {}", q.tp, id);
                q.useProducerId(id);
                lock.notifyAll();
            }
        }
    }

    public ProducerMetrics metrics() {
        synchronized (lock) {
            return new ProducerMetrics(batchesRetried, notLeaderAnswers, leaderChanges, batchesSplit);
        }
    }

    /** Asks the thread to stop once everything queued is delivered (or failed). */
    public void initiateClose() {
        synchronized (lock) {
            closing = true;
            acc.closed = true;  // under the lock: every record appended before is sealed below, none after
            acc.sealAll();
            lock.notifyAll();
        }
    }

    /** Fails every pending batch with {@code error} and stops the thread. */
    public void forceClose(RuntimeException error) {
        synchronized (lock) {
            stopped = true;
            acc.closed = true;
            for (PartitionQueue q : acc.queues()) {
                List<ProducerBatch> all = new ArrayList<>(q.ready);
                all.addAll(q.inFlight);
                all.addAll(q.failed);
                if (q.open != null) {
                    all.add(q.open);
                }
                q.ready.clear();
                q.inFlight.clear();
                q.failed.clear();
                q.open = null;
                all.forEach(b -> acc.finish(b, -1, -1, error));
            }
            streams.values().forEach(s -> s.failed = true);
            lock.notifyAll();
        }
        acc.runCompletions();
    }

    private void sealLingered(long now) {
        long lingerNanos = TimeUnit.MILLISECONDS.toNanos(config.lingerMs());
        for (PartitionQueue q : acc.queues()) {
            if (q.open != null && (closing || acc.memoryWaiters > 0 || now - q.open.createdNanos >= lingerNanos)) {
                acc.seal(q);
            }
        }
    }

    /** Fails ready batches older than the delivery timeout that are not waiting for an answer. */
    private void expire(long now) {
        long timeout = TimeUnit.MILLISECONDS.toNanos(config.deliveryTimeoutMs());
        for (PartitionQueue q : acc.queues()) {
            while (!q.ready.isEmpty() && q.inFlight.isEmpty() && q.failed.isEmpty()
                    && now - q.ready.peekFirst().createdNanos > timeout) {
                ProducerBatch b = q.dropFirst();
                q.gaveUp(b, acc.producerId >= 0);
                acc.finish(b, -1, -1, expired(b));
            }
        }
    }

    private ProducerException expired(ProducerBatch b) {
        ErrorCode code = b.lastError != null ? b.lastError : ErrorCode.REQUEST_TIMED_OUT;
        return new ProducerException(code, b.tp + ": not delivered within " + ProducerConfig.DELIVERY_TIMEOUT_MS + " ("
                + config.deliveryTimeoutMs() + " ms) after " + b.attempts + " attempts"
                + (b.lastErrorMessage != null ? "; last error: " + b.lastErrorMessage : ""));
    }

    /** When to look again: the next linger expiry or retry time, at most 50 ms away. */
    private long nextWakeNanos(long now) {
        long wake = now + TimeUnit.MILLISECONDS.toNanos(50);
        long lingerNanos = TimeUnit.MILLISECONDS.toNanos(config.lingerMs());
        for (PartitionQueue q : acc.queues()) {
            if (q.open != null) {
                wake = Math.min(wake, q.open.createdNanos + lingerNanos);
            }
            if (!q.ready.isEmpty() && q.retryNotBeforeNanos > now) {
                wake = Math.min(wake, q.retryNotBeforeNanos);
            }
        }
        return wake;
    }

    /** Builds and sends one request per broker with room in its window; returns how many were sent. */
    private int drain(long now) {
        Map<BrokerAddress, List<ProducerBatch>> byBroker = new LinkedHashMap<>();
        Map<BrokerAddress, Long> requestBytes = new HashMap<>();
        // Each drain that sends starts one partition further on than the last (as Kafka's drain index moves): from the
        // same start every time, the first partitions' batches could fill every request while the last partitions'
        // never went out. (Moved by every drain, the start kept its parity: an answer frees a slot, one drain fills
        // it and the next finds the window full.)
        List<PartitionQueue> queues = new ArrayList<>(acc.queues());
        int start = queues.isEmpty() ? 0 : (int) Long.remainderUnsigned(drainsThatSent, queues.size());
        for (int i = 0; i < queues.size(); i++) {
            PartitionQueue q = queues.get((start + i) % queues.size());
            if (q.ready.isEmpty()) {
                continue;
            }
            Optional<BrokerAddress> leader = metadata.leader(q.tp);
            if (leader.isEmpty()) {
                // A refresh under way answers this one; wanted again, it would follow it and could wipe the leader hint
                // a NOT_LEADER answer gives in between (its retry then went to the stale leader again).
                refreshWanted |= !refreshing;
                continue;
            }
            BrokerStream stream = stream(leader.get());
            long bytes = requestBytes.getOrDefault(leader.get(), 0L);
            if (stream.pending.size() >= config.maxInFlight() || !q.canSend(stream, now)
                    || (bytes > 0 && bytes + q.ready.peekFirst().sizeInBytes() > config.maxRequestBytes())) {
                continue;
            }
            ProducerBatch batch = q.sendNext(stream);
            if (q.lastLeader != null && !q.lastLeader.equals(leader.get())) {
                leaderChanges++;
            }
            q.lastLeader = leader.get();
            byBroker.computeIfAbsent(leader.get(), k -> new ArrayList<>()).add(batch);
            requestBytes.put(leader.get(), bytes + batch.sizeInBytes());
        }
        if (!byBroker.isEmpty()) {
            drainsThatSent++;
        }
        for (Map.Entry<BrokerAddress, List<ProducerBatch>> e : byBroker.entrySet()) {
            ProduceRequest.Builder request = ProduceRequest.newBuilder().setRequestId(++nextRequestId)
                    .setAcks(wireAcks()).setTimeoutMs(config.requestTimeoutMs());
            for (ProducerBatch b : e.getValue()) {
                request.addPartitions(PartitionData.newBuilder().setTopic(b.tp.topic()).setPartition(b.tp.partition())
                        .setEncodedBatches(b.data()));
            }
            streams.get(e.getKey()).send(request.build(), e.getValue(), now);
        }
        expireStuckRequests(now);
        return byBroker.size();
    }

    private io.rafka.proto.v1.Acks wireAcks() {
        return switch (config.acks()) {
            case NONE -> io.rafka.proto.v1.Acks.ACKS_NONE;
            case LEADER -> io.rafka.proto.v1.Acks.ACKS_LEADER;
            case ALL -> io.rafka.proto.v1.Acks.ACKS_ALL;
        };
    }

    private BrokerStream stream(BrokerAddress address) {
        BrokerStream s = streams.get(address);
        if (s == null) {
            s = new BrokerStream(address, metadata.channel(address), this);
            streams.put(address, s);
        }
        return s;
    }

    /** A broker that does not answer a request within its timeout plus slack: drop the stream, retry elsewhere. */
    private void expireStuckRequests(long now) {
        long limit = TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs() + STUCK_SLACK_MS);
        for (BrokerStream s : new ArrayList<>(streams.values())) {
            BrokerStream.Pending oldest = s.pending.peekFirst();
            if (oldest != null && now - oldest.sentNanos() > limit) {
                s.cancel(Status.DEADLINE_EXCEEDED.withDescription("no answer in time").asRuntimeException());
                streamFailed(s, Status.DEADLINE_EXCEEDED.withDescription("broker " + s.address + " did not answer in time")
                        .asRuntimeException());
            }
        }
    }

    void onResponse(BrokerStream stream, ProduceResponse response) {
        synchronized (lock) {
            if (stream.failed) {
                return;
            }
            BrokerStream.Pending p = stream.pending.peekFirst();
            if (p == null || p.requestId() != response.getRequestId() || p.batches().size() != response.getResultsCount()) {
                // The request stays pending, so its batches are retried with the others on the stream (taken off
                // first, they stayed in flight for good: the partition never sent again and flush never returned).
                RuntimeException why = Status.INTERNAL.withDescription("broker " + stream.address + " answered request "
                        + response.getRequestId() + " out of order or with the wrong number of results").asRuntimeException();
                stream.cancel(why);
                streamFailed(stream, why);
                return;
            }
            stream.pending.pollFirst();
            long now = System.nanoTime();
            for (int i = 0; i < p.batches().size(); i++) {
                onResult(p.batches().get(i), response.getResults(i), now);
            }
            lock.notifyAll();
        }
        acc.runCompletions();
    }

    private void onResult(ProducerBatch batch, PartitionProduceResult result, long now) {
        PartitionQueue q = queue(batch);
        if (result.getErrorCode() == io.rafka.proto.v1.ErrorCode.NONE) {
            q.answered(batch);
            acc.finish(batch, result.getBaseOffset(), result.getLogAppendTimeMs(), null);
            return;
        }
        ErrorCode code = ErrorCode.forCode(result.getErrorCodeValue());
        if (code == ErrorCode.DUPLICATE_SEQUENCE_NUMBER && acc.producerId >= 0) {
            // A retry older than the batches the partition remembers: it was written by an earlier attempt, its
            // offsets are forgotten. Delivered (as Kafka's producer has it), with offset -1.
            q.answered(batch);
            acc.finish(batch, -1, -1, null);
            return;
        }
        if (code == ErrorCode.RECORD_TOO_LARGE && !batch.mayBeWritten && batch.splittable()) {
            // Above the topic's max.message.bytes, refused unwritten: as Kafka's producer, send it again in halves
            // (each halved again if still too large), so only a record too large on its own fails.
            batchesSplit++;
            q.split(batch, batch.split(), now);
            q.answered(batch);
            return;
        }
        if (code == ErrorCode.REQUEST_TIMED_OUT) {
            batch.mayBeWritten = true;   // appended, then not committed in time: it may still commit
            batch.everMayHaveBeenWritten = true;
        } else if (code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code == ErrorCode.UNKNOWN_PRODUCER_ID) {
            batch.mayBeWritten = false;  // the leader has no record of it
        }
        boolean retriable = result.getErrorCode() != io.rafka.proto.v1.ErrorCode.UNRECOGNIZED && code.retriable();
        // A batch sent behind one that failed finds a gap in the sequence: it is re-sent after it, not an error.
        boolean behindFailure = (code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code == ErrorCode.UNKNOWN_PRODUCER_ID)
                && q.recovering();
        // NOT_LEADER answers do not count as "maybe written" here, though one from a leader that lost its leadership
        // while the batch awaited commit may mean so: the next leader that committed it has this producer's state (it
        // just applied the batch), so it cannot answer UNKNOWN_PRODUCER_ID for the retry; and a partition being made
        // again answers NOT_LEADER (refused, not written) until its new replica runs.
        if (code == ErrorCode.UNKNOWN_PRODUCER_ID && !behindFailure && acc.producerId >= 0 && !batch.everMayHaveBeenWritten) {
            // The partition has no state of this producer although nothing before this batch is outstanding: it lost
            // it (a topic deleted and made again, its batches all gone). This batch was never written, so it and those
            // after it start the sequence again under the next epoch, as Kafka's producer does, instead of failing.
            q.restartSequenceFrom(batch);
            retry(q, batch, now, code, code + ": " + result.getErrorMessage());
            q.answered(batch);
            return;
        }
        String why = code + ": " + result.getErrorMessage();
        if (!retriable && !behindFailure) {
            q.gaveUp(batch, acc.producerId >= 0);
            q.answered(batch);
            acc.finish(batch, -1, -1, new ProducerException(code, batch.tp + ": " + result.getErrorMessage()));
            return;
        }
        if (code == ErrorCode.NOT_LEADER) {
            notLeaderAnswers++;
            if (!metadata.hint(batch.tp, result.hasLeader(), result.getLeader())) {
                refreshWanted = true;
            }
        } else if (code == ErrorCode.LEADER_NOT_AVAILABLE || code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
            refreshWanted = true;
        }
        retry(q, batch, now, code, why);
        q.answered(batch);
    }

    /** Queues a batch to be sent again, or fails it when its retries or delivery time are used up. */
    private void retry(PartitionQueue q, ProducerBatch batch, long now, ErrorCode code, String why) {
        batch.lastError = code;
        batch.lastErrorMessage = why;
        if (now - batch.createdNanos > TimeUnit.MILLISECONDS.toNanos(config.deliveryTimeoutMs())
                || batch.attempts > config.retries()) {
            q.gaveUp(batch, acc.producerId >= 0);
            acc.finish(batch, -1, -1, expired(batch));
            return;
        }
        batchesRetried++;
        q.failed(batch, now + TimeUnit.MILLISECONDS.toNanos(config.retryBackoffMs()));
    }

    private static PartitionQueue queue(ProducerBatch batch) {
        return batch.queue;
    }

    /** Every request still pending on a failed stream fails with it; all are retriable (the broker may be back). */
    void onStreamFailed(BrokerStream stream, Throwable cause) {
        synchronized (lock) {
            streamFailed(stream, cause);
        }
        acc.runCompletions();
    }

    private void streamFailed(BrokerStream stream, Throwable cause) {
        if (stream.failed) {
            return;
        }
        stream.failed = true;
        streams.remove(stream.address, stream);
        refreshWanted = true;
        if (!stopped) {
            LOG.debug("produce stream to {} failed: {}", stream.address, cause.toString());
        }
        long now = System.nanoTime();
        boolean unreachable = Status.fromThrowable(cause).getCode() == Status.Code.UNAVAILABLE;
        if (unreachable) {
            metadata.resetConnectBackoff(); // a broker down now may lead again soon after its restart
        }
        ErrorCode code = unreachable ? ErrorCode.NOT_LEADER : ErrorCode.REQUEST_TIMED_OUT;
        Refusal refusal = refusal(stream, cause);
        for (BrokerStream.Pending p : stream.pending) {
            boolean refused = refusal != null && p == refusal.request();
            for (ProducerBatch b : p.batches()) {
                PartitionQueue q = queue(b);
                if (refused) {
                    // Refused before it was written, and a retry would be refused the same way.
                    q.gaveUp(b, acc.producerId >= 0);
                    q.answered(b);
                    acc.finish(b, -1, -1, new ProducerException(refusal.code(), b.tp + ": broker " + stream.address
                            + " refused the request: " + refusal.message()));
                    continue;
                }
                b.mayBeWritten = true;  // sent; whether the broker wrote it before the stream broke is unknown
                b.everMayHaveBeenWritten = true;
                retry(q, b, now, code, "broker " + stream.address + ": " + cause);
                q.answered(b);
            }
        }
        stream.pending.clear();
        lock.notifyAll();
    }

    /**
     * A request the broker refused as a whole, before writing any of it, for a reason a retry cannot change (the
     * stream failed with it; retried, every request on the broker's stream failed again until the delivery timeout).
     * With its error code in the trailer it is the oldest unanswered request (the broker answers in order, and
     * refuses a request as it reads it); gRPC's own limit on a request's size ({@code max.request.bytes}) carries no
     * code and cuts the stream short at once, so the largest request is taken for it. Else null: the stream broke
     * and everything on it is retried.
     */
    private static Refusal refusal(BrokerStream stream, Throwable cause) {
        if (stream.pending.isEmpty()) {
            return null;
        }
        Status status = Status.fromThrowable(cause);
        Optional<io.rafka.proto.v1.ErrorCode> trailer = cause instanceof StatusRuntimeException e
                ? ErrorCodes.trailerCode(e) : Optional.empty();
        if (trailer.isPresent()) {
            return ErrorCodes.isRetriable(trailer.get()) ? null
                    : new Refusal(stream.pending.peekFirst(), ErrorCode.forCode(trailer.get().getNumber()),
                            String.valueOf(status.getDescription()));
        }
        if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
            BrokerStream.Pending largest = stream.pending.stream().max(Comparator.comparingLong(p ->
                    p.batches().stream().mapToLong(ProducerBatch::sizeInBytes).sum())).orElseThrow();
            return new Refusal(largest, ErrorCode.RECORD_LIST_TOO_LARGE, status.getDescription() + " (keep "
                    + ProducerConfig.MAX_REQUEST_SIZE + " below the broker's max.request.bytes)");
        }
        return null;
    }

    private record Refusal(BrokerStream.Pending request, ErrorCode code, String message) {
    }
}
