package io.rafka.client.cli;

import io.rafka.client.internals.ClientException;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResetPlanTest {

    private static final TopicPartition P0 = new TopicPartition("t", 0);
    private static final TopicPartition P1 = new TopicPartition("t", 1);
    private static final List<TopicPartition> BOTH = List.of(P0, P1);
    /** Partition 0 holds 10..100, partition 1 holds 0..5; the group committed 50 on 0 and nothing on 1. */
    private static final Map<TopicPartition, Long> EARLIEST = Map.of(P0, 10L, P1, 0L);
    private static final Map<TopicPartition, Long> LATEST = Map.of(P0, 100L, P1, 5L);
    private static final Map<TopicPartition, Long> COMMITTED = Map.of(P0, 50L, P1, -1L);

    private static List<Long> targets(ResetPlan.Spec spec, Map<TopicPartition, Long> byTime) {
        return ResetPlan.compute(spec, BOTH, COMMITTED, EARLIEST, LATEST, byTime).stream().map(ResetPlan.Row::target).toList();
    }

    private static ResetPlan.Spec spec(String... args) {
        List<String> line = new java.util.ArrayList<>(List.of("group", "reset-offsets", "g", "--topic", "t"));
        line.addAll(List.of(args));
        GroupOptions.ResetOffsets command = Commands.parse(line.toArray(String[]::new));
        return command.spec();
    }

    @Test
    void eachKindClampedIntoTheLog() {
        assertEquals(List.of(10L, 0L), targets(spec("--to-earliest"), Map.of()));
        assertEquals(List.of(100L, 5L), targets(spec("--to-latest"), Map.of()));
        assertEquals(List.of(42L, 5L), targets(spec("--to-offset", "42"), Map.of()), "beyond the end clamps to the end");
        assertEquals(List.of(10L, 0L), targets(spec("--to-offset", "0"), Map.of()), "below the start clamps to the start");
        assertEquals(List.of(30L, 5L), targets(spec("--to-datetime", "2026-11-30T12:00:00Z"), Map.of(P0, 30L, P1, -1L)),
                "no record at or after the time: the end");
    }

    @Test
    void shiftByMovesFromTheCommittedOffsetAndNeedsOne() {
        List<ResetPlan.Row> rows = ResetPlan.compute(spec("--shift-by", "-45"), List.of(P0), COMMITTED, EARLIEST, LATEST, Map.of());
        assertEquals(new ResetPlan.Row(P0, 50, 10), rows.get(0), "50 - 45 clamps to the log start");
        assertEquals(100L, ResetPlan.compute(spec("--shift-by", "+500"), List.of(P0), COMMITTED, EARLIEST, LATEST, Map.of()).get(0).target());
        ClientException e = assertThrows(ClientException.class,
                () -> ResetPlan.compute(spec("--shift-by", "1"), List.of(P1), COMMITTED, EARLIEST, LATEST, Map.of()));
        assertEquals("NO_COMMITTED_OFFSET", e.code());
        assertTrue(e.getMessage().contains("t-1"), e.getMessage());
    }

    @Test
    void exactlyOneSpecAndValidValues() {
        assertThrows(UsageException.class, () -> spec());
        assertThrows(UsageException.class, () -> spec("--to-earliest", "--to-latest"));
        assertThrows(UsageException.class, () -> spec("--to-offset", "-1"));
        assertThrows(UsageException.class, () -> spec("--to-datetime", "yesterday"));
        assertEquals(ResetPlan.Spec.Kind.SHIFT_BY, spec("--shift-by", "-3").kind());
    }

    @Test
    void dateTimesWithAndWithoutZones() {
        assertEquals(1_796_040_000_000L, ResetPlan.parseDateTime("2026-11-30T12:00:00Z"));
        assertEquals(1_796_036_400_000L, ResetPlan.parseDateTime("2026-11-30T12:00:00+01:00"));
        ResetPlan.parseDateTime("2026-11-30T12:00:00");   // local time: accepted
    }

    @Test
    void planTableAndNoCurrentOffset() {
        List<String> lines = GroupFormatter.resetText("g", ResetPlan.compute(spec("--to-earliest"), BOTH, COMMITTED, EARLIEST,
                LATEST, Map.of()));
        assertEquals(3, lines.size());
        assertEquals(List.of("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"), List.of(lines.get(0).split(" +")));
        assertEquals(List.of("g", "t", "1", "-", "0"), List.of(lines.get(2).split(" +")));
    }
}
