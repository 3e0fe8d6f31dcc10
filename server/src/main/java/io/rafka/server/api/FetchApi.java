package io.rafka.server.api;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.log.TimestampAndOffset;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.ListOffsetsResponse;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionOffset;
import io.rafka.proto.v1.PartitionTimestamp;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.SubscribeRequest;
import io.rafka.raft.PartitionStatus;
import io.rafka.metadata.TopicNames;
import io.rafka.server.metrics.BrokerMetrics;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Fetch (long-poll), Subscribe (server push) and ListOffsets. Only committed data is served, and only by a
 * partition's leader. A fetch that finds less than {@code min_bytes} waits, woken by {@link FetchWaiters}
 * when one of its partitions commits, until {@code max_wait_ms}; waiting costs no thread.
 */
public final class FetchApi extends FetchServiceGrpc.FetchServiceImplBase {
    /** Response size when the request does not say: below gRPC's default 4 MiB inbound limit of clients. */
    static final int DEFAULT_RESPONSE_MAX_BYTES = 3 * 1024 * 1024;
    private static final long SUBSCRIPTION_RECHECK_MS = 1000;

    private final ClusterView view;
    private final FetchWaiters waiters;
    private final PartitionReader reader;
    private final ScheduledExecutorService timer;
    private final Settings settings;
    private volatile boolean closing;

    /** Fetch limits from the broker config. */
    public record Settings(int fetchMaxBytes, int fetchMaxWaitMs, int maxDecompressedBytes) {
    }

    public FetchApi(ClusterView view, FetchWaiters waiters, BrokerMetrics metrics, ScheduledExecutorService timer, Settings settings) {
        this.view = view;
        this.waiters = waiters;
        this.reader = new PartitionReader(view, metrics, settings.maxDecompressedBytes());
        this.timer = timer;
        this.settings = settings;
    }

    /** On shutdown: waiting fetches answer with what they have. */
    public void close() {
        closing = true;
        waiters.wakeAll();
    }

    @Override
    public void fetch(FetchRequest request, StreamObserver<FetchResponse> out) {
        if (request.getPartitionsCount() == 0) {
            out.onError(ApiErrors.invalidArgument("a fetch needs at least one partition"));
            return;
        }
        if (request.getMaxWaitMs() < 0 || request.getMinBytes() < 0 || request.getMaxBytes() < 0) {
            out.onError(ApiErrors.status(Status.INVALID_ARGUMENT, ErrorCode.INVALID_FETCH_SIZE,
                    "max_wait_ms, min_bytes and max_bytes must not be negative"));
            return;
        }
        if (request.getFormat() == RecordFormat.UNRECOGNIZED) {
            out.onError(ApiErrors.invalidArgument("unknown record format " + request.getFormatValue()));
            return;
        }
        new PendingFetch(request, (ServerCallStreamObserver<FetchResponse>) out).attempt();
    }

    /** One fetch from arrival to answer. Answers exactly once: on enough data, an error, the deadline or cancel. */
    private final class PendingFetch {
        private final FetchRequest request;
        private final ServerCallStreamObserver<FetchResponse> out;
        private final int maxBytes;
        private final long deadlineNs;
        private final AtomicBoolean done = new AtomicBoolean();
        private FetchWaiters.Waiter waiter;
        private ScheduledFuture<?> timeout;

        PendingFetch(FetchRequest request, ServerCallStreamObserver<FetchResponse> out) {
            this.request = request;
            this.out = out;
            this.maxBytes = request.getMaxBytes() == 0 ? Math.min(DEFAULT_RESPONSE_MAX_BYTES, settings.fetchMaxBytes())
                    : Math.min(request.getMaxBytes(), settings.fetchMaxBytes());
            long waitMs = Math.min(request.getMaxWaitMs(), settings.fetchMaxWaitMs());
            this.deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        }

