package io.rafka.server;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerIdentity;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.testing.MiniCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The local cluster as users run it: {@code bin/rafka cluster start} (three broker processes), produce with
 * acks=all while one node is killed with SIGKILL and later restarted, then read everything back: every
 * acknowledged record is present exactly once at its acknowledged offset, and the restarted node's
 * replicas catch up with the leaders.
 *
 * <p>The producer is idempotent (a producer id per partition, contiguous sequences), so retrying a request
 * whose answer was lost (the node died mid-call) cannot duplicate it; what it checks is the broker's
 * durability, not the client's retry luck.
 */
class ClusterProcessIT {
    private static final String TOPIC = "durable";
    private static final int PARTITIONS = 3;
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path clusterDir;
    private final Map<Integer, ManagedChannel> channels = new HashMap<>();

    /** One acknowledged record. */
    record Acked(int partition, long offset, String value) {
    }

    @AfterEach
    void stopCluster() throws Exception {
        channels.values().forEach(ManagedChannel::shutdownNow);
        run(120, "cluster", "stop");
    }

    private String run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("bin/rafka").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("RAFKA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("RAFKA_CLUSTER_DIR", clusterDir.toString());
        // C1 only: three broker JVMs and the test share two cores; C2 compiling in all of them slowed restarts (see ChaosIT).
        pb.environment().put("RAFKA_HEAP_OPTS", "-Xms64m -Xmx512m -XX:TieredStopAtLevel=1");
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bin/rafka " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "bin/rafka " + String.join(" ", args) + " failed:\n" + out);
        return out;
    }

    private ManagedChannel channel(int node) {
        return channels.computeIfAbsent(node, n -> NettyChannelBuilder.forAddress("127.0.0.1", 9092 + 100 * n).usePlaintext().build());
    }

    @Test
    void nothingAcknowledgedIsLostWhenANodeIsKilledAndRestarted() throws Exception {
        String started = run(180, "cluster", "start");
        assertTrue(started.contains("node 3: gRPC 127.0.0.1:9392"), started);
        createTopic();

        Producer producer = new Producer();
        producer.runFor(3_000);
        int victim = producer.leaderOf(0);
        String status = httpGet(9095 + 100 * victim, "/status");
        assertTrue(status.contains("\"topic\": \"" + TOPIC + "\", \"partition\": 0, \"leader\": \"" + victim + "\", \"is_leader\": true"),
                "metadata named node " + victim + " as the leader of partition 0; its own status says:\n" + status);
        // The clock starts when the process is gone (the kill command itself needs a bash start and polls for the
        // end); the client then retries as a Kafka producer would, metadata refresh included.
        ProcessHandle victimProcess = ProcessHandle.of(Long.parseLong(
                Files.readString(clusterDir.resolve("node-" + victim + ".pid")).trim())).orElseThrow();
        CompletableFuture<String> kill = CompletableFuture.supplyAsync(() -> {
            try {
                return run(60, "cluster", "kill", Integer.toString(victim));
            } catch (IOException | InterruptedException e) {
                throw new CompletionException(e);
            }
        });
        while (victimProcess.isAlive()) {
            Thread.sleep(2);
        }
        long killedNs = System.nanoTime();
        int before = producer.acked.size();
        producer.sendUntilAcked(0, "first-after-kill");
        long failoverMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedNs);
        kill.join();
        producer.runFor(6_000);
        int duringOutage = producer.acked.size() - before;
        String restarted = run(180, "cluster", "start", Integer.toString(victim));
        assertTrue(restarted.contains("node " + victim + ": gRPC"), restarted);
        producer.runFor(3_000);
        assertTrue(duringOutage > 20, "acks=all writes continued with a node down: " + duringOutage);

