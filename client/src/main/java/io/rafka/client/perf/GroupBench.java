package io.rafka.client.perf;

import io.grpc.stub.StreamObserver;
import io.rafka.client.consumer.ConsumerRebalanceListener;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.ConsumerRecords;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.MetadataClient;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.CommitOffsetsRequest;
import io.rafka.proto.v1.CommitOffsetsResponse;
import io.rafka.proto.v1.FindCoordinatorRequest;
import io.rafka.proto.v1.FindCoordinatorResponse;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code bin/rafka bench groups}: the consumer-group goals of docs/groups.md measured against a running cluster
 * with the SDK's consumer ({@link RafkaConsumer}, as applications run it: fetches pipelined ahead of poll), each
 * member with its own connections (as separate processes would have):
 *
 * <ol>
 *   <li>a new group of 3 members on the topic: time from their start to the first record each consumed;</li>
 *   <li>no membership change (the baseline for the gaps below): the longest gap between records on any partition
 *       over the same 3 s window;</li>
 *   <li>a 4th member joins: the longest gap between records on partitions the first three kept;</li>
 *   <li>a member's connections reset without a leave (what a killed process leaves behind): time until all its
 *       partitions are consumed again;</li>
 *   <li>a member leaves cleanly: the longest gap on partitions the others kept;</li>
 *   <li>a member hangs (stops polling and heartbeating, its connections open: {@link Freezer}) with a 3 s session
 *       timeout: time until its partitions are consumed again;</li>
 *   <li>throughout: the latency of commits made while the rounds run, by a probe committing for a group of its own
 *       every 50 ms, and with {@code --commit sync} of every member commit.</li>
 * </ol>
 *
 * Members commit as {@code --commit} says: {@code auto} (the default) is the consumer's auto-commit, asynchronous,
 * with {@code auto.commit.interval.ms} = {@code --commit-interval-ms} (default 5000, Kafka's) and a commit of revoked
 * partitions before they move; {@code sync} is {@code commitSync} after a poll that returned records (at most every
 * {@code --commit-interval-ms}, default 0) and in {@code onPartitionsRevoked}, Kafka's at-least-once loop, where a
 * member's poll loop waits for its commits (the worst case for the gaps above).
 *
 * Before round 1 an unmeasured group of 3 consumes for 10 s, so that round 1 does not measure this JVM's warm-up.
 * A producer writes one small record to every partition every {@code --interval-ms} (25), so a partition's
 * natural gap is that plus a poll (each record is a Raft entry: faster would saturate a 2-core machine).
 * Options: {@code --bootstrap HOST:PORT --topic T --rounds N --interval-ms MS --commit auto|sync --commit-interval-ms MS}.
 */
public final class GroupBench {
    private static final int SESSION_TIMEOUT_MS = 3_000;
    private static final long SETTLE_MS = 3_000;
    private static final long PROBE_INTERVAL_MS = 50;
    private static final long WARM_UP_MS = 10_000;

    private final BrokerAddress bootstrap;
    private final String topic;
    private final int intervalMs;
    private final int commitIntervalMs;
    private final boolean syncCommits;
    private final PrintStream out;
    /** Latency of member commits ({@code --commit sync}), and of the probe's during the rounds. */
    private final List<Long> commitMicros = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> probeMicros = Collections.synchronizedList(new ArrayList<>());

    private GroupBench(BrokerAddress bootstrap, String topic, int intervalMs, int commitIntervalMs, boolean syncCommits,
                       PrintStream out) {
        this.bootstrap = bootstrap;
        this.topic = topic;
        this.intervalMs = intervalMs;
        this.commitIntervalMs = commitIntervalMs;
        this.syncCommits = syncCommits;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>(Map.of("--bootstrap", "127.0.0.1:9092", "--topic", "groupbench",
                "--rounds", "3", "--interval-ms", "25", "--commit", "auto", "--commit-interval-ms", ""));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!opts.containsKey(args[i])) {
                throw new IllegalArgumentException("unknown option " + args[i] + " (known: " + opts.keySet() + ")");
            }
            opts.put(args[i], args[i + 1]);
        }
        String commit = opts.get("--commit");
        if (!commit.equals("auto") && !commit.equals("sync")) {
            throw new IllegalArgumentException("--commit must be auto or sync, not " + commit);
        }
        String commitInterval = opts.get("--commit-interval-ms");
        if (commitInterval.isEmpty()) {
            commitInterval = commit.equals("auto") ? "5000" : "0";   // Kafka's auto.commit.interval.ms; every poll
        }
        GroupBench bench = new GroupBench(BrokerAddress.parse(opts.get("--bootstrap")), opts.get("--topic"),
                Integer.parseInt(opts.get("--interval-ms")), Integer.parseInt(commitInterval), commit.equals("sync"),
                System.out);
        bench.run(Integer.parseInt(opts.get("--rounds")));
        System.exit(0);
    }

    private void run(int rounds) throws Exception {
        List<long[]> results = new ArrayList<>();
        try (ChannelPool channels = ChannelPool.plaintext(); Producer producer = new Producer(channels);
             CommitProbe probe = new CommitProbe(channels)) {
            warmUp();
            probeMicros.clear();
            commitMicros.clear();
            for (int r = 1; r <= rounds; r++) {
                long[] round = round("groupbench-" + System.currentTimeMillis() + "-" + r);
                results.add(round);
                System.err.printf("[groups] round %d: first record %d ms, baseline gap %d ms, join gap %d ms, crash %d ms, "
                        + "leave gap %d ms, hang %d ms%n", r, round[0], round[1], round[2], round[3], round[4], round[5]);
            }
            System.err.printf("[groups] producer: %d records acknowledged, %d failed sends %s%n", producer.acked.get(),
                    producer.failed.get(), producer.failures);
        }
        report(results);
        quietCommits();
    }

    /**
     * A group of 3 members consuming for {@link #WARM_UP_MS}, not measured, so that round 1 does not measure this
     * JVM's class loading and JIT (members of a real group run in long-lived processes of their own).
     */
    private void warmUp() {
        List<Member> members = new ArrayList<>();
        try {
            long start = System.currentTimeMillis();
            for (int i = 0; i < 3; i++) {
                members.add(new Member("groupbench-warmup-" + start, "w" + i));
            }
            awaitMax(members, m -> m.firstRecordMs, start);
            sleep(WARM_UP_MS);
        } finally {
            members.forEach(Member::close);
        }
    }

    /**
     * Commit latency with nothing else running: 500 commits one after another (a group without members, as tools
     * commit), straight to the coordinator.
     */
    private void quietCommits() {
        String group = "groupbench-quiet-" + System.currentTimeMillis();
        try (ChannelPool channels = ChannelPool.plaintext()) {
            var stub = coordinatorStub(channels, group);
            List<Long> micros = new ArrayList<>();
            for (int i = 0; i < 520; i++) {
                long t0 = System.nanoTime();
                stub.withDeadlineAfter(30, TimeUnit.SECONDS).commitOffsets(commitRequest(group, i));
                if (i >= 20) {
                    micros.add((System.nanoTime() - t0) / 1000);
                }
            }
            out.println("quiet cluster, " + percentiles(micros, "commits one at a time"));
        }
    }

    /** A blocking stub on the coordinator of {@code group}, found through the bootstrap broker. */
    private GroupServiceGrpc.GroupServiceBlockingStub coordinatorStub(ChannelPool channels, String group) {
        var any = GroupServiceGrpc.newBlockingStub(channels.channel(bootstrap));
        FindCoordinatorResponse c = null;
        for (int attempt = 0; c == null && attempt < 100; attempt++) {
            try {
                c = any.findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(group).build());
            } catch (StatusRuntimeException e) {
                sleep(100);
            }
        }
        if (c == null) {
            throw new IllegalStateException("no coordinator for " + group + " after 100 attempts");
        }
        return GroupServiceGrpc.newBlockingStub(channels.channel(BrokerAddress.of(c.getCoordinator())));
    }

    /** A commit as tools make it: a group without members (epoch -1), one partition's offset. */
    private CommitOffsetsRequest commitRequest(String group, int i) {
        return CommitOffsetsRequest.newBuilder().setGroupId(group).setMemberEpoch(-1)
                .addOffsets(OffsetCommit.newBuilder().setTopic(topic).setPartition(i % 6).setOffset(i)).build();
    }

    private static String percentiles(List<Long> micros, String what) {
        List<Long> sorted = new ArrayList<>(micros);
        Collections.sort(sorted);
        return String.format("%s: %d, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms", what, sorted.size(),
                sorted.get(sorted.size() / 2) / 1000.0, sorted.get((int) (sorted.size() * 0.99)) / 1000.0,
                sorted.get(sorted.size() - 1) / 1000.0);
    }

    private void report(List<long[]> results) {
        String[] names = {"new group of 3: first record for every member (ms)",
                "no change (baseline): longest gap on any partition (ms)", "member joins: longest gap on kept partitions (ms)",
                "member's connection reset: its partitions consumed again after (ms)", "member leaves: longest gap on kept partitions (ms)",
                "member hangs, session 3 s: its partitions consumed again after (ms)"};
        out.println("| measure | " + String.join(" | ", java.util.stream.IntStream.rangeClosed(1, results.size())
                .mapToObj(i -> "round " + i).toList()) + " | max |");
        out.println("|---|" + "---:|".repeat(results.size() + 1));
        for (int m = 0; m < names.length; m++) {
            int metric = m;
            long max = results.stream().mapToLong(r -> r[metric]).max().orElse(-1);
            out.println("| " + names[m] + " | " + String.join(" | ", results.stream().map(r -> Long.toString(r[metric])).toList())
                    + " | " + max + " |");
        }
        out.println();
        if (!probeMicros.isEmpty()) {
            out.println("during the rounds, a probe committing every " + PROBE_INTERVAL_MS + " ms: "
                    + percentiles(probeMicros, "commits"));
        }
        if (!commitMicros.isEmpty()) {
            out.println("during the rounds, members' commitSync after a poll with records: " + percentiles(commitMicros, "commits"));
        }
    }

    /** One round on a fresh group; returns the six times in ms. */
    private long[] round(String group) throws Exception {
        List<Member> members = new ArrayList<>();
        try {
            long start = System.currentTimeMillis();
            for (int i = 0; i < 3; i++) {
                members.add(new Member(group, "m" + i));
            }
            long firstRecord = awaitMax(members, m -> m.firstRecordMs, start);
            sleep(SETTLE_MS);

            long quietGap = gapWhile(members, () -> { });

            long joinGap = gapWhile(members, () -> members.add(new Member(group, "m3")));
            sleep(SETTLE_MS);

            Member crashed = members.remove(1);
            Set<TopicPartition> orphaned = crashed.assignment;
            long crashAt = System.currentTimeMillis();
            crashed.crash();
            long crash = awaitTakeOver(members, orphaned, crashAt);
            sleep(SETTLE_MS);

            Member leaving = members.remove(1);
            long leaveGap = gapWhile(members, leaving::close);
            sleep(SETTLE_MS);

            Member hung = members.remove(members.size() - 1);
            Set<TopicPartition> held = hung.assignment;
            long hangAt = System.currentTimeMillis();
            hung.hang();
            long hang = awaitTakeOver(members, held, hangAt);
            hung.close();
            return new long[]{firstRecord, quietGap, joinGap, crash, leaveGap, hang};
        } finally {
            members.forEach(Member::close);
        }
    }

    /**
     * Runs {@code change} and returns the longest gap, over the next 3 s, on partitions a member kept throughout:
     * between records, and from the window's start to the first record and from the last record to its end (a
     * stall still open when the window ends, or a partition with no record at all, counts whole).
     */
    private long gapWhile(List<Member> members, Runnable change) {
        Map<Member, Set<TopicPartition>> before = new HashMap<>();
        long start = System.currentTimeMillis();
        members.forEach(m -> {
            before.put(m, m.assignment);
            m.startGapWindow(start);
        });
        change.run();
        sleep(SETTLE_MS);
        long end = System.currentTimeMillis();
        long worst = 0;
        for (Member m : members) {
            if (!before.containsKey(m)) {
                continue;
            }
            Set<TopicPartition> kept = new java.util.HashSet<>(before.get(m));
            kept.retainAll(m.assignment);
            for (TopicPartition tp : kept) {
                worst = Math.max(worst, m.maxGap.getOrDefault(tp, 0L));
                worst = Math.max(worst, end - m.lastArrival.getOrDefault(tp, start));
            }
        }
        return worst;
    }

    /** Time from {@code since} until every one of {@code partitions} delivered a record to one of {@code members}. */
    private static long awaitTakeOver(List<Member> members, Set<TopicPartition> partitions, long since) {
        long deadline = since + 60_000;
        while (System.currentTimeMillis() < deadline) {
            long latest = 0;
            boolean all = true;
            for (TopicPartition tp : partitions) {
                long first = Long.MAX_VALUE;
                for (Member m : members) {
                    Long t = m.firstAfter(tp, since);
                    if (t != null) {
                        first = Math.min(first, t);
                    }
                }
                if (first == Long.MAX_VALUE) {
                    all = false;
                    break;
                }
                latest = Math.max(latest, first);
            }
            if (all) {
                return latest - since;
            }
            sleep(20);
        }
        throw new IllegalStateException("partitions " + partitions + " not consumed again within 60 s");
    }

    private static long awaitMax(List<Member> members, java.util.function.ToLongFunction<Member> time, long since) {
        long deadline = since + 60_000;
        while (System.currentTimeMillis() < deadline) {
            if (members.stream().allMatch(m -> time.applyAsLong(m) > 0)) {
                return members.stream().mapToLong(time).max().getAsLong() - since;
            }
            sleep(10);
        }
        throw new IllegalStateException("not every member consumed a record within 60 s");
    }

    /**
     * One member on a thread of its own, with its own channels: poll, note arrivals, commit. The consumer is not
     * thread-safe, so the poll thread publishes its assignment for the bench's thread to read.
     */
    private final class Member implements AutoCloseable {
        final Freezer freezer = new Freezer();
        final ChannelPool channels = freezer.channels();
        final RafkaConsumer<byte[], byte[]> consumer;
        final Thread thread;
        volatile boolean running = true;
        volatile boolean paused;
        volatile long firstRecordMs;
        volatile Set<TopicPartition> assignment = Set.of();
        long lastCommitMs;
        final Map<TopicPartition, Long> lastArrival = new ConcurrentHashMap<>();
        final Map<TopicPartition, Long> maxGap = new ConcurrentHashMap<>();
        final Map<TopicPartition, List<Long>> arrivals = new ConcurrentHashMap<>();

        Member(String group, String name) {
            consumer = new RafkaConsumer<>(RafkaConsumer.builder(Deserializers.bytes(), Deserializers.bytes())
                    .bootstrap(bootstrap.toString()).groupId(group).clientId(name).autoOffsetReset("latest")
                    .sessionTimeout(Duration.ofMillis(SESSION_TIMEOUT_MS))
                    .enableAutoCommit(!syncCommits).autoCommitInterval(Duration.ofMillis(commitIntervalMs))
                    .config(), Deserializers.bytes(), Deserializers.bytes(), channels);
            thread = new Thread(this::loop, "bench-member-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        void startGapWindow(long startMs) {
            maxGap.clear();
            lastArrival.clear();
            assignment.forEach(tp -> lastArrival.put(tp, startMs));
        }

        Long firstAfter(TopicPartition tp, long since) {
            List<Long> times = arrivals.get(tp);
            if (times == null) {
                return null;
            }
            synchronized (times) {
                for (Long t : times) {
                    if (t > since) {
                        return t;
                    }
                }
            }
            return null;
        }

        private void loop() {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    if (syncCommits && !paused) {
                        commit();   // Kafka's at-least-once loop: what was processed, before the partitions move
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                }
            });
            while (running) {
                if (paused) {
                    sleep(10);
                    continue;
                }
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(100));
                    assignment = Set.copyOf(consumer.assignment());
                } catch (RuntimeException e) {
                    if (running) {
                        System.err.println("[groups] poll failed: " + e);
                        sleep(100);
                    }
                    continue;
                }
                long now = System.currentTimeMillis();
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    noteArrival(new TopicPartition(r.topic(), r.partition()), now);
                }
                if (!records.isEmpty() && firstRecordMs == 0) {
                    firstRecordMs = now;
                }
                if (syncCommits && !records.isEmpty() && now - lastCommitMs >= commitIntervalMs) {
                    lastCommitMs = now;
                    commit();
                }
            }
        }

        private void commit() {
            long t0 = System.nanoTime();
            try {
                consumer.commitSync();
                long micros = (System.nanoTime() - t0) / 1000;
                if (paused) {
                    return;   // held up by the hang the round imposed, not by the coordinator
                }
                commitMicros.add(micros);
                if (micros > 1_000_000) {
                    System.err.printf("[groups] %s: a commit took %d ms (ended %tT.%<tL)%n", thread.getName(),
                            micros / 1000, System.currentTimeMillis());
                }
            } catch (RuntimeException e) {
                if (running) {
                    System.err.println("[groups] commit failed: " + e);
                }
            }
        }

        private void noteArrival(TopicPartition tp, long now) {
            Long last = lastArrival.put(tp, now);
            if (last != null) {
                maxGap.merge(tp, now - last, Math::max);
            }
            List<Long> times = arrivals.computeIfAbsent(tp, k -> Collections.synchronizedList(new ArrayList<>()));
            if (times.isEmpty() || now - times.get(times.size() - 1) > 50) {
                times.add(now);   // enough to find the first arrival after a moment, without keeping every record
            }
        }

        /** Like a stopped process: neither polls nor heartbeats, its connections open and silent. */
        void hang() {
            paused = true;
            freezer.freeze();
        }

        /** Like a killed process: no leave, no commit; its connections reset. */
        void crash() {
            running = false;
            channels.abort();
            join();
        }

        @Override
        public void close() {
            if (!running) {
                return;
            }
            running = false;
            freezer.thaw();
            join();
            try {
                consumer.close();
            } catch (RuntimeException e) {
                // best effort at the end of a round
            }
            channels.close();
        }

        private void join() {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Commits for a group of its own every {@link #PROBE_INTERVAL_MS} while the rounds run, timing each. */
    private final class CommitProbe implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        CommitProbe(ChannelPool channels) {
            String group = "groupbench-probe-" + System.currentTimeMillis();
            thread = new Thread(() -> {
                var stub = coordinatorStub(channels, group);
                for (int i = 0; running.get(); i++) {
                    long t0 = System.nanoTime();
                    try {
                        CommitOffsetsResponse r = stub.withDeadlineAfter(30, TimeUnit.SECONDS).commitOffsets(commitRequest(group, i));
                        if (r.getResultsList().stream().allMatch(p -> p.getErrorCodeValue() == 0)) {
                            probeMicros.add((System.nanoTime() - t0) / 1000);
                        } else {
                            System.err.println("[groups] probe commit refused: " + r.getResultsList());
                        }
                    } catch (StatusRuntimeException e) {
                        System.err.println("[groups] probe commit failed: " + e.getStatus());
                        stub = coordinatorStub(channels, group);
                    }
                    sleep(PROBE_INTERVAL_MS);
                }
            }, "bench-commit-probe");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(35_000);
        }
    }

    /** One small record to every partition every interval, one request per leader, acks=all. */
    private final class Producer implements AutoCloseable {
        final AtomicInteger acked = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        /** Why sends failed: error code or gRPC status, and how often. */
        final Map<String, Integer> failures = new ConcurrentHashMap<>();
        private final MetadataClient metadata;
        private final ChannelPool channels;
        private final Thread thread;
        private volatile boolean running = true;
        private final AtomicInteger inFlight = new AtomicInteger();

        Producer(ChannelPool channels) {
            this.channels = channels;
            this.metadata = new MetadataClient(channels, bootstrap, Time.SYSTEM, 30_000);
            int partitions = metadata.awaitTopic(topic, false).getPartitionsCount();
            thread = new Thread(() -> loop(partitions), "bench-producer");
            thread.setDaemon(true);
            thread.start();
        }

        private void loop(int partitions) {
            long n = 0;
            while (running) {
                Map<BrokerAddress, ProduceRequest.Builder> byLeader = new HashMap<>();
                for (int p = 0; p < partitions; p++) {
                    Optional<BrokerAddress> leader = metadata.leader(new TopicPartition(topic, p));
                    if (leader.isEmpty()) {
                        metadata.refresh(List.of(topic), false);
                        continue;
                    }
                    byLeader.computeIfAbsent(leader.get(), k -> ProduceRequest.newBuilder()).addPartitions(PartitionData.newBuilder()
                            .setTopic(topic).setPartition(p).setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                    .setValue(com.google.protobuf.ByteString.copyFromUtf8("r" + n++)))));
                }
                byLeader.forEach(this::send);
                sleep(intervalMs);
            }
        }

        private void send(BrokerAddress leader, ProduceRequest.Builder request) {
            if (inFlight.get() > 64) {
                return;
            }
            inFlight.incrementAndGet();
            ProduceServiceGrpc.newStub(channels.channel(leader)).produce(request.build(), new StreamObserver<>() {
                @Override
                public void onNext(ProduceResponse r) {
                    r.getResultsList().forEach(p -> {
                        if (p.getErrorCodeValue() == 0) {
                            acked.incrementAndGet();
                        } else {
                            failed.incrementAndGet();
                            failures.merge(p.getErrorCode().name(), 1, Integer::sum);
                            metadata.leaderHint(new TopicPartition(p.getTopic(), p.getPartition()), p.hasLeader(), p.getLeader());
                        }
                    });
                }

                @Override
                public void onError(Throwable t) {
                    failed.incrementAndGet();
                    failures.merge(io.grpc.Status.fromThrowable(t).getCode().name(), 1, Integer::sum);
                    inFlight.decrementAndGet();
                }

                @Override
                public void onCompleted() {
                    inFlight.decrementAndGet();
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5_000);
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
