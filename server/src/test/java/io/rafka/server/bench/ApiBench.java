package io.rafka.server.bench;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.StreamObserver;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.raft.Acks;
import io.rafka.raft.RaftNode;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.server.testing.BrokerCluster;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the gRPC API costs on top of the replication layer, measured in one run on one 3-broker in-process
 * cluster (real gRPC on loopback, real Ratis, fsync): acks=all produce of 64 KiB batches to a 3-replica
 * partition, in-process ({@code RaftNode.append}) versus over gRPC, one at a time and pipelined (32 in
 * flight), and fetching it all back over gRPC. Prints MiB/s and the gRPC/in-process ratios.
 *
 * <p>{@code bin/rafka bench api [batches] [batchKiB]} (defaults 2000 and 64).
 */
public final class ApiBench {
    private static final int WINDOW = 32;

    private ApiBench() {
    }

    public static void main(String[] args) throws Exception {
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int batchKiB = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        ByteBuffer batch = batch(batchKiB * 1024);
        Path dir = Files.createTempDirectory("rafka-api-bench");
        try (BrokerCluster cluster = BrokerCluster.start(3, dir, Map.of("message.max.bytes", Integer.toString(batchKiB * 1024 + 4096)))) {
            System.out.printf("api bench: %d batches of %d KiB per mode, acks=all, 3 replicas, 3 brokers in one JVM%n", batches, batchKiB);
            double inSeq = run("in-process, 1 in flight", cluster, "inproc-seq", batches, batch, (c, leader, b) -> inProcess(c, leader, "inproc-seq", b, batch, 1));
            double grpcSeq = run("gRPC Produce, 1 in flight", cluster, "grpc-seq", batches, batch, (c, leader, b) -> unary(c, leader, "grpc-seq", b, batch));
            double inPipe = run("in-process, " + WINDOW + " in flight", cluster, "inproc-pipe", batches, batch,
                    (c, leader, b) -> inProcess(c, leader, "inproc-pipe", b, batch, WINDOW));
            double grpcPipe = run("gRPC ProduceStream, " + WINDOW + " in flight", cluster, "grpc-stream", batches, batch,
                    (c, leader, b) -> stream(c, leader, "grpc-stream", b, batch));
            double fetch = fetchAll(cluster, "grpc-stream", batches * (long) batch.remaining());
            System.out.printf("ratio gRPC/in-process: 1 in flight %.2f, %d in flight %.2f%n", grpcSeq / inSeq, WINDOW, grpcPipe / inPipe);
            System.out.printf("fetch over gRPC (encoded, 4 MiB responses): %.1f MiB/s%n", fetch);
        }
    }

    private interface Mode {
        void produce(BrokerCluster cluster, int leader, int batches) throws Exception;
    }

