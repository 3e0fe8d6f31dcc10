package io.rafka.client.perf;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.InitProducerIdRequest;
import io.rafka.proto.v1.InitProducerIdResponse;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.TopicMetadata;
import io.rafka.record.RecordBatch;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One broker leading every partition of one topic, whose produce path is a reference model of the broker's
 * idempotence rules (next batch must continue the sequence; a batch matching one of the last five is a
 * retry and gets its original offset; anything else is OUT_OF_ORDER_SEQUENCE_NUMBER) and which, driven by a
 * seeded random, misbehaves as a real cluster does under leader changes: NOT_LEADER without writing, and
 * REQUEST_TIMED_OUT after writing. Real gRPC on loopback (the perf tools dial addresses).
 */
final class FaultyBroker implements AutoCloseable {
    /** A stored batch: its sequence range and the offset it was given. */
    record Stored(long producerId, int firstSeq, int lastSeq, long baseOffset, int records) {
    }

    /** The id every producer gets here. */
    static final long PRODUCER_ID = 4242;
    final String topic;
    final int partitions;
    final List<List<Stored>> logs = new ArrayList<>();
    int notLeaderAnswers;
    int timedOutAnswers;
    int duplicateAnswers;
    /**
     * Answers every retry of a written batch with DUPLICATE_SEQUENCE_NUMBER, as a real partition does for a retry
     * older than the five batches it remembers (which the SDK, sending retries first, cannot provoke by itself).
     */
    volatile boolean forgetsRetries;
    /** Metadata requests answered from now on, at most; later ones are never answered (a broker that hangs). */
    volatile int metadataAnswers = Integer.MAX_VALUE;
    /** Answers this many requests (after writing them) under a request id that is not theirs, as a broken broker would. */
    volatile int misnumberedAnswers;
    private final Random random;
    private final double notLeaderRate;
    private final double timeoutRate;
    private final Server server;

    FaultyBroker(String topic, int partitions, long seed, double notLeaderRate, double timeoutRate) throws IOException {
        this.topic = topic;
        this.partitions = partitions;
        this.random = new Random(seed);
        this.notLeaderRate = notLeaderRate;
        this.timeoutRate = timeoutRate;
        for (int p = 0; p < partitions; p++) {
            logs.add(new ArrayList<>());
        }
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new Metadata()).addService(new Produce()).build().start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    private Broker self() {
        return Broker.newBuilder().setId("1").setHost("127.0.0.1").setPort(server.getPort()).build();
    }

    private synchronized PartitionProduceResult append(PartitionData data) {
        PartitionProduceResult.Builder result = PartitionProduceResult.newBuilder().setTopic(topic)
                .setPartition(data.getPartition());
        if (random.nextDouble() < notLeaderRate) {
            notLeaderAnswers++;
            return result.setErrorCode(ErrorCode.NOT_LEADER).setLeader(self()).setBaseOffset(-1).build();
        }
        RecordBatch batch = new RecordBatch(data.getEncodedBatches().asReadOnlyByteBuffer());
        batch.ensureValid();
        List<Stored> log = logs.get(data.getPartition());
        for (Stored s : log.subList(Math.max(0, log.size() - 5), log.size())) {
            if (s.producerId() == batch.producerId() && s.firstSeq() == batch.baseSequence()
                    && s.lastSeq() == batch.lastSequence()) {
                if (forgetsRetries) {
                    duplicateAnswers++;
                    return result.setErrorCode(ErrorCode.DUPLICATE_SEQUENCE_NUMBER).setBaseOffset(-1).build();
                }
                return result.setBaseOffset(s.baseOffset()).build();
            }
        }
        Stored last = log.isEmpty() ? null : log.get(log.size() - 1);
        int expected = last == null ? 0 : last.lastSeq() + 1;
        if (batch.baseSequence() != expected) {
            return result.setErrorCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER).setBaseOffset(-1)
                    .setErrorMessage("expected " + expected + ", got " + batch.baseSequence()).build();
        }
        long offset = last == null ? 0 : last.baseOffset() + last.records();
        log.add(new Stored(batch.producerId(), batch.baseSequence(), batch.lastSequence(), offset, batch.recordCount()));
        if (random.nextDouble() < timeoutRate) {
            timedOutAnswers++;
            return result.setErrorCode(ErrorCode.REQUEST_TIMED_OUT).setBaseOffset(-1).build();
        }
        return result.setBaseOffset(offset).build();
    }

    private final class Metadata extends MetadataServiceGrpc.MetadataServiceImplBase {
        @Override
        public void getMetadata(MetadataRequest request, StreamObserver<MetadataResponse> answer) {
            synchronized (FaultyBroker.this) {
                if (metadataAnswers <= 0) {
                    return;   // held: the caller waits for its deadline
                }
                metadataAnswers--;
            }
            TopicMetadata.Builder t = TopicMetadata.newBuilder().setName(topic);
            for (int p = 0; p < partitions; p++) {
                t.addPartitions(PartitionMetadata.newBuilder().setPartition(p).setLeaderId("1").addReplicas("1"));
            }
            answer.onNext(MetadataResponse.newBuilder().addBrokers(self()).addTopics(t).build());
            answer.onCompleted();
        }
    }

    private final class Produce extends ProduceServiceGrpc.ProduceServiceImplBase {
        @Override
        public void initProducerId(InitProducerIdRequest request, StreamObserver<InitProducerIdResponse> answer) {
            answer.onNext(InitProducerIdResponse.newBuilder().setProducerId(PRODUCER_ID).build());
            answer.onCompleted();
        }

        @Override
        public StreamObserver<ProduceRequest> produceStream(StreamObserver<ProduceResponse> answers) {
            return new StreamObserver<>() {
                @Override
                public void onNext(ProduceRequest request) {
                    ProduceResponse.Builder response = ProduceResponse.newBuilder().setRequestId(request.getRequestId());
                    for (PartitionData data : request.getPartitionsList()) {
                        response.addResults(append(data));
                    }
                    synchronized (FaultyBroker.this) {
                        if (misnumberedAnswers > 0) {
                            misnumberedAnswers--;
                            response.setRequestId(request.getRequestId() + 1000);
                        }
                    }
                    answers.onNext(response.build());
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    answers.onCompleted();
                }
            };
        }
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination();
    }

}
