package io.rafka.client.cli;

import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.ClientException;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Broker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetadataClientTest {

    private final FakeCluster cluster = new FakeCluster("orders", 2);
    private final ChannelPool channels = cluster.channels();
    private final MetadataClient metadata = new MetadataClient(channels, cluster.bootstrap(), cluster.time, 1000);
    private final TopicPartition p0 = new TopicPartition("orders", 0);
    private final TopicPartition p1 = new TopicPartition("orders", 1);

    MetadataClientTest() throws IOException {
    }

    /** Broker 2 as a NOT_LEADER answer names it. */
    private Broker brokerTwo() {
        return Broker.newBuilder().setId("2").setHost(cluster.brokers.get("2").host()).setPort(cluster.brokers.get("2").port()).build();
    }

    @AfterEach
    void close() {
        channels.close();
        cluster.close();
    }

    /** A producer's refreshes ask only for topics sent to lately; one sent to again is looked up again. */
    @Test
    void aProducerForgetsTopicsItStoppedSendingTo() throws Exception {
        io.rafka.client.producer.internals.ProducerMetadata producer = new io.rafka.client.producer.internals.ProducerMetadata(
                List.of(cluster.bootstrap()), channels, false, 300);
        long deadline = System.nanoTime() + 5_000_000_000L;
        assertEquals(2, producer.partitionCount("orders", deadline));
        int calls = cluster.metadataCalls;
        producer.refresh();
        assertEquals(calls + 1, cluster.metadataCalls, "a topic in use is refreshed");
        Thread.sleep(400);
        producer.refresh();
        assertEquals(calls + 1, cluster.metadataCalls, "an idle topic is not");
        assertEquals(2, producer.partitionCount("orders", deadline));
        assertEquals(calls + 2, cluster.metadataCalls, "sent to again, it is looked up again");
    }

    /**
     * A broker at its connection limit refuses calls with RESOURCE_EXHAUSTED and the broker code BUSY, which is
     * retriable: the next broker is asked (the status alone would make it final).
     */
    @Test
    void aBusyBrokerIsPassedOverForTheNext() {
        metadata.refresh(List.of("orders"), false);       // learns both brokers
        cluster.busy.put("1", true);
        cluster.busy.put("2", false);
        metadata.refresh(List.of("orders"), false);
        assertEquals(Optional.of(cluster.brokers.get("2")), metadata.leader(p1));
        cluster.busy.put("2", true);
        ClientException e = assertThrows(ClientException.class, () -> metadata.refresh(List.of("orders"), false));
        assertEquals("BUSY", e.code(), e.getMessage());
        assertTrue(e.retriable());
    }

    /** A refresh about other topics keeps the leaders known for this one, and its leader hints. */
    @Test
    void aRefreshOfOtherTopicsKeepsTheLeadersOfThisOne() {
        metadata.refresh(List.of("orders"), false);
        Broker two = brokerTwo();
        assertTrue(metadata.leaderHint(p0, true, two));
        io.rafka.client.internals.ClusterMetadata after = metadata.refresh(List.of("payments"), false);
        assertEquals(Optional.of(cluster.brokers.get("2")), metadata.leader(p0), "the hint is kept");
        assertEquals(Optional.of(cluster.brokers.get("2")), metadata.leader(p1));
        assertEquals(2, after.topic("orders").orElseThrow().getPartitionsCount());
        metadata.refresh(List.of("orders"), false);
        assertEquals(Optional.of(cluster.brokers.get("1")), metadata.leader(p0), "a refresh of the topic drops its hints");
    }

    @Test
    void leadersComeFromTheMetadata() {
        assertEquals(Optional.empty(), metadata.leader(p0));
        metadata.refresh(List.of("orders"), false);
        assertEquals(Optional.of(cluster.brokers.get("1")), metadata.leader(p0));
        assertEquals(Optional.of(cluster.brokers.get("2")), metadata.leader(p1));
    }

    @Test
    void aLeaderHintWinsUntilTheNextRefresh() {
        metadata.refresh(List.of("orders"), false);
        Broker two = brokerTwo();

        assertTrue(metadata.leaderHint(p0, true, two));
        assertEquals(Optional.of(cluster.brokers.get("2")), metadata.leader(p0));
        metadata.refresh(List.of("orders"), false);
        assertEquals(Optional.of(cluster.brokers.get("1")), metadata.leader(p0));
    }

    @Test
    void anEmptyHintIsNoHint() {
        metadata.refresh(List.of("orders"), false);
        assertFalse(metadata.leaderHint(p0, false, Broker.getDefaultInstance()));
        assertFalse(metadata.leaderHint(p0, true, Broker.getDefaultInstance()));
        assertEquals(Optional.of(cluster.brokers.get("1")), metadata.leader(p0));
    }

    @Test
    void refreshFallsBackToOtherBrokersWhenTheBootstrapIsDown() {
        metadata.refresh(List.of("orders"), false);
        cluster.down.put("1", true);
        cluster.leaders.put(0, "2");

        metadata.refresh(List.of("orders"), false);
        assertEquals(Optional.of(cluster.brokers.get("2")), metadata.leader(p0));
    }

    @Test
    void refreshFailsRetriablyWhenNoBrokerAnswers() {
        cluster.down.put("1", true);
        ClientException failure = assertThrows(ClientException.class, () -> metadata.refresh(List.of("orders"), false));
        assertEquals("UNAVAILABLE", failure.code());
        assertTrue(failure.retriable());
    }

    @Test
    void awaitTopicRetriesWhileTheTopicIsBeingCreated() {
        cluster.metadataCallsBeforeTopicExists = 3;
        assertEquals(2, metadata.awaitTopic("orders", true).getPartitionsCount());
        assertEquals(List.of(100L, 200L, 400L), cluster.time.sleeps());
    }
}
