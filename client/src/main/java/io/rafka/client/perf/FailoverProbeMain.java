package io.rafka.client.perf;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The probe process of {@code bin/rafka bench failover} (bench/failover/failover.sh). It talks to the script
 * through files in {@code --dir}: it rewrites {@code last-ack} (one line per partition: the time of its latest
 * acknowledgement and the node that gave it) every 50 ms so the script can wait for every partition to be
 * written again after a kill; the script appends its kills to {@code kills.tsv} and creates {@code stop} when done. The probe then stops
 * writing, saves its raw logs ({@code acks.tsv}, {@code leaders.tsv}), reads every partition back, prints the
 * table on stdout and writes it to {@code --result}. Exit status 1 when a record was lost or duplicated, a
 * writer failed, or a partition was never written again after a kill.
 */
public final class FailoverProbeMain {
    private static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "partitions", "interval-ms",
            "status-interval-ms", "nodes", "dir", "result", "title");

    private FailoverProbeMain() {
    }

    public static void main(String[] args) throws Exception {
        Logger.getLogger("io.grpc").setLevel(Level.SEVERE);
        PerfArgs a = PerfArgs.parse(List.of(args), OPTIONS);
        Path dir = Path.of(a.required("dir"));
        Map<String, String> nodeOfGrpc = new LinkedHashMap<>();
        List<FailoverProbe.Node> nodes = new ArrayList<>();
        // --nodes 1=127.0.0.1:39192:39195,2=...: id = host : gRPC port : HTTP port
        for (String spec : a.required("nodes").split(",")) {
            String[] idAddress = spec.split("=", 2);
            String[] hostPorts = idAddress[1].split(":");
            FailoverProbe.Node n = new FailoverProbe.Node(idAddress[0], hostPorts[0] + ":" + hostPorts[1],
                    hostPorts[0] + ":" + hostPorts[2]);
            nodes.add(n);
            nodeOfGrpc.put(n.grpc(), n.id());
        }
        FailoverProbe.Options options = new FailoverProbe.Options(a.bootstrap(), a.required("topic"),
                a.intValue("partitions", 6), a.longValue("interval-ms", 20), a.longValue("status-interval-ms", 20),
                nodes);
        int status;
        try (FailoverProbe probe = FailoverProbe.start(options)) {
            RuntimeException failure = runUntilStopped(probe, dir, nodeOfGrpc);
            probe.stopWriters();
            saveRaw(probe, dir);
            FailoverProbe.Verification v = probe.verify();
            List<FailoverReport.Kill> kills = new ArrayList<>();
            Path killsFile = dir.resolve("kills.tsv");
            if (Files.exists(killsFile)) {
                for (String line : Files.readAllLines(killsFile)) {
                    if (!line.isBlank()) {
                        kills.add(FailoverReport.Kill.parse(line));
                    }
                }
            }
            List<FailoverReport.Row> rows = FailoverReport.rows(kills, probe.acks(), probe.leaderEvents(), nodeOfGrpc);
            String table = FailoverReport.render(rows, v, a.string("title", "Failover of real broker processes"));
            if (failure != null) {
                table += "FAILED: a writer stopped: " + failure + "\n";
            }
            System.out.print(table);
            System.out.flush();
            String result = a.string("result", "");
            if (!result.isEmpty()) {
                Files.writeString(Path.of(result), table);
            }
            boolean allAcked = rows.stream().allMatch(r -> r.firstAck() >= 0);
            status = v.ok() && failure == null && allAcked ? 0 : 1;
        }
        System.exit(status);
    }

    /** Publishes {@code last-ack} every 50 ms until the script asks to stop or a writer fails. */
    private static RuntimeException runUntilStopped(FailoverProbe probe, Path dir, Map<String, String> nodeOfGrpc)
            throws IOException, InterruptedException {
        Path lastAck = dir.resolve("last-ack");
        Path tmp = dir.resolve("last-ack.tmp");
        while (!Files.exists(dir.resolve("stop"))) {
            RuntimeException failure = probe.writerFailure();
            if (failure != null) {
                System.err.println("failover probe: a writer failed: " + failure);
                return failure;
            }
            StringBuilder sb = new StringBuilder();
            List<ProbeWriter.Ack> last = probe.lastAcks();
            for (int p = 0; p < last.size(); p++) {
                ProbeWriter.Ack a = last.get(p);
                sb.append(p).append('\t').append(a == null ? 0 : a.ackMs()).append('\t')
                        .append(a == null ? "-" : nodeOfGrpc.getOrDefault(a.broker(), a.broker())).append('\n');
            }
            Files.writeString(tmp, sb.toString());
            Files.move(tmp, lastAck, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Thread.sleep(50);
        }
        return null;
    }

    private static void saveRaw(FailoverProbe probe, Path dir) throws IOException {
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(dir.resolve("acks.tsv"), StandardCharsets.UTF_8))) {
            out.println("partition\tsequence\toffset\tsend_ms\tack_ms\tbroker");
            for (ProbeWriter.Ack ack : probe.acks()) {
                out.println(ack.partition() + "\t" + ack.sequence() + "\t" + ack.offset() + "\t" + ack.sendMs() + "\t"
                        + ack.ackMs() + "\t" + ack.broker());
            }
        }
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(dir.resolve("leaders.tsv"), StandardCharsets.UTF_8))) {
            out.println("ms\tnode\tpartition\tepoch");
            for (LeaderWatch.LeaderEvent e : probe.leaderEvents()) {
                out.println(e.ms() + "\t" + e.node() + "\t" + e.partition() + "\t" + e.epoch());
            }
        }
    }
}
