package io.rafka.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.InitProducerIdRequest;
import io.rafka.proto.v1.InitProducerIdResponse;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerIdentity;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.Acks;
import io.rafka.record.Header;
import io.rafka.server.broker.ProducePartition;
import io.rafka.server.broker.ProduceResult;
import io.rafka.server.broker.ProducerIds;
import io.rafka.server.broker.ReplicaManager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * Produce, unary and streaming: maps requests to {@link ReplicaManager#produce} and its results back.
 * Encoded batches are handed over without a copy (a read-only view of the request's bytes); structured
 * records are copied out of the message once, as the batch encoder takes arrays.
 */
public final class ProduceApi extends ProduceServiceGrpc.ProduceServiceImplBase {
    private final ReplicaManager replicas;
    private final ProducerIds producerIds;
    private final int streamWindow;
    private final RequestLimits limits;
    private final UnreadAnswers unread;

    public ProduceApi(ReplicaManager replicas, ProducerIds producerIds, int streamWindow, RequestLimits limits,
                      UnreadAnswers unread) {
        this.replicas = replicas;
        this.producerIds = producerIds;
        this.streamWindow = streamWindow;
        this.limits = limits;
        this.unread = unread;
    }

    /** Answers a typed error in the response (not a status), so clients see the retriable code directly. */
    @Override
    public void initProducerId(InitProducerIdRequest request, StreamObserver<InitProducerIdResponse> out) {
        InitProducerIdResponse.Builder resp = InitProducerIdResponse.newBuilder();
        try {
            ProducerIds.ProducerIdAndEpoch id = producerIds.next();
            resp.setProducerId(id.producerId()).setProducerEpoch(id.epoch());
        } catch (RuntimeException e) {
            ApiErrors.Failure f = ApiErrors.classify(e);
            resp.setProducerId(-1).setProducerEpoch(-1).setErrorCode(f.code()).setErrorMessage(f.message());
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    @Override
    public void produce(ProduceRequest request, StreamObserver<ProduceResponse> out) {
        CompletableFuture<ProduceResponse> response;
        try {
            response = handle(request);
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        response.whenComplete((r, e) -> {
            if (e != null) {
                out.onError(ApiErrors.toStatus(e));
            } else {
                out.onNext(r);
                out.onCompleted();
            }
        });
    }

    @Override
    public StreamObserver<ProduceRequest> produceStream(StreamObserver<ProduceResponse> responses) {
        return new ProduceStream((ServerCallStreamObserver<ProduceResponse>) responses);
    }

    /**
     * One streaming call. Requests are started as they arrive (so appends reach each partition's Raft group
     * in stream order) and answered strictly in order. Requests are read one at a time, the next only while at most
     * {@code streamWindow} are unanswered, the answers flow out (the call is ready), and the answers written and not
     * yet handed to the socket plus those the unanswered requests will get stay within the connection's
     * {@code max.unread.answer.bytes.per.connection} ({@link UnreadAnswers}; a stream with nothing unanswered and
     * nothing unread always reads one more). Otherwise gRPC flow control holds the client back: an answer can be far
     * larger than its request (every partition's topic name and error message), so answers a client does not read
     * would otherwise pile up on the broker, outside every memory limit.
     */
    private final class ProduceStream implements StreamObserver<ProduceRequest> {
        /** What an answer takes per partition besides its topic name: the numbers, the error message, a leader hint. */
        private static final int ANSWER_BYTES_PER_PARTITION = 256;

        private final ServerCallStreamObserver<ProduceResponse> out;
        private final UnreadAnswers.Connection connection = UnreadAnswers.current();
        private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
        private volatile boolean failed;
        /** Set on the first request that fails as a whole; read and written on the call's serialized executor. */
        private boolean rejecting;
        /** A request asked of gRPC and not read yet. Guarded by this, as the fields below. */
        private boolean asking;
        /**
         * The requests read and not answered yet, in stream order, each counted on the connection by its estimated
         * answer size from when it is read (resized to the answer's size when that is written).
         */
        private final ArrayDeque<UnreadAnswers.Reservation> unanswered = new ArrayDeque<>();
        /** Answers written since the call was last ready: counted until the transport has handed them on. */
        private final List<UnreadAnswers.Reservation> unsent = new ArrayList<>();
        /** What the next request's answer is taken to need before it is read: the largest estimate so far. */
        private long nextEstimate = ANSWER_BYTES_PER_PARTITION;

        ProduceStream(ServerCallStreamObserver<ProduceResponse> out) {
            this.out = out;
            out.disableAutoRequest();
            out.setOnReadyHandler(this::resume);
            // However the call ends (cancelled, failed by the broker, completed), what it counted is released.
            out.setOnCloseHandler(this::release);
            out.setOnCancelHandler(this::release);
            askNext();
        }

        /** The answers flow again: those written are on their way; read on if the limits allow. */
        private void resume() {
            synchronized (this) {
                if (out.isReady()) {
                    releaseUnsent();
                }
            }
            askNext();
        }

        private void releaseUnsent() {
            unsent.forEach(UnreadAnswers.Reservation::release);
            unsent.clear();
        }

        /** Asks for the next request when the window, the flow of answers and the connection's answer bytes allow. */
        private synchronized void askNext() {
            if (asking || failed || rejecting || out.isCancelled() || unanswered.size() >= streamWindow || !out.isReady()) {
                return;   // asked again when a request is read, an answer goes out or the call is ready again
            }
            if ((!unanswered.isEmpty() || !unsent.isEmpty()) && !unread.admits(connection, nextEstimate)) {
                return;
            }
            asking = true;
            out.request(1);
        }

        @Override
        public void onNext(ProduceRequest request) {
            long estimate = answerEstimate(request);
            synchronized (this) {
                asking = false;
                unanswered.addLast(unread.written(connection, estimate));
                nextEstimate = Math.max(nextEstimate, estimate);
            }
            if (rejecting) {
                return; // an earlier request failed the stream: nothing after it is appended
            }
            CompletableFuture<ProduceResponse> response;
            try {
                response = handle(request);
            } catch (RuntimeException e) {
                rejecting = true;
                response = CompletableFuture.failedFuture(e);
            }
            CompletableFuture<ProduceResponse> r = response;
            tail = tail.thenCompose(v -> r).handle((resp, e) -> {
                send(resp, e);
                return null;
            });
            askNext();
        }

        private static long answerEstimate(ProduceRequest request) {
            long bytes = 64;
            for (PartitionData data : request.getPartitionsList()) {
                bytes += data.getTopic().length() + ANSWER_BYTES_PER_PARTITION;
            }
            return bytes;
        }

        private void send(ProduceResponse resp, Throwable e) {
            synchronized (this) {
                UnreadAnswers.Reservation answer = unanswered.pollFirst();
                if (failed || out.isCancelled()) {
                    releaseAll(answer);
                    return;
                }
                try {
                    if (e != null) {
                        failed = true;
                        out.onError(ApiErrors.toStatus(e));
                        releaseAll(answer);
                        return;
                    }
                    out.onNext(resp);
                    if (answer != null) {
                        answer.resize(resp.getSerializedSize());
                        unsent.add(answer);
                    }
                    if (out.isReady()) {
                        releaseUnsent();
                    }
                } catch (RuntimeException ex) {
                    failed = true; // the client went away
                    releaseAll(answer);
                    return;
                }
            }
            askNext();
        }

        @Override
        public void onError(Throwable t) {
            failed = true;
            release();
        }

        @Override
        public void onCompleted() {
            tail.whenComplete((v, e) -> {
                synchronized (this) {
                    if (!failed && !out.isCancelled()) {
                        out.onCompleted();
                    }
                    releaseUnsent();
                }
            });
        }

        private void releaseAll(UnreadAnswers.Reservation answer) {
            if (answer != null) {
                answer.release();
            }
            release();
        }

        /** Releases everything counted: the call ended, or will answer nothing more. */
        private synchronized void release() {
            releaseUnsent();
            unanswered.forEach(UnreadAnswers.Reservation::release);
            unanswered.clear();
        }
    }

    private CompletableFuture<ProduceResponse> handle(ProduceRequest request) {
        limits.partitions(request.getPartitionsCount());
        List<ProducePartition> partitions = new ArrayList<>(request.getPartitionsCount());
        for (PartitionData data : request.getPartitionsList()) {
            partitions.add(new ProducePartition(data.getTopic(), data.getPartition(), data(data)));
        }
        long requestId = request.getRequestId();   // the answer keeps no reference to the request's bytes
        return replicas.produce(partitions, acks(request.getAcks()), request.getTimeoutMs()).thenApply(results -> {
            ProduceResponse.Builder resp = ProduceResponse.newBuilder().setRequestId(requestId);
            results.forEach(r -> resp.addResults(result(r)));
            return resp.build();
        });
    }

    /** What Produce and ProduceStream requests are checked for before they are parsed: their structured records. */
    public static java.util.Map<String, StrictParsing.RawCheck> rawChecks(RequestLimits limits) {
        StrictParsing.RawCheck records = limits.structuredRecords();
        return java.util.Map.of(io.rafka.proto.v1.ProduceServiceGrpc.getProduceMethod().getFullMethodName(), records,
                io.rafka.proto.v1.ProduceServiceGrpc.getProduceStreamMethod().getFullMethodName(), records);
    }

    /** The raft layer's acks; null for a value this version does not know (the broker refuses it). */
    static Acks acks(io.rafka.proto.v1.Acks acks) {
        return switch (acks) {
            case ACKS_NONE -> Acks.NONE;
            case ACKS_LEADER -> Acks.LEADER;
            case ACKS_UNSPECIFIED, ACKS_ALL -> Acks.ALL;
            default -> null;
        };
    }

    static ProducePartition.Data data(PartitionData data) {
        return switch (data.getDataCase()) {
            // A read-only view of the message's bytes: validated, then appended, never written.
            case ENCODED_BATCHES -> new ProducePartition.EncodedBatches(data.getEncodedBatches().asReadOnlyByteBuffer());
            case RECORDS -> records(data.getRecords());
            default -> new ProducePartition.Missing();
        };
    }

    private static ProducePartition.Records records(RecordSet set) {
        ProducePartition.Producer producer = null;
        if (set.hasProducer()) {
            ProducerIdentity p = set.getProducer();
            producer = new ProducePartition.Producer(p.getProducerId(), p.getProducerEpoch(), p.getBaseSequence());
        }
        List<ProducePartition.NewRecord> records = new ArrayList<>(set.getRecordsCount());
        for (ProducerRecord r : set.getRecordsList()) {
            List<Header> headers = new ArrayList<>(r.getHeadersCount());
            r.getHeadersList().forEach(h -> headers.add(new Header(h.getKey(), h.getValue().toByteArray())));
            records.add(new ProducePartition.NewRecord(r.hasTimestampMs() ? OptionalLong.of(r.getTimestampMs()) : OptionalLong.empty(),
                    r.hasKey() ? r.getKey().toByteArray() : null, r.hasValue() ? r.getValue().toByteArray() : null, headers));
        }
        // Proto Compression numbers are Kafka's codec ids (CompressionMappingTest); the broker checks them.
        return new ProducePartition.Records(set.getCompressionValue(), producer, records);
    }

    private static PartitionProduceResult result(ProduceResult r) {
        PartitionProduceResult.Builder b = PartitionProduceResult.newBuilder().setTopic(r.topic()).setPartition(r.partition())
                .setBaseOffset(r.baseOffset()).setLogAppendTimeMs(r.logAppendTimeMs()).setLogStartOffset(r.logStartOffset());
        if (r.error() != null) {
            ApiErrors.Failure f = ApiErrors.classify(r.error().error());
            b.setErrorCode(f.code()).setErrorMessage(f.message());
            r.error().leaderHint().map(AdminProtos::broker).ifPresent(b::setLeader);
        }
        return b.build();
    }
}
