package io.rafka.client.internals;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ChannelPoolTest {

    /**
     * Brokers that never answer (hung, or stopped with SIGSTOP): closing the pool lets the calls in flight end for the
     * time given in all, not once per connection, so a client's close(timeout) can keep its bound.
     */
    @Test
    void closeWaitsForCallsInFlightAtMostTheTimeGivenInAll() throws Exception {
        List<StreamObserver<MetadataResponse>> held = new ArrayList<>();
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            servers.add(InProcessServerBuilder.forName("hung-" + i).directExecutor()
                    .addService(new MetadataServiceGrpc.MetadataServiceImplBase() {
                        @Override
                        public void getMetadata(MetadataRequest request, StreamObserver<MetadataResponse> response) {
                            synchronized (held) {
                                held.add(response);   // never answered
                            }
                        }
                    }).build().start());
        }
        try {
            ChannelPool pool = new ChannelPool(address -> InProcessChannelBuilder.forName("hung-" + (address.port() - 1))
                    .directExecutor().build());
            for (int i = 1; i <= 3; i++) {
                MetadataServiceGrpc.newStub(pool.channel(BrokerAddress.parse("127.0.0.1:" + i)))
                        .getMetadata(MetadataRequest.getDefaultInstance(), new StreamObserver<>() {
                            @Override
                            public void onNext(MetadataResponse value) {
                            }

                            @Override
                            public void onError(Throwable t) {
                            }

                            @Override
                            public void onCompleted() {
                            }
                        });
            }
            long startNs = System.nanoTime();
            pool.close(500);
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs >= 450 && tookMs < 1_400, "close(500) of three hung connections took " + tookMs + " ms");
        } finally {
            servers.forEach(Server::shutdownNow);
        }
    }
}
