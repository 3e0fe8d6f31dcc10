package io.rafka.client.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class LineRecordTest {

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Test
    void withoutSeparatorTheWholeLineIsTheValue() {
        LineRecord record = LineRecord.parse("a:b c", null);
        assertNull(record.key());
        assertEquals("a:b c", text(record.value()));
    }

    @Test
    void keyIsTheTextBeforeTheFirstSeparator() {
        LineRecord record = LineRecord.parse("user-1:x:y", ":");
        assertEquals("user-1", text(record.key()));
        assertEquals("x:y", text(record.value()));
    }

    @Test
    void multiCharacterSeparator() {
        LineRecord record = LineRecord.parse("k=>v=>w", "=>");
        assertEquals("k", text(record.key()));
        assertEquals("v=>w", text(record.value()));
    }

    @Test
    void lineWithoutTheSeparatorHasNoKey() {
        LineRecord record = LineRecord.parse("no key here", "\t");
        assertNull(record.key());
        assertEquals("no key here", text(record.value()));
    }

    @Test
    void leadingSeparatorGivesAnEmptyKeyNotANullOne() {
        LineRecord record = LineRecord.parse(":value", ":");
        assertArrayEquals(new byte[0], record.key());
        assertEquals("value", text(record.value()));
    }

    @Test
    void trailingSeparatorGivesAnEmptyValue() {
        LineRecord record = LineRecord.parse("key:", ":");
        assertEquals("key", text(record.key()));
        assertArrayEquals(new byte[0], record.value());
    }

    @Test
    void emptyLineIsAnEmptyValue() {
        LineRecord record = LineRecord.parse("", ":");
        assertNull(record.key());
        assertArrayEquals(new byte[0], record.value());
    }

    @Test
    void textIsEncodedAsUtf8() {
        LineRecord record = LineRecord.parse("clé\tvaleur€", "\t");
        assertArrayEquals(new byte[] {'c', 'l', (byte) 0xc3, (byte) 0xa9}, record.key());
        assertArrayEquals("valeur€".getBytes(StandardCharsets.UTF_8), record.value());
        assertEquals(9, record.value().length);
    }
}
