package io.rafka.server.group;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CommitOffsetsRequest;
import io.rafka.proto.v1.CommitOffsetsResponse;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchOffsetsRequest;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.FindCoordinatorRequest;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.HeartbeatRequest;
import io.rafka.proto.v1.HeartbeatResponse;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.TopicPartitions;
import io.rafka.server.grpc.ApiErrors;
import io.rafka.server.testing.BrokerCluster;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A group member written against the raw gRPC API, as a client in any language would be: a Heartbeat stream to
 * the coordinator, fetches from partition leaders, commits after each fetch, and on revocation: stop, commit,
 * report released. Every partition it starts or stops consuming is reported to an {@link OwnershipChecker}, and
 * every record it consumes to a {@link Consumed} log, so a test can check the group's guarantees from outside.
 */
final class TestMember implements Closeable {
    private final String name;
    private final BrokerCluster cluster;
    private final String group;
    private final List<String> topics;
    private final String pattern;
    private final OwnershipChecker checker;
    private final Consumed consumed;
    private final Object lock = new Object();
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    private final Map<TopicPartition, Integer> leaders = new HashMap<>();
    /** What the coordinator accepted per partition; a failed commit is retried on the next poll. */
    private final Map<TopicPartition, Long> acked = new HashMap<>();
    private ManagedChannel channel;
    private StreamObserver<HeartbeatRequest> stream;
    private String memberId = "";
    private int epoch;
    private volatile boolean running = true;
    /** A hung process: it neither consumes nor heartbeats, but its connection stays open. */
    private volatile boolean hung;
    private final String instanceId;
    private final int sessionTimeoutMs;
    private final Thread poller;
    private final Thread heartbeater;

    TestMember(String name, BrokerCluster cluster, String group, List<String> topics, String pattern,
               OwnershipChecker checker, Consumed consumed) {
        this(name, cluster, group, topics, pattern, checker, consumed, "", 10_000);
    }

    TestMember(String name, BrokerCluster cluster, String group, List<String> topics, String pattern,
               OwnershipChecker checker, Consumed consumed, String instanceId, int sessionTimeoutMs) {
        this.instanceId = instanceId;
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.name = name;
        this.cluster = cluster;
        this.group = group;
        this.topics = topics;
        this.pattern = pattern;
        this.checker = checker;
        this.consumed = consumed;
        connect();
        poller = new Thread(this::pollLoop, "member-" + name + "-poll");
        heartbeater = new Thread(this::heartbeatLoop, "member-" + name + "-heartbeat");
        poller.start();
        heartbeater.start();
    }

    String memberId() {
        synchronized (lock) {
            return memberId;
        }
    }

    int epoch() {
        synchronized (lock) {
            return epoch;
        }
    }

    Set<TopicPartition> owned() {
        synchronized (lock) {
            return new HashSet<>(positions.keySet());
        }
    }