        synchronized void attempt() {
            if (done.get()) {
                return;
            }
            FetchResponse.Builder response = FetchResponse.newBuilder();
            int budget = maxBytes;
            int total = 0;
            boolean failed = false;
            for (PartitionFetch p : request.getPartitionsList()) {
                PartitionReader.Read read = reader.read(p.getTopic(), p.getPartition(), p.getOffset(), p.getMaxBytes(),
                        budget, request.getFormat());
                response.addResults(read.result());
                budget -= read.bytes();
                total += read.bytes();
                failed |= read.failed();
            }
            boolean enough = total >= Math.max(1, request.getMinBytes()) || failed;
            if (enough || closing || System.nanoTime() >= deadlineNs || out.isCancelled()) {
                finish(response.build());
                return;
            }
            if (waiter == null) {
                Set<TopicPartition> partitions = new HashSet<>();
                request.getPartitionsList().forEach(p -> partitions.add(new TopicPartition(p.getTopic(), p.getPartition())));
                waiter = waiters.register(partitions, this::attempt);
                if (waiter == null) {
                    done.set(true);
                    out.onError(ApiErrors.status(Status.RESOURCE_EXHAUSTED, ErrorCode.BUSY,
                            "too many fetches are waiting for data (fetch.max.waiters); retry"));
                    return;
                }
                out.setOnCancelHandler(this::cancel);
                long remainingNs = deadlineNs - System.nanoTime();
                timeout = timer.schedule(this::expire, Math.max(0, remainingNs), TimeUnit.NANOSECONDS);
                attempt(); // data may have arrived between the read and the registration
            }
        }

        private void expire() {
            attempt();
            // attempt() answers once the deadline passed; nothing else to do.
        }

        private void cancel() {
            if (done.compareAndSet(false, true)) {
                cleanup();
            }
        }

        private void finish(FetchResponse response) {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            cleanup();
            try {
                out.onNext(response);
                out.onCompleted();
            } catch (RuntimeException e) {
                // cancelled by the client meanwhile
            }
        }

        private void cleanup() {
            if (waiter != null) {
                waiter.cancel();
            }
            if (timeout != null) {
                timeout.cancel(false);
            }
        }
    }

    @Override
    public void subscribe(SubscribeRequest request, StreamObserver<FetchResponse> responses) {
        if (request.getMaxBytes() < 0) {
            responses.onError(ApiErrors.status(Status.INVALID_ARGUMENT, ErrorCode.INVALID_FETCH_SIZE, "max_bytes must not be negative"));
            return;
        }
        if (request.getFormat() == RecordFormat.UNRECOGNIZED) {
            responses.onError(ApiErrors.invalidArgument("unknown record format " + request.getFormatValue()));
            return;
        }
        new Subscription(request, (ServerCallStreamObserver<FetchResponse>) responses).start();
    }

    /**
     * A server-streaming subscription to one partition. Pushes whenever the client's flow-control window is
     * open and data is committed; waits (woken by commits, and rechecking every second for leadership loss)
     * otherwise. Ends with an error status when the partition cannot be read here any more.
     */
    private final class Subscription {
        private final SubscribeRequest request;
        private final ServerCallStreamObserver<FetchResponse> out;
        private final int maxBytes;
        private long offset;
        private boolean done;
        private FetchWaiters.Waiter waiter;
        private ScheduledFuture<?> recheck;

        Subscription(SubscribeRequest request, ServerCallStreamObserver<FetchResponse> out) {
            this.request = request;
            this.out = out;
            this.offset = request.getOffset();
            this.maxBytes = Math.min(request.getMaxBytes() == 0 ? PartitionReader.DEFAULT_PARTITION_MAX_BYTES : request.getMaxBytes(),
                    settings.fetchMaxBytes());
        }

