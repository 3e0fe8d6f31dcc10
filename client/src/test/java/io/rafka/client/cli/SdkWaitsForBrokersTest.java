package io.rafka.client.cli;

import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.internals.ChannelPool;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The SDK consumer's lookups made while no broker answers yet (a cluster still starting, or restarting) wait for one
 * within their timeout, as Kafka's do, instead of failing at once with UNAVAILABLE. Against in-process fake brokers
 * that refuse every call until the test lets them answer; real time.
 */
class SdkWaitsForBrokersTest {

    private final FakeCluster cluster = new FakeCluster("orders", 2);
    private final ChannelPool channels = cluster.channels();

    SdkWaitsForBrokersTest() throws IOException {
        cluster.append(0, null, "a");
        cluster.append(0, null, "b");
    }

    @AfterEach
    void close() {
        channels.close();
        cluster.close();
    }

    @Test
    void listTopicsAndEndOffsetsWaitForABrokerWithinTheirTimeout() throws Exception {
        try (RafkaConsumer<byte[], byte[]> consumer = new RafkaConsumer<>(RafkaConsumer.builder(Deserializers.bytes(),
                Deserializers.bytes()).bootstrap(cluster.bootstrap().toString()).config(), Deserializers.bytes(),
                Deserializers.bytes(), channels, Time.SYSTEM)) {
            Map<String, List<TopicPartition>> topics = whileBrokersAreDown(() -> consumer.listTopics(Duration.ofSeconds(20)));
            assertEquals(List.of("orders"), List.copyOf(topics.keySet()));

            TopicPartition p0 = new TopicPartition("orders", 0);
            assertEquals(Map.of(p0, 2L), whileBrokersAreDown(() -> consumer.endOffsets(List.of(p0), Duration.ofSeconds(20))));
        }
    }

    /** Runs {@code call} with every broker down for its first second, then up; its answer. */
    private <T> T whileBrokersAreDown(Supplier<T> call) throws Exception {
        synchronized (cluster) {
            cluster.down.put("1", true);
            cluster.down.put("2", true);
        }
        CompletableFuture<T> answer = CompletableFuture.supplyAsync(call);
        Thread.sleep(1_000);
        assertFalse(answer.isDone(), "still waiting for a broker: " + answer);
        synchronized (cluster) {
            cluster.down.clear();
        }
        return answer.get(15, TimeUnit.SECONDS);
    }
}
