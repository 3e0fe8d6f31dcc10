package io.rafka.client.producer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's "Java SDK" snippet is {@link #example()}: compiled here, and the README's text must be its body
 * as written, so the two cannot drift. (It needs a running broker, so it is compiled, not run.)
 */
class ReadmeExampleTest {
    private static final Path SOURCE = Path.of("src/test/java/io/rafka/client/producer/ReadmeExampleTest.java");
    private static final Path README = Path.of("../README.md");

    @SuppressWarnings("unused")
    static void example() {
        // README:start
        try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                .bootstrap("127.0.0.1:9192").acks(Acks.ALL).lingerMs(5).build()) {
            producer.send(new ProducerRecord<>("orders", "customer-42", "{\"total\": 12}"), (metadata, error) -> {
                if (error != null) System.err.println("not delivered: " + error);
            });
            RecordMetadata m = producer.send(new ProducerRecord<>("orders", "customer-7", "{}")).join();
        }
        // README:end
    }

    @Test
    void readmeShowsTheCompiledExample() throws IOException {
        List<String> source = Files.readAllLines(SOURCE);
        int start = source.indexOf("        // README:start");
        int end = source.indexOf("        // README:end");
        assertTrue(start >= 0 && end > start, "markers in " + SOURCE);
        List<String> snippet = source.subList(start + 1, end).stream().map(l -> l.length() >= 8 ? l.substring(8) : l).toList();
        List<String> readme = Files.readAllLines(README);
        int section = readme.indexOf("### Java SDK");
        int open = readme.subList(section, readme.size()).indexOf("```java") + section;
        int close = readme.subList(open + 1, readme.size()).indexOf("```") + open + 1;
        assertTrue(section >= 0 && open > section && close > open, "README has a java block under ### Java SDK");
        assertEquals(String.join("\n", snippet), String.join("\n", readme.subList(open + 1, close)));
    }
}