    private static double run(String name, BrokerCluster cluster, String topic, int batches, ByteBuffer batch, Mode mode) throws Exception {
        cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder().setName(topic)
                .setPartitions(1).setReplicationFactor(3)).build());
        int first = cluster.awaitLeaders(0, topic, 30_000).get(0);
        // Hand leadership to the preferred replica now: the brokers' periodic preferred-leader election would
        // otherwise move it in the middle of a long run (a retriable error that this benchmark does not retry).
        cluster.broker(first).raftNode().electPreferredLeaders(10_000);
        TopicPartition tp = new TopicPartition(topic, 0);
        cluster.awaitTrue(() -> readyLeader(cluster, tp) >= 0, 30_000, "a ready leader of " + tp);
        int leader = readyLeader(cluster, tp);
        mode.produce(cluster, leader, Math.max(1, batches / 10)); // warm-up
        long t0 = System.nanoTime();
        mode.produce(cluster, leader, batches);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double mibs = batches * (double) batch.remaining() / (1 << 20) / seconds;
        System.out.printf("%-36s %8.1f MiB/s  (%d batches in %.2f s)%n", name, mibs, batches, seconds);
        return mibs;
    }

    /** The broker whose replica of {@code tp} leads and is ready, or -1. */
    private static int readyLeader(BrokerCluster cluster, TopicPartition tp) {
        for (int i = 0; i < cluster.size(); i++) {
            try {
                if (cluster.broker(i).raftNode().status(tp).isLeader()) {
                    return i;
                }
            } catch (RuntimeException e) {
                // not hosted or not running here
            }
        }
        return -1;
    }

    private static void inProcess(BrokerCluster cluster, int leader, String topic, int batches, ByteBuffer batch, int window)
            throws Exception {
        RaftNode node = cluster.broker(leader).raftNode();
        TopicPartition tp = new TopicPartition(topic, 0);
        Semaphore inFlight = new Semaphore(window);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < batches && failure.get() == null; i++) {
            inFlight.acquire();
            node.append(tp, batch.duplicate(), Acks.ALL).whenComplete((r, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                }
                inFlight.release();
            });
        }
        inFlight.acquire(window);
        if (failure.get() != null) {
            throw new IllegalStateException("in-process append failed", failure.get());
        }
    }

    /**
     * A request carrying the batch as an SDK sends it: encoded once, then wrapped (the bytes are never written
     * again), so the client side of this one-JVM benchmark does not spend the shared CPU on a copy per request.
     */
    private static ProduceRequest request(String topic, ByteBuffer batch, long id) {
        return ProduceRequest.newBuilder().setRequestId(id).addPartitions(PartitionData.newBuilder().setTopic(topic).setPartition(0)
                .setEncodedBatches(UnsafeByteOperations.unsafeWrap(batch.asReadOnlyBuffer()))).build();
    }

    private static void unary(BrokerCluster cluster, int leader, String topic, int batches, ByteBuffer batch) {
        for (int i = 0; i < batches; i++) {
            ProduceResponse r = cluster.produce(leader).produce(request(topic, batch, i));
            if (r.getResults(0).getErrorCode() != ErrorCode.NONE) {
                throw new IllegalStateException(r.toString());
            }
        }
    }

    private static void stream(BrokerCluster cluster, int leader, String topic, int batches, ByteBuffer batch) throws Exception {
        Semaphore inFlight = new Semaphore(WINDOW);
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        StreamObserver<ProduceRequest> requests = ProduceServiceGrpc.newStub(cluster.channel(leader)).produceStream(new StreamObserver<>() {
            @Override
            public void onNext(ProduceResponse r) {
                if (r.getResults(0).getErrorCode() != ErrorCode.NONE) {
                    failure.compareAndSet(null, new IllegalStateException(r.toString()));
                }
                inFlight.release();
            }

            @Override
            public void onError(Throwable t) {
                failure.compareAndSet(null, t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        for (int i = 0; i < batches && failure.get() == null; i++) {
            inFlight.acquire();
            requests.onNext(request(topic, batch, i));
        }
        requests.onCompleted();
        if (!done.await(10, TimeUnit.MINUTES) || failure.get() != null) {
            throw new IllegalStateException("stream failed", failure.get());
        }
    }

    private static double fetchAll(BrokerCluster cluster, String topic, long minBytes) {
        int leader = cluster.awaitLeaders(0, topic, 30_000).get(0);
        long offset = 0;
        long bytes = 0;
        long t0 = System.nanoTime();
        while (true) {
            PartitionFetchResult r = cluster.fetch(leader).fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_ENCODED)
                    .setMaxBytes(4 << 20).addPartitions(PartitionFetch.newBuilder().setTopic(topic).setOffset(offset)
                            .setMaxBytes(4 << 20)).build()).getResults(0);
            if (r.getErrorCode() != ErrorCode.NONE) {
                throw new IllegalStateException(r.getErrorMessage());
            }
            bytes += r.getEncodedBatches().size();
            offset = r.getNextOffset();
            if (offset >= r.getHighWatermark()) {
                break;
            }
        }
        if (bytes < minBytes) {
            throw new IllegalStateException("fetched " + bytes + " bytes, expected at least " + minBytes);
        }
        return bytes / (double) (1 << 20) / ((System.nanoTime() - t0) / 1e9);
    }

    private static ByteBuffer batch(int bytes) {
        byte[] value = new byte[1024];
        new Random(7).nextBytes(value);
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE);
        for (int i = 0; i < Math.max(1, bytes / 1100); i++) {
            b.append(i, null, value);
        }
        return b.build();
    }
}
