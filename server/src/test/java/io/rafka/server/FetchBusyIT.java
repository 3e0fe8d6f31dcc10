package io.rafka.server;

import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A broker at its bound of waiting fetches (fetch.max.waiters) answers BUSY; the SDK consumer waits and asks again
 * for as long as that lasts, as Kafka's consumer does, instead of failing its poll once the retry timeout passed.
 */
class FetchBusyIT {
    @TempDir
    Path tmp;

    @Test
    void aConsumerOutlastsABrokerAtItsBoundOfWaitingFetches() throws Exception {
        try (BrokerCluster cluster = startWithOnePlaceToWait()) {
            var holder = holdThePlace(cluster);
            try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                    .bootstrap("127.0.0.1:" + cluster.grpcPort(0)).autoOffsetReset("earliest")
                    .defaultApiTimeout(Duration.ofSeconds(2)).build()) {
                consumer.assign(List.of(new TopicPartition("quiet", 1)));
                long until = System.currentTimeMillis() + 5_000;
                while (System.currentTimeMillis() < until) {
                    assertEquals(0, consumer.poll(Duration.ofMillis(200)).count(), "nothing written yet");
                }
                var produced = cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                        .setTopic("quiet").setPartition(1).setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                .setValue(com.google.protobuf.ByteString.copyFromUtf8("late")))))
                        .build()).getResults(0);
                assertEquals(ErrorCode.NONE, produced.getErrorCode());
                List<String> read = new ArrayList<>();
                until = System.currentTimeMillis() + 10_000;
                while (read.isEmpty() && System.currentTimeMillis() < until) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        read.add(r.value());
                    }
                }
                assertEquals(List.of("late"), read);
            } finally {
                holder.cancel(true);
            }
        }
    }

    /** A long poll that finds no place to wait in still answers with what it read (BUSY only when it read nothing). */
    @Test
    void aFetchWithSomeDataAndNoPlaceToWaitAnswersWithTheData() throws Exception {
        try (BrokerCluster cluster = startWithOnePlaceToWait()) {
            var holder = holdThePlace(cluster);
            try {
                var produced = cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                        .setTopic("quiet").setPartition(1).setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                .setValue(com.google.protobuf.ByteString.copyFromUtf8("some")))))
                        .build()).getResults(0);
                assertEquals(ErrorCode.NONE, produced.getErrorCode());
                var answer = cluster.fetch(0).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS).fetch(FetchRequest.newBuilder()
                        .setMaxWaitMs(5_000).setMinBytes(1 << 20).setFormat(io.rafka.proto.v1.RecordFormat.RECORD_FORMAT_DECODED)
                        .addPartitions(PartitionFetch.newBuilder().setTopic("quiet").setPartition(1)).build()).getResults(0);
                assertEquals(ErrorCode.NONE, answer.getErrorCode());
                assertEquals("some", answer.getRecords(0).getValue().toStringUtf8());
            } finally {
                holder.cancel(true);
            }
        }
    }

    /** One broker with topic "quiet" (2 partitions) and a single place for a waiting fetch (fetch.max.waiters). */
    private BrokerCluster startWithOnePlaceToWait() throws Exception {
        BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("auto.create.topics.enable", "false",
                "fetch.max.waiters", "1"));
        var created = cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                .setName("quiet").setPartitions(2).setReplicationFactor(1)).build());
        assertEquals(ErrorCode.NONE, created.getResults(0).getErrorCode());
        cluster.awaitLeaders(0, "quiet", 30_000);
        return cluster;
    }

    /** Another client's long poll on partition 0, taking the broker's only waiting place for 30 s. */
    private static com.google.common.util.concurrent.ListenableFuture<io.rafka.proto.v1.FetchResponse> holdThePlace(
            BrokerCluster cluster) throws InterruptedException {
        var holder = FetchServiceGrpc.newFutureStub(cluster.channel(0)).fetch(FetchRequest.newBuilder()
                .setMaxWaitMs(30_000).addPartitions(PartitionFetch.newBuilder().setTopic("quiet").setPartition(0)).build());
        Thread.sleep(300);
        return holder;
    }
}
