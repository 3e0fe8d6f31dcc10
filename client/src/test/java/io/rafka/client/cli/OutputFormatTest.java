package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;

import com.google.protobuf.ByteString;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.PartitionDescription;
import io.rafka.proto.v1.TopicDescription;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What the CLI prints: consumed records, topic and cluster descriptions, broker addresses. */
class OutputFormatTest {

    private static final ConsumerRecord KEYED = ConsumerRecord.newBuilder()
            .setOffset(42).setKey(ByteString.copyFromUtf8("user-1")).setValue(ByteString.copyFromUtf8("héllo")).build();
    private static final ConsumerRecord NULLS = ConsumerRecord.newBuilder().setOffset(7).build();

    @Test
    void recordsPrintTheirValueWithOptionalOffsetAndKeyPrefixes() {
        assertEquals("héllo", new RecordPrinter(null, false, false).format(2, KEYED));
        assertEquals("2:42\théllo", new RecordPrinter(null, false, true).format(2, KEYED));
        assertEquals("user-1\théllo", new RecordPrinter(null, true, false).format(2, KEYED));
        assertEquals("2:42\tuser-1\théllo", new RecordPrinter(null, true, true).format(2, KEYED));
        assertEquals("0:7\tnull\tnull", new RecordPrinter(null, true, true).format(0, NULLS));
        ConsumerRecord empty = NULLS.toBuilder().setKey(ByteString.EMPTY).setValue(ByteString.EMPTY).build();
        assertEquals("\t", new RecordPrinter(null, true, false).format(0, empty));
    }

    @Test
    void printerWritesOneLinePerRecordAndCounts() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        RecordPrinter printer = new RecordPrinter(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, true);
        printer.print(1, KEYED);
        printer.print(0, NULLS);
        assertEquals("1:42\théllo\n0:7\tnull\n", bytes.toString(StandardCharsets.UTF_8));
        assertEquals(2, printer.printed());
    }

    @Test
    void topicDescriptionFollowsKafkaTopicsLayout() {
        TopicDescription topic = TopicDescription.newBuilder()
                .setName("orders").setTopicId("abc").setReplicationFactor(2)
                .putConfigs("retention.ms", "1000").putConfigs("cleanup.policy", "delete")
                .addPartitions(PartitionDescription.newBuilder().setPartition(0).setLeaderId("1").addReplicas("1").addReplicas("2"))
                .addPartitions(PartitionDescription.newBuilder().setPartition(1).addReplicas("2").addReplicas("3"))
                .build();
        assertEquals(List.of(
                "Topic: orders\tTopicId: abc\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=delete,retention.ms=1000",
                "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2",
                "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3"), TopicFormatter.describe(topic));
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
