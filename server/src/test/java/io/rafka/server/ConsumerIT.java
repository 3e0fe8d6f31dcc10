package io.rafka.server;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.rafka.client.consumer.CommitFailedException;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.ConsumerRecords;
import io.rafka.client.consumer.Deserializer;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.NoOffsetForPartitionException;
import io.rafka.client.consumer.OffsetAndMetadata;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.consumer.RecordDeserializationException;
import io.rafka.client.consumer.WakeupException;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.producer.Acks;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.Serializers;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java SDK consumer against three real brokers: a group of two splits a topic and, with commits after
 * processing, reads every record exactly once and in per-key order, also across one member leaving; manual assignment with seeks and
 * commits; auto.offset.reset=none as a typed error; commitAsync returning at once with its callback run by a
 * later poll; auto-commits that do not queue up; wakeup from another thread.
 */
class ConsumerIT {
    private static final long WAIT_MS = 30_000;

    @TempDir
    static Path tmp;
    private static BrokerCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = BrokerCluster.start(3, tmp, Map.of("group.coordinator.partitions", "2", "auto.create.topics.enable", "false"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void twoMembersSplitTheTopicAndTheSurvivorTakesOverFromTheCommittedOffsets() {
        createTopic("orders", 4);
        produce("orders", 0, 400, null);
        Map<String, Integer> seen = new HashMap<>();
        order.clear();
        try (RafkaConsumer<String, String> a = groupConsumer("billing"); RafkaConsumer<String, String> b = groupConsumer("billing")) {
            a.subscribe(List.of("orders"));
            b.subscribe(List.of("orders"));
            long deadline = System.currentTimeMillis() + WAIT_MS;
            Set<TopicPartition> assignedA = Set.of();
            Set<TopicPartition> assignedB = Set.of();
            while (System.currentTimeMillis() < deadline && (assignedA.isEmpty() || assignedB.isEmpty() || count(seen) < 200)) {
                pollInto(a, seen);
                pollInto(b, seen);
                assignedA = a.assignment();
                assignedB = b.assignment();
            }
            assertTrue(!assignedA.isEmpty() && !assignedB.isEmpty(), "both members own partitions: " + assignedA + " " + assignedB);
            Set<TopicPartition> both = new HashSet<>(assignedA);
            both.retainAll(assignedB);
            assertTrue(both.isEmpty(), "no partition owned twice: " + assignedA + " " + assignedB);
            a.close();
            produce("orders", 400, 100, null);
            deadline = System.currentTimeMillis() + WAIT_MS;
            while (System.currentTimeMillis() < deadline && (count(seen) < 500 || b.assignment().size() < 4)) {
                pollInto(b, seen);
            }
            assertEquals(4, b.assignment().size(), "the survivor owns every partition");
        }
        assertEquals(500, seen.size(), "every record read");
        seen.forEach((value, times) -> assertEquals(1, times, value + " read exactly once"));
        Map<String, Integer> lastByKey = new HashMap<>();
        for (String keyed : order) {
            String[] kv = keyed.split("=");
            int i = Integer.parseInt(kv[1].substring("orders-".length()));
            Integer last = lastByKey.put(kv[0], i);
            assertTrue(last == null || last < i, "per-key order: " + kv[0] + " had " + last + " before " + i);
        }
    }

    @Test
    void manualAssignmentSeeksAndCommitsWithoutMembership() {
        createTopic("manual", 2);
        produce("manual", 0, 20, 0);
        TopicPartition p0 = new TopicPartition("manual", 0);
        try (RafkaConsumer<String, String> consumer = builder().groupId("tools").enableAutoCommit(false).build()) {
            consumer.assign(List.of(p0));
            assertEquals(Map.of(p0, 0L), consumer.beginningOffsets(List.of(p0)));
            assertEquals(Map.of(p0, 20L), consumer.endOffsets(List.of(p0)));
            assertEquals(Map.of(p0, 0L), consumer.offsetsForTimes(Map.of(p0, 0L)));
            assertEquals(Map.of(), consumer.offsetsForTimes(Map.of(p0, System.currentTimeMillis() + 3_600_000)));
            consumer.seekToBeginning(List.of(p0));
            assertEquals(0, consumer.position(p0));
            List<Long> offsets = offsets(consumer, 20);
            assertEquals(0, offsets.get(0));
            assertEquals(19, offsets.get(19));
            assertEquals(20, consumer.position(p0));
            consumer.seek(p0, 10);
            consumer.pause(List.of(p0));
            assertEquals(Set.of(p0), consumer.paused());
            assertTrue(consumer.poll(Duration.ofMillis(300)).isEmpty(), "a paused partition is not fetched");
            assertEquals(10, consumer.position(p0));
            consumer.resume(List.of(p0));
            assertEquals(List.of(10L, 11L), offsets(consumer, 10).subList(0, 2));
            consumer.commitSync(Map.of(p0, new OffsetAndMetadata(15, "checkpoint-7")));
            assertEquals(new OffsetAndMetadata(15, "checkpoint-7"), consumer.committed(Set.of(p0)).get(p0),
                    "the metadata string is stored with the offset");
        }
        try (RafkaConsumer<String, String> again = builder().groupId("tools").autoOffsetReset("none").build()) {
            again.assign(List.of(p0));
            assertEquals(15, offsets(again, 5).get(0), "starts at the group's committed offset");
        }
    }

    /**
     * commitSync and commitAsync send every offset they are given, changed or not, as Kafka's do: the group's offset
     * may have moved without this consumer (here another consumer of the group committed an older one).
     */
    @Test
    void aCommitOfAnUnchangedPositionIsSentAgain() {
        createTopic("recommit", 1);
        produce("recommit", 0, 20, 0);
        TopicPartition tp = new TopicPartition("recommit", 0);
        try (RafkaConsumer<String, String> consumer = builder().groupId("recommit").enableAutoCommit(false)
                .autoOffsetReset("earliest").build()) {
            consumer.assign(List.of(tp));
            assertEquals(20, offsets(consumer, 20).size());
            consumer.commitSync();
            rewind("recommit", tp);
            consumer.commitSync();
            assertEquals(20, consumer.committed(Set.of(tp)).get(tp).offset(), "commitSync() wrote the position again");

            rewind("recommit", tp);
            java.util.concurrent.atomic.AtomicReference<Exception> answer = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(1);
            consumer.commitAsync((offsets, error) -> {
                answer.set(error);
                answered.countDown();
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (answered.getCount() > 0 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100));   // callbacks run in poll
            }
            assertEquals(0, answered.getCount(), "commitAsync answered");
            assertNull(answer.get());
            assertEquals(20, consumer.committed(Set.of(tp)).get(tp).offset(), "commitAsync() wrote the position again");
        }
    }

    /**
     * Another consumer of {@code group} commits offset 5 of {@code tp}; without assign or subscribe, as Kafka's
     * consumer allows (commits and committed() need only the group.id).
     */
    private static void rewind(String group, TopicPartition tp) {
        try (RafkaConsumer<String, String> other = builder().groupId(group).enableAutoCommit(false).build()) {
            other.commitSync(Map.of(tp, new OffsetAndMetadata(5)));
            assertEquals(5, other.committed(Set.of(tp)).get(tp).offset());
        }
    }

    @Test
    void aRecordThatCannotBeDeserializedStopsThePositionThereAndIsNamed() {
        createTopic("poison", 1);
        produce("poison", 0, 10, 0);   // values poison-0 .. poison-9; poison-5 will not deserialize
        TopicPartition p0 = new TopicPartition("poison", 0);
        Deserializer<String> picky = (topic, bytes) -> {
            String v = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            if (v.equals("poison-5")) {
                throw new IllegalArgumentException("not a value this application reads");
            }
            return v;
        };
        try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), picky)
                .bootstrap(servers()).groupId("picky").enableAutoCommit(false).build()) {
            consumer.assign(List.of(p0));
            consumer.seekToBeginning(List.of(p0));
            List<String> got = new ArrayList<>();
            RecordDeserializationException failure = null;
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (failure == null && System.currentTimeMillis() < deadline) {
                try {
                    consumer.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
                } catch (RecordDeserializationException e) {
                    failure = e;
                }
            }
            assertEquals(List.of("poison-0", "poison-1", "poison-2", "poison-3", "poison-4"), got, "everything before it, once");
            assertTrue(failure != null, "the bad record is reported");
            assertEquals(p0, failure.partition());
            assertEquals(5, failure.offset());
            assertEquals(5, consumer.position(p0), "the position stays at the record the application did not get");
            consumer.commitSync();
            assertEquals(5, consumer.committed(Set.of(p0)).get(p0).offset(), "a commit does not skip it");
            consumer.seek(p0, failure.offset() + 1);
            assertEquals(List.of(6L, 7L, 8L, 9L), offsets(consumer, 4), "after a seek past it the rest follows");
        }
    }

    @Test
    void withoutAutoCommitNothingIsCommittedForYouAndCloseTellsTheListener() {
        createTopic("manual-commits", 2);
        produce("manual-commits", 0, 40, null);
        List<Set<TopicPartition>> revoked = new ArrayList<>();
        io.rafka.client.consumer.ConsumerRebalanceListener listener = new io.rafka.client.consumer.ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                revoked.add(Set.copyOf(partitions));
            }

            @Override
            public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
            }
        };
        Set<TopicPartition> owned;
        try (RafkaConsumer<String, String> consumer = builder().groupId("by-hand").autoOffsetReset("earliest")
                .enableAutoCommit(false).build()) {
            consumer.subscribe(List.of("manual-commits"), listener);
            offsets(consumer, 40);
            owned = consumer.assignment();
            assertEquals(2, owned.size());
        }
        assertEquals(List.of(owned), revoked, "close revokes what the member owned, through the listener");
        try (RafkaConsumer<String, String> check = builder().groupId("by-hand").build()) {
            check.assign(owned);
            check.committed(owned).forEach((tp, committed) ->
                    assertTrue(committed == null || committed.offset() < 0, tp + ": nothing committed without auto-commit"));
        }
    }

    /**
     * Kafka's at-least-once listener, {@code onPartitionsRevoked(p) -> consumer.commitSync()}, also works when the
     * revocation comes from {@code unsubscribe()}: the consumer still has its positions while its member leaves.
     */
    @Test
    void unsubscribeCallsAListenerThatCommitsAndLeaves() {
        createTopic("commit-on-revoke", 2);
        produce("commit-on-revoke", 0, 40, null);
        java.util.concurrent.atomic.AtomicReference<RafkaConsumer<String, String>> self = new java.util.concurrent.atomic.AtomicReference<>();
        List<Set<TopicPartition>> revoked = new ArrayList<>();
        io.rafka.client.consumer.ConsumerRebalanceListener listener = new io.rafka.client.consumer.ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                revoked.add(Set.copyOf(partitions));
                self.get().commitSync();
            }

            @Override
            public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
            }
        };
        Set<TopicPartition> owned;
        try (RafkaConsumer<String, String> consumer = builder().groupId("commits-on-revoke").autoOffsetReset("earliest")
                .enableAutoCommit(false).build()) {
            self.set(consumer);
            consumer.subscribe(List.of("commit-on-revoke"), listener);
            offsets(consumer, 40);
            owned = consumer.assignment();
            consumer.unsubscribe();
            assertEquals(Set.of(), consumer.assignment());
        }
        assertEquals(List.of(owned), revoked, "unsubscribe revoked what the member owned, through the listener");
        try (RafkaConsumer<String, String> check = builder().groupId("commits-on-revoke").build()) {
            check.assign(owned);
            long committed = check.committed(owned).values().stream().mapToLong(c -> c.offset()).sum();
            assertEquals(40, committed, "the listener's commitSync stored every position: " + check.committed(owned));
        }
    }

    /**
     * auto.offset.reset=none without a committed offset: as in Kafka's consumer the partition is assigned (the
     * listener is told) and poll throws a typed error until the application seeks it, in the listener (the pattern
     * for offsets kept outside Kafka) or after catching the error; then it is read from there.
     */
    @Test
    void offsetResetNoneWithoutACommittedOffsetIsATypedErrorUntilTheApplicationSeeks() {
        createTopic("fresh", 1);
        produce("fresh", 0, 3, 0);
        TopicPartition fresh = new TopicPartition("fresh", 0);
        List<String> assigned = java.util.Collections.synchronizedList(new ArrayList<>());
        try (RafkaConsumer<String, String> consumer = builder().groupId("strict").autoOffsetReset("none").build()) {
            consumer.subscribe(List.of("fresh"), new io.rafka.client.consumer.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                    assigned.add(partitions.toString());
                }
            });
            NoOffsetForPartitionException e = assertThrows(NoOffsetForPartitionException.class, () -> {
                long deadline = System.currentTimeMillis() + WAIT_MS;
                while (System.currentTimeMillis() < deadline) {
                    consumer.poll(Duration.ofMillis(200));
                }
            });
            assertEquals(List.of(fresh), e.partitions());
            assertEquals(NoOffsetForPartitionException.CODE, e.code());
            assertEquals(List.of("[fresh-0]"), assigned, "assigned, and the listener told, before the error");
            assertEquals(Set.of(fresh), consumer.assignment());
            assertThrows(NoOffsetForPartitionException.class, () -> consumer.poll(Duration.ofMillis(200)), "until a seek");
            assertEquals(List.of(fresh), assertThrows(NoOffsetForPartitionException.class, () -> consumer.position(fresh))
                    .partitions(), "no position to tell either");
            consumer.pause(List.of(fresh));   // as Kafka's: an assigned partition without a position can be paused
            assertEquals(Set.of(fresh), consumer.paused());
            consumer.seekToBeginning(e.partitions());
            assertEquals(0, consumer.poll(Duration.ofMillis(500)).count(), "it starts paused");
            consumer.resume(List.of(fresh));
            assertEquals(List.of(0L, 1L, 2L), offsets(consumer, 3));
        }
        java.util.concurrent.atomic.AtomicReference<RafkaConsumer<String, String>> self = new java.util.concurrent.atomic.AtomicReference<>();
        try (RafkaConsumer<String, String> consumer = builder().groupId("strict-seeks").autoOffsetReset("none").build()) {
            self.set(consumer);
            consumer.subscribe(List.of("fresh"), new io.rafka.client.consumer.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> self.get().seek(tp, 1));   // offsets kept elsewhere say: from 1
                }
            });
            assertEquals(List.of(1L, 2L), offsets(consumer, 2), "no error: the listener gave the position");
        }
    }

    @Test
    void commitAsyncReturnsAtOnceAndItsCallbackRunsInALaterPoll() {
        createTopic("async", 2);
        produce("async", 0, 50, null);
        try (RafkaConsumer<String, String> consumer = groupConsumer("async-group")) {
            consumer.subscribe(List.of("async"));
            Map<String, Integer> seen = new HashMap<>();
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (System.currentTimeMillis() < deadline && seen.size() < 50) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    seen.merge(r.value(), 1, Integer::sum);
                }
            }
            assertEquals(50, seen.size());
            AtomicReference<Exception> outcome = new AtomicReference<>();
            AtomicReference<Map<TopicPartition, OffsetAndMetadata>> committed = new AtomicReference<>();
            long startNs = System.nanoTime();
            consumer.commitAsync((offsets, error) -> {
                committed.set(offsets);
                outcome.set(error);
            });
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs < 2_000, "commitAsync returned after " + tookMs + " ms");
            deadline = System.currentTimeMillis() + WAIT_MS;
            while (committed.get() == null && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(100));
            }
            assertNotNull(committed.get(), "the callback ran in a later poll");
            assertNull(outcome.get(), "the commit succeeded");
            Set<TopicPartition> both = Set.of(new TopicPartition("async", 0), new TopicPartition("async", 1));
            long total = consumer.committed(both).values().stream().mapToLong(OffsetAndMetadata::offset).sum();
            assertEquals(50, total, "committed what was read: " + committed.get());

            // An older asynchronous commit never lands after a later synchronous one: commitSync waits for it and
            // runs its callback first.
            TopicPartition p0 = new TopicPartition("async", 0);
            List<Long> order = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (long offset = 1; offset <= 5; offset++) {
                long o = offset;
                consumer.commitAsync(Map.of(p0, new OffsetAndMetadata(o)), (offsets, error) -> order.add(o));
            }
            consumer.commitSync(Map.of(p0, new OffsetAndMetadata(6)));
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L), order, "async callbacks ran, in order, before commitSync returned");
            assertEquals(6, consumer.committed(Set.of(p0)).get(p0).offset());
        }
    }

    @Test
    void autoCommitsWaitForTheOneInFlightInsteadOfQueueingUp() {
        createTopic("ticks", 2);
        produce("ticks", 0, 20, null);
        // A slow coordinator, as this consumer sees it: each commit's request leaves 100 ms late (on the thread that
        // commits), while fetches and heartbeats go at once.
        AtomicInteger commitCalls = new AtomicInteger();
        ClientInterceptor slowCommits = new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                ClientCall<Q, R> call = next.newCall(method, options);
                if (!method.getFullMethodName().endsWith("/CommitOffsets")) {
                    return call;
                }
                return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                    @Override
                    public void sendMessage(Q message) {
                        commitCalls.incrementAndGet();
                        sleep(100);
                        super.sendMessage(message);
                    }
                };
            }
        };
        try (ChannelPool channels = new ChannelPool(address -> ManagedChannelBuilder.forAddress(address.host(), address.port())
                .usePlaintext().intercept(slowCommits).build());
             RafkaConsumer<String, String> consumer = new RafkaConsumer<>(builder().groupId("ticker").autoOffsetReset("earliest")
                     .enableAutoCommit(true).autoCommitInterval(Duration.ZERO).defaultApiTimeout(Duration.ofSeconds(30)).config(),
                     Deserializers.string(), Deserializers.string(), channels)) {
            consumer.subscribe(List.of("ticks"));
            int read = 0;
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (read < 20 && System.currentTimeMillis() < deadline) {
                read += consumer.poll(Duration.ofMillis(100)).count();
            }
            assertEquals(20, read);
            // Records keep coming and every poll is due an auto-commit (interval 0) of positions that moved, far
            // faster than commits are answered: queued, they would keep the commit thread busy long after the
            // burst (and commitSync waits for them).
            int movingPolls = 0;
            long lastSendNs = 0;
            int sent = 0;
            long burstMs;
            int callsAtBurstEnd;
            try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                    .bootstrap(servers()).acks(Acks.ALL).lingerMs(0).build()) {
                long burstStartNs = System.nanoTime();
                while (movingPolls < 40 && System.nanoTime() - burstStartNs < TimeUnit.SECONDS.toNanos(10)) {
                    if (System.nanoTime() - lastSendNs > TimeUnit.MILLISECONDS.toNanos(5)) {
                        producer.send(new ProducerRecord<>("ticks", null, null, "k", "tick-" + sent++, null));
                        lastSendNs = System.nanoTime();
                    }
                    int n = consumer.poll(Duration.ofMillis(1)).count();
                    read += n;
                    movingPolls += n > 0 ? 1 : 0;
                }
                burstMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - burstStartNs);
                callsAtBurstEnd = commitCalls.get();
                producer.flush();
            }
            long startNs = System.nanoTime();
            consumer.commitSync();
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertEquals(40, movingPolls, "polls that returned records in " + burstMs + " ms (" + sent + " records sent)");
            // The commit thread sends one commit per 100 ms either way; what must not exist is a backlog behind it:
            // after the burst only the auto-commit in flight and commitSync's own are left to send.
            int sentAfter = commitCalls.get() - callsAtBurstEnd;
            assertTrue(sentAfter <= 3, sentAfter + " commits were still queued after " + movingPolls
                    + " polls that moved positions in " + burstMs + " ms");
            assertTrue(waitedMs < 2_000, "commitSync waited " + waitedMs + " ms for auto-commits queued by " + movingPolls + " polls");
            Set<TopicPartition> both = Set.of(new TopicPartition("ticks", 0), new TopicPartition("ticks", 1));
            assertEquals(read, consumer.committed(both).values().stream().mapToLong(OffsetAndMetadata::offset).sum());
        }
    }

    @Test
    void processingLongerThanTheSessionKeepsTheMemberButNotPollingPastMaxPollIntervalLeaves() {
        createTopic("slow", 1);
        produce("slow", 0, 10, null);
        List<String> lost = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (RafkaConsumer<String, String> consumer = builder().groupId("slow-group").autoOffsetReset("earliest")
                .enableAutoCommit(false).sessionTimeout(Duration.ofMillis(2_000)).maxPollInterval(Duration.ofMillis(6_000))
                .build()) {
            consumer.subscribe(List.of("slow"), new io.rafka.client.consumer.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsLost(java.util.Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> lost.add(tp.toString()));
                }
            });
            Map<String, Integer> seen = new HashMap<>();
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (seen.size() < 10 && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.merge(r.value(), 1, Integer::sum));
            }
            assertEquals(10, seen.size());
            sleep(4_000);   // processing that outlasts the session (2 s), not max.poll.interval.ms (6 s): heartbeats go on
            consumer.commitSync();   // a member fenced meanwhile would fail here with CommitFailedException

            sleep(8_000);   // no poll for longer than max.poll.interval.ms: the member left the group
            TopicPartition p0 = new TopicPartition("slow", 0);
            CommitFailedException e = assertThrows(CommitFailedException.class,
                    () -> consumer.commitSync(Map.of(p0, new OffsetAndMetadata(9))));
            assertTrue(e.errorCode() == io.rafka.common.ErrorCode.UNKNOWN_MEMBER_ID
                    || e.errorCode() == io.rafka.common.ErrorCode.FENCED_MEMBER_EPOCH, e.getMessage());
            deadline = System.currentTimeMillis() + WAIT_MS;
            while ((consumer.assignment().isEmpty() || lost.isEmpty()) && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(200));   // rejoins
            }
            assertEquals(List.of("slow-0"), lost, "the listener heard its partition was lost");
            assertEquals(Set.of(new TopicPartition("slow", 0)), consumer.assignment());
        }
    }

    @Test
    void wakeupFromAnotherThreadEndsABlockedPoll() throws Exception {
        createTopic("quiet", 1);
        try (RafkaConsumer<String, String> consumer = builder().build()) {
            consumer.assign(List.of(new TopicPartition("quiet", 0)));
            CompletableFuture<Void> waker = CompletableFuture.runAsync(() -> {
                sleep(1_000);
                consumer.wakeup();
            });
            long startNs = System.nanoTime();
            assertThrows(WakeupException.class, () -> consumer.poll(Duration.ofSeconds(30)));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs) < 10_000);
            waker.get();
        }
    }

    /**
     * As Kafka's: wakeup() ends every blocking call, not only poll. A broker that takes the requests of committed,
     * the offset lookups and position but never answers them: each call ends with WakeupException soon after
     * wakeup() (the request in flight cancelled) instead of waiting out its deadline and retries; a call given its
     * own timeout ends with REQUEST_TIMED_OUT then; a wakeup() made before a call ends the call; and the consumer
     * works normally afterwards.
     */
    @Test
    void wakeupEndsEveryBlockingCallAndACallsOwnTimeoutBoundsIt() throws Exception {
        createTopic("stuck", 1);
        produce("stuck", 0, 5, 0);
        TopicPartition tp = new TopicPartition("stuck", 0);
        java.util.concurrent.atomic.AtomicBoolean hang = new java.util.concurrent.atomic.AtomicBoolean();
        try (ChannelPool channels = io.rafka.server.testing.UnsentCalls.when(hang::get, "/ListOffsets", "/FetchOffsets").channels();
             RafkaConsumer<String, String> consumer = new RafkaConsumer<>(builder().groupId("woken")
                     .defaultApiTimeout(Duration.ofSeconds(25)).config(), Deserializers.string(), Deserializers.string(), channels)) {
            consumer.assign(List.of(tp));
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(2)));
            hang.set(true);
            Map<String, java.util.function.Supplier<?>> calls = new java.util.LinkedHashMap<>();
            calls.put("committed", () -> consumer.committed(Set.of(tp)));
            calls.put("endOffsets", () -> consumer.endOffsets(List.of(tp)));
            calls.put("beginningOffsets", () -> consumer.beginningOffsets(List.of(tp)));
            calls.put("offsetsForTimes", () -> consumer.offsetsForTimes(Map.of(tp, 0L)));
            calls.put("position", () -> {
                consumer.seekToEnd(List.of(tp));   // the position is looked up by position()
                return consumer.position(tp);
            });
            for (Map.Entry<String, java.util.function.Supplier<?>> call : calls.entrySet()) {
                CompletableFuture<Void> waker = CompletableFuture.runAsync(() -> {
                    sleep(300);
                    consumer.wakeup();
                });
                long startNs = System.nanoTime();
                assertThrows(WakeupException.class, call.getValue()::get, call.getKey());
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                assertTrue(tookMs < 3_000, call.getKey() + " ended " + tookMs + " ms after it began, woken after 300 ms");
                waker.get();
            }
            // A manually assigned partition starts at the group's committed offset, asked by position() (not by pause).
            try (RafkaConsumer<String, String> fresh = new RafkaConsumer<>(builder().groupId("woken")
                    .defaultApiTimeout(Duration.ofSeconds(25)).config(), Deserializers.string(), Deserializers.string(), channels)) {
                fresh.assign(List.of(tp));
                fresh.pause(List.of(tp));
                assertEquals(Set.of(tp), fresh.paused());
                CompletableFuture<Void> waker = CompletableFuture.runAsync(() -> {
                    sleep(300);
                    fresh.wakeup();
                });
                long startNs = System.nanoTime();
                assertThrows(WakeupException.class, () -> fresh.position(tp));
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                assertTrue(tookMs < 3_000, "position ended " + tookMs + " ms after it began, woken after 300 ms");
                waker.get();
            }
            long startNs = System.nanoTime();
            io.rafka.client.consumer.ConsumerException timedOut = assertThrows(io.rafka.client.consumer.ConsumerException.class,
                    () -> consumer.committed(Set.of(tp), Duration.ofMillis(500)));
            assertEquals("REQUEST_TIMED_OUT", timedOut.code());
            timedOut = assertThrows(io.rafka.client.consumer.ConsumerException.class,
                    () -> consumer.endOffsets(List.of(tp), Duration.ofMillis(500)));
            assertEquals("REQUEST_TIMED_OUT", timedOut.code());
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs < 4_000, "two calls of 500 ms took " + tookMs + " ms");

            // A call given a timeout ends with REQUEST_TIMED_OUT, not with the last retriable error it saw (here: the
            // topic does not exist), however its last retry and its deadline fall.
            for (int i = 0; i < 30; i++) {
                io.rafka.client.consumer.ConsumerException e = assertThrows(io.rafka.client.consumer.ConsumerException.class,
                        () -> consumer.partitionsFor("no-such-topic", Duration.ofMillis(100)));
                assertEquals("REQUEST_TIMED_OUT", e.code(), e.getMessage());
            }
            // And it says what it was waiting for.
            io.rafka.client.consumer.ConsumerException why = assertThrows(io.rafka.client.consumer.ConsumerException.class,
                    () -> consumer.endOffsets(List.of(new TopicPartition("no-such-topic", 0)), Duration.ofMillis(1_500)));
            assertTrue(why.getMessage().contains("; the last failure was ") && why.getMessage().contains("no-such-topic"),
                    why.getMessage());

            hang.set(false);
            consumer.wakeup();
            assertThrows(WakeupException.class, () -> consumer.endOffsets(List.of(tp)), "a wakeup made before the call");
            assertEquals(5L, consumer.endOffsets(List.of(tp)).get(tp), "and only that call");
            assertEquals(2L, consumer.committed(Set.of(tp), Duration.ofSeconds(10)).get(tp).offset());
            assertEquals(5L, consumer.position(tp, Duration.ofSeconds(10)));
        }
    }

    /**
     * close(timeout) gives the last auto-commit and the leave the whole timeout (as Kafka's), not a fixed 5 s: with
     * the coordinator refusing commits for 7 s, a close with 20 s still commits what was read; a short close stays
     * short.
     */
    @Test
    void closeGivesTheLastCommitTheWholeTimeout() {
        createTopic("closing", 1);
        produce("closing", 0, 10, 0);
        TopicPartition tp = new TopicPartition("closing", 0);
        java.util.concurrent.atomic.AtomicLong refuseUntilNs = new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);
        ClientInterceptor refusingCommits = new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                if (!method.getFullMethodName().endsWith("/CommitOffsets") || System.nanoTime() - refuseUntilNs.get() >= 0) {
                    return next.newCall(method, options);
                }
                return new ClientCall<>() {
                    @Override
                    public void start(Listener<R> listener, io.grpc.Metadata headers) {
                        listener.onClose(io.grpc.Status.UNAVAILABLE.withDescription("refused by the test"), new io.grpc.Metadata());
                    }

                    @Override
                    public void request(int numMessages) {
                    }

                    @Override
                    public void cancel(String message, Throwable cause) {
                    }

                    @Override
                    public void halfClose() {
                    }

                    @Override
                    public void sendMessage(Q message) {
                    }
                };
            }
        };
        try (ChannelPool channels = new ChannelPool(address -> ManagedChannelBuilder.forAddress(address.host(), address.port())
                .usePlaintext().intercept(refusingCommits).build())) {
            RafkaConsumer<String, String> consumer = new RafkaConsumer<>(builder().groupId("closer").autoOffsetReset("earliest")
                    .enableAutoCommit(true).autoCommitInterval(Duration.ofMinutes(10)).config(),
                    Deserializers.string(), Deserializers.string(), channels);
            consumer.subscribe(List.of("closing"));
            assertEquals(10, offsets(consumer, 10).size());
            refuseUntilNs.set(System.nanoTime() + TimeUnit.SECONDS.toNanos(7));
            long startNs = System.nanoTime();
            consumer.close(Duration.ofSeconds(20));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs >= 6_000 && tookMs < 16_000, "close took " + tookMs + " ms");
            try (RafkaConsumer<String, String> check = builder().groupId("closer").build()) {
                check.assign(List.of(tp));
                OffsetAndMetadata committed = check.committed(Set.of(tp)).get(tp);
                assertNotNull(committed, "the last commit was made before close gave up");
                assertEquals(10, committed.offset());
            }

            RafkaConsumer<String, String> brief = new RafkaConsumer<>(builder().groupId("closer-brief")
                    .autoOffsetReset("earliest").enableAutoCommit(true).autoCommitInterval(Duration.ofMinutes(10)).config(),
                    Deserializers.string(), Deserializers.string(), channels);
            brief.subscribe(List.of("closing"));
            assertEquals(10, offsets(brief, 10).size());
            refuseUntilNs.set(System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
            startNs = System.nanoTime();
            brief.close(Duration.ofMillis(1_500));
            tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(tookMs < 4_000, "close(1.5 s) took " + tookMs + " ms");
        }
    }

    /**
     * Kafka's currentLag (from the last fetch answer, no request), listTopics, seek to an OffsetAndMetadata, and a
     * negative poll timeout refused.
     */
    @Test
    void currentLagFollowsThePositionAndListTopicsListsPartitions() {
        createTopic("lagging", 2);
        produce("lagging", 0, 30, 0);
        TopicPartition tp = new TopicPartition("lagging", 0);
        try (RafkaConsumer<String, String> consumer = builder().maxPollRecords(10).build()) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, new OffsetAndMetadata(5, "from here"));
            assertTrue(consumer.currentLag(tp).isEmpty(), "nothing fetched yet");
            int read = 0;
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (read == 0 && System.currentTimeMillis() < deadline) {
                read = consumer.poll(Duration.ofMillis(200)).count();
            }
            assertEquals(10, read);
            assertEquals(15, consumer.position(tp));
            assertEquals(15, consumer.currentLag(tp).orElse(-1), "30 records, position 15");
            while (read < 25 && System.currentTimeMillis() < deadline) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            assertEquals(0, consumer.currentLag(tp).orElse(-1), "read to the end");
            assertThrows(IllegalStateException.class, () -> consumer.currentLag(new TopicPartition("lagging", 1)));
            assertThrows(IllegalArgumentException.class, () -> consumer.poll(Duration.ofMillis(-1)));

            Map<String, List<TopicPartition>> topics = consumer.listTopics();
            assertEquals(List.of(tp, new TopicPartition("lagging", 1)), topics.get("lagging"));
            assertEquals(topics.get("lagging"), consumer.partitionsFor("lagging"));
        }
    }

    /** key=value in the order the group's members handed them out (one test thread polls both). */
    private static final List<String> order = new ArrayList<>();

    private static void pollInto(RafkaConsumer<String, String> consumer, Map<String, Integer> seen) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
        for (ConsumerRecord<String, String> r : records) {
            seen.merge(r.value(), 1, Integer::sum);
            order.add(r.key() + "=" + r.value());
        }
        if (!records.isEmpty()) {
            consumer.commitSync();
        }
    }

    private static int count(Map<String, Integer> seen) {
        return seen.size();
    }

    /**
     * As Kafka's consumer: subscribing again to the same topics changes only the listener (no leave, no rebalance:
     * nothing revoked, nothing assigned again); seekToBeginning with no partitions seeks every assigned one; assign
     * with no partitions is unsubscribe, after which subscribe works.
     */
    @Test
    void theSameSubscriptionAgainKeepsTheMembershipAndEmptyCollectionsMeanAllOrNone() {
        createTopic("same-again", 2);
        produce("same-again", 0, 30, null);
        List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
        class Listener implements io.rafka.client.consumer.ConsumerRebalanceListener {
            private final String name;

            Listener(String name) {
                this.name = name;
            }

            @Override
            public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                events.add(name + " revoked " + partitions.size());
            }

            @Override
            public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                events.add(name + " assigned " + partitions.size());
            }
        }
        try (RafkaConsumer<String, String> consumer = builder().groupId("same-again").autoOffsetReset("earliest").build()) {
            consumer.subscribe(List.of("same-again"), new Listener("first"));
            assertEquals(30, offsets(consumer, 30).size());
            Set<TopicPartition> owned = consumer.assignment();
            assertEquals(2, owned.size());
            assertEquals(List.of("first assigned 2"), events);
            consumer.subscribe(List.of("same-again"), new Listener("second"));
            produce("same-again", 30, 10, null);
            assertEquals(10, offsets(consumer, 10).size(), "consumption goes on where it was");
            assertEquals(owned, consumer.assignment());
            assertEquals(List.of("first assigned 2"), events, "no leave and no rebalance");

            consumer.seekToBeginning(List.of());
            assertEquals(40, offsets(consumer, 40).size(), "every assigned partition read again from the start");

            consumer.assign(List.of());
            assertEquals(Set.of(), consumer.assignment());
            assertEquals(List.of("first assigned 2", "second revoked 2"), events, "an empty assign unsubscribed");
            consumer.subscribe(List.of("same-again"));
            consumer.seekToBeginning(List.of());   // nothing assigned yet: nothing to seek
            produce("same-again", 40, 5, null);
            assertEquals(5, offsets(consumer, 5).size(), "from the offsets committed before (auto-commit)");
            assertEquals(owned, consumer.assignment());
        }
    }

    /**
     * With auto-commit, a revocation listener that commits what it processed (less than what poll returned) has the
     * last word: the revocation's own commit of the positions does not overwrite it (Kafka's consumer commits the
     * positions before it calls the listener), so the next owner starts after what was processed.
     */
    @Test
    void aRevocationListenersOwnCommitIsNotOverwrittenByTheAutoCommit() {
        createTopic("processed", 1);
        produce("processed", 0, 20, 0);
        TopicPartition tp = new TopicPartition("processed", 0);
        java.util.concurrent.atomic.AtomicReference<RafkaConsumer<String, String>> self = new java.util.concurrent.atomic.AtomicReference<>();
        try (RafkaConsumer<String, String> consumer = builder().groupId("processed").autoOffsetReset("earliest").build()) {
            self.set(consumer);
            consumer.subscribe(List.of("processed"), new io.rafka.client.consumer.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                    // only the first 5 records were processed
                    self.get().commitSync(Map.of(tp, new io.rafka.client.consumer.OffsetAndMetadata(5, "")));
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                }
            });
            assertEquals(20, offsets(consumer, 20).size());
            consumer.unsubscribe();
        }
        try (RafkaConsumer<String, String> check = builder().groupId("processed").build()) {
            check.assign(List.of(tp));
            assertEquals(5, check.committed(Set.of(tp)).get(tp).offset(), "the listener's commit stands");
        }
    }

    private static List<Long> offsets(RafkaConsumer<String, String> consumer, int n) {
        List<Long> offsets = new ArrayList<>();
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (offsets.size() < n && System.currentTimeMillis() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(r -> offsets.add(r.offset()));
        }
        assertTrue(offsets.size() >= n, "read " + offsets.size() + " of " + n);
        return offsets;
    }

    private static RafkaConsumer<String, String> groupConsumer(String group) {
        return builder().groupId(group).autoOffsetReset("earliest").enableAutoCommit(false).maxPollRecords(50).build();
    }

    private static io.rafka.client.consumer.ConsumerBuilder<String, String> builder() {
        return RafkaConsumer.builder(Deserializers.string(), Deserializers.string()).bootstrap(servers());
    }

    private static String servers() {
        List<String> servers = new ArrayList<>();
        for (int i = 0; i < cluster.size(); i++) {
            servers.add("127.0.0.1:" + cluster.grpcPort(i));
        }
        return String.join(",", servers);
    }

    private static void produce(String topic, int from, int n, Integer partition) {
        try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                .bootstrap(servers()).acks(Acks.ALL).build()) {
            List<CompletableFuture<?>> sent = new ArrayList<>();
            for (int i = from; i < from + n; i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, partition, null, "k" + (i % 20), topic + "-" + i, null)));
            }
            sent.forEach(CompletableFuture::join);
        }
    }

    private static void createTopic(String name, int partitions) {
        assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                NewTopic.newBuilder().setName(name).setPartitions(partitions).setReplicationFactor(3)).build())
                .getResults(0).getErrorCode());
        cluster.awaitLeaders(0, name, 60_000);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
