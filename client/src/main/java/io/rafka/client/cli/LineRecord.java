package io.rafka.client.cli;

import java.nio.charset.StandardCharsets;

/**
 * One line of {@code produce}'s input as a record: the value is the line's UTF-8 bytes, or, with a key
 * separator, the key is the text before the first separator and the value the text after it. A line
 * without the separator has no key (rather than failing the whole run, as Kafka's console producer
 * does), because one odd line in a large file should not lose the lines after it.
 *
 * @param key   null for no key; empty when the line starts with the separator
 * @param value never null: an empty line is an empty value
 */
record LineRecord(byte[] key, byte[] value) {

    /** @param keySeparator null when lines carry no key */
    static LineRecord parse(String line, String keySeparator) {
        if (keySeparator != null) {
            int at = line.indexOf(keySeparator);
            if (at >= 0) {
                return new LineRecord(utf8(line.substring(0, at)), utf8(line.substring(at + keySeparator.length())));
            }
        }
        return new LineRecord(null, utf8(line));
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
