package io.rafka.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** gRPC health and reflection (v1 and v1alpha), and the HTTP endpoints: Prometheus /metrics, JSON /status, /health. */
class ObservabilityIT {
    @TempDir
    Path tmp;

    @Test
    void healthReflectionMetricsAndStatus() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of())) {
            HealthCheckResponse health = HealthGrpc.newBlockingStub(cluster.channel(0)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService("").build());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
            StatusRuntimeException perService = assertThrows(StatusRuntimeException.class, () -> HealthGrpc.newBlockingStub(cluster.channel(0))
                    .withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.newBuilder().setService("rafka.v1.ProduceService").build()));
            assertEquals(Status.Code.NOT_FOUND, perService.getStatus().getCode(), "health answers for the service \"\" only");
            List<String> expected = List.of("rafka.v1.ProduceService", "rafka.v1.FetchService", "rafka.v1.MetadataService",
                    "rafka.v1.AdminService", "rafka.v1.GroupService", "grpc.health.v1.Health");
            List<String> services = listServices(cluster);
            assertTrue(services.containsAll(expected), services.toString());
            List<String> alphaServices = listServicesV1Alpha(cluster);
            assertTrue(alphaServices.containsAll(expected), "reflection v1alpha, for older tools: " + alphaServices);

            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName("observed").setPartitions(1)).build()).getResults(0).getErrorCode());
            cluster.awaitLeaders(0, "observed", 30_000);
            for (int i = 0; i < 5; i++) {
                var r = cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                        .setTopic("observed").setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                .setValue(ByteString.copyFrom(new byte[100]))))).build()).getResults(0);
                assertEquals(ErrorCode.NONE, r.getErrorCode());
            }
            cluster.fetch(0).fetch(FetchRequest.newBuilder().addPartitions(PartitionFetch.newBuilder().setTopic("observed")).build());
            // A long poll the client gives up on first (its deadline) is counted too, once.
            assertThrows(StatusRuntimeException.class, () -> cluster.fetch(0).withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                    .fetch(FetchRequest.newBuilder().setMaxWaitMs(5_000).addPartitions(PartitionFetch.newBuilder()
                            .setTopic("observed").setOffset(5)).build()));

            int http = cluster.broker(0).httpPort();
            cluster.awaitTrue(() -> scrape(http).matches("(?s).*\nrafka_requests_total\\{code=\"CANCELLED\",method=\"Fetch\"\\} 1(\\.0)?\n.*"),
                    10_000, "the abandoned fetch counted as CANCELLED");
            String metrics = get(http, "/metrics", 200);
            assertTrue(value(metrics, "rafka_topic_bytes_in_total\\{topic=\"observed\"\\}") > 500, "bytes in by topic");
            assertEquals(5, value(metrics, "rafka_topic_records_in_total\\{topic=\"observed\"\\}"));
            assertTrue(value(metrics, "rafka_topic_bytes_out_total\\{topic=\"observed\"\\}") > 500, "bytes out by topic");
            assertEquals(5, value(metrics, "rafka_requests_total\\{code=\"OK\",method=\"Produce\"\\}"), "request rate by method and status");
            assertTrue(metrics.contains("rafka_request_duration_seconds_bucket{method=\"Produce\""), "request latency histogram");
            assertEquals(5, value(metrics, "rafka_raft_commit_latency_seconds_count"));
            assertEquals(5, value(metrics, "rafka_raft_appends_total"), "one at a time: one append per entry");
            assertEquals(5, value(metrics, "rafka_raft_entries_total"));
            // A follower may refuse the first append after a group starts (the leader's first guess of its log end).
            assertTrue(value(metrics, "rafka_raft_follower_refusals_total") < 5, "followers refusing appends");
            assertEquals(1, value(metrics, "rafka_partition_leaders"));
            assertEquals(0, value(metrics, "rafka_under_replicated_partitions"));
            assertEquals(0, value(metrics, "rafka_repairing_partitions"));
            assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM metrics");

            String status = get(http, "/status", 200);
            assertTrue(status.contains("\"node_id\": \"1\"") && status.contains("\"is_controller\": true"), status);
            assertTrue(status.contains("\"topic\": \"observed\", \"partition\": 0, \"leader\": \"1\", \"is_leader\": true"), status);
            assertTrue(status.contains("\"high_watermark\": 5, \"log_end_offset\": 5"), status);
            assertTrue(status.contains("\"repairing\": false"), status);
            assertTrue(status.matches("(?s).*\"applied_index\": [1-9][0-9]*, \"raft\": \"RUNNING commit [1-9][0-9]* last [1-9][0-9]*\".*"),
                    "the replica's Raft member: " + status);
            assertEquals("ok\n", get(http, "/health", 200));

            // A deleted topic's series go (else every topic ever created stays exported).
            cluster.admin(0).deleteTopics(io.rafka.proto.v1.DeleteTopicsRequest.newBuilder().addNames("observed").build());
            cluster.awaitTrue(() -> {
                try {
                    return !get(http, "/metrics", 200).contains("topic=\"observed\"");
                } catch (IOException e) {
                    return false;
                }
            }, 30_000, "the deleted topic's series gone");

            // Exact paths; HEAD gets the headers only.
            get(http, "/healthz", 404);
            get(http, "/", 404);
            HttpURLConnection head = (HttpURLConnection) URI.create("http://127.0.0.1:" + http + "/health").toURL().openConnection();
            head.setRequestMethod("HEAD");
            assertEquals(200, head.getResponseCode());
            assertEquals("3", head.getHeaderField("Content-Length"));

            // Clients that send a byte and stop hold none of the server's threads for long: /health still answers.
            List<java.net.Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    java.net.Socket socket = new java.net.Socket("127.0.0.1", http);
                    socket.getOutputStream().write('G');
                    socket.getOutputStream().flush();
                    stalled.add(socket);
                }
                HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + http + "/health").toURL().openConnection();
                c.setReadTimeout(30_000);
                assertEquals(200, c.getResponseCode(), "/health with six stalled connections open");
            } finally {
                for (java.net.Socket socket : stalled) {
                    socket.close();
                }
            }
        }
    }

    /**
     * Issue 12 point 1 (metadata): a restarted broker says SERVING (gRPC health, and so HTTP /health) only once its
     * metadata view is current, knowing the controller and what changed while it was away; and it gets there
     * about a second after it is back, also after an absence long enough for Ratis's default appender retry
     * policy to have reached its 5 s pauses.
     */
    @Test
    void aRestartedBrokerIsHealthyOnlyOnceItsMetadataViewIsCurrent() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of())) {
            int controller = BrokerCluster.indexOf(cluster.broker(0).topicAdmin().describeCluster(false).controllerId());
            int away = (controller + 1) % 3;
            int other = 3 - controller - away;
            cluster.kill(away);
            long killedAt = System.nanoTime();
            // The metadata moves on while the broker is away: a topic it must know of before it serves.
            assertEquals(ErrorCode.NONE, cluster.admin(other).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName("while-away").setPartitions(2).setReplicationFactor(1)).build()).getResults(0).getErrorCode());
            // Away for longer than Ratis's default policy's fast retries (10 x 1 ms, then 20 x 1 s).
            Thread.sleep(Math.max(0, 22_000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt)));

            cluster.restart(away);
            long restartedAt = System.nanoTime();
            long servingMs = -1;
            long knowsControllerMs = -1;
            while (servingMs < 0 && System.nanoTime() - restartedAt < TimeUnit.SECONDS.toNanos(30)) {
                Broker b = cluster.broker(away);
                if (knowsControllerMs < 0 && b.metadata().controllerId().isPresent()) {
                    knowsControllerMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
                }
                HealthCheckResponse.ServingStatus status = HealthGrpc.newBlockingStub(cluster.channel(away))
                        .withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.newBuilder().setService("").build()).getStatus();
                if (status == HealthCheckResponse.ServingStatus.SERVING) {
                    servingMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
                    assertTrue(b.metadata().controllerId().isPresent(), "SERVING while it knows no controller");
                    assertTrue(b.topicAdmin().listTopics().contains("while-away"), "SERVING with the image of before its absence");
                    assertEquals("ok\n", get(b.httpPort(), "/health", 200));
                } else {
                    assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, status);
                    Thread.sleep(10);
                }
            }
            System.out.printf("restarted broker: knew the controller after %d ms, serving (view current) after %d ms%n",
                    knowsControllerMs, servingMs);
            assertTrue(servingMs >= 0, "serving again within 30 s");
            assertTrue(servingMs <= 3_000, "view current " + servingMs + " ms after the restart");
        }
    }

    /**
     * A broker cut off from the metadata group (here: the other two brokers gone, as in a network partition)
     * stops saying it serves once the controller has acknowledged no heartbeat of it for the session timeout, and
     * says so again once heartbeats are acknowledged. It used to answer 200 for good once it had served.
     */
    @Test
    void aBrokerCutOffFromTheControllerIsNotHealthyUntilItsHeartbeatsAreAcknowledgedAgain() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("broker.session.timeout.ms", "2000"))) {
            int alone = 0;
            assertEquals("ok\n", get(cluster.httpPort(alone), "/health", 200));
            cluster.kill(1);
            cluster.kill(2);
            cluster.awaitTrue(() -> healthStatus(cluster, alone) == HealthCheckResponse.ServingStatus.NOT_SERVING,
                    30_000, "NOT_SERVING once cut off");
            String body = get(cluster.httpPort(alone), "/health", 503);
            assertTrue(body.startsWith("not serving\n") && body.contains("no heartbeat acknowledged"), body);
            assertTrue(get(cluster.httpPort(alone), "/status", 200).contains("\"serving\": false"), "status agrees");

            cluster.restart(1);
            cluster.restart(2);
            cluster.awaitTrue(() -> healthStatus(cluster, alone) == HealthCheckResponse.ServingStatus.SERVING,
                    60_000, "SERVING again once heartbeats are acknowledged");
            assertEquals("ok\n", get(cluster.httpPort(alone), "/health", 200));
        }
    }

    private static HealthCheckResponse.ServingStatus healthStatus(BrokerCluster cluster, int i) {
        return HealthGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("").build()).getStatus();
    }

    private static List<String> listServices(BrokerCluster cluster) throws Exception {
        CompletableFuture<ServerReflectionResponse> reply = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(cluster.channel(0))
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse value) {
                        reply.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        reply.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        List<String> names = reply.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).toList();
        requests.onCompleted();
        return names;
    }

    private static List<String> listServicesV1Alpha(BrokerCluster cluster) throws Exception {
        CompletableFuture<io.grpc.reflection.v1alpha.ServerReflectionResponse> reply = new CompletableFuture<>();
        StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> requests = io.grpc.reflection.v1alpha.ServerReflectionGrpc
                .newStub(cluster.channel(0)).serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(io.grpc.reflection.v1alpha.ServerReflectionResponse value) {
                        reply.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        reply.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder().setListServices("").build());
        List<String> names = reply.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                .map(io.grpc.reflection.v1alpha.ServiceResponse::getName).toList();
        requests.onCompleted();
        return names;
    }

    private static String get(int port, String path, int expectedCode) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
        assertEquals(expectedCode, c.getResponseCode(), path);
        try (InputStream in = expectedCode >= 400 ? c.getErrorStream() : c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String scrape(int http) {
        try {
            return get(http, "/metrics", 200);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static double value(String metrics, String series) {
        Matcher m = Pattern.compile("(?m)^" + series + " ([0-9.eE+-]+)$").matcher(metrics);
        assertTrue(m.find(), series + " in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }
}
