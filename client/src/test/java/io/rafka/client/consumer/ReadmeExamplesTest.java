package io.rafka.client.consumer;

import io.rafka.client.admin.GroupDescription;
import io.rafka.client.admin.NewTopic;
import io.rafka.client.admin.RafkaAdmin;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's consumer and admin snippets (the second and third java blocks under "### Java SDK") are
 * {@link #consumer} and {@link #admin}: compiled here, and the README's text must be their bodies as written, so
 * they cannot drift. (They need a running broker, so they are compiled, not run.)
 */
class ReadmeExamplesTest {
    private static final Path SOURCE = Path.of("src/test/java/io/rafka/client/consumer/ReadmeExamplesTest.java");
    private static final Path README = Path.of("../README.md");

    @SuppressWarnings("unused")
    static void consumer(boolean running) {
        // README:start
        try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                .bootstrap("127.0.0.1:9192").groupId("billing").autoOffsetReset("earliest").enableAutoCommit(false).build()) {
            consumer.subscribe(List.of("orders"));
            while (running) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    System.out.println(r.partition() + "@" + r.offset() + " " + r.key() + "=" + r.value());
                }
                consumer.commitSync();   // after processing: at least once
            }
        }                                // close() leaves the group: its partitions move at once
        // README:end
    }

    @SuppressWarnings("unused")
    static void admin() {
        // README:start
        try (RafkaAdmin admin = RafkaAdmin.create("127.0.0.1:9192")) {
            admin.createTopics(List.of(new NewTopic("orders", 6, 3))).join();   // AdminException: TOPIC_ALREADY_EXISTS, ...
            long lag = admin.describeGroup("billing").join().partitions().stream()
                    .mapToLong(GroupDescription.PartitionState::lag).sum();
        }
        // README:end
    }

    @Test
    void readmeShowsTheCompiledExamples() throws IOException {
        List<List<String>> snippets = new ArrayList<>();
        List<String> source = Files.readAllLines(SOURCE);
        for (int i = 0; i < source.size(); i++) {
            if (source.get(i).equals("        // README:start")) {
                int end = source.subList(i, source.size()).indexOf("        // README:end") + i;
                snippets.add(source.subList(i + 1, end).stream().map(l -> l.length() >= 8 ? l.substring(8) : l).toList());
            }
        }
        assertEquals(2, snippets.size());
        List<String> readme = Files.readAllLines(README);
        int at = readme.indexOf("### Java SDK");
        assertTrue(at >= 0, "README has ### Java SDK");
        List<List<String>> blocks = new ArrayList<>();
        while (blocks.size() < 3) {
            int open = readme.subList(at, readme.size()).indexOf("```java") + at;
            int close = readme.subList(open + 1, readme.size()).indexOf("```") + open + 1;
            assertTrue(open >= at && close > open, "README has three java blocks under ### Java SDK");
            blocks.add(readme.subList(open + 1, close));
            at = close + 1;
        }
        assertEquals(String.join("\n", snippets.get(0)), String.join("\n", blocks.get(1)));
        assertEquals(String.join("\n", snippets.get(1)), String.join("\n", blocks.get(2)));
    }
}
