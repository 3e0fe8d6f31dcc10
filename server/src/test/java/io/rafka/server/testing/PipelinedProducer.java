package io.rafka.server.testing;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchServiceGrpc;
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
 * An idempotent producer as Kafka's pipelines: up to {@code inFlight} one-batch requests on a
 * {@code ProduceStream} to the partition's leader (acks=all, one producer id, sequence n carries value
 * {@code "v" + n}); after any failure everything unacknowledged is sent again, in order, to whichever broker
 * leads then. It fails the test if a request goes unanswered past the request timeout (a wedge), if a batch is
 * refused for a reason a correct broker would not give, or if it makes no progress for a long time. Shared by
 * the in-process and the multi-process failover tests through {@link Brokers}.
 */
public final class PipelinedProducer {
    /** The brokers as this producer reaches them. */
    public interface Brokers {
        int size();

        boolean isUp(int broker);

        /** The broker that says it leads the partition now, or -1 if none does (polled). */
        int leader();

        Channel channel(int broker);

        /** Crashes a broker (kill -9 or its in-process equivalent). */
        void kill(int broker) throws Exception;

        /** What the brokers say about themselves, for the message of a failure (their status, their logs' tails). */
        default String describe() {
            return "";
        }
    }

    private static final Set<ErrorCode> RETRIABLE = EnumSet.of(ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE,
            ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.BUSY, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    private static final long PROGRESS_TIMEOUT_MS = 45_000;

    private final Brokers brokers;
    private final String topic;
    private final long producerId;
    private final int inFlightMax;
    private final long answerWithinMs;
    /** Sequence number → acknowledged offset. */
    private final TreeMap<Integer, Long> acked = new TreeMap<>();
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private final Map<Integer, Stream> streams = new HashMap<>();
    private long nextRequestId;
    private int nextToSend;

    /** @param answerWithinMs how long a request may go unanswered by a live broker (its request timeout plus slack) */
    public PipelinedProducer(Brokers brokers, String topic, long producerId, int inFlight, long answerWithinMs) {
        this.brokers = brokers;
        this.topic = topic;
        this.producerId = producerId;
        this.inFlightMax = inFlight;
        this.answerWithinMs = answerWithinMs;
    }

    /** Sequence number → acknowledged offset, of every batch acknowledged so far. */
    public TreeMap<Integer, Long> acked() {
        return acked;
    }

    /** The partition's leader, waiting up to {@code timeoutMs}; -1 if none. */
    public int leader(long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        do {
            int leader = brokers.leader();
            if (leader >= 0) {
                return leader;
            }
            MiniCluster.sleep(10);
        } while (System.nanoTime() < deadline);
        return -1;
    }

    /** Brokers crashed by {@link #produceUntil} so far. */
    public int crashes() {
        return crashes;
    }

    private int crashes;

    /**
     * Produces until {@code target} batches are acknowledged. If {@code crash} is a broker, it is crashed the
     * moment a full window of batches is in flight to it as the leader (not at all if it stopped leading first:
     * see {@link #crashes()}).
     */
    public void produceUntil(int target, int crash) throws Exception {
        long lastProgressNs = System.nanoTime();
        boolean crashed = crash < 0;
        while (acked.size() < target) {
            int leader = fill(target);
            if (!crashed && inFlight.size() == inFlightMax && leader == crash) {
                brokers.kill(crash);
                crashed = true;
                crashes++;
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
                fail("the producer made no progress for " + PROGRESS_TIMEOUT_MS + " ms at sequence " + firstUnacked()
                        + "\n" + brokers.describe());
            }
        }
        drain();
        nextToSend = firstUnacked();
    }

    /**
     * Reads the partition from offset 0 through {@code broker} and checks it holds exactly the acknowledged
     * batches, each once, in sequence order, at the offset its acknowledgement named.
     */
    public void assertLogHoldsExactlyTheAcknowledged(Channel broker) {
        int n = acked.size();
        List<String> values = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        long offset = 0;
        FetchServiceGrpc.FetchServiceBlockingStub fetch = FetchServiceGrpc.newBlockingStub(broker);
        while (values.size() < n) {
            PartitionFetchResult f = fetch.withDeadlineAfter(30, TimeUnit.SECONDS).fetch(FetchRequest.newBuilder()
                    .setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                    .addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(0).setOffset(offset)).build()).getResults(0);
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
            assertEquals(acked.get(seq), offsets.get(seq), "batch " + seq + " acknowledged at its offset");
        }
    }

    private int fill(int target) {
        int leader = leader(200);
        if (leader < 0) {
            return -1;
        }
        Stream stream = streams.get(leader);
        if (stream == null || stream.broken) {
            stream = new Stream(brokers.channel(leader));
            streams.put(leader, stream);
        }
        while (inFlight.size() < inFlightMax && nextToSend < target) {
            int seq = nextToSend++;
            if (!acked.containsKey(seq)) {
                inFlight.addLast(new InFlight(seq, leader, System.nanoTime(), stream.send(request(nextRequestId++, seq))));
            }
        }
        return leader;
    }

    private ProduceRequest request(long requestId, int seq) {
        return ProduceRequest.newBuilder().setRequestId(requestId).setAcks(Acks.ACKS_ALL)
                .addPartitions(PartitionData.newBuilder().setTopic(topic).setPartition(0).setRecords(RecordSet.newBuilder()
                        .setProducer(ProducerIdentity.newBuilder().setProducerId(producerId).setBaseSequence(seq))
                        .addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("v" + seq))))).build();
    }

    private boolean takeOldest() throws Exception {
        InFlight f = inFlight.removeFirst();
        long leftMs = Math.max(1, answerWithinMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - f.sentNs()));
        PartitionProduceResult r;
        try {
            r = f.answer().get(leftMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return false; // the stream broke (the broker died): re-send on a new one
        } catch (TimeoutException e) {
            if (!brokers.isUp(f.broker())) {
                return false;
            }
            throw new AssertionError("batch " + f.seq() + " sent to broker " + (f.broker() + 1)
                    + " was not answered within " + answerWithinMs + " ms\n" + brokers.describe());
        }
        if (r.getErrorCode() == ErrorCode.NONE) {
            Long before = acked.put(f.seq(), r.getBaseOffset());
            assertTrue(before == null || before == r.getBaseOffset(), "batch " + f.seq() + " acknowledged twice");
            return true;
        }
        boolean allBeforeAcked = acked.headMap(f.seq()).size() == f.seq();
        boolean retriable = RETRIABLE.contains(r.getErrorCode())
                || ((r.getErrorCode() == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
                    || r.getErrorCode() == ErrorCode.UNKNOWN_PRODUCER_ID) && !allBeforeAcked);
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

    private record InFlight(int seq, int broker, long sentNs, CompletableFuture<PartitionProduceResult> answer) {
    }

    /** One ProduceStream to a broker; answers come in request order. */
    private static final class Stream implements StreamObserver<ProduceResponse> {
        final Map<Long, CompletableFuture<PartitionProduceResult>> pending = new ConcurrentHashMap<>();
        final StreamObserver<ProduceRequest> requests;
        volatile boolean broken;

        Stream(Channel channel) {
            requests = ProduceServiceGrpc.newStub(channel).produceStream(this);
        }

        synchronized CompletableFuture<PartitionProduceResult> send(ProduceRequest request) {
            CompletableFuture<PartitionProduceResult> answer = new CompletableFuture<>();
            if (broken) {
                answer.completeExceptionally(new IllegalStateException("stream broken"));
                return answer;
            }
            pending.put(request.getRequestId(), answer);
            requests.onNext(request);
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
}
