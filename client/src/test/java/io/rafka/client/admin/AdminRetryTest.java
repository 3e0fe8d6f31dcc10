package io.rafka.client.admin;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.rafka.client.internals.ChannelPool;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeClusterResponse;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An admin call made while no broker can be reached (a cluster still starting) waits for one, up to
 * default.api.timeout.ms, as Kafka's admin client does, instead of failing at once with UNAVAILABLE.
 */
class AdminRetryTest {

    @Test
    void aCallWaitsForABrokerToComeUpWithinItsTimeout() throws Exception {
        try (ChannelPool channels = new ChannelPool(address -> InProcessChannelBuilder.forName("late-broker").directExecutor().build());
             RafkaAdmin admin = RafkaAdmin.create("127.0.0.1:1", 20_000, channels)) {
            CompletableFuture<ClusterDescription> call = admin.describeCluster();
            Thread.sleep(1_000);
            assertTrue(!call.isDone(), "still waiting for a broker: " + call);
            Server broker = InProcessServerBuilder.forName("late-broker").directExecutor()
                    .addService(new AdminServiceGrpc.AdminServiceImplBase() {
                        @Override
                        public void describeCluster(DescribeClusterRequest request, StreamObserver<DescribeClusterResponse> out) {
                            out.onNext(DescribeClusterResponse.newBuilder().setControllerId("1").addLiveBrokerIds("1").build());
                            out.onCompleted();
                        }
                    }).build().start();
            try {
                assertEquals("1", call.get(15, TimeUnit.SECONDS).controllerId());
            } finally {
                broker.shutdownNow();
            }
        }
    }

    @Test
    void aCallWithNoBrokerFailsAfterItsTimeoutNamingTheCause() throws Exception {
        try (ChannelPool channels = new ChannelPool(address -> InProcessChannelBuilder.forName("no-broker").directExecutor().build());
             RafkaAdmin admin = RafkaAdmin.create("127.0.0.1:1", 1_500, channels)) {
            long startNs = System.nanoTime();
            ExecutionException e = assertThrows(ExecutionException.class, () -> admin.describeCluster().get(15, TimeUnit.SECONDS));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs >= 1_000, "retried for its timeout, not failed at once: " + tookMs + " ms");
            assertTrue(e.getCause() instanceof AdminException a && a.code().equals("UNAVAILABLE")
                    || e.getCause().getMessage().contains("UNAVAILABLE"), e.getCause().toString());
        }
    }
}
