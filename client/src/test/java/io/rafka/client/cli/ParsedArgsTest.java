package io.rafka.client.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParsedArgsTest {

    private static final Set<String> VALUES = Set.of("--partitions", "--config", "--offset");
    private static final Set<String> FLAGS = Set.of("--from-beginning");

    private static ParsedArgs parse(String... args) {
        return ParsedArgs.parse(List.of(args), VALUES, FLAGS);
    }

    private static String usageError(String... args) {
        return assertThrows(UsageException.class, () -> parse(args)).getMessage();
    }

    @Test
    void optionsMayComeAnywhereAndInBothSpellings() {
        ParsedArgs args = parse("--partitions", "3", "orders", "--from-beginning", "--offset=7", "extra");
        assertEquals(List.of("orders", "extra"), args.positionals());
        assertEquals("3", args.value("--partitions"));
        assertEquals(7, args.longValue("--offset", 0, 0, 100));
        assertTrue(args.flag("--from-beginning"));
        assertTrue(args.has("--offset"));
        assertFalse(args.has("--config"));
    }

    @Test
    void absentOptionsTakeTheirDefaults() {
        ParsedArgs args = parse("orders");
        assertNull(args.value("--partitions"));
        assertEquals(-1, args.intValue("--partitions", -1, 1, 10));
        assertFalse(args.flag("--from-beginning"));
        assertEquals(List.of(), args.values("--config"));
        assertEquals(Map.of(), args.keyValues("--config"));
    }

    @Test
    void repeatedOptionsCollectInOrder() {
        ParsedArgs args = parse("--config", "retention.ms=1000", "--config=cleanup.policy=delete", "--config", "a=");
        assertEquals(List.of("retention.ms=1000", "cleanup.policy=delete", "a="), args.values("--config"));
        assertEquals(Map.of("retention.ms", "1000", "cleanup.policy", "delete", "a", ""), args.keyValues("--config"));
    }

    @Test
    void doubleDashEndsTheOptions() {
        ParsedArgs args = parse("--partitions", "2", "--", "--from-beginning", "-odd-topic");
        assertEquals(List.of("--from-beginning", "-odd-topic"), args.positionals());
        assertFalse(args.flag("--from-beginning"));
    }

    @Test
    void aValueMayStartWithADash() {
        assertEquals("-5", parse("--offset", "-5").value("--offset"));
    }

    @Test
    void mistakesAreUsageErrorsNamingTheOption() {
        assertEquals("unknown option --partition", usageError("--partition", "3"));
        assertEquals("unknown option -x", usageError("-x"));
        assertEquals("--partitions needs a value", usageError("orders", "--partitions"));
        assertEquals("--from-beginning takes no value", usageError("--from-beginning=yes"));
        assertEquals("--partitions given more than once",
                assertThrows(UsageException.class, () -> parse("--partitions", "1", "--partitions", "2").value("--partitions"))
                        .getMessage());
    }

    @Test
    void numbersAreCheckedForFormAndRange() {
        assertEquals("--partitions must be a whole number, not 'three'", assertThrows(UsageException.class,
                () -> parse("--partitions", "three").intValue("--partitions", 0, 1, 10)).getMessage());
        assertEquals("--partitions must be in 1..10, not 0", assertThrows(UsageException.class,
                () -> parse("--partitions", "0").intValue("--partitions", 0, 1, 10)).getMessage());
        assertEquals("--offset must be in 0..100, not -5", assertThrows(UsageException.class,
                () -> parse("--offset", "-5").longValue("--offset", 0, 0, 100)).getMessage());
    }

    @Test
    void configsNeedKeyEqualsValue() {
        assertEquals("--config needs KEY=VALUE, not 'retention.ms'", assertThrows(UsageException.class,
                () -> parse("--config", "retention.ms").keyValues("--config")).getMessage());
        assertThrows(UsageException.class, () -> parse("--config", "=1").keyValues("--config"));
    }

    @Test
    void positionalCountsAreChecked() {
        assertEquals("missing TOPIC", assertThrows(UsageException.class,
                () -> parse().positionals(1, 1, "TOPIC")).getMessage());
        assertEquals("unexpected argument 'b'", assertThrows(UsageException.class,
                () -> parse("a", "b").positionals(1, 1, "TOPIC")).getMessage());
        assertEquals(List.of("a"), parse("a").positionals(1, 1, "TOPIC"));
    }
}
