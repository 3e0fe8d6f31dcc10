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

            int http = cluster.broker(0).httpPort();
            String metrics = get(http, "/metrics", 200);
            assertTrue(value(metrics, "rafka_topic_bytes_in_total\\{topic=\"observed\"\\}") > 500, "bytes in by topic");
            assertEquals(5, value(metrics, "rafka_topic_records_in_total\\{topic=\"observed\"\\}"));
            assertTrue(value(metrics, "rafka_topic_bytes_out_total\\{topic=\"observed\"\\}") > 500, "bytes out by topic");
            assertEquals(5, value(metrics, "rafka_requests_total\\{code=\"OK\",method=\"Produce\"\\}"), "request rate by method and status");
            assertTrue(metrics.contains("rafka_request_duration_seconds_bucket{method=\"Produce\""), "request latency histogram");
            assertEquals(5, value(metrics, "rafka_raft_commit_latency_seconds_count"));
            assertEquals(1, value(metrics, "rafka_partition_leaders"));
            assertEquals(0, value(metrics, "rafka_under_replicated_partitions"));
            assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM metrics");

            String status = get(http, "/status", 200);
            assertTrue(status.contains("\"node_id\": \"1\"") && status.contains("\"is_controller\": true"), status);
            assertTrue(status.contains("\"topic\": \"observed\", \"partition\": 0, \"leader\": \"1\", \"is_leader\": true"), status);
            assertTrue(status.contains("\"high_watermark\": 5"), status);
            assertEquals("ok\n", get(http, "/health", 200));
        }
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
        try (InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static double value(String metrics, String series) {
        Matcher m = Pattern.compile("(?m)^" + series + " ([0-9.eE+-]+)$").matcher(metrics);
        assertTrue(m.find(), series + " in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }
}
