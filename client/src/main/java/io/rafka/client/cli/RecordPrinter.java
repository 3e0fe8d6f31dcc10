package io.rafka.client.cli;

import io.rafka.client.consumer.ConsumerRecord;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Prints consumed records one per line: the value as UTF-8, optionally prefixed by
 * {@code partition:offset<TAB>} ({@code topic:partition:offset<TAB>} when records of several topics are printed) and
 * then by {@code key<TAB>}. Tabs separate the fields because they
 * rarely occur in keys and they split cleanly with {@code cut} and {@code awk -F'\t'}. An absent key
 * or value (a null, or a tombstone) prints as {@code null}, as Kafka's console consumer prints it.
 */
final class RecordPrinter {

    private final PrintStream out;
    private final boolean printKey;
    private final boolean printOffset;
    private final boolean printTopic;
    private long printed;

    RecordPrinter(PrintStream out, boolean printKey, boolean printOffset) {
        this(out, printKey, printOffset, false);
    }

    /** @param printTopic whether the offset's prefix names the topic too (a subscription to several topics) */
    RecordPrinter(PrintStream out, boolean printKey, boolean printOffset, boolean printTopic) {
        this.out = out;
        this.printKey = printKey;
        this.printOffset = printOffset;
        this.printTopic = printTopic;
    }

    /** Prints a record the Java SDK's consumer returned. */
    void print(ConsumerRecord<byte[], byte[]> record) {
        out.print(format(record));
        out.print('\n');
        printed++;
    }

    String format(ConsumerRecord<byte[], byte[]> record) {
        StringBuilder line = new StringBuilder();
        if (printOffset) {
            if (printTopic) {
                line.append(record.topic()).append(':');
            }
            line.append(record.partition()).append(':').append(record.offset()).append('\t');
        }
        if (printKey) {
            line.append(utf8(record.key())).append('\t');
        }
        return line.append(utf8(record.value())).toString();
    }

    private static String utf8(byte[] bytes) {
        return bytes == null ? "null" : new String(bytes, StandardCharsets.UTF_8);
    }

    /** Records printed so far. */
    long printed() {
        return printed;
    }
}