    /** Finds the coordinator and opens a stream there: a join (epoch 0) or a resume. Gives up after 30 s. */
    private void connect() {
        long deadline = System.currentTimeMillis() + 30_000;
        while (running && System.currentTimeMillis() < deadline) {
            for (int i = 0; i < cluster.size(); i++) {
                if (!cluster.isUp(i)) {
                    continue;
                }
                try {
                    var c = GroupServiceGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(group).build()).getCoordinator();
                    if (!cluster.isUp(BrokerCluster.indexOf(c.getId()))) {
                        break;
                    }
                    synchronized (lock) {
                        if (!running) {
                            return;
                        }
                        if (channel != null) {
                            channel.shutdownNow();
                        }
                        channel = NettyChannelBuilder.forAddress("127.0.0.1", c.getPort()).usePlaintext().build();
                        stream = GroupServiceGrpc.newStub(channel).heartbeat(new Responses());
                        sendHeartbeat();
                    }
                    return;
                } catch (StatusRuntimeException e) {
                    // no coordinator yet, or this broker is going: try the next
                }
            }
            sleep(100);
        }
    }

    private void sendHeartbeat() {
        HeartbeatRequest.Builder b = HeartbeatRequest.newBuilder().setGroupId(group).setMemberId(memberId)
                .setMemberEpoch(epoch).addAllSubscribedTopics(topics).setSubscribedPattern(pattern)
                .setClientId(name).setSessionTimeoutMs(sessionTimeoutMs).setInstanceId(instanceId);
        Map<String, TopicPartitions.Builder> owned = new HashMap<>();
        for (TopicPartition tp : positions.keySet()) {
            owned.computeIfAbsent(tp.topic(), t -> TopicPartitions.newBuilder().setTopic(t)).addPartitions(tp.partition());
        }
        owned.values().forEach(t -> b.addOwned(t));
        stream.onNext(b.build());
    }

    private final class Responses implements StreamObserver<HeartbeatResponse> {
        @Override
        public void onNext(HeartbeatResponse r) {
            synchronized (lock) {
                if (stream == null || !running || hung) {
                    return;
                }
                memberId = r.getMemberId();
                epoch = r.getMemberEpoch();
                Set<TopicPartition> assigned = new HashSet<>();
                for (TopicPartitions t : r.getAssignmentList()) {
                    t.getPartitionsList().forEach(p -> assigned.add(new TopicPartition(t.getTopic(), p)));
                }
                for (TopicPartition tp : new ArrayList<>(positions.keySet())) {
                    if (!assigned.contains(tp)) {
                        commit(Map.of(tp, positions.get(tp)));
                        positions.remove(tp);
                        checker.release(name, tp);
                    }
                }
                List<TopicPartition> added = new ArrayList<>();
                for (TopicPartition tp : assigned) {
                    if (!positions.containsKey(tp)) {
                        added.add(tp);
                    }
                }
                if (!added.isEmpty()) {
                    Map<TopicPartition, Long> committed = committed(added);
                    for (TopicPartition tp : added) {
                        checker.acquire(name, tp);
                        positions.put(tp, committed.getOrDefault(tp, 0L));
                    }
                }
                sendHeartbeat();
            }
        }

        @Override
        public void onError(Throwable t) {
            String code = t instanceof StatusRuntimeException s && s.getTrailers() != null
                    ? s.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER) : null;
            new Thread(() -> recover(code), "member-" + name + "-recover").start();
        }

        @Override
        public void onCompleted() {
        }
    }

    /** After the stream failed: fenced → drop everything and join again; else find the coordinator and resume. */
    private void recover(String code) {
        synchronized (lock) {
            if (!running || hung) {
                return;
            }
            stream = null;
            boolean fenced = code != null && (Integer.parseInt(code) == ErrorCode.UNKNOWN_MEMBER_ID_VALUE
                    || Integer.parseInt(code) == ErrorCode.FENCED_MEMBER_EPOCH_VALUE);
            if (fenced) {
                for (TopicPartition tp : new ArrayList<>(positions.keySet())) {
                    checker.release(name, tp);
                }
                positions.clear();
                memberId = "";
                epoch = 0;
            }
        }
        sleep(50);
        connect();
    }

    private Map<TopicPartition, Long> committed(List<TopicPartition> partitions) {
        FetchOffsetsRequest.Builder b = FetchOffsetsRequest.newBuilder().setGroupId(group);
        partitions.forEach(tp -> b.addPartitions(TopicPartitions.newBuilder().setTopic(tp.topic()).addPartitions(tp.partition())));
        Map<TopicPartition, Long> result = new HashMap<>();
        try {
            for (var o : GroupServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .fetchOffsets(b.build()).getOffsetsList()) {
                result.put(new TopicPartition(o.getTopic(), o.getPartition()), Math.max(0, o.getOffset()));
            }
        } catch (StatusRuntimeException e) {
            // the coordinator moved: start from 0 (earliest); duplicates at worst, and the checker allows none
            // here, so this shows up if it happens
        }
        return result;
    }

    private void commit(Map<TopicPartition, Long> offsets) {
        if (offsets.isEmpty() || channel == null) {
            return;
        }
        CommitOffsetsRequest.Builder b = CommitOffsetsRequest.newBuilder().setGroupId(group).setMemberId(memberId)
                .setMemberEpoch(epoch);
        offsets.forEach((tp, o) -> b.addOffsets(OffsetCommit.newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).setOffset(o)));
        try {
            CommitOffsetsResponse r = GroupServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .commitOffsets(b.build());
            r.getResultsList().forEach(p -> {
                if (p.getErrorCode() == ErrorCode.NONE) {
                    TopicPartition tp = new TopicPartition(p.getTopic(), p.getPartition());
                    consumed.committed(tp, offsets.get(tp));
                    acked.merge(tp, offsets.get(tp), Math::max);
                }
            });
        } catch (StatusRuntimeException e) {
            // fenced, stale or the coordinator moved: the next commit (or the next owner) covers it
        }
    }

    private void pollLoop() {
        while (running) {
            if (hung) {
                sleep(20);
                continue;
            }
            List<TopicPartition> mine;
            synchronized (lock) {
                mine = new ArrayList<>(positions.keySet());
            }
            if (mine.isEmpty()) {
                sleep(20);
                continue;
            }
            for (TopicPartition tp : mine) {
                pollOne(tp);
            }
            sleep(5);
        }
    }

    private void pollOne(TopicPartition tp) {
        long position;
        synchronized (lock) {
            Long p = positions.get(tp);
            if (p == null || !running) {
                return;
            }
            position = p;
        }
        PartitionFetchResult r = fetch(tp, position);
        if (r == null || r.getErrorCode() != ErrorCode.NONE) {
            return;
        }
        synchronized (lock) {
            Long p = positions.get(tp);
            if (p == null || p != position || !running) {
                return; // released meanwhile: what was fetched is not consumed
            }
            long next = position;
            for (ConsumerRecord rec : r.getRecordsList()) {
                if (rec.getOffset() >= position) {
                    consumed.record(name, tp, rec.getOffset());
                    next = rec.getOffset() + 1;
                }
            }
            positions.put(tp, next);
            if (next > acked.getOrDefault(tp, -1L)) {
                commit(Map.of(tp, next));
            }
        }
    }

    private PartitionFetchResult fetch(TopicPartition tp, long offset) {
        Integer leader = leaders.get(tp);
        for (int attempt = 0; attempt < cluster.size(); attempt++) {
            int i = leader != null ? leader : attempt;
            if (!cluster.isUp(i)) {
                leader = null;
                continue;
            }
            try {
                FetchResponse resp = FetchServiceGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .fetch(FetchRequest.newBuilder().setMaxWaitMs(50).addPartitions(PartitionFetch.newBuilder()
                                .setTopic(tp.topic()).setPartition(tp.partition()).setOffset(offset)).build());
                PartitionFetchResult r = resp.getResults(0);
                if (r.getErrorCode() == ErrorCode.NOT_LEADER) {
                    leaders.remove(tp);
                    leader = r.hasLeader() && !r.getLeader().getId().isEmpty() ? BrokerCluster.indexOf(r.getLeader().getId()) : null;
                    continue;
                }
                leaders.put(tp, i);
                return r;
            } catch (StatusRuntimeException e) {
                leaders.remove(tp);
                leader = null;
            }
        }
        return null;
    }

    private void heartbeatLoop() {
        while (running) {
            sleep(500);
            synchronized (lock) {
                if (running && stream != null && !hung) {
                    try {
                        sendHeartbeat();
                    } catch (RuntimeException e) {
                        // the stream is failing; Responses.onError recovers
                    }
                }
            }
        }
    }

    /**
     * A hang (a stop-the-world pause, a deadlock): no more heartbeats or fetches, the connection stays open. The
     * test side counts its partitions as no longer consumed from now (what a hung process consumes is nothing).
     */
    void hang() {
        synchronized (lock) {
            hung = true;
            positions.keySet().forEach(tp -> checker.release(name, tp));
        }
    }

    /** A static member's restart: leaves with epoch -2 (keeping its partitions for its session) and stops. */
    void leaveTemporarily() {
        synchronized (lock) {
            running = false;
            commit(new HashMap<>(positions));
            positions.keySet().forEach(tp -> checker.release(name, tp));
            positions.clear();
            if (stream != null) {
                stream.onNext(HeartbeatRequest.newBuilder().setGroupId(group).setMemberId(memberId).setMemberEpoch(-2).build());
                stream.onCompleted();
            }
        }
        join();
        channel.shutdown();
    }

    /** A crash: the process is gone (stops consuming at once) and its connection resets, with no leave. */
    void kill() {
        synchronized (lock) {
            running = false;
            positions.keySet().forEach(tp -> checker.release(name, tp));
            positions.clear();
            if (channel != null) {
                channel.shutdownNow();
            }
        }
        join();
    }

    /** A clean leave: commit, stop consuming, leave the group. */
    @Override
    public void close() {
        synchronized (lock) {
            if (!running) {
                return;
            }
            running = false;
            commit(new HashMap<>(positions));
            positions.keySet().forEach(tp -> checker.release(name, tp));
            positions.clear();
            if (stream != null) {
                try {
                    stream.onNext(HeartbeatRequest.newBuilder().setGroupId(group).setMemberId(memberId).setMemberEpoch(-1).build());
                    stream.onCompleted();
                } catch (RuntimeException e) {
                    // already broken
                }
            }
        }
        join();
        if (channel != null) {
            channel.shutdown();
        }
    }

    private void join() {
        try {
            poller.join(10_000);
            heartbeater.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
