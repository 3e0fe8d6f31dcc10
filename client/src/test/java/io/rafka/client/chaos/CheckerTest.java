package io.rafka.client.chaos;

import io.rafka.client.chaos.History.Events;
import io.rafka.client.chaos.History.Fault;
import io.rafka.client.chaos.History.Group;
import io.rafka.client.chaos.History.Outcome;
import io.rafka.client.chaos.History.Read;
import io.rafka.client.chaos.History.Send;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each check fires on the anomaly it names, and only on it; a clean history passes; files round-trip. */
class CheckerTest {
    @TempDir
    Path dir;

    private final List<Send> sends = new ArrayList<>();
    private final List<Read> reads = new ArrayList<>();
    private final List<Fault> faults = new ArrayList<>();
    private final List<Group> group = new ArrayList<>();

    private void acked(String value, int partition, long offset, long atMs) {
        sends.add(new Send("p1", true, partition, value, atMs - 5, atMs, Outcome.OK, offset));
    }

    private void read(String value, int partition, long offset) {
        reads.add(new Read("final", partition, offset, value));
    }

    private History.Events events() {
        return new Events(sends, reads, faults, group);
    }

    private void cleanBase() {
        acked("a", 0, 0, 100);
        acked("b", 0, 1, 200);
        acked("c", 1, 0, 300);
        read("a", 0, 0);
        read("b", 0, 1);
        read("c", 1, 0);
    }

    @Test
    void aCleanHistoryPasses() {
        cleanBase();
        Checker.Report r = Checker.check(events());
        assertTrue(r.ok(), r.render());
        assertTrue(r.render().contains("lost-write: 0\n"), r.render());
    }

