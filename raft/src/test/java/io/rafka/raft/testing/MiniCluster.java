package io.rafka.raft.testing;

import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.raft.Acks;
import io.rafka.raft.AppendResult;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.PartitionSpec;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;
import io.rafka.raft.RaftNodeConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * N in-process Raft nodes on loopback ports, each with its own data folder, that tests can kill (a crash:
 * no flush, no snapshot), restart and wipe. Shared by the raft and server modules' tests.
 *
 * <pre>{@code
 * try (MiniCluster cluster = MiniCluster.start(3, tempDir)) {
 *     TopicPartition tp = cluster.createPartition("orders", 0, 3);
 *     AppendResult r = cluster.append(tp, batch, Acks.ALL);
 *     cluster.kill(cluster.leaderIndex(tp));
 * }
 * }</pre>
 */
public final class MiniCluster implements AutoCloseable {
    private final List<RaftNodeConfig> configs = new ArrayList<>();
    private final RaftNode[] nodes;
    private final List<PartitionSpec> partitions = new ArrayList<>();

    private MiniCluster(List<RaftNodeConfig> configs) {
        this.configs.addAll(configs);
        this.nodes = new RaftNode[configs.size()];
    }

    public static MiniCluster start(int n, Path baseDir) throws IOException {
        return start(n, baseDir, UnaryOperator.identity());
    }

