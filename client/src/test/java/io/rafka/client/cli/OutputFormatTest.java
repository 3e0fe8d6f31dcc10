package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;

import io.rafka.proto.v1.Broker;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.client.admin.TopicDescription;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What the CLI prints: consumed records, topic and cluster descriptions, broker addresses. */
class OutputFormatTest {

    private static final ConsumerRecord<byte[], byte[]> KEYED = new ConsumerRecord<>("t", 2, 42,
            "user-1".getBytes(StandardCharsets.UTF_8), "héllo".getBytes(StandardCharsets.UTF_8));
    private static final ConsumerRecord<byte[], byte[]> NULLS = new ConsumerRecord<>("t", 0, 7, null, null);

    @Test
    void recordsPrintTheirValueWithOptionalOffsetAndKeyPrefixes() {
        assertEquals("héllo", new RecordPrinter(null, false, false).format(KEYED));
        assertEquals("2:42\théllo", new RecordPrinter(null, false, true).format(KEYED));
        assertEquals("user-1\théllo", new RecordPrinter(null, true, false).format(KEYED));
        assertEquals("2:42\tuser-1\théllo", new RecordPrinter(null, true, true).format(KEYED));
        assertEquals("0:7\tnull\tnull", new RecordPrinter(null, true, true).format(NULLS));
        assertEquals("t:2:42\tuser-1\théllo", new RecordPrinter(null, true, true, true).format(KEYED), "several topics: named");
        ConsumerRecord<byte[], byte[]> empty = new ConsumerRecord<>("t", 0, 7, new byte[0], new byte[0]);
        assertEquals("\t", new RecordPrinter(null, true, false).format(empty));
    }

    @Test
    void printerWritesOneLinePerRecordAndCounts() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        RecordPrinter printer = new RecordPrinter(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, true);
        printer.print(KEYED);
        printer.print(NULLS);
        assertEquals("2:42\théllo\n0:7\tnull\n", bytes.toString(StandardCharsets.UTF_8));
        assertEquals(2, printer.printed());
    }

    @Test
    void topicDescriptionFollowsKafkaTopicsLayout() {
        TopicDescription topic = new TopicDescription("orders", "abc", 2, List.of(
                new TopicDescription.PartitionInfo(0, "1", List.of("1", "2")),
                new TopicDescription.PartitionInfo(1, "", List.of("2", "3"))),
                Map.of("retention.ms", "1000", "cleanup.policy", "delete"));
        assertEquals(List.of(
                "Topic: orders\tTopicId: abc\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=delete,retention.ms=1000",
                "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2",
                "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3"), TopicFormatter.describe(topic));
        assertEquals(List.of(
                "Topic: orders\tTopicId: abc\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=delete,retention.ms=1000",
                "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2",
                "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3\tOffline: 3"),
                TopicFormatter.describe(topic, Set.of("1", "2")), "replicas on brokers that are not alive are named");
    }

    @Test
    void clusterDescriptionListsBrokersAndLiveness() {
        DescribeClusterResponse cluster = DescribeClusterResponse.newBuilder()
                .setControllerId("2").setMetadataVersion(17)
                .addBrokers(Broker.newBuilder().setId("1").setHost("h1").setPort(9092))
                .addBrokers(Broker.newBuilder().setId("2").setHost("h2").setPort(9093))
                .addLiveBrokerIds("2")
                .build();
        assertEquals(List.of(
                "Controller: 2\tMetadataVersion: 17",
                "Broker: 1\tAddress: h1:9092\tLive: false",
                "Broker: 2\tAddress: h2:9093\tLive: true"), TopicFormatter.describeCluster(cluster));
    }

    @Test
    void brokerAddressesParseAndPrint() {
        assertEquals(new BrokerAddress("localhost", 9092), BrokerAddress.parse("localhost:9092"));
        assertEquals(new BrokerAddress("fe80::1", 9092), BrokerAddress.parse("[fe80::1]:9092"));
        assertEquals("[fe80::1]:9092", new BrokerAddress("fe80::1", 9092).toString());
        assertEquals("10.0.0.1:1", new BrokerAddress("10.0.0.1", 1).toString());
        assertThrows(IllegalArgumentException.class, () -> BrokerAddress.parse("host"));
        assertThrows(IllegalArgumentException.class, () -> BrokerAddress.parse(":9092"));
        assertThrows(IllegalArgumentException.class, () -> BrokerAddress.parse("host:"));
        assertThrows(IllegalArgumentException.class, () -> BrokerAddress.parse("host:0"));
        assertThrows(IllegalArgumentException.class, () -> BrokerAddress.parse("host:port"));
    }
}
