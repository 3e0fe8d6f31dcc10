package io.rafka.coordinator;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SubscriptionPatternTest {

    @Test
    void theEstimateFollowsRe2sOwnCountForOrdinaryPatternsAndIsAboveItWhereRepetitionsNest() {
        for (String p : List.of("feed-.*", "orders-(eu|us)-\\d+", "(?i)ORDERS.*", "[a-z]{1,100}[0-9]{2,}x", "\\Qa.b\\E{3}",
                "[]a]{2}", "\\p{L}{100}#", "(x+x+)+y", "(.|.){1,300}#", "((ab){1,10}c){1,10}", "(abcdefghij){1,700}",
                "[[:alpha:]_]+-(?P<region>eu|us)")) {
            long estimate = SubscriptionPattern.estimatedProgramSize(p);
            int actual = SubscriptionPattern.compile(p).programSize();
            assertTrue(estimate >= actual - 3 && estimate <= 2L * actual + 10,
                    p + ": estimated " + estimate + " instructions, RE2J compiled " + actual);
        }
    }

    @Test
    void patternsThatWouldCompileIntoHugeProgramsAreRefusedBeforeCompiling() {
        // Each of these makes RE2J allocate until the heap is gone (nested counted repetitions multiply).
        for (String p : List.of("((a{1,1000}){1,1000}){1,1000}", "(((.{0,1000}){0,1000}){0,1000}){0,1000}#",
                "(.{1,999}){1,20}#", "(abcdefghijklmnop){1,1000}", "((a{2,}){1000}){1000}")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SubscriptionPattern.compile(p), p);
            assertTrue(e.getMessage().contains("too large"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> SubscriptionPattern.compile("a".repeat(SubscriptionPattern.MAX_LENGTH + 1)));
    }

    @Test
    void javaRegexOnlySyntaxIsRefusedWithTheReason() {
        for (String p : List.of("(?=feed)f.*", "(?<!x)y", "(a)\\1", "[a-", "(unclosed", "x{2,1}")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SubscriptionPattern.compile(p), p);
            assertTrue(e.getMessage().contains("not a valid RE2 regular expression"), p + ": " + e.getMessage());
        }
    }

    @Test
    void matchesWholeNamesInTimeLinearInTheName() {
        assertTrue(SubscriptionPattern.compile("feed-.*").matcher("feed-a").matches());
        assertFalse(SubscriptionPattern.compile("feed-.*").matcher("my-feed-a").matches(), "the whole name, as Kafka");
        // java.util.regex tries ~2^60 ways to split this name before it gives up: this would not return.
        assertFalse(SubscriptionPattern.compile("(.|.){1,300}#").matcher("p".repeat(60)).matches());
        assertFalse(SubscriptionPattern.compile("(x+x+)+y").matcher("x".repeat(249)).matches());
    }
}
