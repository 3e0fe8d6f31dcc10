package io.rafka.client.perf;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Polls every broker's {@code /status} page and reports, per partition of one topic, the first poll at which a
 * broker says it leads the partition in a Raft term (leader epoch) not seen from it before: when a new leader
 * became visible. One thread per broker, so a dead broker's refused connections do not slow the others; the
 * time of an event is when the answer arrived (at most one interval plus one request after the change).
 */
final class LeaderWatch implements AutoCloseable {
    /** A broker reporting itself leader of a partition in a new epoch. */
    record LeaderEvent(long ms, String node, int partition, long epoch) {
    }

    private static final Pattern PARTITION = Pattern.compile(
            "\"topic\": \"([^\"]*)\", \"partition\": (\\d+), \"leader\": \"[^\"]*\", "
                    + "\"is_leader\": (true|false), \"leader_epoch\": (\\d+)");

    private final String topic;
    private final long intervalMs;
    private final Consumer<LeaderEvent> events;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    /** Starts watching {@code statusAddresses} (node id to {@code host:httpPort}). */
    LeaderWatch(String topic, Map<String, String> statusAddresses, long intervalMs, Consumer<LeaderEvent> events) {
        this.topic = topic;
        this.intervalMs = intervalMs;
        this.events = events;
        for (Map.Entry<String, String> e : statusAddresses.entrySet()) {
            Thread t = new Thread(() -> watch(e.getKey(), URI.create("http://" + e.getValue() + "/status")),
                    "leader-watch-" + e.getKey());
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    private void watch(String node, URI uri) {
        Set<String> seen = new HashSet<>();
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(1_000)).GET().build();
        while (running) {
            long started = System.currentTimeMillis();
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                long now = System.currentTimeMillis();
                if (response.statusCode() == 200) {
                    parse(node, response.body(), now, seen);
                }
            } catch (java.io.IOException e) {
                // Down or restarting: keep asking.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long sleep = started + intervalMs - System.currentTimeMillis();
            if (sleep > 0) {
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void parse(String node, String body, long now, Set<String> seen) {
        Matcher m = PARTITION.matcher(body);
        while (m.find()) {
            if (!m.group(1).equals(topic) || !m.group(3).equals("true")) {
                continue;
            }
            int partition = Integer.parseInt(m.group(2));
            long epoch = Long.parseLong(m.group(4));
            if (seen.add(partition + "/" + epoch)) {
                events.accept(new LeaderEvent(now, node, partition, epoch));
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.interrupt();
            t.join(2_000);
        }
    }
}
