package io.rafka.client.perf;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.TopicMetadata;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One topic's partition leaders (as {@code host:port}) and the channels to them. Leaders come from
 * {@code GetMetadata} (asked of the bootstrap broker, then of every broker seen) and from the leader named in a
 * NOT_LEADER answer, which is fresher than any metadata. Counts how often a partition's leader changed while
 * the tool ran, so a benchmark can say whether leaderships moved under it. Thread-safe.
 */
final class LeaderTable implements AutoCloseable {
    /** Largest response a fetch may bring: the broker returns at least one whole batch even when larger. */
    static final int MAX_INBOUND_MESSAGE_BYTES = 96 * 1024 * 1024;

    private final String bootstrap;
    private final String topic;
    private final Map<String, ManagedChannel> channels = new HashMap<>();
    private final Set<String> brokers = new LinkedHashSet<>();
    private final Map<Integer, String> leaders = new HashMap<>();
    private int partitionCount;
    private long leaderChanges;

    LeaderTable(String bootstrap, String topic) {
        this.bootstrap = bootstrap;
        this.topic = topic;
    }

    /**
     * Asks for fresh metadata until every partition has a leader, for up to {@code timeoutMs}.
     *
     * @throws PerfException when the topic does not exist or no broker answered in time
     */
    void refresh(long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        RuntimeException last = null;
        do {
            try {
                if (refreshOnce()) {
                    return;
                }
                last = new PerfException("topic " + topic + ": not every partition has a leader yet");
            } catch (RuntimeException e) {
                if (e instanceof PerfException p && p.fatal()) {
                    throw p;
                }
                last = e;
            }
            sleepMs(200);
        } while (System.nanoTime() < deadline);
        throw new PerfException("no usable metadata for topic " + topic + " after " + timeoutMs + " ms: " + last, last);
    }

    /**
     * One GetMetadata, without waiting: returns whether every partition has a known leader. A client waiting
     * for one partition's new leader asks again at once rather than sleeping as {@link #refresh} does.
     *
     * @throws RuntimeException when no broker answered
     */
    boolean refreshOnce() {
        List<String> candidates;
        synchronized (this) {
            candidates = new ArrayList<>();
            candidates.add(bootstrap);
            candidates.addAll(brokers);
        }
        RuntimeException failure = null;
        for (String address : new LinkedHashSet<>(candidates)) {
            MetadataResponse response;
            try {
                response = MetadataServiceGrpc.newBlockingStub(channel(address))
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getMetadata(MetadataRequest.newBuilder().addTopics(topic).build());
            } catch (RuntimeException e) {
                failure = e;
                continue;
            }
            return apply(response);
        }
        throw failure;
    }

    private synchronized boolean apply(MetadataResponse response) {
        Map<String, String> addresses = new LinkedHashMap<>();
        for (Broker b : response.getBrokersList()) {
            addresses.put(b.getId(), address(b));
            brokers.add(address(b));
        }
        TopicMetadata t = response.getTopicsList().stream().filter(x -> x.getName().equals(topic)).findFirst()
                .orElseThrow(() -> new PerfException("topic " + topic + " is not in the metadata"));
        if (t.getErrorCode() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || t.getErrorCode() == ErrorCode.INVALID_TOPIC) {
            throw new PerfException(t.getErrorCode() + ": topic " + topic + ": " + t.getErrorMessage(), true);
        }
        partitionCount = Math.max(partitionCount, t.getPartitionsCount());
        boolean complete = t.getPartitionsCount() > 0;
        for (PartitionMetadata p : t.getPartitionsList()) {
            String leader = p.getLeaderId().isEmpty() ? null : addresses.get(p.getLeaderId());
            if (leader == null) {
                complete = false;
            } else {
                setLeader(p.getPartition(), leader);
            }
        }
        return complete;
    }

    /** Follows the leader a NOT_LEADER answer named; false when it named none (then refresh). */
    synchronized boolean hint(int partition, boolean hasLeader, Broker leader) {
        if (!hasLeader || leader.getHost().isEmpty() || leader.getPort() <= 0) {
            return false;
        }
        setLeader(partition, address(leader));
        return true;
    }

    private void setLeader(int partition, String address) {
        String before = leaders.put(partition, address);
        if (before != null && !before.equals(address)) {
            leaderChanges++;
        }
    }

    synchronized String leader(int partition) {
        return leaders.get(partition);
    }

    synchronized int partitionCount() {
        return partitionCount;
    }

    synchronized long leaderChanges() {
        return leaderChanges;
    }

    synchronized ManagedChannel channel(String address) {
        return channels.computeIfAbsent(address, a -> {
            int colon = a.lastIndexOf(':');
            return ManagedChannelBuilder.forAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)))
                    .usePlaintext()
                    .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                    .build();
        });
    }

    private static String address(Broker b) {
        return b.getHost() + ":" + b.getPort();
    }

    static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PerfException("interrupted", e);
        }
    }

    @Override
    public void close() {
        List<ManagedChannel> all;
        synchronized (this) {
            all = new ArrayList<>(channels.values());
            channels.clear();
        }
        for (ManagedChannel c : all) {
            c.shutdown();
        }
        for (ManagedChannel c : all) {
            try {
                if (!c.awaitTermination(2, TimeUnit.SECONDS)) {
                    c.shutdownNow();
                }
            } catch (InterruptedException e) {
                c.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }
}
