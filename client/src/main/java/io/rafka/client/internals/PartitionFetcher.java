package io.rafka.client.internals;

import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ConsumerRecord;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Reads a set of partitions (of one or more topics) from their leaders, round by round: each {@link #poll} looks up start
 * offsets where needed (ListOffsets), then sends one long-poll Fetch to every leader at once and waits
 * for all of them, so a quiet leader does not delay records from a busy one by more than one wait.
 *
 * <p>Each partition has its own position and {@link RetryState}: a partition whose leader is moving
 * backs off alone while the others keep flowing, and only a partition failing for longer than the retry
 * timeout ends the command. OFFSET_OUT_OF_RANGE (the position fell below the log start through
 * retention, or was past the end) restarts that partition from the earliest offset, with a warning.
 * The set can change between rounds ({@link #add}, {@link #remove}): a group member follows its assignment
 * with it. Not thread-safe: {@code poll} runs on one thread; only the RPCs are concurrent.
 */
public final class PartitionFetcher {

    /** ListOffsets timestamps with Kafka's meaning. */
    public static final long LATEST = -1;
    public static final long EARLIEST = -2;
    /** Data per Fetch response, under the broker's fetch.max.bytes (16 MiB by default). */
    public static final int FETCH_MAX_BYTES = 8 * 1024 * 1024;
    /** How much longer than its long-poll wait a call may take before the client gives up on it. */
    public static final long RPC_SLACK_MS = 10_000;

    /** A record and the partition it came from. */
    public record Fetched(TopicPartition tp, ConsumerRecord record) {
        public int partition() {
            return tp.partition();
        }
    }

    private final MetadataClient metadata;
    private final ChannelPool channels;
    private final Time time;
    private final long retryTimeoutMs;
    private final Consumer<String> warnings;
    private final Map<TopicPartition, Cursor> cursors = new LinkedHashMap<>();
    private boolean refreshMetadata;
    private int maxBytes = FETCH_MAX_BYTES;

    /** @param warnings where to report what the fetcher repaired on its own (an offset out of range) */
    public PartitionFetcher(MetadataClient metadata, ChannelPool channels, Time time, long retryTimeoutMs,
                            Consumer<String> warnings) {
        this.metadata = metadata;
        this.channels = channels;
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
        this.warnings = warnings;
    }

    /** Data per Fetch response at most (Kafka's fetch.max.bytes); at least one batch per partition still comes. */
    public void maxBytes(int bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("fetch max bytes must be positive");
        }
        this.maxBytes = bytes;
    }

    /**
     * Starts reading a partition (again, if it was read: its position is replaced).
     *
     * @param start an offset, or {@link #LATEST} or {@link #EARLIEST}
     */
    public void add(TopicPartition tp, long start) {
        Cursor cursor = new Cursor(tp, new RetryState(time, retryTimeoutMs));
        if (start >= 0) {
            cursor.offset = start;
        } else {
            cursor.lookUp(start);
        }
        cursors.put(tp, cursor);
    }

    /** Stops reading a partition; records of it already returned stay returned. */
    public void remove(TopicPartition tp) {
        cursors.remove(tp);
    }

    /** The next offset to fetch of a partition; -1 while unknown (being looked up) or not read. */
    public long position(TopicPartition tp) {
        Cursor cursor = cursors.get(tp);
        return cursor == null || cursor.lookupTimestamp != 0 ? -1 : cursor.offset;
    }

    /** The partitions being read. */
    public Set<TopicPartition> partitions() {
        return Set.copyOf(cursors.keySet());
    }

    /**
     * One round; returns the records it fetched, in offset order per partition. Waits at most about
     * {@code maxWaitMs} when no data comes (the broker's long poll, or the backoff of failing partitions).
     *
     * @throws ClientException a non-retriable error, or a retriable one that outlasted the retry timeout
     */
    public List<Fetched> poll(int maxWaitMs) {
        long now = time.hiResClockMs();
        List<Cursor> ready = new ArrayList<>();
        long nextReadyMs = Long.MAX_VALUE;
        for (Cursor cursor : cursors.values()) {
            if (cursor.notBeforeMs <= now) {
                ready.add(cursor);
            }
            nextReadyMs = Math.min(nextReadyMs, cursor.notBeforeMs);
        }
        if (cursors.isEmpty()) {
            RetryState.sleep(time, maxWaitMs);
            return List.of();
        }
        if (ready.isEmpty()) {
            RetryState.sleep(time, Math.min(nextReadyMs - now, maxWaitMs));
            return List.of();
        }
        lookUpOffsets(ready);
        ready.removeIf(cursor -> cursor.lookupTimestamp != 0 || cursor.notBeforeMs > now);
        List<Fetched> fetched = fetch(ready, maxWaitMs);
        if (refreshMetadata) {
            refreshMetadata = false;
            refreshMetadataQuietly();
        }
        return fetched;
    }

    private void lookUpOffsets(List<Cursor> ready) {
        Map<BrokerAddress, List<Cursor>> byLeader = byLeader(ready.stream().filter(c -> c.lookupTimestamp != 0).toList());
        for (Map.Entry<BrokerAddress, List<Cursor>> entry : byLeader.entrySet()) {
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

    private List<Fetched> fetch(List<Cursor> ready, int maxWaitMs) {
        Map<BrokerAddress, CompletableFuture<FetchResponse>> calls = new LinkedHashMap<>();
        Map<BrokerAddress, List<Cursor>> byLeader = byLeader(ready);
        for (Map.Entry<BrokerAddress, List<Cursor>> entry : byLeader.entrySet()) {
            calls.put(entry.getKey(), startFetch(entry.getKey(), entry.getValue(), maxWaitMs));
        }
        List<Fetched> fetched = new ArrayList<>();
        for (Map.Entry<BrokerAddress, CompletableFuture<FetchResponse>> call : calls.entrySet()) {
            FetchResponse response;
            try {
                response = call.getValue().join();
            } catch (CompletionException e) {
                failAll(byLeader.get(call.getKey()), asCliException(e.getCause(), call.getKey()));
                continue;
            }
            for (PartitionFetchResult result : response.getResultsList()) {
                Cursor cursor = cursors.get(new TopicPartition(result.getTopic(), result.getPartition()));
                if (cursor != null) {
                    onFetchResult(cursor, result, fetched);
                }
            }
        }
        return fetched;
    }

    private CompletableFuture<FetchResponse> startFetch(BrokerAddress leader, List<Cursor> partitions, int maxWaitMs) {
        FetchRequest.Builder request = FetchRequest.newBuilder()
                .setMaxWaitMs(maxWaitMs)
                .setMinBytes(1)
                .setMaxBytes(maxBytes)
                .setFormat(RecordFormat.RECORD_FORMAT_DECODED);
        for (Cursor cursor : partitions) {
            request.addPartitions(PartitionFetch.newBuilder()
                    .setTopic(cursor.tp.topic()).setPartition(cursor.tp.partition()).setOffset(cursor.offset));
        }
        CompletableFuture<FetchResponse> response = new CompletableFuture<>();
        FetchServiceGrpc.newStub(channels.channel(leader))
                .withDeadlineAfter(maxWaitMs + RPC_SLACK_MS, TimeUnit.MILLISECONDS)
                .fetch(request.build(), new StreamObserver<>() {
                    @Override
                    public void onNext(FetchResponse value) {
                        response.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        response.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        response.completeExceptionally(new IllegalStateException("Fetch ended without a response"));
                    }
                });
        return response;
    }

    private void onFetchResult(Cursor cursor, PartitionFetchResult result, List<Fetched> fetched) {
        if (result.getErrorCode() == ErrorCode.NONE) {
            long next = cursor.offset;
            for (ConsumerRecord record : result.getRecordsList()) {
                if (record.getOffset() >= cursor.offset) {
                    fetched.add(new Fetched(cursor.tp, record));
                    next = record.getOffset() + 1;
                }
            }
            cursor.offset = Math.max(next, result.getNextOffset());
            cursor.retry.onSuccess();
        } else if (result.getErrorCode() == ErrorCode.OFFSET_OUT_OF_RANGE) {
            warnings.accept("offset " + cursor.offset + " of " + cursor.tp + " is out of range (log start "
                    + result.getLogStartOffset() + ", high watermark " + result.getHighWatermark()
                    + "); restarting from the earliest offset");
            cursor.lookUp(EARLIEST);
        } else {
            failed(cursor, result.getErrorCode(), result.getErrorCodeValue(), result.getErrorMessage(),
                    result.hasLeader(), result.getLeader());
        }
    }

    /** A partition error: fatal ones end the command; retriable ones back this partition off. */
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
        cursor.notBeforeMs = time.hiResClockMs() + cursor.retry.onFailure(failure);
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

    private static ClientException asCliException(Throwable cause, BrokerAddress broker) {
        if (cause instanceof StatusRuntimeException e) {
            return ClientException.fromStatus(e, broker);
        }
        return new ClientException(ErrorCode.UNKNOWN_SERVER_ERROR.name(), "broker " + broker + ": " + cause);
    }

    private void refreshMetadataQuietly() {
        try {
            metadata.refresh(cursors.keySet().stream().map(TopicPartition::topic).distinct().toList(), false);
        } catch (ClientException e) {
            if (!e.retriable()) {
                throw e;
            }
        }
    }

    /** Where one partition stands: the next offset to fetch, or the ListOffsets timestamp to find it. */
    private static final class Cursor {
        final TopicPartition tp;
        final RetryState retry;
        long offset;
        /** {@link #LATEST} or {@link #EARLIEST} while the offset must be looked up first; 0 when known. */
        long lookupTimestamp;
        long notBeforeMs;

        Cursor(TopicPartition tp, RetryState retry) {
            this.tp = tp;
            this.retry = retry;
        }

        void lookUp(long timestamp) {
            lookupTimestamp = timestamp;
        }
    }
}
