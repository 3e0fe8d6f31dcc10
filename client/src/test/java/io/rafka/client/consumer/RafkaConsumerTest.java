package io.rafka.client.consumer;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the consumer decides before it talks to a broker: misuse, wakeup, closed. (Brokers: ConsumerIT.) */
class RafkaConsumerTest {
    /** Nothing listens there; none of these calls may reach it. */
    private static final String NOWHERE = "127.0.0.1:1";
    private final TopicPartition p0 = new TopicPartition("orders", 0);

    @Test
    void misuseIsAnIllegalStateOrATypedError() {
        try (RafkaConsumer<String, String> noGroup = consumer("")) {
            assertThrows(IllegalStateException.class, () -> noGroup.poll(Duration.ZERO), "neither subscribed nor assigned");
            assertThrows(IllegalStateException.class, () -> noGroup.committed(Set.of(p0)), "commits need a group.id");
            ConsumerException e = assertThrows(ConsumerException.class, () -> noGroup.subscribe(List.of("orders")));
            assertEquals(ErrorCode.INVALID_GROUP_ID, e.errorCode());
            noGroup.assign(List.of(p0));
            assertEquals(Set.of(p0), noGroup.assignment());
            assertThrows(IllegalStateException.class, () -> noGroup.commitSync(), "commits need a group.id");
            assertThrows(IllegalStateException.class, () -> noGroup.seek(new TopicPartition("orders", 1), 0));
        }
        try (RafkaConsumer<String, String> grouped = consumer("g")) {
            grouped.assign(List.of(p0));
            assertThrows(IllegalStateException.class, () -> grouped.subscribe(List.of("orders")));
            grouped.unsubscribe();
            assertThrows(IllegalArgumentException.class, () -> grouped.subscribe(List.of("orders", " ")), "a blank name");
            assertThrows(IllegalArgumentException.class, () -> grouped.subscribe(java.util.Arrays.asList("orders", null)));
            grouped.subscribe(List.of("orders"));
            assertEquals(Set.of("orders"), grouped.subscription());
            assertThrows(IllegalStateException.class, () -> grouped.assign(List.of(p0)));
        }
    }

    @Test
    void wakeupEndsTheNextPollAndAClosedConsumerRefusesCalls() {
        RafkaConsumer<String, String> consumer = consumer("");
        consumer.assign(List.of(p0));
        consumer.seek(p0, 5);
        consumer.wakeup();
        assertThrows(WakeupException.class, () -> consumer.poll(Duration.ofSeconds(30)));
        assertEquals(5, consumer.position(p0));
        consumer.close();
        consumer.close();   // twice is fine
        assertThrows(IllegalStateException.class, () -> consumer.poll(Duration.ZERO));
    }

    /**
     * A poll waiting for a group coordinator that cannot be reached (it retries for default.api.timeout.ms, 60 s)
     * ends with WakeupException soon after wakeup() from another thread, as the documentation promises.
     */
    @Test
    void wakeupEndsAPollThatWaitsForAnUnreachableCoordinator() throws Exception {
        try (RafkaConsumer<String, String> consumer = consumer("g")) {
            consumer.subscribe(List.of("orders"));
            java.util.concurrent.ScheduledExecutorService waker = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
            try {
                waker.schedule(consumer::wakeup, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
                org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(15),
                        () -> assertThrows(WakeupException.class, () -> consumer.poll(Duration.ofSeconds(120))));
            } finally {
                waker.shutdownNow();
            }
        }
    }

    /**
     * poll(timeout) returns in its timeout while the group's coordinator cannot be reached (Kafka's contract), with
     * nothing, and the next poll goes on trying; before, it retried for default.api.timeout.ms (60 s) and threw.
     */
    @Test
    void aPollReturnsInItsTimeoutWhileTheCoordinatorCannotBeReached() {
        try (RafkaConsumer<String, String> consumer = consumer("g")) {
            consumer.subscribe(List.of("orders"));
            for (int i = 0; i < 3; i++) {
                ConsumerRecords<String, String> none = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                        Duration.ofSeconds(20), () -> consumer.poll(Duration.ofMillis(200)));
                assertEquals(0, none.count());
            }
            assertEquals(Set.of(), consumer.assignment());
        }
    }

    /**
     * Polls shorter than the retry budget do not start it over each time: once the coordinator could not be reached
     * for default.api.timeout.ms over consecutive polls, a poll says so (retriable, as the CLI reports it); the next
     * poll starts a fresh budget.
     */
    @Test
    void aCoordinatorAwayForTheApiTimeoutFailsAPollAndTheNextStartsOver() {
        try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                .bootstrap(NOWHERE).groupId("g").enableAutoCommit(false).defaultApiTimeout(Duration.ofSeconds(1)).build()) {
            consumer.subscribe(List.of("orders"));
            ConsumerException away = null;
            long start = System.nanoTime();
            for (int i = 0; i < 100 && away == null; i++) {
                try {
                    consumer.poll(Duration.ofMillis(100));
                } catch (ConsumerException e) {
                    away = e;
                }
            }
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(away != null, "no poll reported the unreachable coordinator");
            assertEquals("UNAVAILABLE", away.code(), away.getMessage());
            assertTrue(tookMs >= 900, "reported after the budget, not at once: " + tookMs + " ms");
            assertEquals(0, consumer.poll(Duration.ofMillis(100)).count(), "the next poll starts over");
        }
    }

    /**
     * As Kafka's: an interrupt ends a poll with InterruptException, the thread's interrupt flag set again (it was a
     * ConsumerException INTERRUPTED). Here the poll waits because its one partition is paused.
     */
    @Test
    void anInterruptEndsAPollWithInterruptException() {
        try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                .bootstrap(NOWHERE).build()) {
            io.rafka.common.TopicPartition tp = new io.rafka.common.TopicPartition("orders", 0);
            consumer.assign(List.of(tp));
            consumer.pause(List.of(tp));
            Thread.currentThread().interrupt();
            long start = System.nanoTime();
            assertThrows(io.rafka.client.InterruptException.class, () -> consumer.poll(Duration.ofSeconds(10)));
            assertTrue(Thread.interrupted(), "the interrupt flag is set again (and cleared here)");
            assertTrue((System.nanoTime() - start) / 1_000_000 < 5_000, "at once, not after the poll's 10 s");
        }
    }

    private static RafkaConsumer<String, String> consumer(String group) {
        return RafkaConsumer.builder(Deserializers.string(), Deserializers.string()).bootstrap(NOWHERE).groupId(group)
                .enableAutoCommit(false).build();
    }
}