        synchronized void start() {
            waiter = waiters.register(Set.of(new TopicPartition(request.getTopic(), request.getPartition())), this::pump);
            if (waiter == null) {
                done = true;
                out.onError(ApiErrors.status(Status.RESOURCE_EXHAUSTED, ErrorCode.BUSY,
                        "too many fetches are waiting for data (fetch.max.waiters); retry"));
                return;
            }
            out.setOnCancelHandler(this::stop);
            out.setOnReadyHandler(this::pump);
            recheck = timer.scheduleWithFixedDelay(this::pump, SUBSCRIPTION_RECHECK_MS, SUBSCRIPTION_RECHECK_MS, TimeUnit.MILLISECONDS);
        }

        synchronized void pump() {
            if (done) {
                return;
            }
            if (closing) {
                end(ApiErrors.status(Status.UNAVAILABLE, ErrorCode.NOT_LEADER, "broker " + view.brokerId() + " is shutting down"));
                return;
            }
            try {
                while (out.isReady() && !done) {
                    PartitionReader.Read read = reader.read(request.getTopic(), request.getPartition(), offset, maxBytes,
                            maxBytes, request.getFormat());
                    if (read.failed()) {
                        ApiErrors.Failure f = new ApiErrors.Failure(read.result().getErrorCode(), read.result().getErrorMessage());
                        end(ApiErrors.toStatus(f));
                        return;
                    }
                    if (read.bytes() == 0) {
                        return; // woken on the next commit
                    }
                    out.onNext(FetchResponse.newBuilder().addResults(read.result()).build());
                    offset = read.result().getNextOffset();
                }
            } catch (RuntimeException e) {
                stop(); // the client went away
            }
        }

        private void end(RuntimeException status) {
            stop();
            try {
                out.onError(status);
            } catch (RuntimeException e) {
                // already cancelled
            }
        }

        private synchronized void stop() {
            done = true;
            if (waiter != null) {
                waiter.cancel();
            }
            if (recheck != null) {
                recheck.cancel(false);
            }
        }
    }

    @Override
    public void listOffsets(ListOffsetsRequest request, StreamObserver<ListOffsetsResponse> out) {
        if (request.getPartitionsCount() == 0) {
            out.onError(ApiErrors.invalidArgument("list offsets needs at least one partition"));
            return;
        }
        ListOffsetsResponse.Builder resp = ListOffsetsResponse.newBuilder();
        for (PartitionTimestamp p : request.getPartitionsList()) {
            resp.addResults(listOffset(p));
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    private PartitionOffset listOffset(PartitionTimestamp p) {
        PartitionOffset.Builder result = PartitionOffset.newBuilder().setTopic(p.getTopic()).setPartition(p.getPartition())
                .setOffset(-1).setTimestampMs(-1);
        try {
            TopicNames.validate(p.getTopic());
            view.requirePartition(p.getTopic(), p.getPartition());
            TopicPartition tp = new TopicPartition(p.getTopic(), p.getPartition());
            PartitionStatus status = reader.leaderStatus(tp);
            long ts = p.getTimestampMs();
            if (ts == -1) {
                result.setOffset(status.highWatermark());
            } else if (ts == -2) {
                result.setOffset(status.logStartOffset());
            } else if (ts < 0) {
                throw new RafkaException(io.rafka.common.ErrorCode.INVALID_REQUEST,
                        "timestamp_ms must be -1 (latest), -2 (earliest) or a time >= 0, not " + ts);
            } else {
                Optional<TimestampAndOffset> found = view.raftNode().log(tp).offsetForTimestamp(ts);
                found.filter(f -> f.offset() < status.highWatermark()).ifPresent(f ->
                        result.setOffset(f.offset()).setTimestampMs(f.timestamp()));
            }
        } catch (RuntimeException e) {
            ApiErrors.Failure f = ApiErrors.classify(e);
            result.setErrorCode(f.code()).setErrorMessage(f.message());
            if (e instanceof io.rafka.common.NotLeaderException nle) {
                nle.leaderId().flatMap(view::broker).ifPresent(result::setLeader);
            }
        }
        return result.build();
    }
}
