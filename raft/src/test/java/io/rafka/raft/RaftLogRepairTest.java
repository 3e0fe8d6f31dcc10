package io.rafka.raft;

import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The term-and-vote file ({@code raft-meta}) that Ratis leaves empty when its write fails on a full disk. */
class RaftLogRepairTest {
    private static final SizeInBytes MAX_ENTRY = SizeInBytes.valueOf(1 << 20);

    @TempDir
    Path current;

    @Test
    void anEmptyTermAndVoteFileIsRestoredPastTheLastKnownTermWithNoVote() throws Exception {
        Files.write(current.resolve("raft-meta.conf"), LogEntryProto.newBuilder().setTerm(7).setIndex(40).build().toByteArray());
        Files.write(current.resolve("raft-meta"), new byte[0]);

        assertTrue(RaftLogRepair.repairMetadata(current, MAX_ENTRY));

        Properties p = load(current.resolve("raft-meta"));
        assertEquals(String.valueOf(7 + RaftLogRepair.LOST_VOTE_TERMS), p.getProperty("term"));
        assertEquals("", p.getProperty("votedFor"));
        assertFalse(Files.exists(current.resolve("raft-meta.rafka-tmp")));
    }

    @Test
    void aFileWithoutTheTermIsRestoredTooEvenWithoutAConfigurationFile() throws Exception {
        Files.writeString(current.resolve("raft-meta"), "votedFor=2\n");

        assertTrue(RaftLogRepair.repairMetadata(current, MAX_ENTRY));

        assertEquals(String.valueOf(RaftLogRepair.LOST_VOTE_TERMS), load(current.resolve("raft-meta")).getProperty("term"));
    }

    @Test
    void aReadableFileAndAMissingOneAreLeftAsTheyAre() throws Exception {
        assertFalse(RaftLogRepair.repairMetadata(current, MAX_ENTRY));
        assertFalse(Files.exists(current.resolve("raft-meta")), "a group that never voted has none: Ratis starts it at term 0");

        String intact = "#\nvotedFor=3\nterm=12\n";
        Files.writeString(current.resolve("raft-meta"), intact);
        assertFalse(RaftLogRepair.repairMetadata(current, MAX_ENTRY));
        assertEquals(intact, Files.readString(current.resolve("raft-meta")));
    }

    private static Properties load(Path file) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        return p;
    }
}
