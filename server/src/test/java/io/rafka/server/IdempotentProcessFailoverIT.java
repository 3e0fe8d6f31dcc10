package io.rafka.server;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.server.testing.PipelinedProducer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 12 point 8 on real processes: three brokers started by {@code bin/rafka cluster start}, an idempotent
 * producer pipelining five acks=all requests over {@code ProduceStream}, and, round after round, SIGKILL of the
 * partition leader's process the moment five batches are in flight to it, then its restart. The in-flight
 * batches are re-sent in order to the new leader; every request must be answered within the request timeout
 * (no wedge), and at the end the partition holds every acknowledged batch exactly once, in sequence order, at
 * the offset its acknowledgement named. Ports are moved by {@code RAFKA_PORT_BASE} so a developer's cluster on
 * the default ports is not disturbed.
 */
class IdempotentProcessFailoverIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final int PORT_BASE = 25000;   // node N: gRPC 25N92, HTTP 25N95
    private static final String TOPIC = "idem-process";
    private static final long REQUEST_TIMEOUT_MS = 5_000;
    private static final int KILLS = Integer.getInteger("idem.kills", 3);
    private static final int BATCHES_PER_ROUND = 30;

    @TempDir
    Path tmp;
    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        run(120, "cluster", "stop");
    }

    @Test
    void pipelinedIdempotentProducerSurvivesKillsOfTheLeadersProcess() throws Exception {
        run(180, "cluster", "start");
        for (int i = 0; i < 3; i++) {
            channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port(i, 2)).usePlaintext().build());
        }
        assertEquals(ErrorCode.NONE, AdminServiceGrpc.newBlockingStub(channels.get(0)).withDeadlineAfter(30, TimeUnit.SECONDS)
                .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder().setName(TOPIC)
                        .setPartitions(1).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
        PipelinedProducer producer = new PipelinedProducer(processes(), TOPIC, 7001, 5, 2 * REQUEST_TIMEOUT_MS);
        producer.produceUntil(BATCHES_PER_ROUND, -1);
        for (int kill = 0; kill < KILLS; kill++) {
            int leader = producer.leader(30_000);
            assertTrue(leader >= 0, "partition 0 has a leader before kill " + (kill + 1));
            producer.produceUntil(producer.acked().size() + BATCHES_PER_ROUND, leader);
            if (!isUp(leader)) {
                run(120, "cluster", "start", Integer.toString(leader + 1));
            }
            producer.produceUntil(producer.acked().size() + BATCHES_PER_ROUND, -1);
        }
        producer.assertLogHoldsExactlyTheAcknowledged(channels.get(producer.leader(30_000)));
        // A round whose leader moved before a full window was in flight to it kills nothing; not every round may.
        assertTrue(producer.crashes() >= 1, "no leader's process was killed");
        System.out.printf("%d batches acknowledged exactly once across %d kills of the leader's process%n",
                producer.acked().size(), producer.crashes());
    }

    private PipelinedProducer.Brokers processes() {
        return new PipelinedProducer.Brokers() {
            @Override
            public int size() {
                return 3;
            }

            @Override
            public boolean isUp(int broker) {
                return IdempotentProcessFailoverIT.this.isUp(broker);
            }

            @Override
            public int leader() {
                String says = "\"topic\": \"" + TOPIC + "\", \"partition\": 0, \"leader\": \"";
                int suggested = -1;
                for (int i = 0; i < 3; i++) {
                    try {
                        String status = isUp(i) ? httpGet(port(i, 5), "/status") : "";
                        if (status.contains(says + (i + 1) + "\", \"is_leader\": true")) {
                            return i;
                        }
                        // A hibernated partition has no leader until a write wakes it; clients send to the broker
                        // its metadata names, as here.
                        java.util.regex.Matcher m = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(says)
                                + "(\\d+)\", [^}]*\"hibernated\": true").matcher(status);
                        if (m.find()) {
                            suggested = Integer.parseInt(m.group(1)) - 1;
                        }
                    } catch (IOException e) {
                        // starting, or just killed
                    }
                }
                return suggested >= 0 && isUp(suggested) ? suggested : -1;
            }

            @Override
            public Channel channel(int broker) {
                return channels.get(broker);
            }

            @Override
            public void kill(int broker) {
                pid(broker).flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly);   // SIGKILL
                long deadline = System.currentTimeMillis() + 10_000;
                while (IdempotentProcessFailoverIT.this.isUp(broker) && System.currentTimeMillis() < deadline) {
                    MiniCluster.sleep(5);
                }
            }

            @Override
            public String describe() {
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < 3; i++) {
                    b.append("node ").append(i + 1).append(isUp(i) ? " (up)" : " (down)").append(" /status: ");
                    try {
                        b.append(httpGet(port(i, 5), "/status"));
                    } catch (IOException e) {
                        b.append(e).append('\n');
                    }
                    try {
                        List<String> log = Files.readAllLines(tmp.resolve("cluster/node-" + (i + 1) + ".log"));
                        b.append("last lines of its log:\n")
                                .append(String.join("\n", log.subList(Math.max(0, log.size() - 40), log.size()))).append('\n');
                    } catch (IOException e) {
                        b.append("no log: ").append(e).append('\n');
                    }
                }
                return b.toString();
            }
        };
    }

    /**
     * Whether the broker's process runs. Not {@link ProcessHandle#isAlive} alone: a killed broker is not this
     * JVM's child, and until init reaps it, it is a zombie that counts as alive (a round once skipped the restart
     * of a killed node that way and then killed the second of three).
     */
    private boolean isUp(int broker) {
        Optional<Long> pid = pid(broker);
        if (pid.flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false)) {
            try {
                String stat = Files.readString(Path.of("/proc/" + pid.get() + "/stat"));
                return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
            } catch (IOException | RuntimeException e) {
                return false;   // gone meanwhile
            }
        }
        return false;
    }

    private Optional<Long> pid(int broker) {
        try {
            return Optional.of(Long.parseLong(Files.readString(tmp.resolve("cluster/node-" + (broker + 1) + ".pid")).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static int port(int broker, int kind) {
        return PORT_BASE + (broker + 1) * 100 + 90 + kind;
    }

    private String run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("bin/rafka").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true);
        pb.environment().put("RAFKA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("RAFKA_CLUSTER_DIR", tmp.resolve("cluster").toString());
        pb.environment().put("RAFKA_PORT_BASE", Integer.toString(PORT_BASE));
        // C1 only: three broker JVMs and the test share two cores; C2 compiling in all of them slowed restarts (see ChaosIT).
        pb.environment().put("RAFKA_HEAP_OPTS", "-Xms64m -Xmx384m -XX:TieredStopAtLevel=1");
        // The request timeout the test holds brokers to: a batch unanswered past twice this is a wedge.
        pb.environment().put("RAFKA_REQUEST_TIMEOUT_MS", Long.toString(REQUEST_TIMEOUT_MS));
        Path out = Files.createTempFile(tmp, "run", ".txt");
        Process p = pb.redirectOutput(out.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bin/rafka " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s");
        }
        String output = Files.readString(out);
        assertEquals(0, p.exitValue(), "bin/rafka " + String.join(" ", args) + " failed:\n" + output);
        return output;
    }

    private static String httpGet(int port, String path) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
        c.setConnectTimeout(500);
        c.setReadTimeout(2_000);
        try (InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
