package io.rafka.server;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerIdentity;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An idempotent producer pipelining five requests over {@code ProduceStream} (acks=all) while the partition's
 * leader broker crashes: the batches in flight to it are re-sent, in order, on a stream to the new leader, as a
 * Kafka producer re-sends them. Every request must be answered within the request timeout, every batch
 * acknowledged once, and the partition must hold each batch exactly once, in sequence order.
 */
class IdempotentStreamFailoverIT {
    private static final String TOPIC = "idem-stream";
    private static final long PRODUCER_ID = 9001;
    private static final int IN_FLIGHT = 5;
    private static final long REQUEST_TIMEOUT_MS = 5_000;
    private static final long ANSWER_SLACK_MS = 5_000;
    private static final long PROGRESS_TIMEOUT_MS = 45_000;
    private static final int KILLS = Integer.getInteger("idem.kills", 3);
    private static final int BATCHES_PER_ROUND = 30;
    private static final Set<ErrorCode> RETRIABLE = EnumSet.of(ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE,
            ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.BUSY, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    @TempDir
    Path tmp;

    @Test
    void pipelinedStreamProducerSurvivesLeaderCrashes() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false",
                "request.timeout.ms", Long.toString(REQUEST_TIMEOUT_MS)))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(1).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
            StreamProducer producer = new StreamProducer(cluster);
            producer.produceUntil(BATCHES_PER_ROUND, -1);
            for (int kill = 0; kill < KILLS; kill++) {
                int leader = producer.leader(30_000);
                producer.produceUntil(producer.acked.size() + BATCHES_PER_ROUND, leader);
                if (!cluster.isUp(leader)) {
                    cluster.restart(leader);
                }
                producer.produceUntil(producer.acked.size() + BATCHES_PER_ROUND, -1);
            }
            int n = producer.acked.size();
            int reader = producer.leader(30_000);
            List<String> values = new ArrayList<>();
            List<Long> offsets = new ArrayList<>();
            long offset = 0;
            while (values.size() < n) {
                PartitionFetchResult f = cluster.fetch(reader).fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                        .addPartitions(PartitionFetch.newBuilder().setTopic(TOPIC).setPartition(0).setOffset(offset)).build()).getResults(0);
                assertEquals(ErrorCode.NONE, f.getErrorCode(), f.toString());
                assertTrue(f.getRecordsCount() > 0, "records up to the last acknowledged one are readable");
                f.getRecordsList().forEach(r -> {
                    values.add(r.getValue().toStringUtf8());
                    offsets.add(r.getOffset());
                });
                offset = f.getNextOffset();
            }
            assertEquals(n, values.size(), "one record per acknowledged batch");
            for (int seq = 0; seq < n; seq++) {
                assertEquals("v" + seq, values.get(seq), "record at offset " + offsets.get(seq));
                assertEquals(producer.acked.get(seq), offsets.get(seq), "batch " + seq + " acknowledged at its offset");
            }
        }
    }

    /** One ProduceStream to a broker; answers come in request order. */
    private static final class Stream implements StreamObserver<ProduceResponse> {
        final Map<Long, CompletableFuture<PartitionProduceResult>> pending = new ConcurrentHashMap<>();
        final StreamObserver<ProduceRequest> requests;
        volatile boolean broken;

        Stream(BrokerCluster cluster, int broker) {
            requests = ProduceServiceGrpc.newStub(cluster.channel(broker)).produceStream(this);
        }

        synchronized CompletableFuture<PartitionProduceResult> send(long requestId, int seq) {
            CompletableFuture<PartitionProduceResult> answer = new CompletableFuture<>();
            if (broken) {
                answer.completeExceptionally(new IllegalStateException("stream broken"));
                return answer;
            }
            pending.put(requestId, answer);
            requests.onNext(ProduceRequest.newBuilder().setRequestId(requestId).setAcks(Acks.ACKS_ALL)
                    .addPartitions(PartitionData.newBuilder().setTopic(TOPIC).setPartition(0).setRecords(RecordSet.newBuilder()
                            .setProducer(ProducerIdentity.newBuilder().setProducerId(PRODUCER_ID).setBaseSequence(seq))
                            .addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("v" + seq))))).build());
            return answer;
        }

        @Override
        public void onNext(ProduceResponse r) {
            CompletableFuture<PartitionProduceResult> f = pending.remove(r.getRequestId());
            if (f != null) {
                f.complete(r.getResults(0));
            }
        }

        @Override
        public void onError(Throwable t) {
            broken = true;
            pending.values().forEach(f -> f.completeExceptionally(t));
        }

        @Override
        public void onCompleted() {
            onError(new IllegalStateException("stream completed"));
        }
    }

    private record InFlight(int seq, int broker, long sentNs, CompletableFuture<PartitionProduceResult> answer) {
    }

    /** Kafka's pipelining: a window of batches in flight; after any failure everything unacknowledged again, in order. */
    private static final class StreamProducer {
        final BrokerCluster cluster;
        final TreeMap<Integer, Long> acked = new TreeMap<>();
        final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
        final Map<Integer, Stream> streams = new HashMap<>();
        long nextRequestId;
        int nextToSend;

        StreamProducer(BrokerCluster cluster) {
            this.cluster = cluster;
        }

        int leader(long timeoutMs) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            TopicPartition tp = new TopicPartition(TOPIC, 0);
            do {
                for (int i = 0; i < cluster.size(); i++) {
                    try {
                        if (cluster.isUp(i) && cluster.broker(i).raftNode().status(tp).isLeader()) {
                            return i;
                        }
                    } catch (RuntimeException e) {
                        // starting or stopping
                    }
                }
                MiniCluster.sleep(10);
            } while (System.nanoTime() < deadline);
            return -1;
        }

        void produceUntil(int target, int crash) throws Exception {
            long lastProgressNs = System.nanoTime();
            boolean crashed = crash < 0;
            while (acked.size() < target) {
                int leader = fill(target);
                if (!crashed && inFlight.size() == IN_FLIGHT && leader == crash) {
                    cluster.kill(crash);
                    crashed = true;
                    if (Boolean.getBoolean("idem.fastRestart")) {
                        MiniCluster.sleep(Long.getLong("idem.restartDelayMs", 300));
                        cluster.restart(crash);
                    }
                }
                if (inFlight.isEmpty()) {
                    MiniCluster.sleep(10);
                } else if (takeOldest()) {
                    lastProgressNs = System.nanoTime();
                } else {
                    drain();
                    nextToSend = firstUnacked();
                    MiniCluster.sleep(10);
                }
                if (System.nanoTime() - lastProgressNs > TimeUnit.MILLISECONDS.toNanos(PROGRESS_TIMEOUT_MS)) {
                    dumpThreads();
                    fail("the producer made no progress for " + PROGRESS_TIMEOUT_MS + " ms at sequence " + firstUnacked());
                }
            }
            drain();
            nextToSend = firstUnacked();
        }

        private int fill(int target) {
            int leader = leader(200);
            if (leader < 0) {
                return -1;
            }
            Stream stream = streams.get(leader);
            if (stream == null || stream.broken) {
                stream = new Stream(cluster, leader);
                streams.put(leader, stream);
            }
            while (inFlight.size() < IN_FLIGHT && nextToSend < target) {
                int seq = nextToSend++;
                if (!acked.containsKey(seq)) {
                    inFlight.addLast(new InFlight(seq, leader, System.nanoTime(), stream.send(nextRequestId++, seq)));
                }
            }
            return leader;
        }

        private boolean takeOldest() throws Exception {
            InFlight f = inFlight.removeFirst();
            long leftMs = Math.max(1, REQUEST_TIMEOUT_MS + ANSWER_SLACK_MS - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - f.sentNs()));
            PartitionProduceResult r;
            try {
                r = f.answer().get(leftMs, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                return false; // the stream broke (the broker died): re-send on a new one
            } catch (TimeoutException e) {
                if (!cluster.isUp(f.broker())) {
                    return false;
                }
                throw new AssertionError("batch " + f.seq() + " sent to broker " + (f.broker() + 1)
                        + " was not answered within " + (REQUEST_TIMEOUT_MS + ANSWER_SLACK_MS) + " ms");
            }
            if (r.getErrorCode() == ErrorCode.NONE) {
                Long before = acked.put(f.seq(), r.getBaseOffset());
                assertTrue(before == null || before == r.getBaseOffset(), "batch " + f.seq() + " acknowledged twice");
                return true;
            }
            boolean allBeforeAcked = acked.headMap(f.seq()).size() == f.seq();
            boolean retriable = RETRIABLE.contains(r.getErrorCode())
                    || (r.getErrorCode() == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && !allBeforeAcked);
            assertTrue(retriable, "batch " + f.seq() + " (all before it acknowledged: " + allBeforeAcked + ") refused: " + r);
            return false;
        }

        private void drain() throws Exception {
            while (!inFlight.isEmpty()) {
                takeOldest();
            }
        }

        private int firstUnacked() {
            int s = 0;
            while (acked.containsKey(s)) {
                s++;
            }
            return s;
        }
    }

    /** Where every thread of the in-process cluster waits: the diagnosis of a wedge. */
    private static void dumpThreads() {
        StringBuilder b = new StringBuilder("thread dump at the wedge:\n");
        Thread.getAllStackTraces().forEach((t, stack) -> {
            b.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            for (StackTraceElement e : stack) {
                b.append("    at ").append(e).append('\n');
            }
        });
        System.err.println(b);
    }
}
