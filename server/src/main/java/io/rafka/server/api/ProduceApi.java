package io.rafka.server.api;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.rafka.common.BusyException;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.common.UnsupportedCompressionTypeException;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerIdentity;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.AppendResult;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;
import io.rafka.record.CompressionType;
import io.rafka.record.Header;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.server.metrics.BrokerMetrics;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Produce, unary and streaming. Each partition's data is validated here (size, CRC, structure, with the
 * topic's max.message.bytes), reserved against the broker's produce memory, and appended through the
 * partition's Raft group; the result carries the offset and append time, or an error code with the
 * leader's address when this broker does not lead.
 */
public final class ProduceApi extends ProduceServiceGrpc.ProduceServiceImplBase {
    private final ClusterView view;
    private final AdminApi admin;
    private final MemoryPool memory;
    private final BrokerMetrics metrics;
    private final Settings settings;

    /** The limits and switches produce needs. */
    public record Settings(boolean autoCreateTopics, long requestTimeoutMs, int maxDecompressedBytes, int streamWindow) {
    }

    public ProduceApi(ClusterView view, AdminApi admin, MemoryPool memory, BrokerMetrics metrics, Settings settings) {
        this.view = view;
        this.admin = admin;
        this.memory = memory;
        this.metrics = metrics;
        this.settings = settings;
    }

