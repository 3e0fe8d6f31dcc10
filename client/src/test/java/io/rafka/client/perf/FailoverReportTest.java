package io.rafka.client.perf;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The failover table's arithmetic: the three parts add up to kill → first ack, and the killed node's late
 * answers do not count as the partition being written again.
 */
class FailoverReportTest {
    private static final Map<String, String> NODES = Map.of("h:1", "1", "h:2", "2");

    @Test
    void splitsKillToFirstAckIntoLeaderReadyRediscoveryAndReady() {
        FailoverReport.Kill kill = FailoverReport.Kill.parse("1\t1\t1000\t1100\t0,1\t5000\t300\t42");
        List<ProbeWriter.Ack> acks = List.of(
                new ProbeWriter.Ack(0, 7, 7, 990, 1003, "h:1"),   // the killed leader's answer, just after the kill
                new ProbeWriter.Ack(0, 8, 8, 1500, 1560, "h:2"),  // sent 100 ms after the new leader was visible
                new ProbeWriter.Ack(0, 9, 9, 1570, 1590, "h:2"),
                new ProbeWriter.Ack(1, 3, 3, 1200, 1450, "h:2")); // sent before; the leader was seen late
        List<LeaderWatch.LeaderEvent> events = List.of(
                new LeaderWatch.LeaderEvent(500, "1", 0, 1),
                new LeaderWatch.LeaderEvent(1400, "2", 0, 2),
                new LeaderWatch.LeaderEvent(1480, "2", 1, 2));

        List<FailoverReport.Row> rows = FailoverReport.rows(List.of(kill), acks, events, NODES);

        FailoverReport.Row p0 = rows.get(0);
        assertEquals("2", p0.newLeader());
        assertEquals(560, p0.firstAck());
        assertEquals(400, p0.elect());
        assertEquals(100, p0.rediscover());
        assertEquals(60, p0.ready());
        FailoverReport.Row p1 = rows.get(1);
        assertEquals(450, p1.firstAck());
        assertEquals(450, p1.elect(), "capped at the first ack");
        assertEquals(0, p1.rediscover());
        assertEquals(0, p1.ready());

        String table = FailoverReport.render(rows, new FailoverProbe.Verification(4, 0, 0, 4, List.of()), "t");
        assertTrue(table.contains("| 1 | 1 | 0 | 2 | 560 | 100 | 400 | 60 | 100 |"), table);
        assertTrue(table.contains("| **max** | | | | 560 |"), table);
        assertTrue(table.contains("lost 0, duplicated 0 (OK)"), table);
        assertTrue(table.contains("healthy after 5000 ms, caught up 300 ms later, 42 appends refused by followers meanwhile"),
                table);
    }

    @Test
    void aPartitionNeverWrittenAgainIsReported() {
        FailoverReport.Kill kill = FailoverReport.Kill.parse("2\t1\t1000\t-1\t0");
        List<FailoverReport.Row> rows = FailoverReport.rows(List.of(kill), List.of(), List.of(), NODES);
        String table = FailoverReport.render(rows, new FailoverProbe.Verification(0, 0, 0, 0, List.of()), "t");
        assertEquals(-1, rows.get(0).firstAck());
        assertTrue(table.contains("FAILED: 1 affected partition(s) had no acknowledgement after the kill"), table);
    }

    @Test
    void medianIsTheNearestRank() {
        assertEquals("2", FailoverReport.summarise(List.of(3L, 1L, 2L, 4L), false));
        assertEquals("4", FailoverReport.summarise(List.of(3L, 1L, 2L, 4L), true));
        assertEquals("-", FailoverReport.summarise(List.of(), false));
    }
}
