package io.rafka.server;

import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.producer.Acks;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.Serializers;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SDK consumer's pipelined fetches against three real brokers while a partition leader crashes: the fetch in
 * flight to the dead leader fails, its partitions follow the new leader, and every record still comes exactly
 * once, in order per partition. Small per-partition fetches make many fetches (and the crash meets some in
 * flight and some buffered data).
 */
class PipelinedFetchIT {
    private static final String TOPIC = "pipe";
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 20_000;

    @TempDir
    Path tmp;

    @Test
    void consumerReadsEveryRecordOnceInOrderWhileALeaderIsKilled() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build())
                    .getResults(0).getErrorCode());
            List<Integer> leaders = cluster.awaitLeaders(0, TOPIC, 60_000);
            int victim = leaders.get(0);
            int bootstrap = (victim + 1) % 3;
            String servers = "127.0.0.1:" + cluster.grpcPort(bootstrap);
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(servers).acks(Acks.ALL).lingerMs(5).build()) {
                for (int i = 0; i < RECORDS; i++) {
                    int p = i % PARTITIONS;
                    producer.send(new ProducerRecord<>(TOPIC, p, null, p + ":" + (i / PARTITIONS) + ":" + "x".repeat(100)));
                }
                producer.flush();
            }
            List<TopicPartition> all = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                all.add(new TopicPartition(TOPIC, p));
            }
            Map<Integer, Long> next = new HashMap<>();
            int read = 0;
            boolean killed = false;
            try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                    .bootstrap(servers).autoOffsetReset("earliest").enableAutoCommit(false).maxPollRecords(200)
                    .maxPartitionFetchBytes(16 * 1024).fetchMaxBytes(64 * 1024).build()) {
                consumer.assign(all);
                long deadline = System.currentTimeMillis() + 90_000;
                while (read < RECORDS && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        String[] parts = r.value().split(":");
                        assertEquals(r.partition(), Integer.parseInt(parts[0]));
                        long expected = next.getOrDefault(r.partition(), 0L);
                        assertEquals(expected, Long.parseLong(parts[1]), "partition " + r.partition() + " in order, once");
                        assertEquals(expected, r.offset());
                        next.put(r.partition(), expected + 1);
                        read++;
                    }
                    if (!killed && read >= RECORDS / 4) {
                        cluster.kill(victim);
                        killed = true;
                    }
                }
            }
            assertTrue(killed, "the leader was killed mid-read");
            assertEquals(RECORDS, read, "every record, read per partition: " + next);
            for (int p = 0; p < PARTITIONS; p++) {
                assertEquals(RECORDS / PARTITIONS + (p < RECORDS % PARTITIONS ? 1 : 0), next.get(p));
            }
        }
    }
}
