package io.rafka.server;

import io.rafka.client.admin.AdminException;
import io.rafka.client.admin.ClusterDescription;
import io.rafka.client.admin.ConfigEntry;
import io.rafka.client.admin.GroupDescription;
import io.rafka.client.admin.NewTopic;
import io.rafka.client.admin.OffsetSpec;
import io.rafka.client.admin.RafkaAdmin;
import io.rafka.client.admin.TopicDescription;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.Serializers;
import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java SDK admin client against real brokers: a topic's whole life (create, list, describe, grow, configure,
 * delete) with typed errors for a topic that exists or does not, the cluster, a consumer group's lag and deletion,
 * and offsets by spec.
 */
class AdminIT {
    @TempDir
    Path tmp;

    /**
     * Admin calls may wait on the controller, each holding a thread of the broker: past {@code max.admin.calls} a
     * broker refuses more at once with BUSY, and takes them again once those end.
     */
    @Test
    void adminCallsBeyondTheLimitAreRefusedBusyWhileOthersWait() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("max.admin.calls", "2", "request.timeout.ms", "3000"))) {
            cluster.stop(1);
            cluster.stop(2);   // no metadata majority: a create on broker 1 waits for a controller that does not come
            var stub = io.rafka.proto.v1.AdminServiceGrpc.newFutureStub(cluster.channel(0));
            List<com.google.common.util.concurrent.ListenableFuture<io.rafka.proto.v1.CreateTopicsResponse>> waiting = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                waiting.add(stub.withDeadlineAfter(60, java.util.concurrent.TimeUnit.SECONDS).createTopics(
                        io.rafka.proto.v1.CreateTopicsRequest.newBuilder().addTopics(io.rafka.proto.v1.NewTopic.newBuilder()
                                .setName("waits-" + i).setPartitions(1).setReplicationFactor(1)).build()));
            }
            Thread.sleep(1_000);
            io.grpc.StatusRuntimeException refused = assertThrows(io.grpc.StatusRuntimeException.class,
                    () -> cluster.admin(0).listTopics(io.rafka.proto.v1.ListTopicsRequest.getDefaultInstance()));
            assertEquals(io.grpc.Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode(), refused.toString());
            assertEquals(Integer.toString(ErrorCode.BUSY.code()),
                    refused.getTrailers().get(io.rafka.server.grpc.ApiErrors.ERROR_CODE_TRAILER));
            assertTrue(waiting.stream().noneMatch(java.util.concurrent.Future::isDone), "the two calls were still waiting");
            // No controller: each waiting create ends with NOT_CONTROLLER or REQUEST_TIMED_OUT, its own outcome.
            Set<String> noController = Set.of(Integer.toString(ErrorCode.NOT_CONTROLLER.code()),
                    Integer.toString(ErrorCode.REQUEST_TIMED_OUT.code()));
            for (var call : waiting) {
                java.util.concurrent.ExecutionException ended = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> call.get(60, java.util.concurrent.TimeUnit.SECONDS), "a create without a controller succeeded");
                io.grpc.StatusRuntimeException status = assertInstanceOf(io.grpc.StatusRuntimeException.class, ended.getCause());
                assertTrue(noController.contains(status.getTrailers().get(io.rafka.server.grpc.ApiErrors.ERROR_CODE_TRAILER)),
                        status.toString());
            }
            cluster.admin(0).listTopics(io.rafka.proto.v1.ListTopicsRequest.getDefaultInstance());   // served again
        }
    }

    /**
     * The groups' topic created by a client before any group used it gets the cluster's replication factor, whatever
     * the request said: with 1, every group's state would sit on one replica.
     */
    @Test
    void theGroupsTopicCreatedByAClientIsReplicatedAsTheClusterDefault() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("group.coordinator.partitions", "2"))) {
            assertEquals(io.rafka.proto.v1.ErrorCode.NONE, cluster.admin(0).createTopics(io.rafka.proto.v1.CreateTopicsRequest.newBuilder()
                    .addTopics(io.rafka.proto.v1.NewTopic.newBuilder().setName("__consumer_offsets").setPartitions(1)
                            .setReplicationFactor(1)).build()).getResults(0).getErrorCode());
            // The create may have been forwarded to the controller: this broker's view shows it a moment later.
            cluster.awaitTrue(() -> cluster.admin(0).describeTopics(io.rafka.proto.v1.DescribeTopicsRequest.newBuilder()
                    .addNames("__consumer_offsets").build()).getTopics(0).getPartitionsCount() > 0, 10_000, "the topic seen");
            var topic = cluster.admin(0).describeTopics(io.rafka.proto.v1.DescribeTopicsRequest.newBuilder()
                    .addNames("__consumer_offsets").build()).getTopics(0);
            assertEquals(2, topic.getPartitionsCount(), "group.coordinator.partitions");
            assertEquals(3, topic.getReplicationFactor());
            for (var partition : topic.getPartitionsList()) {
                assertEquals(3, partition.getReplicasCount(), partition.toString());
            }
        }
    }

    @Test
    void topicsConfigsClusterGroupsAndOffsetsRoundTrip() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("group.coordinator.partitions", "2",
                "auto.create.topics.enable", "false", "group.list.max.groups", "3"));
             RafkaAdmin admin = RafkaAdmin.create(servers(cluster))) {
            Map<String, TopicDescription> created = admin.createTopics(List.of(
                    new NewTopic("audit", 2, 3).withConfigs(Map.of("retention.ms", "3600000")))).join();
            assertEquals(2, created.get("audit").partitions().size());
            assertEquals(3, created.get("audit").replicationFactor());
            cluster.awaitLeaders(0, "audit", 60_000);

            AdminException exists = failure(admin.createTopics(List.of(new NewTopic("audit", 1, 1))));
            assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, exists.errorCode());
            assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, exists.failures().get("audit"));
            assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, failure(admin.describeTopics(List.of("nope"))).errorCode());

            assertTrue(admin.listTopics().join().contains("audit"));
            admin.createPartitions("audit", 3).join();
            // Answered once the controller committed it; the broker asked next may apply it a moment later.
            cluster.awaitTrue(() -> admin.describeTopics(List.of("audit")).join().get("audit").partitions().size() == 3,
                    10_000, "the third partition visible through the bootstrap broker");
            assertEquals(ErrorCode.INVALID_PARTITIONS, failure(admin.createPartitions("audit", 2)).errorCode());

            admin.alterConfigs("audit", Map.of("retention.ms", "7200000"), List.of()).join();
            cluster.awaitTrue(() -> admin.describeConfigs("audit").join().stream()
                    .anyMatch(e -> e.name().equals("retention.ms") && e.value().equals("7200000")), 10_000, "the new retention visible");
            ConfigEntry retention = admin.describeConfigs("audit").join().stream()
                    .filter(e -> e.name().equals("retention.ms")).findFirst().orElseThrow();
            assertEquals("7200000", retention.value());
            assertFalse(retention.isDefault());

            ClusterDescription described = admin.describeCluster().join();
            assertEquals(3, described.brokers().size());
            assertEquals(3, described.liveBrokerIds().size());
            assertFalse(described.controllerId().isEmpty());

            groupAndOffsets(cluster, admin);

            admin.deleteTopics(List.of("audit")).join();
            // As with the added partition above: the bootstrap broker applies the deletion a moment after the call.
            cluster.awaitTrue(() -> !admin.listTopics().join().contains("audit"), 10_000, "the deleted topic gone from the list");
            assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, failure(admin.deleteTopics(List.of("audit"))).errorCode());

            // An admin given one broker learns the others: it goes on when that broker is gone.
            try (RafkaAdmin one = RafkaAdmin.create("127.0.0.1:" + cluster.grpcPort(2))) {
                assertFalse(one.listTopics().join().contains("audit"));
                cluster.kill(2);
                one.createTopics(List.of(new NewTopic("after", 1, 1))).join();
                // As with the deletion above: the broker asked applies the creation a moment after the call.
                cluster.awaitTrue(() -> one.listTopics().join().contains("after"), 10_000, "the created topic listed");
            }
        }
    }

    /** Ten records, a group that read and committed four of partition 0: lag 6 there; deletable once empty. */
    private static void groupAndOffsets(BrokerCluster cluster, RafkaAdmin admin) {
        TopicPartition p0 = new TopicPartition("audit", 0);
        try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                .bootstrap(servers(cluster)).build()) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>("audit", 0, "k", "v" + i)).join();
            }
        }
        assertEquals(Map.of(p0, 0L), admin.listOffsets(List.of(p0), OffsetSpec.earliest()).join());
        assertEquals(Map.of(p0, 10L), admin.listOffsets(List.of(p0), OffsetSpec.latest()).join());
        try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                .bootstrap(servers(cluster)).groupId("auditors").enableAutoCommit(false).build()) {
            consumer.assign(List.of(p0));
            consumer.commitSync(Map.of(p0, new io.rafka.client.consumer.OffsetAndMetadata(4)));
        }
        assertTrue(admin.listGroups().join().stream().anyMatch(g -> g.groupId().equals("auditors")));
        // ListGroups answers a page at a time (group.list.max.groups is 3 here); the admin asks for every page.
        for (int i = 0; i < 7; i++) {
            assertEquals(Map.of(), admin.alterGroupOffsets("paged-" + i, Map.of(p0, 1L)).join());
        }
        List<String> listed = admin.listGroups().join().stream().map(GroupDescription.Listing::groupId).toList();
        assertEquals(List.of("auditors", "paged-0", "paged-1", "paged-2", "paged-3", "paged-4", "paged-5", "paged-6"), listed);
        int pages = 0;
        for (int b = 0; b < cluster.size(); b++) {
            var groups = io.rafka.proto.v1.GroupServiceGrpc.newBlockingStub(cluster.channel(b))
                    .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS);
            String after = "";
            for (boolean more = true; more; pages++) {
                var page = groups.listGroups(io.rafka.proto.v1.ListGroupsRequest.newBuilder().setAfterGroupId(after).build());
                assertTrue(page.getGroupsCount() <= 3, page.toString());
                more = page.getMore();
                after = page.getGroupsCount() == 0 ? after : page.getGroups(page.getGroupsCount() - 1).getGroupId();
            }
        }
        assertTrue(pages >= 3 + 1, pages + " pages for 8 groups of at most 3 on 3 brokers");
        io.grpc.StatusRuntimeException negative = assertThrows(io.grpc.StatusRuntimeException.class, () -> io.rafka.proto.v1
                .GroupServiceGrpc.newBlockingStub(cluster.channel(0)).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
                .listGroups(io.rafka.proto.v1.ListGroupsRequest.newBuilder().setMaxGroups(-1).build()));
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, negative.getStatus().getCode());
        // The log-end offset is the high watermark as the coordinator's broker knows it: a follower learns the last
        // commit with the leader's next append or heartbeat.
        GroupDescription[] group = new GroupDescription[1];
        cluster.awaitTrue(() -> {
            group[0] = admin.describeGroup("auditors").join();
            return group[0].partitions().stream().anyMatch(p -> p.partition().equals(p0) && p.lag() == 6);
        }, 10_000, "lag 6 on partition 0");
        GroupDescription.PartitionState state = group[0].partitions().stream()
                .filter(p -> p.partition().equals(p0)).findFirst().orElseThrow();
        assertEquals(4, state.committedOffset());
        assertEquals(6, state.lag(), "lag: " + group[0]);

        // Partitions with one replica each, most of them on brokers other than the coordinator's, which cannot tell
        // their log ends: the admin asks their leaders.
        admin.createTopics(List.of(new NewTopic("spread", 3, 1))).join();
        cluster.awaitLeaders(0, "spread", 60_000);
        Map<TopicPartition, io.rafka.client.consumer.OffsetAndMetadata> ones = new java.util.HashMap<>();
        try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                .bootstrap(servers(cluster)).build()) {
            for (int p = 0; p < 3; p++) {
                for (int i = 0; i < 3; i++) {
                    producer.send(new ProducerRecord<>("spread", p, "k", "v" + i)).join();
                }
                ones.put(new TopicPartition("spread", p), new io.rafka.client.consumer.OffsetAndMetadata(1));
            }
        }
        try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                .bootstrap(servers(cluster)).groupId("auditors").enableAutoCommit(false).build()) {
            consumer.assign(ones.keySet());
            consumer.commitSync(ones);
        }
        Map<TopicPartition, Long> lags = new java.util.HashMap<>();
        admin.describeGroup("auditors").join().partitions().stream()
                .filter(p -> p.partition().topic().equals("spread"))
                .forEach(p -> lags.put(p.partition(), p.lag()));
        assertEquals(Map.of(new TopicPartition("spread", 0), 2L, new TopicPartition("spread", 1), 2L,
                new TopicPartition("spread", 2), 2L), lags, "every partition's lag, wherever its replica is");
        admin.deleteGroup("auditors").join();
        assertFalse(admin.listGroups().join().stream().anyMatch(g -> g.groupId().equals("auditors")));
        assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, failure(admin.describeGroup("auditors")).errorCode());
    }

    /**
     * As Kafka's admin client: a call that waits for a broker that never answers does not hold up the others, and it
     * ends within default.api.timeout.ms (REQUEST_TIMED_OUT); close() lets calls made before it end (a create made
     * without waiting for it is made), while close(timeout) fails what has not ended in time.
     */
    @Test
    void aStuckCallHoldsUpNoOtherAndCloseLetsCallsEndWithinItsTimeout() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("group.coordinator.partitions", "1"));
             io.rafka.client.internals.ChannelPool channels = io.rafka.server.testing.UnsentCalls.of("/DescribeGroup").channels()) {
            String bootstrap = "127.0.0.1:" + cluster.grpcPort(0);
            RafkaAdmin admin = RafkaAdmin.create(bootstrap, 4_000, channels);
            admin.createTopics(List.of(new NewTopic("first", 1, 1))).join();   // the groups' topic, the coordinator up
            CompletableFuture<GroupDescription> stuck = admin.describeGroup("nobody");
            long startNs = System.nanoTime();
            assertTrue(admin.listTopics().get(3, java.util.concurrent.TimeUnit.SECONDS).contains("first"));
            assertFalse(stuck.isDone(), "the stuck call still waits");
            assertEquals(ErrorCode.REQUEST_TIMED_OUT, failure(stuck).errorCode());
            long tookMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs < 8_000, "the stuck call ended " + tookMs + " ms after it began; its timeout is 4 s");

            // close() waits for what was made before it: the topic is created although nobody waited for it.
            CompletableFuture<Map<String, TopicDescription>> unawaited = admin.createTopics(List.of(new NewTopic("second", 2, 1)));
            admin.close();
            assertEquals(2, unawaited.join().get("second").partitions().size());
            CompletionException refused = assertThrows(CompletionException.class, () -> admin.listTopics().join());
            assertInstanceOf(IllegalStateException.class, refused.getCause(), "closed");

            // More calls than threads, each timing out; close() from the callback of one that waited for a thread
            // returns (it cannot wait for the pool it runs on), and every call ends REQUEST_TIMED_OUT.
            RafkaAdmin crowded = RafkaAdmin.create(bootstrap, 1_000, channels);
            List<CompletableFuture<GroupDescription>> calls = new java.util.ArrayList<>();
            for (int i = 0; i < 10; i++) {
                calls.add(crowded.describeGroup("nobody"));
            }
            java.util.concurrent.CountDownLatch closedFromCallback = new java.util.concurrent.CountDownLatch(1);
            calls.get(9).whenComplete((r, e) -> {
                crowded.close();
                closedFromCallback.countDown();
            });
            assertTrue(closedFromCallback.await(20, java.util.concurrent.TimeUnit.SECONDS), "close() in a callback returned");
            calls.forEach(call -> { AdminException f = failure(call); assertEquals(ErrorCode.REQUEST_TIMED_OUT, f.errorCode(), f.code() + ": " + f.getMessage()); });

            RafkaAdmin brief = RafkaAdmin.create(bootstrap, 30_000, channels);
            CompletableFuture<GroupDescription> pending = brief.describeGroup("nobody");
            startNs = System.nanoTime();
            brief.close(java.time.Duration.ofMillis(500));
            tookMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs < 3_000, "close(500 ms) took " + tookMs + " ms");
            assertEquals(ErrorCode.REQUEST_TIMED_OUT, failure(pending).errorCode());
        }
    }

    private static AdminException failure(CompletableFuture<?> call) {
        CompletionException e = assertThrows(CompletionException.class, call::join);
        return assertInstanceOf(AdminException.class, e.getCause());
    }

    /**
     * The first bootstrap server is down (nothing listens there): admin, producer and consumer go on with the
     * next one, as Kafka's clients do.
     */
    private static String servers(BrokerCluster cluster) {
        return "127.0.0.1:" + DEAD_PORT + ",127.0.0.1:" + cluster.grpcPort(0) + ",127.0.0.1:" + cluster.grpcPort(1);
    }

    private static final int DEAD_PORT = deadPort();

    private static int deadPort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

}
