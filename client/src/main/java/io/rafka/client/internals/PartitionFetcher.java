package io.rafka.client.internals;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.ListOffsetsResponse;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionOffset;
import io.rafka.proto.v1.PartitionTimestamp;
import io.rafka.proto.v1.RecordFormat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Reads a set of partitions (of one or more topics) from their leaders: at most one Fetch in flight per partition
 * (asynchronous gRPC; one request per leader for the partitions ready at the same time), for partitions with at
 * most half of {@link FetchSettings#maxPartitionBytes()} buffered; answers are decoded on the gRPC
 * thread ({@link FetchDecoder}) and buffered per partition until {@link #poll} hands them out. Pipelined
 * ({@link FetchSettings#pipelined()}), {@code poll} sends the next fetches before it returns, so they are in
 * flight while the caller processes records and the next poll usually finds records waiting.
 *
 * <p>Memory: bytes buffered plus bytes asked for by the fetches in flight stay within
 * {@link FetchSettings#maxBytes()} (a request asks for what is left of it), and per partition within
 * {@link FetchSettings#maxPartitionBytes()} (a partition asks for what its buffer leaves of it). The broker returns a partition's first batch whole even
 * when larger, which is the only way past the bound. Seeking, pausing or removing a partition drops its
 * buffered records, and an answer to a fetch sent before is ignored (each request remembers the cursor and
 * offset it was sent for).
 *
 * <p>Each partition has its own position and {@link RetryState}: a partition whose leader is moving backs off
 * alone (following the NOT_LEADER hint, else refreshed metadata) while the others keep flowing, and only a
 * partition failing for longer than the retry timeout ends the read. OFFSET_OUT_OF_RANGE restarts that
 * partition from the earliest (or, see {@link #outOfRangeReset}, the latest) offset with a warning, or ends the read. Not thread-safe: everything but the RPC callbacks runs
 * on the poll thread; callbacks only hand answers over through a queue.
 */
public final class PartitionFetcher {

    /** How long a partition waits before it is fetched again after a BUSY answer. */
    static final long BUSY_BACKOFF_MS = 200;
    /** ListOffsets timestamps with Kafka's meaning. */
    public static final long LATEST = -1;
    public static final long EARLIEST = -2;
    /** {@link #outOfRangeReset}: an offset out of range is an error (auto.offset.reset=none). */
    public static final long NO_RESET = Long.MIN_VALUE;
    /** Data per Fetch response, under the broker's fetch.max.bytes (16 MiB by default). */
    public static final int FETCH_MAX_BYTES = 8 * 1024 * 1024;
    /** How much longer than its long-poll wait a call may take before the client gives up on it. */
    public static final long RPC_SLACK_MS = 10_000;
    /** Without a retry limit: how long a partition fails before a warning says so, and then how often. */
    static final long FAILING_WARNING_MS = 10_000;
    static final long FAILING_WARNING_INTERVAL_MS = 60_000;

    private final MetadataClient metadata;
    private final ChannelPool channels;
    private final Time time;
    private final long retryTimeoutMs;
    private final Consumer<String> warnings;
    private final Map<TopicPartition, Cursor> cursors = new LinkedHashMap<>();
    private final Set<InFlight> inFlight = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
    private FetchSettings settings = FetchSettings.unpipelined(FETCH_MAX_BYTES);
    private boolean refreshMetadata;
    private long bufferedBytes;
    private long reservedBytes;
    private long maxBufferedBytesSeen;
    private int nextDrain;
    /**
     * A failure of the fetches a poll sent after it had taken records out of the buffers: that poll returns the
     * records (they are past the positions now, so dropping them would skip them) and the next poll throws this.
     */
    private ClientException deferredFailure;
    /** Whether retriable failures other than damaged data are retried for as long as they last ({@link #retryWithoutLimit}). */
    private boolean withoutLimit;

    /** @param warnings where to report what the fetcher repaired on its own (an offset out of range) */
    private long outOfRangeReset = EARLIEST;
    /** Partitions restarted after OFFSET_OUT_OF_RANGE since {@link #drainRestarted} last ran. */
    private final java.util.Set<TopicPartition> restarted = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public PartitionFetcher(MetadataClient metadata, ChannelPool channels, Time time, long retryTimeoutMs,
                            Consumer<String> warnings) {
        this.metadata = metadata;
        this.channels = channels;
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
        this.warnings = warnings;
    }

    /**
     * What an OFFSET_OUT_OF_RANGE answer does (Kafka's {@code auto.offset.reset}): restart the partition at
     * {@link #EARLIEST} (the default) or {@link #LATEST}, or, with {@link #NO_RESET}, fail the read with that code.
     */
    public void outOfRangeReset(long lookupTimestamp) {
        if (lookupTimestamp != EARLIEST && lookupTimestamp != LATEST && lookupTimestamp != NO_RESET) {
            throw new IllegalArgumentException("out-of-range reset must be EARLIEST, LATEST or NO_RESET: " + lookupTimestamp);
        }
        this.outOfRangeReset = lookupTimestamp;
    }

    /** Data per Fetch response at most (Kafka's fetch.max.bytes); at least one batch per partition still comes. */
    public void maxBytes(int bytes) {
        settings(settings.withMaxBytes(bytes));
    }

    public void settings(FetchSettings newSettings) {
        this.settings = newSettings;
    }

    public FetchSettings settings() {
        return settings;
    }

    /**
     * From now on a partition whose leader is away, moving or unknown is fetched again for as long as that lasts,
     * with a warning after {@value #FAILING_WARNING_MS} ms and every {@value #FAILING_WARNING_INTERVAL_MS} ms after,
     * instead of ending the read once it failed for the retry timeout, while the other partitions go on: as Kafka's
     * consumer, whose {@code poll} does not throw for those. Damaged data (CORRUPT_MESSAGE) keeps the retry timeout.
     */
    public void retryWithoutLimit() {
        withoutLimit = true;
    }

    /**
     * Starts reading a partition (again, if it was read: its position is replaced and what was buffered of it
     * is dropped).
     *
     * @param start an offset, or {@link #LATEST} or {@link #EARLIEST}
     */
    public void add(TopicPartition tp, long start) {
        remove(tp);
        Cursor cursor = new Cursor(tp, new RetryState(time, retryTimeoutMs));
        if (start >= 0) {
            cursor.offset = start;
        } else {
            cursor.lookupTimestamp = start;
        }
        cursors.put(tp, cursor);
    }

    /** The high watermark the partition's last fetch answer told; empty before one (or after {@link #forget}). */
    public java.util.OptionalLong highWatermark(TopicPartition tp) {
        Long hw = highWatermarks.get(tp);
        return hw == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(hw);
    }

    /** Forgets what was learnt of a partition no longer read (its high watermark). */
    public void forget(TopicPartition tp) {
        highWatermarks.remove(tp);
    }

    /** Stops reading a partition and drops what was buffered of it; records of it already returned stay returned. */
    public void remove(TopicPartition tp) {
        Cursor cursor = cursors.remove(tp);
        if (cursor != null) {
            bufferedBytes -= cursor.bufferedBytes;
            cursor.buffer.clear();
            cursor.bufferedBytes = 0;
        }
    }

    /** The next offset to hand out of a partition; -1 while unknown (being looked up) or not read. */
    public long position(TopicPartition tp) {
        Cursor cursor = cursors.get(tp);
        if (cursor == null || cursor.lookupTimestamp != 0) {
            return -1;
        }
        return cursor.buffer.isEmpty() ? cursor.offset : cursor.buffer.peekFirst().offset();
    }

    /**
     * The partitions restarted after OFFSET_OUT_OF_RANGE (per auto.offset.reset) since the last call: their position
     * is the restarted one ({@link #position}, -1 while its lookup is pending), whatever was handed out of them before.
     */
    public java.util.Set<TopicPartition> drainRestarted() {
        java.util.Set<TopicPartition> drained = new java.util.HashSet<>();
        for (java.util.Iterator<TopicPartition> it = restarted.iterator(); it.hasNext(); ) {
            drained.add(it.next());
            it.remove();
        }
        return drained;
    }

    /**
     * The lookup a partition's read waits for before it fetches again: {@link #EARLIEST} or {@link #LATEST} (its
     * start, or a restart after OFFSET_OUT_OF_RANGE), or a timestamp; 0 when none (or the partition is not read).
     */
    public long pendingLookup(TopicPartition tp) {
        Cursor cursor = cursors.get(tp);
        return cursor == null ? 0 : cursor.lookupTimestamp;
    }

    /** The partitions being read. */
    public Set<TopicPartition> partitions() {
        return Set.copyOf(cursors.keySet());
    }

    /** Bytes of fetched records not handed out yet. */
    public long bufferedBytes() {
        return bufferedBytes;
    }

    /** The most bytes ever buffered plus asked for by fetches in flight (what {@code fetch.max.bytes} bounds). */
    public long maxBufferedBytesSeen() {
        return maxBufferedBytesSeen;
    }

    /**
     * Hands out up to {@code maxRecords} fetched records, in offset order per partition; the rest stay buffered
     * for the next poll. Waits at most about {@code maxWaitMs} when nothing is buffered (for the fetches in
     * flight, or the backoff of failing partitions).
     *
     * @throws ClientException a non-retriable error, or a retriable one that outlasted the retry timeout
     */
    public List<Fetched> poll(int maxWaitMs, int maxRecords) {
        if (deferredFailure != null) {
            ClientException failure = deferredFailure;
            deferredFailure = null;
            throw failure;
        }
        applyAnswers();
        if (hasBuffered()) {
            return handOut(maxRecords);
        }
        long deadline = time.hiResClockMs() + maxWaitMs;
        if (cursors.isEmpty()) {
            RetryState.sleep(time, maxWaitMs);
            return List.of();
        }
        long nextReadyMs = lookUpReady();
        sendFetches(settings.pipelined() ? settings.maxWaitMs() : maxWaitMs);
        if (inFlight.isEmpty()) {
            long now = time.hiResClockMs();
            RetryState.sleep(time, Math.max(0, Math.min(nextReadyMs - now, maxWaitMs)));
            refreshIfNeeded();
            return List.of();
        }
        awaitAnswers(deadline);
        return handOut(maxRecords);
    }

    /** Same as {@link #poll(int, int)} without a record limit. */
    public List<Fetched> poll(int maxWaitMs) {
        return poll(maxWaitMs, Integer.MAX_VALUE);
    }

    /**
     * Pipelined: waits until answers brought records or the deadline passed; otherwise waits for every fetch
     * in flight, as one round (the command-line tools' behaviour, whose clock may be a test's fake one).
     */
    private void awaitAnswers(long deadline) {
        try {
            while (!inFlight.isEmpty()) {
                long leftMs = deadline - time.hiResClockMs() + (settings.pipelined() ? 0 : RPC_SLACK_MS + 1_000);
                if (leftMs <= 0) {
                    return;
                }
                Answer answer = answers.poll(leftMs, TimeUnit.MILLISECONDS);
                if (answer == null) {
                    return;
                }
                apply(answer);
                applyAnswers();
                if (settings.pipelined()) {
                    if (hasBuffered()) {
                        return;
                    }
                    sendFetches(settings.maxWaitMs());   // a leader that answered empty gets its next long poll
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("INTERRUPTED", "interrupted while fetching");
        } finally {
            refreshIfNeeded();
        }
    }

    private boolean hasBuffered() {
        for (Cursor cursor : cursors.values()) {
            if (!cursor.buffer.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** Takes records round-robin over partitions; pipelined, sends the next fetches before returning. */
    private List<Fetched> handOut(int maxRecords) {
        List<Fetched> out = new ArrayList<>();
        List<Cursor> all = new ArrayList<>(cursors.values());
        for (int i = 0; i < all.size() && out.size() < maxRecords; i++) {
            Cursor cursor = all.get((nextDrain + i) % all.size());
            while (!cursor.buffer.isEmpty() && out.size() < maxRecords) {
                Fetched f = cursor.buffer.pollFirst();
                cursor.bufferedBytes -= f.sizeBytes();
                bufferedBytes -= f.sizeBytes();
                out.add(f);
            }
        }
        nextDrain = all.isEmpty() ? 0 : (nextDrain + 1) % all.size();
        if (settings.pipelined()) {
            try {
                lookUpReady();
                sendFetches(settings.maxWaitMs());
            } catch (ClientException e) {
                if (out.isEmpty()) {
                    throw e;
                }
                deferredFailure = e;   // as Kafka's fetcher: the records taken are returned, the failure comes next
            }
        }
        return out;
    }

    /** Looks up start offsets of ready partitions that need one; returns when the next backing-off one is ready. */
    private long lookUpReady() {
        long now = time.hiResClockMs();
        List<Cursor> lookups = new ArrayList<>();
        long nextReadyMs = Long.MAX_VALUE;
        for (Cursor cursor : cursors.values()) {
            if (cursor.notBeforeMs <= now && cursor.lookupTimestamp != 0) {
                lookups.add(cursor);
            }
            nextReadyMs = Math.min(nextReadyMs, cursor.notBeforeMs);
        }
        if (!lookups.isEmpty()) {
            lookUpOffsets(lookups);
        }
        return nextReadyMs;
    }

    private void lookUpOffsets(List<Cursor> ready) {
        for (Map.Entry<BrokerAddress, List<Cursor>> entry : byLeader(ready).entrySet()) {
            ListOffsetsRequest.Builder request = ListOffsetsRequest.newBuilder();
            for (Cursor cursor : entry.getValue()) {
                request.addPartitions(PartitionTimestamp.newBuilder()
                        .setTopic(cursor.tp.topic()).setPartition(cursor.tp.partition()).setTimestampMs(cursor.lookupTimestamp));
            }
            ListOffsetsResponse response;
            try {
                response = FetchServiceGrpc.newBlockingStub(channels.channel(entry.getKey()))
                        .withDeadlineAfter(RPC_SLACK_MS, TimeUnit.MILLISECONDS)
                        .listOffsets(request.build());
            } catch (StatusRuntimeException e) {
                failAll(entry.getValue(), ClientException.fromStatus(e, entry.getKey()));
                continue;
            }
            for (PartitionOffset result : response.getResultsList()) {
                Cursor cursor = cursors.get(new TopicPartition(result.getTopic(), result.getPartition()));
                if (cursor == null) {
                    continue;
                }
                if (result.getErrorCode() == ErrorCode.NONE) {
                    cursor.offset = Math.max(0, result.getOffset());
                    cursor.lookupTimestamp = 0;
                    cursor.retry.onSuccess();
                } else {
                    failed(cursor, result.getErrorCode(), result.getErrorCodeValue(), result.getErrorMessage(),
                            result.hasLeader(), result.getLeader());
                }
            }
        }
    }

    /**
     * Sends one fetch per leader for its ready partitions that are not in flight and have at most half of
     * {@code max.partition.fetch.bytes} buffered, each asking for the rest of it (so a partition's buffer plus its
     * fetch stay within it), the request asking for what is left of {@code fetch.max.bytes}. A partition is
     * fetched again before its buffer runs dry, and a leader may have several fetches in flight (for different
     * partitions): one fetch per leader at a time made partitions of the same leader wait for each other.
     */
    private void sendFetches(int waitMs) {
        long now = time.hiResClockMs();
        List<Cursor> ready = new ArrayList<>();
        for (Cursor cursor : cursors.values()) {
            if (cursor.notBeforeMs <= now && cursor.lookupTimestamp == 0 && !cursor.inFlight
                    && cursor.bufferedBytes * 2 <= settings.maxPartitionBytes()) {
                ready.add(cursor);
            }
        }
        for (Map.Entry<BrokerAddress, List<Cursor>> entry : byLeader(ready).entrySet()) {
            long left = settings.maxBytes() - bufferedBytes - reservedBytes;
            // Only with room for a whole partition's worth: then only a batch larger than that can pass the bound.
            if (left < Math.min(settings.maxPartitionBytes(), settings.maxBytes())) {
                break;
            }
            // A partition whose stored batch did not check is read decoded until the broker has read it
            // without damage: the broker checks each batch it decodes and has a damaged replica repaired.
            List<Cursor> encoded = new ArrayList<>();
            List<Cursor> decoded = new ArrayList<>();
            for (Cursor cursor : entry.getValue()) {
                (settings.encoded() && !cursor.checkOnBroker ? encoded : decoded).add(cursor);
            }
            for (List<Cursor> group : List.of(encoded, decoded)) {
                if (group.isEmpty()) {
                    continue;
                }
                long asked = 0;
                for (Cursor cursor : group) {
                    asked += partitionAsk(cursor);
                }
                left = settings.maxBytes() - bufferedBytes - reservedBytes;
                if (left < Math.min(settings.maxPartitionBytes(), settings.maxBytes())) {
                    break;
                }
                send(entry.getKey(), group, waitMs, (int) Math.min(left, asked), group == encoded && settings.encoded());
            }
        }
        refreshIfNeeded();
    }

    private int partitionAsk(Cursor cursor) {
        return (int) Math.max(1, settings.maxPartitionBytes() - cursor.bufferedBytes);
    }

    private void send(BrokerAddress leader, List<Cursor> partitions, int waitMs, int requestBytes, boolean encoded) {
        FetchRequest.Builder request = FetchRequest.newBuilder()
                .setMaxWaitMs(waitMs)
                .setMinBytes(Math.max(1, settings.minBytes()))
                .setMaxBytes(requestBytes)
                .setFormat(encoded ? RecordFormat.RECORD_FORMAT_ENCODED : RecordFormat.RECORD_FORMAT_DECODED);
        Map<TopicPartition, Long> sentOffsets = new HashMap<>();
        for (Cursor cursor : partitions) {
            request.addPartitions(PartitionFetch.newBuilder().setTopic(cursor.tp.topic()).setPartition(cursor.tp.partition())
                    .setOffset(cursor.offset).setMaxBytes(Math.min(requestBytes, partitionAsk(cursor))));
            sentOffsets.put(cursor.tp, cursor.offset);
            cursor.inFlight = true;
        }
        InFlight call = new InFlight(leader, List.copyOf(partitions), sentOffsets, requestBytes, encoded);
        inFlight.add(call);
        reservedBytes += requestBytes;
        maxBufferedBytesSeen = Math.max(maxBufferedBytesSeen, bufferedBytes + reservedBytes);
        FetchServiceGrpc.newStub(channels.channel(leader))
                .withDeadlineAfter(waitMs + RPC_SLACK_MS, TimeUnit.MILLISECONDS)
                .fetch(request.build(), new StreamObserver<>() {
                    private boolean answered;

                    @Override
                    public void onNext(FetchResponse value) {
                        Answer answer;
                        try {
                            answer = decode(call, value);
                        } catch (Throwable t) {
                            // An Error too (out of memory decoding): the call must end with an answer, or its
                            // partitions would stay in flight, fetched never again, and the consumer stall silently.
                            answer = new Answer(call, null, null, t);
                        }
                        answered = true;
                        answers.add(answer);
                    }

                    @Override
                    public void onError(Throwable t) {
                        if (!answered) {
                            answers.add(new Answer(call, null, null, t));
                        }
                    }

                    @Override
                    public void onCompleted() {
                        if (!answered) {
                            answers.add(new Answer(call, null, null, new IllegalStateException("Fetch ended without a response")));
                        }
                    }
                });
    }

    /** On the gRPC thread: decodes every partition's records from the offset it was fetched at. */
    private static Answer decode(InFlight call, FetchResponse response) {
        Map<TopicPartition, FetchDecoder.Decoded> decoded = new HashMap<>();
        try {
            for (PartitionFetchResult result : response.getResultsList()) {
                TopicPartition tp = new TopicPartition(result.getTopic(), result.getPartition());
                Long from = call.sentOffsets.get(tp);
                if (result.getErrorCode() == ErrorCode.NONE && from != null) {
                    decoded.put(tp, FetchDecoder.decode(tp, result, from));
                }
            }
        } catch (RuntimeException corrupt) {
            return new Answer(call, null, null, corrupt);
        }
        return new Answer(call, response, decoded, null);
    }

    private void applyAnswers() {
        Answer answer;
        while ((answer = answers.poll()) != null) {
            apply(answer);
        }
        refreshIfNeeded();
    }

    /** On the poll thread: buffers what an answer brought for partitions still read from where it was asked. */
    private void apply(Answer answer) {
        InFlight call = answer.call;
        inFlight.remove(call);
        reservedBytes -= call.requestBytes;
        List<Cursor> current = new ArrayList<>();
        for (Cursor sent : call.cursors) {
            sent.inFlight = false;
            if (cursors.get(sent.tp) == sent && sent.offset == call.sentOffsets.get(sent.tp)) {
                current.add(sent);
            }
        }
        if (answer.failure != null) {
            failAll(current, asClientException(answer.failure, call.leader));
            return;
        }
        for (PartitionFetchResult result : answer.response.getResultsList()) {
            TopicPartition tp = new TopicPartition(result.getTopic(), result.getPartition());
            Cursor cursor = cursors.get(tp);
            if (cursor != null && current.contains(cursor)) {
                onFetchResult(cursor, result, answer.decoded.getOrDefault(tp, FetchDecoder.Decoded.EMPTY), call);
            }
        }
    }

    private void onFetchResult(Cursor cursor, PartitionFetchResult result, FetchDecoder.Decoded decoded, InFlight call) {
        if (result.getErrorCode() == ErrorCode.NONE) {
            long next = cursor.offset;
            for (Fetched f : decoded.records()) {
                cursor.buffer.addLast(f);
                cursor.bufferedBytes += f.sizeBytes();
                bufferedBytes += f.sizeBytes();
                next = f.offset() + 1;
            }
            maxBufferedBytesSeen = Math.max(maxBufferedBytesSeen, bufferedBytes + reservedBytes);
            if (decoded.damaged()) {
                // The records before the damaged batch are good; read on from it decoded, so that the broker checks
                // its copy (and has it repaired if it is its copy that is damaged), after a backoff.
                cursor.offset = decoded.damagedOffset();
                cursor.checkOnBroker = true;
                warnings.accept("a batch of " + cursor.tp + " from broker " + call.leader() + " does not check ("
                        + decoded.damage() + "); reading it through the broker's check from offset " + cursor.offset);
                backOff(cursor, ClientException.of(ErrorCode.CORRUPT_MESSAGE, cursor.tp + " at offset " + cursor.offset
                        + ": " + decoded.damage()), false);
                return;
            }
            if (!call.encoded() && cursor.checkOnBroker && !decoded.records().isEmpty()) {
                cursor.checkOnBroker = false;  // the broker read past it without damage: back to stored batches
            }
            cursor.offset = Math.max(next, result.getNextOffset());
            cursor.retry.onSuccess();
            highWatermarks.put(cursor.tp, result.getHighWatermark());
        } else if (result.getErrorCode() == ErrorCode.OFFSET_OUT_OF_RANGE && outOfRangeReset != NO_RESET) {
            warnings.accept("offset " + cursor.offset + " of " + cursor.tp + " is out of range (log start "
                    + result.getLogStartOffset() + ", high watermark " + result.getHighWatermark()
                    + "); restarting from the " + (outOfRangeReset == EARLIEST ? "earliest" : "latest") + " offset");
            cursor.lookupTimestamp = outOfRangeReset;
            restarted.add(cursor.tp);
        } else {
            failed(cursor, result.getErrorCode(), result.getErrorCodeValue(), result.getErrorMessage(),
                    result.hasLeader(), result.getLeader());
        }
    }

    /** A partition error: fatal ones end the read; retriable ones back this partition off. */
    private void failed(Cursor cursor, ErrorCode code, int codeValue, String message,
                        boolean hasLeader, Broker leader) {
        ClientException failure = ClientException.of(code, codeValue, cursor.tp.toString(), message);
        boolean hinted = code == ErrorCode.NOT_LEADER && metadata.leaderHint(cursor.tp, hasLeader, leader);
        backOff(cursor, failure, !hinted);
    }

    private void failAll(List<Cursor> partitions, ClientException failure) {
        for (Cursor cursor : partitions) {
            backOff(cursor, failure, true);
        }
    }

    private void backOff(Cursor cursor, ClientException failure, boolean refresh) {
        if (!failure.retriable()) {
            throw failure;
        }
        if (failure.is(ErrorCode.BUSY)) {
            // The broker is at a bound (fetch.max.waiters, ...), nothing is wrong with the partition: wait and ask
            // again for as long as it takes, as Kafka's consumer does, instead of giving up at the retry timeout.
            cursor.notBeforeMs = time.hiResClockMs() + BUSY_BACKOFF_MS;
            return;
        }
        if (withoutLimit && !failure.is(ErrorCode.CORRUPT_MESSAGE)) {
            long now = time.hiResClockMs();
            cursor.notBeforeMs = now + cursor.retry.onFailureWithoutLimit();
            long failingMs = cursor.retry.failingForMs();
            if (failingMs >= FAILING_WARNING_MS && now - cursor.warnedAtMs >= FAILING_WARNING_INTERVAL_MS) {
                cursor.warnedAtMs = now;
                warnings.accept(cursor.tp + " could not be fetched for " + failingMs / 1000 + " s (retrying while the "
                        + "other partitions are read): " + failure.getMessage());
            }
        } else {
            cursor.notBeforeMs = time.hiResClockMs() + cursor.retry.onFailure(failure);
        }
        refreshMetadata |= refresh;
    }

    /** Groups partitions by leader; those without one back off and trigger a metadata refresh. */
    private Map<BrokerAddress, List<Cursor>> byLeader(List<Cursor> partitions) {
        Map<BrokerAddress, List<Cursor>> byLeader = new LinkedHashMap<>();
        for (Cursor cursor : partitions) {
            Optional<BrokerAddress> leader = metadata.leader(cursor.tp);
            if (leader.isPresent()) {
                byLeader.computeIfAbsent(leader.get(), address -> new ArrayList<>()).add(cursor);
            } else {
                backOff(cursor, ClientException.of(ErrorCode.LEADER_NOT_AVAILABLE, cursor.tp + " has no known leader"), true);
            }
        }
        return byLeader;
    }

    private static ClientException asClientException(Throwable cause, BrokerAddress broker) {
        if (cause instanceof StatusRuntimeException e) {
            return ClientException.fromCall(e, broker);   // the broker's code (BUSY, ...) where its answer names one
        }
        if (cause instanceof ClientException e) {
            return e;
        }
        if (cause instanceof RuntimeException && !(cause instanceof IllegalStateException)) {
            return new ClientException(ErrorCode.CORRUPT_MESSAGE.name(), "broker " + broker + " sent a batch that does not check: "
                    + cause.getMessage());
        }
        return new ClientException(ErrorCode.UNKNOWN_SERVER_ERROR.name(), "broker " + broker + ": " + cause);
    }

    private void refreshIfNeeded() {
        if (!refreshMetadata) {
            return;
        }
        refreshMetadata = false;
        try {
            metadata.refresh(cursors.keySet().stream().map(TopicPartition::topic).distinct().toList(), false);
        } catch (ClientException e) {
            if (!e.retriable()) {
                throw e;
            }
        }
    }

    /** One fetch in flight: where it went, for which cursors at which offsets, how many bytes it reserved. */
    private record InFlight(BrokerAddress leader, List<Cursor> cursors, Map<TopicPartition, Long> sentOffsets,
                            int requestBytes, boolean encoded) {
    }

    /** An answer (or failure) handed from the gRPC thread to the poll thread, decoded. */
    private record Answer(InFlight call, FetchResponse response, Map<TopicPartition, FetchDecoder.Decoded> decoded,
                          Throwable failure) {
    }

    /** Per partition, the high watermark its last answer told (poll thread; kept while paused, for the lag). */
    private final Map<TopicPartition, Long> highWatermarks = new java.util.HashMap<>();

    /** Where one partition stands: the next offset to fetch (or the ListOffsets timestamp to find it), its buffer. */
    private static final class Cursor {
        final TopicPartition tp;
        final RetryState retry;
        final java.util.ArrayDeque<Fetched> buffer = new java.util.ArrayDeque<>();
        long bufferedBytes;
        long offset;
        /** {@link #LATEST} or {@link #EARLIEST} while the offset must be looked up first; 0 when known. */
        long lookupTimestamp;
        long notBeforeMs;
        /** When a warning last said the partition keeps failing ({@link #retryWithoutLimit}). */
        long warnedAtMs = Long.MIN_VALUE / 2;
        boolean inFlight;
        /** A stored batch of it did not check: fetched decoded (the broker checks each batch) until that reads clean. */
        boolean checkOnBroker;

        Cursor(TopicPartition tp, RetryState retry) {
            this.tp = tp;
            this.retry = retry;
        }
    }
}