        for (int p = 0; p < PARTITIONS; p++) {
            checkPartition(p, producer);
        }
        System.out.printf("%d records acknowledged and read back, %d of them while node %d was killed; the first write "
                + "to partition 0 (led by the killed node, as far as the client knew) was acknowledged %d ms after the kill%n",
                producer.acked.size(), duringOutage, victim, failoverMs);
        assertTrue(run(30, "cluster", "status").contains("node " + victim + ": up"));
    }

    private void createTopic() {
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            try {
                var r = AdminServiceGrpc.newBlockingStub(channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder().setName(TOPIC)
                                .setPartitions(PARTITIONS).setReplicationFactor(3)).build());
                ErrorCode code = r.getResults(0).getErrorCode();
                if (code == ErrorCode.NONE || code == ErrorCode.TOPIC_ALREADY_EXISTS) {
                    return;
                }
                if (System.currentTimeMillis() > deadline) {
                    fail("create failed: " + r);
                }
            } catch (StatusRuntimeException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
            }
            MiniCluster.sleep(200);
        }
    }

    /** An idempotent acks=all producer that follows leaders and retries every retriable failure. */
    private final class Producer {
        final List<Acked> acked = new ArrayList<>();
        final long[] producerIds = {1001, 1002, 1003};
        final int[] nextSequence = new int[PARTITIONS];
        final int[] leaders = {1, 1, 1};
        int seq;

        void runFor(long ms) {
            long end = System.currentTimeMillis() + ms;
            while (System.currentTimeMillis() < end) {
                int partition = seq % PARTITIONS;
                String value = "v-" + seq;
                sendUntilAcked(partition, value);
                seq++;
            }
        }

        int leaderOf(int partition) {
            refreshLeaders();
            return leaders[partition];
        }

        private void sendUntilAcked(int partition, String value) {
            long deadline = System.currentTimeMillis() + 60_000;
            ProduceRequest request = ProduceRequest.newBuilder().setAcks(Acks.ACKS_ALL).addPartitions(PartitionData.newBuilder()
                    .setTopic(TOPIC).setPartition(partition).setRecords(RecordSet.newBuilder()
                            .setProducer(ProducerIdentity.newBuilder().setProducerId(producerIds[partition])
                                    .setBaseSequence(nextSequence[partition]))
                            .addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8(value))))).build();
            while (System.currentTimeMillis() < deadline) {
                try {
                    PartitionProduceResult r = ProduceServiceGrpc.newBlockingStub(channel(leaders[partition]))
                            .withDeadlineAfter(10, TimeUnit.SECONDS).produce(request).getResults(0);
                    if (r.getErrorCode() == ErrorCode.NONE) {
                        acked.add(new Acked(partition, r.getBaseOffset(), value));
                        nextSequence[partition]++;
                        return;
                    }
                    if (!io.rafka.common.ErrorCode.forCode(r.getErrorCodeValue()).retriable()) {
                        fail("non-retriable produce error: " + r);
                    }
                    if (r.hasLeader()) {
                        leaders[partition] = Integer.parseInt(r.getLeader().getId());
                        continue;
                    }
                } catch (StatusRuntimeException e) {
                    // the node is down or restarting: ask another one who leads
                }
                MiniCluster.sleep(100);
                refreshLeaders();
            }
            fail("record " + value + " was not acknowledged within 60 s");
        }

        private void refreshLeaders() {
            for (int node = 1; node <= 3; node++) {
                try {
                    MetadataResponse md = MetadataServiceGrpc.newBlockingStub(channel(node)).withDeadlineAfter(2, TimeUnit.SECONDS)
                            .getMetadata(MetadataRequest.newBuilder().addTopics(TOPIC).build());
                    for (PartitionMetadata pm : md.getTopics(0).getPartitionsList()) {
                        if (!pm.getLeaderId().isEmpty()) {
                            leaders[pm.getPartition()] = Integer.parseInt(pm.getLeaderId());
                        }
                    }
                    return;
                } catch (StatusRuntimeException e) {
                    // try the next node
                }
            }
        }
    }

    private void checkPartition(int partition, Producer producer) {
        TreeMap<Long, String> expected = new TreeMap<>();
        producer.acked.stream().filter(a -> a.partition() == partition).forEach(a -> {
            String previous = expected.put(a.offset(), a.value());
            if (previous != null) {
                fail("offset " + a.offset() + " of partition " + partition + " acknowledged twice: " + previous + ", " + a.value());
            }
        });
        Map<Long, String> stored = readAll(partition, producer);
        for (Map.Entry<Long, String> e : expected.entrySet()) {
            assertEquals(e.getValue(), stored.get(e.getKey()), "acknowledged record at offset " + e.getKey() + " of partition " + partition);
        }
        assertEquals(stored.size(), Set.copyOf(stored.values()).size(), "no record stored twice in partition " + partition);
        assertEquals(expected.size(), stored.size(), "partition " + partition + " holds exactly the acknowledged records");
    }

    private Map<Long, String> readAll(int partition, Producer producer) {
        Map<Long, String> stored = new TreeMap<>();
        long offset = 0;
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            int leader = producer.leaderOf(partition);
            PartitionFetchResult r;
            try {
                r = FetchServiceGrpc.newBlockingStub(channel(leader)).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                                .addPartitions(PartitionFetch.newBuilder().setTopic(TOPIC).setPartition(partition).setOffset(offset)).build())
                        .getResults(0);
            } catch (StatusRuntimeException e) {
                MiniCluster.sleep(200);
                continue;
            }
            if (r.getErrorCode() != ErrorCode.NONE) {
                MiniCluster.sleep(200);
                continue;
            }
            r.getRecordsList().forEach(c -> stored.put(c.getOffset(), c.getValue().toStringUtf8()));
            offset = r.getNextOffset();
            if (offset >= r.getHighWatermark()) {
                return stored;
            }
        }
        fail("could not read partition " + partition + " back within 60 s");
        return stored;
    }

    private static String httpGet(int port, String path) throws IOException {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create("http://127.0.0.1:" + port + path)
                .toURL().openConnection();
        try (java.io.InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