    @Test
    void anAcknowledgedValueMissingIsALostWrite() {
        cleanBase();
        reads.remove(1);
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("lost-write"));
        assertEquals(0L, r.counts().get("inconsistent-offsets"));
        assertFalse(r.ok());
    }

    @Test
    void twoValuesAtOneOffsetOrAValueAwayFromItsAckedOffsetAreInconsistent() {
        cleanBase();
        reads.add(new Read("replica-2", 0, 1, "x"));   // offset 1 read as b and as x
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("inconsistent-offsets"), r.render());

        sends.clear();
        reads.clear();
        acked("a", 0, 5, 100);
        read("a", 0, 6);
        assertEquals(1L, Checker.check(events()).counts().get("inconsistent-offsets"));
    }

    @Test
    void duplicatesCountOnlyForIdempotentProducers() {
        cleanBase();
        read("c", 1, 1);
        assertEquals(1L, Checker.check(events()).counts().get("duplicate"));

        sends.add(new Send("plain", false, 2, "d", 0, 10, Outcome.UNKNOWN, -1));
        read("d", 2, 0);
        read("d", 2, 1);
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("duplicate"), "the plain producer's double write is information only");
        assertEquals("1", r.info().get("duplicate-without-idempotence"));
    }

    @Test
    void aValueReadThatNoWriterSentIsAPhantom() {
        cleanBase();
        read("z", 1, 1);
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("phantom-read"), r.render());
        assertFalse(r.ok());
    }

    @Test
    void anIdempotentProducersValuesAtOffsetsOutOfSendOrderAreReordered() {
        sends.add(new Send("idem0", true, 0, "idem0-1", 0, 10, Outcome.OK, 4));
        sends.add(new Send("idem0", true, 0, "idem0-2", 0, 10, Outcome.FAIL, -1));   // a failed one in between
        sends.add(new Send("idem0", true, 0, "idem0-3", 0, 20, Outcome.OK, 7));
        sends.add(new Send("idem0", true, 1, "idem0-4", 0, 20, Outcome.OK, 0));      // another partition
        sends.add(new Send("plain1", false, 0, "plain1-1", 0, 20, Outcome.OK, 9));
        sends.add(new Send("plain1", false, 0, "plain1-2", 0, 20, Outcome.OK, 8));   // no idempotence: no promise
        read("idem0-1", 0, 4);
        read("idem0-3", 0, 7);
        read("idem0-4", 1, 0);
        read("plain1-2", 0, 8);
        read("plain1-1", 0, 9);
        Checker.Report r = Checker.check(events());
        assertTrue(r.ok(), r.render());

        sends.add(new Send("idem0", true, 0, "idem0-5", 0, 30, Outcome.OK, 5));      // sent after idem0-3, written before it
        read("idem0-5", 0, 5);
        r = Checker.check(events());
        assertEquals(1L, r.counts().get("reordered"), r.render());
        assertEquals(0L, r.counts().get("inconsistent-offsets"), r.render());
    }

    @Test
    void aValueReadWhoseSendFailedForCertainIsAnAbortedRead() {
        cleanBase();
        sends.add(new Send("p1", true, 0, "e", 0, 10, Outcome.FAIL, -1));
        read("e", 0, 2);
        sends.add(new Send("p1", true, 0, "f", 0, 10, Outcome.UNKNOWN, -1));
        read("f", 0, 3);
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("aborted-read"), "an unknown outcome may have been written");
        assertTrue(r.info().get("sends").contains("1 unknown of which 1 were written"), r.render());
    }

    private void groupEvent(String kind, String member, int partition, long offset, String value) {
        group.add(new Group(kind, member, partition, offset, value, group.size()));
    }

    /** The clean base consumed by two members: m1 has partition 0, m2 partition 1. */
    private void cleanGroup() {
        groupEvent(Group.ASSIGN, "m1", 0, -1, "-");
        groupEvent(Group.ASSIGN, "m2", 1, -1, "-");
        groupEvent(Group.CONSUME, "m1", 0, 0, "a");
        groupEvent(Group.CONSUME, "m1", 0, 1, "b");
        groupEvent(Group.CONSUME, "m2", 1, 0, "c");
    }

    @Test
    void aGroupThatConsumedEverythingInOrderPassesAndAMovedPartitionMayStartAgain() {
        cleanBase();
        cleanGroup();
        groupEvent(Group.RELEASE, "m1", -1, -1, "-");   // m1 gone: everything it owned released
        groupEvent(Group.ASSIGN, "m2", 0, -1, "-");
        groupEvent(Group.CONSUME, "m2", 0, 1, "b");     // from the last commit: delivered again, allowed
        Checker.Report r = Checker.check(events());
        assertTrue(r.ok(), r.render());
        assertEquals("3 distinct values", r.info().get("group-consumed"));
    }

    @Test
    void eachGroupCheckFiresOnItsAnomaly() {
        cleanBase();
        cleanGroup();
        groupEvent(Group.CONSUME, "m1", 0, 1, "b");     // backwards while owned
        groupEvent(Group.CONSUME, "m2", 1, 2, "x");     // skipped offset 1
        groupEvent(Group.ASSIGN, "m2", 0, -1, "-");     // given to m2 while m1 still consumes it
        groupEvent(Group.CONSUME, "m1", 0, 2, "y");
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("nonmonotonic"), r.render());
        assertEquals(1L, r.counts().get("poll-skip"), r.render());
        assertEquals(1L, r.counts().get("group-ownership"), r.render());
        assertEquals(0L, r.counts().get("consumer-lost"), r.render());

        group.removeIf(g -> g.value().equals("c"));     // partition 1's acknowledged value never consumed
        Checker.Report lost = Checker.check(events());
        assertEquals(1L, lost.counts().get("consumer-lost"), lost.render());
    }

    /** Members that started but never got a partition (no coordinator, say) consumed nothing: all of it is lost. */
    @Test
    void aGroupThatStartedAndNeverConsumedLostEverything() {
        cleanBase();
        assertEquals(0L, Checker.check(events()).counts().get("consumer-lost"), "no group ran");
        groupEvent(Group.START, "m1", -1, -1, "-");
        groupEvent(Group.START, "m2", -1, -1, "-");
        Checker.Report r = Checker.check(events());
        assertEquals(3L, r.counts().get("consumer-lost"), r.render());
    }

    @Test
    void theReaderWithManualAssignmentIsOutsideTheGroupButCheckedForOrderAndCompleteness() {
        cleanBase();
        cleanGroup();
        String reader = ChaosConsumers.ASSIGNED_PREFIX + "0";
        groupEvent(Group.ASSIGN, reader, 0, -1, "-");
        groupEvent(Group.ASSIGN, reader, 1, -1, "-");
        groupEvent(Group.CONSUME, reader, 0, 0, "a");   // partition 0 is m1's in the group: not an ownership finding
        groupEvent(Group.CONSUME, reader, 0, 1, "b");
        groupEvent(Group.CONSUME, reader, 1, 0, "c");
        Checker.Report clean = Checker.check(events());
        assertTrue(clean.ok(), clean.render());

        groupEvent(Group.CONSUME, reader, 0, 0, "a");   // backwards without a new assignment
        group.removeIf(g -> g.member().equals(reader) && g.value().equals("c"));
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("nonmonotonic"), r.render());
        assertEquals(1L, r.counts().get("consumer-lost"), "the reader never got c: " + r.render());
        assertEquals(0L, r.counts().get("group-ownership"), r.render());
    }

    @Test
    void aConsumedValueAtAnOffsetTheFinalReadFoundOtherwiseIsInconsistent() {
        cleanBase();
        cleanGroup();
        groupEvent(Group.CONSUME, "m2", 1, 1, "z");
        reads.add(new Read("final", 1, 1, "w"));
        Checker.Report r = Checker.check(events());
        assertEquals(1L, r.counts().get("inconsistent-offsets"), r.render());
    }

    @Test
    void availabilityIsTheLongestGapBetweenAcknowledgementsPerFaultKind() {
        cleanBase();
        acked("g", 0, 2, 1_300);   // 1,000 ms after the previous ack
        faults.add(new Fault("kill", "2", 400, 900));
        faults.add(new Fault("pause", "1", 2_000, 2_500));   // overlaps no gap
        Checker.Report r = Checker.check(events());
        assertEquals("1000", r.info().get("longest-gap-ms"));
        assertEquals("1000", r.info().get("longest-gap-ms-during-kill"));
        assertFalse(r.info().containsKey("longest-gap-ms-during-pause"));
        // Partition 0 alone went from 200 to 1,300 without an acknowledgement (partition 1's at 300 filled the
        // overall gap).
        assertEquals("1100", r.info().get("longest-partition-gap-ms"));
        assertEquals("1100", r.info().get("longest-partition-gap-ms-during-kill"));
        // Recovery: the kill healed at 900, partition 0's next acknowledgement came at 1,300 (partition 1 and the
        // pause saw none after their ends, so they count for nothing).
        assertEquals("400", r.info().get("recovery-ms"));
    }

    @Test
    void aHistoryFileRoundTripsAndRejectsGarbage() throws Exception {
        Path file = dir.resolve("history.tsv");
        try (History h = History.appendingTo(file)) {
            h.send(new Send("p1", true, 3, "v-1", 10, 20, Outcome.OK, 7));
            h.read(new Read("final", 3, 7, "v-1"));
            h.fault(new Fault("kill", "2", 11, 19));
            h.group(new Group(Group.START, "m1", -1, -1, "-", 9));
            h.group(new Group(Group.ASSIGN, "m1", 3, -1, "-", 12));
            h.group(new Group(Group.CONSUME, "m1", 3, 7, "v-1", 21));
        }
        Events parsed = History.parse(file);
        assertEquals(List.of(new Send("p1", true, 3, "v-1", 10, 20, Outcome.OK, 7)), parsed.sends());
        assertEquals(List.of(new Read("final", 3, 7, "v-1")), parsed.reads());
        assertEquals(List.of(new Fault("kill", "2", 11, 19)), parsed.faults());
        assertEquals(List.of(new Group(Group.START, "m1", -1, -1, "-", 9), new Group(Group.ASSIGN, "m1", 3, -1, "-", 12),
                new Group(Group.CONSUME, "m1", 3, 7, "v-1", 21)), parsed.group());
        assertTrue(Checker.check(parsed).ok());

        java.nio.file.Files.writeString(file, "send\tbroken\n", java.nio.file.StandardOpenOption.APPEND);
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> History.parse(file));
        assertTrue(e.getMessage().contains(":7:"), e.getMessage());
    }
}
