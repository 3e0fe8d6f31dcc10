package io.rafka.server.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.TopicMetadata;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.server.Broker;
import io.rafka.server.ServerConfig;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * N in-process brokers on loopback, each with its own ports and data folder, talking real gRPC and real
 * Ratis. Brokers can be crashed ({@link #kill}), stopped gracefully and restarted with the same identity.
 */
public final class BrokerCluster implements Closeable {
    private final List<Map<String, String>> configs = new ArrayList<>();
    private final List<Broker> brokers = new ArrayList<>();
    private final Map<Integer, ManagedChannel> channels = new HashMap<>();

    private BrokerCluster() {
    }

    /** Starts {@code n} brokers (ids "1".."n") and waits until all registered and serve (metadata view current). */
    public static BrokerCluster start(int n, Path baseDir, Map<String, String> extraConfig) throws IOException {
        BrokerCluster c = new BrokerCluster();
        List<Integer> metadataPorts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            metadataPorts.add(MiniCluster.freePort());
        }
        StringBuilder voters = new StringBuilder();
        for (int i = 0; i < n; i++) {
            voters.append(i == 0 ? "" : ",").append(i + 1).append("@127.0.0.1:").append(metadataPorts.get(i));
        }
        for (int i = 0; i < n; i++) {
            Map<String, String> cfg = new HashMap<>();
            cfg.put("node.id", Integer.toString(i + 1));
            cfg.put("grpc.port", Integer.toString(MiniCluster.freePort()));
            cfg.put("raft.port", Integer.toString(MiniCluster.freePort()));
            cfg.put("metadata.port", Integer.toString(metadataPorts.get(i)));
            cfg.put("http.port", Integer.toString(MiniCluster.freePort()));
            cfg.put("controller.quorum.voters", voters.toString());
            cfg.put("data.dir", baseDir.resolve("broker-" + (i + 1)).toString());
            cfg.put("shutdown.timeout.ms", "5000");
            // Partitions stay open unless a test turns hibernation on (HibernationBrokerIT): most tests wait for
            // leaders of new topics, which a hibernated partition only gets on its first write.
            cfg.put("partition.hibernate.after.ms", "0");
            cfg.putAll(extraConfig);
            c.configs.add(cfg);
            c.brokers.add(null);
        }
        for (int i = 0; i < n; i++) {
            c.restart(i);
        }
        c.awaitTrue(() -> c.brokers.stream().allMatch(b -> b.metadata().image().brokers().size() == n), 60_000,
                "all brokers registered");
        // Registered is not yet serving: each broker also confirms its metadata view is current (checked every 50 ms).
        c.awaitTrue(() -> c.brokers.stream().allMatch(b -> {
            try {
                return b.awaitServing(0);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }), 60_000, "all brokers serving");
        return c;
    }

    public int size() {
        return brokers.size();
    }

    public Broker broker(int i) {
        return brokers.get(i);
    }

    public boolean isUp(int i) {
        return brokers.get(i) != null;
    }

    /** The index of broker {@code id}. */
    public static int indexOf(String id) {
        return Integer.parseInt(id) - 1;
    }

    public int grpcPort(int i) {
        return Integer.parseInt(configs.get(i).get("grpc.port"));
    }

    /** The port of broker {@code i}'s HTTP endpoints ({@code /health}, {@code /status}, {@code /metrics}). */
    public int httpPort(int i) {
        return Integer.parseInt(configs.get(i).get("http.port"));
    }

    /** A crash: no leadership hand-over, no flush. */
    public void kill(int i) throws IOException {
        Broker b = brokers.set(i, null);
        if (b != null) {
            b.halt();
        }
        closeChannel(i);
    }

    /** A graceful stop, as on SIGTERM. */
    public void stop(int i) throws IOException {
        Broker b = brokers.set(i, null);
        if (b != null) {
            b.close();
        }
        closeChannel(i);
    }

    public void restart(int i) throws IOException {
        if (brokers.get(i) != null) {
            throw new IllegalStateException("broker " + (i + 1) + " is running");
        }
        brokers.set(i, Broker.start(ServerConfig.of(configs.get(i))));
    }

    public synchronized ManagedChannel channel(int i) {
        return channels.computeIfAbsent(i, k -> NettyChannelBuilder.forAddress("127.0.0.1", grpcPort(k)).usePlaintext()
                .maxInboundMessageSize(64 * 1024 * 1024).build());
    }

    private synchronized void closeChannel(int i) {
        ManagedChannel ch = channels.remove(i);
        if (ch != null) {
            ch.shutdownNow();
        }
    }

    public ProduceServiceGrpc.ProduceServiceBlockingStub produce(int i) {
        return ProduceServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public FetchServiceGrpc.FetchServiceBlockingStub fetch(int i) {
        return FetchServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public MetadataServiceGrpc.MetadataServiceBlockingStub metadata(int i) {
        return MetadataServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public AdminServiceGrpc.AdminServiceBlockingStub admin(int i) {
        return AdminServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /**
     * Waits until broker {@code asking} reports a leader for every partition of {@code topic} and returns the
     * leaders' indexes, by partition.
     */
    public List<Integer> awaitLeaders(int asking, String topic, long timeoutMs) {
        List<Integer> leaders = new ArrayList<>();
        awaitTrue(() -> {
            MetadataResponse md = metadata(asking).getMetadata(MetadataRequest.newBuilder().addTopics(topic).build());
            TopicMetadata t = md.getTopics(0);
            if (t.getPartitionsCount() == 0) {
                return false;
            }
            leaders.clear();
            for (PartitionMetadata p : t.getPartitionsList()) {
                if (p.getLeaderId().isEmpty() || !isUp(indexOf(p.getLeaderId()))) {
                    return false;
                }
                // Known as leader and ready to take writes (Ratis: the first entry of its term is committed).
                var status = broker(indexOf(p.getLeaderId())).raftNode().status(new io.rafka.common.TopicPartition(topic, p.getPartition()));
                if (!status.isLeader()) {
                    return false;
                }
                leaders.add(indexOf(p.getLeaderId()));
            }
            return true;
        }, timeoutMs, "leaders of " + topic + " known to broker " + (asking + 1));
        return leaders;
    }

    public void awaitTrue(BooleanSupplier condition, long timeoutMs, String what) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        RuntimeException last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            MiniCluster.sleep(100);
        }
        throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what, last);
    }

    @Override
    public void close() throws IOException {
        for (int i = 0; i < brokers.size(); i++) {
            closeChannel(i);
        }
        // All at once: a broker's stop waits up to a second for each Raft log worker to notice it (Ratis's worker
        // polls its queue once a second), so stopping them one after the other costs every test seconds.
        List<CompletableFuture<Void>> stopping = new ArrayList<>();
        for (int i = 0; i < brokers.size(); i++) {
            Broker b = brokers.set(i, null);
            if (b == null) {
                continue;
            }
            stopping.add(CompletableFuture.runAsync(() -> {
                try {
                    b.halt();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, r -> new Thread(r, "broker-cluster-stop").start()));
        }
        IOException first = null;
        for (CompletableFuture<Void> f : stopping) {
            try {
                f.join();
            } catch (CompletionException e) {
                if (first == null) {
                    first = e.getCause() instanceof UncheckedIOException u ? u.getCause() : new IOException(e.getCause());
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
