package io.rafka.client.chaos;

import io.rafka.client.chaos.History.Group;
import io.rafka.client.consumer.ConsumerRebalanceListener;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * The chaos run's readers: members of one consumer group (SDK consumers, committing after each poll) and one
 * consumer with manual assignment of every partition (no group, from the beginning; named
 * {@value #ASSIGNED_PREFIX}0), which consume while the producers write and the nemesis strikes, and go on after
 * the writers stop until each has consumed every acknowledged value or a deadline passes. Every record a poll
 * returns, and every partition a reader is told it owns or no longer owns, goes to the {@link History} in the order
 * the reader saw it, for the checker's poll-skip, nonmonotonic, group-ownership and consumer-lost checks.
 */
final class ChaosConsumers {
    private static final Logger LOG = LoggerFactory.getLogger(ChaosConsumers.class);

    private final String bootstrap;
    private final String topic;
    private final History history;
    /** Readers named so consume with manual assignment, outside the group. */
    static final String ASSIGNED_PREFIX = "assigned";

    private final Set<String> consumed = ConcurrentHashMap.newKeySet();
    private final Set<String> consumedAssigned = ConcurrentHashMap.newKeySet();
    private int groupMembers;
    private boolean assignedRunning;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stop;

    ChaosConsumers(String bootstrap, String topic, History history) {
        this.bootstrap = bootstrap;
        this.topic = topic;
        this.history = history;
    }

    /** Starts {@code members} members of group {@code group}. */
    void start(int members, String group) {
        groupMembers += members;
        for (int i = 0; i < members; i++) {
            String name = "member" + i;
            Thread t = new Thread(() -> consume(name, group), "chaos-" + name);
            t.start();
            threads.add(t);
        }
    }

    /** Starts the reader with manual assignment of partitions 0..{@code partitions}-1. */
    void startAssigned(int partitions) {
        String name = ASSIGNED_PREFIX + "0";
        Thread t = new Thread(() -> consumeAssigned(name, partitions), "chaos-" + name);
        t.start();
        threads.add(t);
        assignedRunning = true;
    }

    /**
     * Waits until the readers consumed every value of {@code acked} (checked as it is then) or {@code timeoutMs}
     * passed, then stops them; returns whether they got everything.
     */
    boolean drainAndStop(Set<String> acked, BooleanSupplier writersDone, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        boolean all = false;
        while (System.currentTimeMillis() < deadline) {
            boolean groupDone = groupMembers == 0 || consumed.containsAll(acked);
            boolean assignedDone = !assignedRunning || consumedAssigned.containsAll(acked);
            if (writersDone.getAsBoolean() && groupDone && assignedDone) {
                all = true;
                break;
            }
            Thread.sleep(100);
        }
        stop = true;
        for (Thread t : threads) {
            t.join(30_000);
        }
        LOG.warn("group consumed {} distinct values, the assigned reader {}{}", consumed.size(), consumedAssigned.size(),
                all ? "" : " (stopped at the deadline)");
        return all;
    }

    private void consumeAssigned(String name, int partitions) {
        history.group(new Group(Group.START, name, -1, -1, "-", System.currentTimeMillis()));
        List<TopicPartition> all = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            all.add(new TopicPartition(topic, p));
        }
        while (!stop) {
            try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                    .bootstrap(bootstrap).clientId(name).autoOffsetReset("earliest").enableAutoCommit(false).build()) {
                consumer.assign(all);
                consumer.seekToBeginning(all);
                // A new consumer reads each partition from offset 0 again: a new assignment for the checker.
                note(Group.ASSIGN, name, all);
                while (!stop) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        history.group(new Group(Group.CONSUME, name, r.partition(), r.offset(), r.value(),
                                System.currentTimeMillis()));
                        consumedAssigned.add(r.value());
                    }
                }
            } catch (RuntimeException e) {
                LOG.warn("{}: consumer failed, starting again: {}", name, e.toString());
                note(Group.RELEASE, name, null);
            }
        }
    }

    private void consume(String name, String group) {
        history.group(new Group(Group.START, name, -1, -1, "-", System.currentTimeMillis()));
        ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                note(Group.RELEASE, name, partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                note(Group.ASSIGN, name, partitions);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                note(Group.RELEASE, name, partitions);
            }
        };
        while (!stop) {
            try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                    .bootstrap(bootstrap).groupId(group).clientId(name).autoOffsetReset("earliest").enableAutoCommit(false)
                    .sessionTimeout(Duration.ofSeconds(10)).build()) {
                consumer.subscribe(List.of(topic), listener);
                while (!stop) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        history.group(new Group(Group.CONSUME, name, r.partition(), r.offset(), r.value(),
                                System.currentTimeMillis()));
                        consumed.add(r.value());
                    }
                    try {
                        consumer.commitSync();   // after processing: at least once
                    } catch (RuntimeException e) {
                        LOG.debug("{}: commit failed: {}", name, e.toString());
                    }
                }
            } catch (RuntimeException e) {
                // A consumer that failed for good (a retriable error that outlasted its timeout) leaves; a new one
                // joins in its place, as an application would restart it.
                LOG.warn("{}: consumer failed, starting again: {}", name, e.toString());
                note(Group.RELEASE, name, null);
            }
        }
    }

    /** Logs assignment changes; {@code null} partitions: everything the member owned (it is gone). */
    private void note(String kind, String member, Collection<TopicPartition> partitions) {
        long now = System.currentTimeMillis();
        if (partitions == null) {
            history.group(new Group(kind, member, -1, -1, "-", now));
            return;
        }
        for (TopicPartition tp : partitions) {
            history.group(new Group(kind, member, tp.partition(), -1, "-", now));
        }
    }
}
