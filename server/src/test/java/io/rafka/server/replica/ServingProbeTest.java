package io.rafka.server.replica;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe the leader rebalance asks before handing leaderships back to a broker, against a real gRPC health
 * service on loopback: only a broker that answers SERVING serves; one that is starting (NOT_SERVING), gone,
 * unknown or silent does not, and the answer follows the broker's state from one ask to the next.
 */
class ServingProbeTest {

    @Test
    void onlyABrokerThatAnswersServingServes() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        health.setStatus("", ServingStatus.NOT_SERVING);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(health.getHealthService()).build().start();
        int port = server.getPort();
        Map<String, String> addresses = Map.of("2", "127.0.0.1:" + port);
        try (ServingProbe probe = new ServingProbe(id -> Optional.ofNullable(addresses.get(id)), 1_000)) {
            assertFalse(probe.serving("2"), "registered and answering, but still starting");
            health.setStatus("", ServingStatus.SERVING);
            assertTrue(probe.serving("2"));
            assertFalse(probe.serving("7"), "a broker the metadata does not know");

            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            long start = System.nanoTime();
            assertFalse(probe.serving("2"), "its process is gone");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "answered within the probe's timeout");

            // Back on the same port (a restart): asked again, it is seen at once, not after gRPC's reconnect backoff.
            HealthStatusManager again = new HealthStatusManager();
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                    .addService(again.getHealthService()).build().start();
            assertTrue(probe.serving("2"));
        } finally {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A broker that takes the connection and the call and never answers (hung) does not serve, in the timeout. */
    @Test
    void aBrokerThatNeverAnswersDoesNotServe() throws Exception {
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new io.grpc.health.v1.HealthGrpc.HealthImplBase() {
                    @Override
                    public void check(io.grpc.health.v1.HealthCheckRequest request,
                                      io.grpc.stub.StreamObserver<io.grpc.health.v1.HealthCheckResponse> answer) {
                        // silent
                    }
                }).build().start();
        Map<String, String> addresses = Map.of("2", "127.0.0.1:" + server.getPort());
        try (ServingProbe probe = new ServingProbe(id -> Optional.ofNullable(addresses.get(id)), 500)) {
            assertFalse(org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
                    () -> probe.serving("2")), "a silent broker");
        } finally {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
