package io.rafka.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.rafka.common.InvalidRequestException;
import io.rafka.proto.v1.ConsumerRecord;
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
import io.rafka.proto.v1.RecordHeader;
import io.rafka.proto.v1.SubscribeRequest;
import io.rafka.proto.v1.TimestampType;
import io.rafka.record.Header;
import io.rafka.server.broker.FetchPartition;
import io.rafka.server.broker.ListedOffset;
import io.rafka.server.broker.OffsetQuery;
import io.rafka.server.broker.PartitionRead;
import io.rafka.server.broker.ReadBufferPool;
import io.rafka.server.broker.ReplicaManager;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Fetch (long-poll), Subscribe (server push) and ListOffsets: maps requests to {@link ReplicaManager} and its
 * results back. Fetched bytes go into the response without a copy: the broker reads them into buffers that nobody
 * else writes until the answer is written, which {@link UnsafeByteOperations#unsafeWrap} may then share; a fetch
 * gives them back to the {@link ReadBufferPool} once its answer is written.
 */
public final class FetchApi extends FetchServiceGrpc.FetchServiceImplBase {
    /** Response size when the request does not say: below gRPC's default 4 MiB inbound limit of clients. */
    static final int DEFAULT_RESPONSE_MAX_BYTES = 3 * 1024 * 1024;

    private final ReplicaManager replicas;
    private final ScheduledExecutorService timer;
    private final RequestLimits limits;
    private final UnreadAnswers unread;

    public FetchApi(ReplicaManager replicas, ScheduledExecutorService timer, RequestLimits limits, UnreadAnswers unread) {
        this.replicas = replicas;
        this.timer = timer;
        this.limits = limits;
        this.unread = unread;
    }

    @Override
    public void fetch(FetchRequest request, StreamObserver<FetchResponse> responses) {
        ServerCallStreamObserver<FetchResponse> out = (ServerCallStreamObserver<FetchResponse>) responses;
        UnreadAnswers.Reservation reservation;
        try {
            // The most this answer may hold, until it is known; kept until the call has closed, i.e. the transport
            // has written the answer and its trailers out, which waits for the client to read.
            reservation = unread.reserve(responseLimit(request));
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        out.setOnCloseHandler(reservation::release);
        ReadBufferPool.Lease buffers = replicas.readBuffers().lease();
        CompletableFuture<List<PartitionRead>> reads;
        try {
            boolean decode = decode(request.getFormat(), request.getFormatValue());
            limits.partitions(request.getPartitionsCount());
            List<FetchPartition> partitions = new ArrayList<>(request.getPartitionsCount());
            for (PartitionFetch p : request.getPartitionsList()) {
                partitions.add(new FetchPartition(p.getTopic(), p.getPartition(), p.getOffset(), p.getMaxBytes()));
            }
            reads = replicas.fetch(partitions, request.getMinBytes(), request.getMaxBytes(), DEFAULT_RESPONSE_MAX_BYTES,
                    request.getMaxWaitMs(), decode, buffers);
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        out.setOnCancelHandler(() -> {
            reads.cancel(false);
            reservation.release();
        });
        reads.whenComplete((r, e) -> {
            if (reads.isCancelled()) {
                return; // the client went away: nobody to answer, nothing to report
            }
            try {
                if (e != null) {
                    out.onError(ApiErrors.toStatus(e));
                } else {
                    FetchResponse.Builder resp = FetchResponse.newBuilder();
                    long limit = responseLimit(request);
                    long size = 0;
                    for (PartitionRead read : r) {
                        // Past the limit the errors of the remaining entries keep their codes, not their messages.
                        PartitionFetchResult result = result(read, size <= limit);
                        size += result.getSerializedSize();
                        resp.addResults(result);
                    }
                    FetchResponse response = resp.build();
                    reservation.resize(response.getSerializedSize());
                    out.onNext(response);
                    out.onCompleted();
                }
            } catch (RuntimeException ex) {
                // Cancelled by the client meanwhile (then nobody hears this), or the answer could not be made: the
                // call must end either way, not stay open until the client's deadline.
                try {
                    out.onError(ApiErrors.toStatus(ex));
                } catch (RuntimeException closed) {
                    // already ended
                }
            } finally {
                // grpc-java writes a message into its transport's buffers within onNext (ServerCall.sendMessage
                // serializes it there, or drops it on a closed call): the read buffers are free once it returns.
                buffers.release();
            }
        });
    }

    static boolean decode(RecordFormat format, int value) {
        if (format == RecordFormat.UNRECOGNIZED) {
            throw new InvalidRequestException("unknown record format " + value);
        }
        return format == RecordFormat.RECORD_FORMAT_DECODED;
    }

    /** The most a fetch's answer may hold: its max_bytes (0: the default), at most fetch.max.bytes. */
    private int responseLimit(FetchRequest request) {
        return Math.min(request.getMaxBytes() <= 0 ? DEFAULT_RESPONSE_MAX_BYTES : request.getMaxBytes(),
                replicas.settings().fetchMaxBytes());
    }

    static PartitionFetchResult result(PartitionRead read) {
        return result(read, true);
    }

    /** @param withMessage whether an error keeps its message (not once the answer is past its limit) */
    static PartitionFetchResult result(PartitionRead read, boolean withMessage) {
        PartitionFetchResult.Builder b = PartitionFetchResult.newBuilder().setTopic(read.topic()).setPartition(read.partition())
                .setHighWatermark(read.highWatermark()).setLogStartOffset(read.logStartOffset()).setNextOffset(read.nextOffset());
        if (read.error() != null) {
            ApiErrors.Failure f = ApiErrors.classify(read.error().error());
            b.setErrorCode(f.code()).setErrorMessage(withMessage ? f.message() : "");
            read.error().leaderHint().map(AdminProtos::broker).ifPresent(b::setLeader);
            return b.build();
        }
        if (read.batches() != null) {
            b.setEncodedBatches(UnsafeByteOperations.unsafeWrap(read.batches()));
        }
        for (PartitionRead.DecodedRecord r : read.records()) {
            ConsumerRecord.Builder c = ConsumerRecord.newBuilder().setOffset(r.offset()).setTimestampMs(r.timestampMs())
                    .setTimestampType(r.logAppendTime() ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME);
            // Arrays decoded for this response alone: shared, not copied.
            if (r.key() != null) {
                c.setKey(UnsafeByteOperations.unsafeWrap(r.key()));
            }
            if (r.value() != null) {
                c.setValue(UnsafeByteOperations.unsafeWrap(r.value()));
            }
            for (Header h : r.headers()) {
                c.addHeaders(RecordHeader.newBuilder().setKey(h.key())
                        .setValue(h.value() == null ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(h.value())));
            }
            b.addRecords(c);
        }
        return b.build();
    }

    @Override
    public void subscribe(SubscribeRequest request, StreamObserver<FetchResponse> responses) {
        ServerCallStreamObserver<FetchResponse> out = (ServerCallStreamObserver<FetchResponse>) responses;
        try {
            if (request.getMaxBytes() < 0) {
                throw new io.rafka.common.RafkaException(io.rafka.common.ErrorCode.INVALID_FETCH_SIZE, "max_bytes must not be negative");
            }
            boolean decode = decode(request.getFormat(), request.getFormatValue());
            new Subscription(replicas, timer, request, decode, out, unread).start();
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
        }
    }

    @Override
    public void listOffsets(ListOffsetsRequest request, StreamObserver<ListOffsetsResponse> out) {
        List<ListedOffset> results;
        try {
            limits.partitions(request.getPartitionsCount());
            List<OffsetQuery> queries = new ArrayList<>(request.getPartitionsCount());
            for (PartitionTimestamp p : request.getPartitionsList()) {
                queries.add(new OffsetQuery(p.getTopic(), p.getPartition(), p.getTimestampMs()));
            }
            results = replicas.listOffsets(queries);
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        ListOffsetsResponse.Builder resp = ListOffsetsResponse.newBuilder();
        for (ListedOffset r : results) {
            PartitionOffset.Builder b = PartitionOffset.newBuilder().setTopic(r.topic()).setPartition(r.partition())
                    .setOffset(r.offset()).setTimestampMs(r.timestampMs());
            if (r.error() != null) {
                ApiErrors.Failure f = ApiErrors.classify(r.error().error());
                b.setErrorCode(f.code()).setErrorMessage(f.message());
                r.error().leaderHint().map(AdminProtos::broker).ifPresent(b::setLeader);
            }
            resp.addResults(b);
        }
        out.onNext(resp.build());
        out.onCompleted();
    }
}
