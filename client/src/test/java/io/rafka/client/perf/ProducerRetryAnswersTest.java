package io.rafka.client.perf;

import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.RecordMetadata;
import io.rafka.client.producer.Serializers;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SDK producer against {@link FaultyBroker} (here because that broker is): how it takes the answers a real
 * partition gives a retry, and the order its callbacks run in while answers arrive on several gRPC threads.
 */
class ProducerRetryAnswersTest {

    /**
     * A retry the partition no longer remembers the offsets of (DUPLICATE_SEQUENCE_NUMBER) was written by an
     * earlier attempt: delivered with offset -1, as with Kafka's producer, not failed (which would invite the
     * application to send the record a second time).
     */
    @Test
    void aForgottenRetryIsDeliveredWithoutAnOffset() throws Exception {
        int records = 2_000;
        try (FaultyBroker broker = new FaultyBroker("t", 2, 7, 0.0, 0.1)) {
            broker.forgetsRetries = true;
            List<CompletableFuture<RecordMetadata>> sent = new ArrayList<>();
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(broker.address()).lingerMs(1).batchSize(256).retryBackoff(Duration.ofMillis(10)).build()) {
                for (int i = 0; i < records; i++) {
                    sent.add(producer.send(new ProducerRecord<>("t", i % 2, null, "v" + i)));
                }
                producer.flush();
            }
            int withoutOffset = 0;
            for (CompletableFuture<RecordMetadata> f : sent) {
                withoutOffset += f.join().offset() < 0 ? 1 : 0;   // join throws if any send failed
            }
            assertTrue(broker.timedOutAnswers > 0 && broker.duplicateAnswers > 0, "retries were answered as duplicates");
            assertTrue(withoutOffset > 0, "the records of forgotten retries have no offset");
            int written = broker.logs.get(0).stream().mapToInt(FaultyBroker.Stored::records).sum()
                    + broker.logs.get(1).stream().mapToInt(FaultyBroker.Stored::records).sum();
            assertEquals(records, written, "every record written once");
        }
    }

    /**
     * An answer that belongs to no request sent (a broken broker or proxy) drops the stream, and the requests on it
     * are sent again: taken off the stream first, one such request stayed in flight for good, its partition never
     * sent again and flush() never returned.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)   // the old code hung in close(), which waits for every batch
    void anAnswerToNoRequestSentDropsTheStreamAndItsRequestsAreSentAgain() throws Exception {
        try (FaultyBroker broker = new FaultyBroker("t", 1, 7, 0.0, 0.0)) {
            broker.misnumberedAnswers = 1;
            List<CompletableFuture<RecordMetadata>> sent = new ArrayList<>();
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(broker.address()).lingerMs(1).batchSize(256).retryBackoff(Duration.ofMillis(10)).build()) {
                for (int i = 0; i < 200; i++) {
                    sent.add(producer.send(new ProducerRecord<>("t", 0, null, "v" + i)));
                }
                CompletableFuture.runAsync(producer::flush).get(30, java.util.concurrent.TimeUnit.SECONDS);
                for (int i = 0; i < sent.size(); i++) {
                    assertEquals(i, sent.get(i).get(30, java.util.concurrent.TimeUnit.SECONDS).offset(), "record " + i);
                }
            }
            assertEquals(0, broker.misnumberedAnswers);
            assertEquals(200, broker.logs.get(0).stream().mapToInt(FaultyBroker.Stored::records).sum(), "every record written once");
        }
    }

    /**
     * A metadata refresh that a broker does not answer (it takes the call and hangs) does not hold up the records
     * whose leader is known: refreshed on the I/O thread itself, each refresh stopped every send for the 10 s of its
     * RPC deadline.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aRefreshABrokerDoesNotAnswerHoldsUpNoSend() throws Exception {
        try (FaultyBroker broker = new FaultyBroker("t", 1, 7, 0.0, 0.0)) {
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(broker.address()).lingerMs(0).metadataMaxAge(Duration.ofMillis(100)).build()) {
                producer.send(new ProducerRecord<>("t", 0, null, "first")).get(30, java.util.concurrent.TimeUnit.SECONDS);
                broker.metadataAnswers = 0;
                long slowest = 0;
                for (int i = 0; i < 15; i++) {
                    long start = System.nanoTime();
                    producer.send(new ProducerRecord<>("t", 0, null, "v" + i)).get(30, java.util.concurrent.TimeUnit.SECONDS);
                    slowest = Math.max(slowest, System.nanoTime() - start);
                    Thread.sleep(100);
                }
                // A hung refresh is 10 s; an answer from this broker on loopback takes milliseconds.
                assertTrue(slowest < java.util.concurrent.TimeUnit.SECONDS.toNanos(5), "a send took "
                        + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(slowest) + " ms while refreshes hung");
            }
        }
    }

    /**
     * flush() from a callback is refused whichever thread runs it (the I/O thread or a gRPC thread with the
     * answer): it would wait for the callback's own batch, which completes once the callback returned. It hung
     * when the callback ran on a gRPC thread, and every later callback with it.
     */
    @Test
    void flushFromACallbackIsRefusedInsteadOfWaitingForItself() throws Exception {
        int records = 300;
        try (FaultyBroker broker = new FaultyBroker("t", 3, 5, 0.0, 0.0)) {
            ConcurrentHashMap<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
            RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(broker.address()).lingerMs(0).batchSize(256).build();
            try {
                for (int i = 0; i < records; i++) {
                    producer.send(new ProducerRecord<>("t", i % 3, null, "v" + i), (m, e) -> {
                        String outcome;
                        try {
                            producer.flush();
                            outcome = "flushed";
                        } catch (IllegalStateException refused) {
                            outcome = "refused";
                        }
                        outcomes.computeIfAbsent(outcome + " on " + (Thread.currentThread().getName().startsWith("rafka-producer")
                                ? "the I/O thread" : "another thread"), k -> new AtomicInteger()).incrementAndGet();
                    });
                }
                CompletableFuture<Void> flushed = CompletableFuture.runAsync(producer::flush);
                flushed.get(30, java.util.concurrent.TimeUnit.SECONDS);
            } finally {
                CompletableFuture.runAsync(() -> producer.close(Duration.ofSeconds(5)))
                        .get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertEquals(records, outcomes.values().stream().mapToInt(AtomicInteger::get).sum(), outcomes.toString());
            assertTrue(outcomes.keySet().stream().allMatch(k -> k.startsWith("refused")), outcomes.toString());
        }
    }

    /**
     * send() gives up at max.block.ms even when the brokers it asks never answer (a hung process, packets dropped):
     * each question is bounded by what is left of it, not by a fixed 10 s per broker.
     */
    @Test
    void sendGivesUpAtMaxBlockWhenNoBrokerAnswers() throws Exception {
        List<io.grpc.stub.StreamObserver<?>> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        io.grpc.BindableService silent = new io.rafka.proto.v1.MetadataServiceGrpc.MetadataServiceImplBase() {
            @Override
            public void getMetadata(io.rafka.proto.v1.MetadataRequest request,
                                    io.grpc.stub.StreamObserver<io.rafka.proto.v1.MetadataResponse> observer) {
                held.add(observer);   // never answered
            }
        };
        List<io.grpc.Server> servers = new ArrayList<>();
        try {
            List<String> addresses = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                io.grpc.Server server = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
                        .addService(silent).build().start();
                servers.add(server);
                addresses.add("127.0.0.1:" + server.getPort());
            }
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(addresses.toArray(String[]::new)).maxBlock(Duration.ofMillis(800)).build()) {
                long start = System.nanoTime();
                CompletableFuture<RecordMetadata> sent = producer.send(new ProducerRecord<>("t", null, null, "v"));
                java.util.concurrent.ExecutionException failed = org.junit.jupiter.api.Assertions.assertThrows(
                        java.util.concurrent.ExecutionException.class, () -> sent.get(60, java.util.concurrent.TimeUnit.SECONDS));
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertTrue(tookMs < 3_000, "gave up after " + tookMs + " ms, max.block.ms is 800: " + failed.getCause());
                assertTrue(!held.isEmpty(), "the brokers were asked");
            }
        } finally {
            servers.forEach(io.grpc.Server::shutdownNow);
        }
    }

    /** A partition's callbacks run one at a time, in send order, whichever thread the answers came on. */
    @Test
    void callbacksOfAPartitionRunInSendOrderOneAtATime() throws Exception {
        int records = 5_000;
        try (FaultyBroker broker = new FaultyBroker("t", 3, 11, 0.05, 0.05)) {
            AtomicInteger running = new AtomicInteger();
            AtomicInteger overlaps = new AtomicInteger();
            ConcurrentHashMap<Integer, List<Integer>> seen = new ConcurrentHashMap<>();
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(broker.address()).lingerMs(0).batchSize(256).retryBackoff(Duration.ofMillis(10)).build()) {
                for (int i = 0; i < records; i++) {
                    int partition = i % 3;
                    int index = i;
                    producer.send(new ProducerRecord<>("t", partition, null, "v" + i), (m, e) -> {
                        if (running.incrementAndGet() > 1) {
                            overlaps.incrementAndGet();
                        }
                        seen.computeIfAbsent(partition, p -> new ArrayList<>()).add(index);
                        running.decrementAndGet();
                    });
                }
                producer.flush();
            }
            assertEquals(0, overlaps.get(), "no two callbacks at the same time");
            for (int p = 0; p < 3; p++) {
                List<Integer> order = seen.get(p);
                assertEquals(records / 3 + (p < records % 3 ? 1 : 0), order.size());
                for (int i = 1; i < order.size(); i++) {
                    assertTrue(order.get(i - 1) < order.get(i), "partition " + p + ": callback of " + order.get(i)
                            + " ran after " + order.get(i - 1));
                }
            }
        }
    }
}