    /** Starts {@code n} nodes; {@code customize} adjusts each node's config (tests shrink thresholds and timeouts). */
    public static MiniCluster start(int n, Path baseDir, UnaryOperator<RaftNodeConfig.Builder> customize) throws IOException {
        List<RaftNodeConfig> configs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            NodeAddress address = new NodeAddress("n" + i, "127.0.0.1", freePort());
            configs.add(customize.apply(RaftNodeConfig.builder(address, baseDir.resolve("node-" + i))).build());
        }
        MiniCluster cluster = new MiniCluster(configs);
        for (int i = 0; i < n; i++) {
            cluster.restart(i);
        }
        return cluster;
    }

    /**
     * Test ports come from here, below Linux's ephemeral range (32768-60999) and apart from the benches' bases. When
     * Failsafe runs test classes in several JVMs at once ({@code rafka.test.forks}, each told its number, 1-based, in
     * {@code rafka.test.fork}: raft/pom.xml), each takes its own slice, so one JVM never binds a port another's
     * stopped node will start on again.
     */
    private static final int FORKS = Math.max(1, Integer.getInteger("rafka.test.forks", 1));
    private static final int PORT_RANGE_SIZE = 11_000 / FORKS;
    private static final int PORT_RANGE_START = 10_000
            + PORT_RANGE_SIZE * Math.floorMod(Integer.getInteger("rafka.test.fork", 1) - 1, FORKS);
    private static final AtomicInteger NEXT_PORT = new AtomicInteger((int) (ProcessHandle.current().pid() * 7919 % PORT_RANGE_SIZE));

    /**
     * A free loopback port (test helper). Not one the kernel picks for port 0: that comes from the ephemeral range,
     * where the kernel also picks the local ports of outgoing connections, so a node restarted on its old port
     * could find a client socket sitting on it (Ratis then exits the JVM: "Failed to start Grpc server"). Each JVM
     * walks the range from its own starting point and skips ports it cannot bind.
     */
    public static int freePort() throws IOException {
        for (int attempt = 0; attempt < PORT_RANGE_SIZE; attempt++) {
            int port = PORT_RANGE_START + Math.floorMod(NEXT_PORT.getAndIncrement(), PORT_RANGE_SIZE);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
                return port;
            } catch (IOException inUse) {
                // taken: try the next one
            }
        }
        throw new IOException("no free loopback port in " + PORT_RANGE_START + ".." + (PORT_RANGE_START + PORT_RANGE_SIZE - 1));
    }

    public int size() {
        return nodes.length;
    }

    public RaftNode node(int i) {
        RaftNode node = nodes[i];
        if (node == null) {
            throw new IllegalStateException("node " + i + " is down");
        }
        return node;
    }

    public boolean isUp(int i) {
        return nodes[i] != null;
    }

    public Path dataDir(int i) {
        return configs.get(i).dataDir();
    }

    public List<NodeAddress> addresses() {
        return configs.stream().map(RaftNodeConfig::address).toList();
    }

    /** Creates a partition with {@code replicationFactor} replicas on nodes 0.. (rotated by partition) and waits for a leader. */
    public TopicPartition createPartition(String topic, int partition, int replicationFactor) {
        List<NodeAddress> all = addresses();
        List<NodeAddress> replicas = new ArrayList<>();
        for (int j = 0; j < replicationFactor; j++) {
            replicas.add(all.get((partition + j) % all.size()));
        }
        PartitionSpec spec = new PartitionSpec(new TopicPartition(topic, partition), UUID.nameUUIDFromBytes(topic.getBytes()), replicas);
        partitions.add(spec);
        List<CompletableFuture<Void>> adds = new ArrayList<>();
        for (NodeAddress a : replicas) {
            int i = all.indexOf(a);
            if (isUp(i)) {
                adds.add(node(i).createPartition(spec));
            }
        }
        CompletableFuture.allOf(adds.toArray(CompletableFuture[]::new)).join();
        return spec.topicPartition();
    }

    /** Creates partitions that start hibernated (no Raft group until the first write), as a broker creates new topics. */
    public List<TopicPartition> createHibernatedPartitions(String topic, int count, int replicationFactor) {
        List<NodeAddress> all = addresses();
        List<TopicPartition> created = new ArrayList<>();
        for (int p = 0; p < count; p++) {
            PartitionSpec spec = placed(topic, p, replicationFactor);
            partitions.add(spec);
            created.add(spec.topicPartition());
            for (NodeAddress a : spec.replicas()) {
                int i = all.indexOf(a);
                if (isUp(i)) {
                    node(i).createPartition(spec, true).join();
                }
            }
        }
        return created;
    }

    /** Partition {@code p} of {@code topic} on nodes p, p+1, ... (modulo the cluster size). */
    private PartitionSpec placed(String topic, int p, int replicationFactor) {
        List<NodeAddress> all = addresses();
        List<NodeAddress> replicas = new ArrayList<>();
        for (int j = 0; j < replicationFactor; j++) {
            replicas.add(all.get((p + j) % all.size()));
        }
        return new PartitionSpec(new TopicPartition(topic, p), UUID.nameUUIDFromBytes(topic.getBytes()), replicas);
    }

    /** Creates {@code count} partitions of a topic at once (all group additions in flight together). */
    public List<TopicPartition> createPartitions(String topic, int count, int replicationFactor) {
        return createPartitions(topic, 0, count, replicationFactor);
    }

    /** Creates partitions {@code first .. first+count-1} of a topic at once. */
    public List<TopicPartition> createPartitions(String topic, int first, int count, int replicationFactor) {
        List<NodeAddress> all = addresses();
        List<CompletableFuture<Void>> adds = new ArrayList<>();
        List<TopicPartition> created = new ArrayList<>();
        for (int p = first; p < first + count; p++) {
            PartitionSpec spec = placed(topic, p, replicationFactor);
            partitions.add(spec);
            created.add(spec.topicPartition());
            for (NodeAddress a : spec.replicas()) {
                int i = all.indexOf(a);
                if (isUp(i)) {
                    adds.add(node(i).createPartition(spec));
                }
            }
        }
        CompletableFuture.allOf(adds.toArray(CompletableFuture[]::new)).join();
        return created;
    }

    public PartitionSpec spec(TopicPartition tp) {
        return partitions.stream().filter(s -> s.topicPartition().equals(tp)).findFirst().orElseThrow();
    }

    /** Indexes of the nodes hosting {@code tp}. */
    public List<Integer> replicaIndexes(TopicPartition tp) {
        List<NodeAddress> all = addresses();
        return spec(tp).replicas().stream().map(all::indexOf).toList();
    }

    /**
     * Waits (up to {@code timeoutMs}) until a live replica of {@code tp} leads and is ready; returns its index. A
     * partition hibernated on every live replica has no leader: then the replica its status suggests (a write
     * there wakes the group).
     */
    public int leaderIndex(TopicPartition tp, long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadline) {
            int hibernated = 0;
            int up = 0;
            String suggested = null;
            for (int i : replicaIndexes(tp)) {
                if (isUp(i)) {
                    try {
                        PartitionStatus s = node(i).status(tp);
                        up++;
                        if (s.isLeader()) {
                            return i;
                        }
                        if (s.hibernated()) {
                            hibernated++;
                            suggested = s.leaderId().orElse(null);
                        }
                    } catch (RafkaException e) {
                        // Not running yet.
                    }
                }
            }
            if (hibernated == up && suggested != null) {
                int index = indexOf(suggested);
                if (index >= 0 && isUp(index)) {
                    return index;
                }
            }
            sleep(20);
        }
        throw new IllegalStateException("no leader for " + tp + " within " + timeoutMs + " ms");
    }

    private int indexOf(String nodeId) {
        List<NodeAddress> all = addresses();
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).id().equals(nodeId)) {
                return i;
            }
        }
        return -1;
    }

    public int leaderIndex(TopicPartition tp) {
        return leaderIndex(tp, 30_000);
    }

    /**
     * Appends through whichever node leads, retrying retriable errors (no leader, not leader, busy, timeout)
     * with the same bytes until {@code timeoutMs} passes. Use idempotent batches when retries must not duplicate.
     */
    public AppendResult append(TopicPartition tp, ByteBuffer batch, Acks acks, long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        RafkaException last = null;
        while (System.nanoTime() < deadline) {
            int leader;
            try {
                leader = leaderIndex(tp, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (IllegalStateException e) {
                break;
            }
            try {
                return node(leader).append(tp, batch.duplicate(), acks).join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RafkaException r && (r.retriable() || r instanceof NotLeaderException)) {
                    last = r;
                    sleep(20);
                    continue;
                }
                throw e;
            } catch (IllegalStateException e) {
                // The node went down between the leader lookup and the append.
                sleep(20);
            }
        }
        throw new IllegalStateException("append to " + tp + " did not succeed within " + timeoutMs + " ms", last);
    }

    public AppendResult append(TopicPartition tp, ByteBuffer batch, Acks acks) {
        return append(tp, batch, acks, 60_000);
    }

    /** Waits until every live replica of {@code tp} has applied up to {@code offset}. */
    public void awaitReplicated(TopicPartition tp, long offset, long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            boolean all = true;
            for (int i : replicaIndexes(tp)) {
                if (isUp(i)) {
                    PartitionStatus s;
                    try {
                        s = node(i).status(tp);
                    } catch (RafkaException e) {
                        all = false;
                        continue;
                    }
                    all &= s.highWatermark() >= offset;
                }
            }
            if (all) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("replicas of " + tp + " did not reach offset " + offset + ": " + statuses(tp));
            }
            sleep(20);
        }
    }

    /** Each replica's status of {@code tp} (or why it has none), for a failure's message. */
    private String statuses(TopicPartition tp) {
        StringBuilder out = new StringBuilder();
        for (int i : replicaIndexes(tp)) {
            out.append(out.isEmpty() ? "" : "; ").append("node ").append(i).append(": ");
            if (!isUp(i)) {
                out.append("down");
                continue;
            }
            try {
                out.append(node(i).status(tp));
            } catch (RafkaException e) {
                out.append(e);
            }
        }
        return out.toString();
    }

    /** Crashes node {@code i}: no flush, no snapshot, no clean-shutdown marker. */
    public void kill(int i) {
        try {
            node(i).halt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            nodes[i] = null;
        }
    }

    /** Stops node {@code i} cleanly. */
    public void stop(int i) {
        try {
            node(i).close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            nodes[i] = null;
        }
    }

    /** Starts node {@code i} again on its old port and data folder (or a fresh one after {@link #wipe}). */
    public void restart(int i) {
        if (nodes[i] != null) {
            throw new IllegalStateException("node " + i + " is up");
        }
        try {
            nodes[i] = RaftNode.start(configs.get(i));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a stopped node's data folder, as a replaced disk would leave it. */
    public void wipe(int i) {
        if (nodes[i] != null) {
            throw new IllegalStateException("stop node " + i + " before wiping it");
        }
        Path dir = dataDir(i);
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Re-adds every partition this cluster created that node {@code i} should host (after a wipe). */
    public void recreatePartitionsOn(int i) {
        NodeAddress me = configs.get(i).address();
        for (PartitionSpec spec : partitions) {
            if (spec.replicas().contains(me)) {
                node(i).createPartition(spec).join();
            }
        }
    }

    /** Sleeps, turning an interrupt into an unchecked failure (test helper). */
    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Stops every node that is up, all at once: a node's stop waits up to a second for each Raft log worker to
     * notice it (Ratis's worker polls its queue once a second), so stopping them one after the other costs each
     * test up to that second per node.
     */
    @Override
    public void close() {
        List<Thread> stopping = new ArrayList<>();
        for (int i = 0; i < nodes.length; i++) {
            RaftNode node = nodes[i];
            nodes[i] = null;
            if (node != null) {
                Thread t = new Thread(() -> {
                    try {
                        node.close();
                    } catch (IOException | RuntimeException e) {
                        // Best effort.
                    }
                }, "mini-cluster-stop-" + i);
                t.start();
                stopping.add(t);
            }
        }
        for (Thread t : stopping) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** An error code of a failed future, for assertions. */
    public static ErrorCode errorOf(Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return c instanceof RafkaException r ? r.errorCode() : ErrorCode.UNKNOWN_SERVER_ERROR;
    }
}
