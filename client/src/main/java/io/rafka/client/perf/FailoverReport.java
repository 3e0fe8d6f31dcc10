package io.rafka.client.perf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The failover benchmark's table: per kill and per partition the killed broker led, the time from the kill to
 * the partition's first acknowledgement by another broker, split into three parts that add up to it:
 * <ul>
 *   <li><b>elect</b>: kill to the first {@code /status} poll in which another broker reports itself leader of the
 *       partition in a new epoch (capped at the first ack: a poll may see it late). {@code is_leader} is true
 *       only once the leader is ready (the first entry of its term committed), so this is elected and ready;</li>
 *   <li><b>rediscover</b>: from then until the client sent the write that succeeded (0 when it had sent it before);</li>
 *   <li><b>ready → ack</b>: from the later of the two until the acknowledgement: the new leader taking the write.</li>
 * </ul>
 * <b>detect</b> (per kill, from the surviving brokers' logs, when the script found the line) is the time from
 * the kill to the failure detector's "refuses connections" message; it is part of elect.
 */
final class FailoverReport {
    /**
     * One kill: the partitions the killed node led just before, the detector's log time (-1: not found), how
     * long the restarted node took to answer /health and then to catch up, and how many appends the followers
     * refused meanwhile (rafka_raft_follower_refusals_total over the brokers, from the restart until caught up)
     * (-1: not known).
     */
    record Kill(int round, String node, long killMs, long detectMs, List<Integer> partitions, long healthyMs,
                long caughtUpMs, long refusals) {
        static Kill parse(String line) {
            String[] f = line.split("\t");
            List<Integer> partitions = new ArrayList<>();
            if (f.length > 4 && !f[4].isBlank()) {
                for (String p : f[4].split(",")) {
                    partitions.add(Integer.parseInt(p.trim()));
                }
            }
            return new Kill(Integer.parseInt(f[0]), f[1], Long.parseLong(f[2]), Long.parseLong(f[3]), partitions,
                    f.length > 5 ? Long.parseLong(f[5]) : -1, f.length > 6 ? Long.parseLong(f[6]) : -1,
                    f.length > 7 ? Long.parseLong(f[7]) : -1);
        }
    }

    /** One affected partition of one kill; -1 where a time was not observed. */
    record Row(Kill kill, int partition, String newLeader, long firstAck, long elect, long rediscover, long ready) {
    }

    private FailoverReport() {
    }

    static List<Row> rows(List<Kill> kills, List<ProbeWriter.Ack> acks, List<LeaderWatch.LeaderEvent> events,
                          Map<String, String> nodeOfGrpc) {
        List<Row> rows = new ArrayList<>();
        for (Kill k : kills) {
            for (int p : k.partitions()) {
                rows.add(row(k, p, acks, events, nodeOfGrpc));
            }
        }
        return rows;
    }

    private static Row row(Kill k, int p, List<ProbeWriter.Ack> acks, List<LeaderWatch.LeaderEvent> events,
                           Map<String, String> nodeOfGrpc) {
        ProbeWriter.Ack first = null;
        for (ProbeWriter.Ack a : acks) {
            if (a.partition() == p && a.ackMs() > k.killMs() && !k.node().equals(nodeOfGrpc.get(a.broker()))
                    && (first == null || a.ackMs() < first.ackMs())) {
                first = a;
            }
        }
        long elected = Long.MAX_VALUE;
        for (LeaderWatch.LeaderEvent e : events) {
            if (e.partition() == p && e.ms() > k.killMs() && !e.node().equals(k.node())) {
                elected = Math.min(elected, e.ms());
            }
        }
        if (first == null) {
            return new Row(k, p, "-", -1, elected == Long.MAX_VALUE ? -1 : elected - k.killMs(), -1, -1);
        }
        String leader = nodeOfGrpc.getOrDefault(first.broker(), first.broker());
        if (elected == Long.MAX_VALUE) {
            return new Row(k, p, leader, first.ackMs() - k.killMs(), -1, -1, -1);
        }
        long e = Math.min(elected, first.ackMs());
        return new Row(k, p, leader, first.ackMs() - k.killMs(), e - k.killMs(), Math.max(0, first.sendMs() - e),
                first.ackMs() - Math.max(e, first.sendMs()));
    }

    /** The Markdown table, the p50 / max lines and the read-back verdict. */
    static String render(List<Row> rows, FailoverProbe.Verification v, String title) {
        StringBuilder sb = new StringBuilder();
        sb.append(title).append("\n\n");
        sb.append("| round | killed node | partition | new leader | kill → first ack, ms | detect, ms"
                + " | kill → leader ready, ms | ready → first ack, ms | client rediscovery, ms |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append("| ").append(r.kill().round()).append(" | ").append(r.kill().node()).append(" | ").append(r.partition())
                    .append(" | ").append(r.newLeader()).append(" | ").append(ms(r.firstAck()))
                    .append(" | ").append(ms(r.kill().detectMs() < 0 ? -1 : r.kill().detectMs() - r.kill().killMs()))
                    .append(" | ").append(ms(r.elect())).append(" | ").append(ms(r.ready()))
                    .append(" | ").append(ms(r.rediscover())).append(" |\n");
        }
        sb.append("| **p50** | | ").append(rows.size()).append(" partitions | ").append(summaryCells(rows, false));
        sb.append("| **max** | | | ").append(summaryCells(rows, true));
        sb.append('\n');
        rows.stream().map(Row::kill).distinct().forEach(k -> sb.append("Round ").append(k.round()).append(": node ")
                .append(k.node()).append(" restarted: healthy after ").append(ms(k.healthyMs())).append(" ms, caught up ")
                .append(ms(k.caughtUpMs())).append(" ms later")
                .append(k.refusals() < 0 ? "" : ", " + k.refusals() + " appends refused by followers meanwhile")
                .append('\n'));
        long missing = rows.stream().filter(r -> r.firstAck() < 0).count();
        if (missing > 0) {
            sb.append("FAILED: ").append(missing).append(" affected partition(s) had no acknowledgement after the kill\n");
        }
        sb.append("Acknowledged-record check: ").append(v.acknowledged()).append(" records acknowledged, ")
                .append(v.readBack()).append(" of the probe's records read back; lost ").append(v.lost())
                .append(", duplicated ").append(v.duplicated()).append(v.ok() ? " (OK)" : " (FAILED)").append('\n');
        for (String problem : v.problems()) {
            sb.append("  ").append(problem).append('\n');
        }
        return sb.toString();
    }

    private static String summaryCells(List<Row> rows, boolean max) {
        return "| " + stat(rows, Row::firstAck, max) + " | " + statDetect(rows, max) + " | " + stat(rows, Row::elect, max)
                + " | " + stat(rows, Row::ready, max) + " | " + stat(rows, Row::rediscover, max) + " |\n";
    }

    private static String ms(long value) {
        return value < 0 ? "-" : Long.toString(value);
    }

    private static String stat(List<Row> rows, java.util.function.ToLongFunction<Row> f, boolean max) {
        return summarise(rows.stream().mapToLong(f).filter(x -> x >= 0).boxed().collect(Collectors.toList()), max);
    }

    private static String statDetect(List<Row> rows, boolean max) {
        return summarise(rows.stream().map(Row::kill).distinct().filter(k -> k.detectMs() >= 0)
                .map(k -> k.detectMs() - k.killMs()).collect(Collectors.toList()), max);
    }

    /** Nearest-rank median, or the maximum; "-" for no values. */
    static String summarise(List<Long> values, boolean max) {
        if (values.isEmpty()) {
            return "-";
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return Long.toString(max ? sorted.get(sorted.size() - 1) : sorted.get((sorted.size() + 1) / 2 - 1));
    }
}
