package io.rafka.client.perf;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The failover probe's writer for one partition: one record every interval, one unary acks=all Produce at a
 * time, idempotent (its own producer id, epoch 0, the record's sequence), retried to the partition's leader
 * until acknowledged. A retry goes out after {@link #RETRY_BACKOFF_MS} at most, so the time a failover costs
 * this client is the broker's, not a client backoff's. The value of record {@code n} is {@code "n"}, so the
 * read-back check can tell every record apart. Runs on its own thread until {@link #stop}.
 */
final class ProbeWriter implements Runnable {
    static final long RETRY_BACKOFF_MS = 5;
    private static final int REQUEST_TIMEOUT_MS = 10_000;

    /** One acknowledged record: when its successful attempt was sent, when it was acknowledged, by whom. */
    record Ack(int partition, int sequence, long offset, long sendMs, long ackMs, String broker) {
    }

    private final String topic;
    private final int partition;
    private final long producerId;
    private final long intervalMs;
    private final LeaderTable leaders;
    private final Consumer<Ack> acks;
    private volatile boolean running = true;
    private volatile RuntimeException failure;
    private volatile Ack lastAck;

    ProbeWriter(String topic, int partition, long producerId, long intervalMs, LeaderTable leaders, Consumer<Ack> acks) {
        this.topic = topic;
        this.partition = partition;
        this.producerId = producerId;
        this.intervalMs = intervalMs;
        this.leaders = leaders;
        this.acks = acks;
    }

    @Override
    public void run() {
        long next = System.currentTimeMillis();
        try {
            for (int sequence = 0; running; sequence++) {
                ProduceRequest request = request(sequence, next);
                if (!deliver(request, sequence)) {
                    return;
                }
                next += intervalMs;
                long now = System.currentTimeMillis();
                if (next > now) {
                    Thread.sleep(next - now);
                } else {
                    next = now;  // behind after an outage: go on at the normal pace, no burst
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    private ProduceRequest request(int sequence, long timestampMs) {
        RecordBatchBuilder batch = new RecordBatchBuilder(CompressionType.NONE)
                .producer(producerId, (short) 0, sequence)
                .append(timestampMs, null, Integer.toString(sequence).getBytes(StandardCharsets.UTF_8));
        return ProduceRequest.newBuilder().setRequestId(sequence).setAcks(Acks.ACKS_ALL).setTimeoutMs(REQUEST_TIMEOUT_MS)
                .addPartitions(PartitionData.newBuilder().setTopic(topic).setPartition(partition)
                        .setEncodedBatches(UnsafeByteOperations.unsafeWrap(batch.build())))
                .build();
    }

    /** Sends until acknowledged; false when stopped first. */
    private boolean deliver(ProduceRequest request, int sequence) throws InterruptedException {
        while (running) {
            String leader = leaders.leader(partition);
            if (leader == null) {
                refresh();
                Thread.sleep(RETRY_BACKOFF_MS);
                continue;
            }
            ManagedChannel channel = leaders.channel(leader);
            long sendMs = System.currentTimeMillis();
            PartitionProduceResult result;
            try {
                result = ProduceServiceGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(REQUEST_TIMEOUT_MS + 5_000L, TimeUnit.MILLISECONDS)
                        .produce(request).getResults(0);
            } catch (StatusRuntimeException e) {
                // The leader is gone (or restarting): reconnect at once next time rather than after gRPC's
                // growing reconnect backoff, and ask who leads now.
                channel.resetConnectBackoff();
                refresh();
                Thread.sleep(RETRY_BACKOFF_MS);
                continue;
            }
            if (result.getErrorCode() == ErrorCode.NONE) {
                Ack ack = new Ack(partition, sequence, result.getBaseOffset(), sendMs, System.currentTimeMillis(), leader);
                lastAck = ack;
                acks.accept(ack);
                return true;
            }
            handleError(result);
        }
        return false;
    }

    private void handleError(PartitionProduceResult result) throws InterruptedException {
        ErrorCode code = result.getErrorCode();
        if (code == ErrorCode.UNRECOGNIZED || !io.rafka.common.ErrorCode.forCode(result.getErrorCodeValue()).retriable()) {
            throw new PerfException(code + " on partition " + partition + ": " + result.getErrorMessage(), true);
        }
        if (code == ErrorCode.NOT_LEADER && leaders.hint(partition, result.hasLeader(), result.getLeader())) {
            return;  // the answer named the new leader: straight there
        }
        refresh();
        Thread.sleep(RETRY_BACKOFF_MS);
    }

    private void refresh() {
        try {
            leaders.refreshOnce();
        } catch (RuntimeException e) {
            if (e instanceof PerfException p && p.fatal()) {
                throw p;
            }
            // No broker answered: the next attempt asks again.
        }
    }

    /** The latest acknowledgement; null before the first. */
    Ack lastAck() {
        return lastAck;
    }

    RuntimeException failure() {
        return failure;
    }

    void stop() {
        running = false;
    }
}