    @Override
    public void produce(ProduceRequest request, StreamObserver<ProduceResponse> out) {
        CompletableFuture<ProduceResponse> response;
        try {
            response = handle(request);
        } catch (RuntimeException e) {
            out.onError(e);
            return;
        }
        response.whenComplete((r, e) -> {
            if (e != null) {
                out.onError(ApiErrors.toStatus(ApiErrors.classify(e)));
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
     * in stream order) and answered strictly in order; at most {@code streamWindow} are read ahead of their
     * answers, after which gRPC flow control holds the client back.
     */
    private final class ProduceStream implements StreamObserver<ProduceRequest> {
        private final ServerCallStreamObserver<ProduceResponse> out;
        private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
        private volatile boolean failed;
        /** Set on the first request that fails as a whole; read and written on the call's serialized executor. */
        private boolean rejecting;

        ProduceStream(ServerCallStreamObserver<ProduceResponse> out) {
            this.out = out;
            out.disableAutoRequest();
            out.request(settings.streamWindow());
        }

        @Override
        public void onNext(ProduceRequest request) {
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
        }

        private synchronized void send(ProduceResponse resp, Throwable e) {
            if (failed || out.isCancelled()) {
                return;
            }
            try {
                if (e != null) {
                    failed = true;
                    Throwable cause = ApiErrors.unwrap(e);
                    out.onError(cause instanceof io.grpc.StatusRuntimeException s ? s : ApiErrors.toStatus(ApiErrors.classify(cause)));
                    return;
                }
                out.onNext(resp);
                out.request(1);
            } catch (RuntimeException ex) {
                failed = true; // the client went away
            }
        }

        @Override
        public void onError(Throwable t) {
            failed = true;
        }

        @Override
        public void onCompleted() {
            tail.whenComplete((v, e) -> {
                synchronized (this) {
                    if (!failed && !out.isCancelled()) {
                        out.onCompleted();
                    }
                }
            });
        }
    }

    private CompletableFuture<ProduceResponse> handle(ProduceRequest request) {
        if (request.getPartitionsCount() == 0) {
            throw ApiErrors.invalidArgument("a produce request needs at least one partition");
        }
        if (request.getAcks() == Acks.UNRECOGNIZED) {
            throw ApiErrors.status(io.grpc.Status.INVALID_ARGUMENT, ErrorCode.INVALID_REQUIRED_ACKS, "unknown acks value");
        }
        if (request.getTimeoutMs() < 0) {
            throw ApiErrors.invalidArgument("timeout_ms must not be negative");
        }
        io.rafka.raft.Acks acks = switch (request.getAcks()) {
            case ACKS_NONE -> io.rafka.raft.Acks.NONE;
            case ACKS_LEADER -> io.rafka.raft.Acks.LEADER;
            default -> io.rafka.raft.Acks.ALL;
        };
        long timeoutMs = request.getTimeoutMs() == 0 ? settings.requestTimeoutMs()
                : Math.min(request.getTimeoutMs(), settings.requestTimeoutMs());
        List<CompletableFuture<PartitionProduceResult>> results = new ArrayList<>(request.getPartitionsCount());
        for (PartitionData data : request.getPartitionsList()) {
            results.add(producePartition(data, acks, timeoutMs));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            ProduceResponse.Builder resp = ProduceResponse.newBuilder().setRequestId(request.getRequestId());
            results.forEach(f -> resp.addResults(f.join()));
            return resp.build();
        });
    }

    private CompletableFuture<PartitionProduceResult> producePartition(PartitionData data, io.rafka.raft.Acks acks, long timeoutMs) {
        PartitionProduceResult.Builder result = PartitionProduceResult.newBuilder()
                .setTopic(data.getTopic()).setPartition(data.getPartition()).setBaseOffset(-1).setLogAppendTimeMs(-1)
                .setLogStartOffset(-1);
        TopicPartition tp;
        ByteBuffer batches;
        List<RecordBatch> parsed;
        try {
            TopicInfo topic = topicFor(data.getTopic(), data.getPartition());
            tp = new TopicPartition(data.getTopic(), data.getPartition());
            batches = switch (data.getDataCase()) {
                case RECORDS -> build(data.getRecords());
                case ENCODED_BATCHES -> data.getEncodedBatches().asReadOnlyByteBuffer();
                default -> throw new InvalidRecordException("partition data has neither records nor encoded_batches");
            };
            parsed = RecordBatches.validateProduced(batches.duplicate(), view.logConfig(topic).maxMessageBytes(),
                    settings.maxDecompressedBytes());
            if (view.localStatus(tp).isEmpty()) {
                throw new NotLeaderException("broker " + view.brokerId() + " hosts no replica of " + tp,
                        view.leaderOf(tp).map(ClusterView.Leader::id).orElse(null));
            }
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(failed(result, e));
        }
        int size = batches.remaining();
        if (!memory.tryReserve(size)) {
            return CompletableFuture.completedFuture(failed(result, new BusyException("broker " + view.brokerId()
                    + " holds " + memory.used() + " bytes of produce data awaiting commit (produce.memory.bytes = "
                    + memory.capacity() + ")")));
        }
        long records = parsed.stream().mapToLong(RecordBatch::recordCount).sum();
        long startNs = System.nanoTime();
        CompletableFuture<AppendResult> append;
        try {
            append = view.raftNode().append(tp, batches, acks);
        } catch (RuntimeException e) {
            memory.release(size);
            return CompletableFuture.completedFuture(failed(result, e));
        }
        if (acks == io.rafka.raft.Acks.NONE) {
            memory.release(size);
            metrics.produced(tp.topic(), size, records);
            return CompletableFuture.completedFuture(result.build());
        }
        // Released when Raft is done with the data, not when the caller stops waiting: the timeout applies to a copy.
        append.whenComplete((r, e) -> memory.release(size));
        return append.copy().orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((r, e) -> {
            if (e != null) {
                if (ApiErrors.unwrap(e) instanceof TimeoutException) {
                    return result.setErrorCode(ErrorCode.REQUEST_TIMED_OUT).setErrorMessage("not committed within "
                            + timeoutMs + " ms; it may still commit").build();
                }
                return failed(result, e);
            }
            metrics.produced(tp.topic(), size, records);
            metrics.committed((System.nanoTime() - startNs) / 1e9);
            view.localStatus(tp).ifPresent(s -> result.setLogStartOffset(s.logStartOffset()));
            return result.setBaseOffset(r.baseOffset()).setLogAppendTimeMs(r.logAppendTimeMs()).build();
        });
    }

    /** The topic for a produce, starting its auto-creation if it does not exist and that is allowed. */
    private TopicInfo topicFor(String name, int partition) {
        TopicNames.validate(name);
        if (view.image().topic(name) == null && settings.autoCreateTopics()) {
            admin.autoCreate(name);
            throw new RafkaException(io.rafka.common.ErrorCode.LEADER_NOT_AVAILABLE, "topic '" + name
                    + "' does not exist yet: it is being created (auto.create.topics.enable); retry");
        }
        return view.requirePartition(name, partition);
    }

    private PartitionProduceResult failed(PartitionProduceResult.Builder result, Throwable e) {
        ApiErrors.Failure f = ApiErrors.classify(e);
        result.setErrorCode(f.code()).setErrorMessage(f.message());
        if (ApiErrors.unwrap(e) instanceof NotLeaderException nle) {
            nle.leaderId().flatMap(view::broker).ifPresent(result::setLeader);
        }
        return result.build();
    }

    static ByteBuffer build(RecordSet set) {
        if (set.getRecordsCount() == 0) {
            throw new InvalidRecordException("a record set needs at least one record");
        }
        CompressionType compression = switch (set.getCompression()) {
            case COMPRESSION_NONE -> CompressionType.NONE;
            case COMPRESSION_GZIP -> CompressionType.GZIP;
            case COMPRESSION_SNAPPY -> CompressionType.SNAPPY;
            case COMPRESSION_LZ4 -> CompressionType.LZ4;
            case COMPRESSION_ZSTD -> CompressionType.ZSTD;
            default -> throw new UnsupportedCompressionTypeException("unknown compression " + set.getCompressionValue());
        };
        RecordBatchBuilder builder = new RecordBatchBuilder(compression);
        if (set.hasProducer()) {
            ProducerIdentity p = set.getProducer();
            if (p.getProducerId() < 0 || p.getProducerEpoch() < 0 || p.getProducerEpoch() > Short.MAX_VALUE
                    || p.getBaseSequence() < 0) {
                throw new InvalidRecordException("producer_id, producer_epoch (0.." + Short.MAX_VALUE
                        + ") and base_sequence must not be negative");
            }
            builder.producer(p.getProducerId(), (short) p.getProducerEpoch(), p.getBaseSequence());
        }
        long now = System.currentTimeMillis();
        for (ProducerRecord r : set.getRecordsList()) {
            List<Header> headers = new ArrayList<>(r.getHeadersCount());
            r.getHeadersList().forEach(h -> headers.add(new Header(h.getKey(), h.getValue().toByteArray())));
            if (r.hasTimestampMs() && r.getTimestampMs() < 0) {
                throw new InvalidRecordException("timestamp_ms must not be negative: " + r.getTimestampMs());
            }
            builder.append(r.hasTimestampMs() ? r.getTimestampMs() : now,
                    r.hasKey() ? r.getKey().toByteArray() : null,
                    r.hasValue() ? r.getValue().toByteArray() : null, headers);
        }
        return builder.build();
    }
}
