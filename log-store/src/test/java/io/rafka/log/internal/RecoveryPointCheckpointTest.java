package io.rafka.log.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecoveryPointCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void writtenOffsetReadsBackAndNoTemporaryFileStays() throws IOException {
        RecoveryPointCheckpoint checkpoint = new RecoveryPointCheckpoint(dir);
        assertEquals(-1, checkpoint.persisted(), "nothing written yet");
        checkpoint.write(42);
        checkpoint.write(1234567890123L);
        assertEquals(1234567890123L, checkpoint.persisted());
        assertEquals(1234567890123L, new RecoveryPointCheckpoint(dir).read(), "a new instance reads the file");
        assertEquals("0\n1234567890123\n", Files.readString(dir.resolve(LogFiles.RECOVERY_POINT_FILE)));
        assertFalse(Files.exists(dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX)));
    }

    @Test
    void missingOrUnreadableFilesMeanRecoverEverything() throws IOException {
        RecoveryPointCheckpoint checkpoint = new RecoveryPointCheckpoint(dir);
        assertEquals(0, checkpoint.read(), "missing");
        Path file = dir.resolve(LogFiles.RECOVERY_POINT_FILE);
        for (String content : new String[] {"", "0\n", "1\n500\n", "0\nfive\n", "\u0000\u0000\u0000", "0\n-7\n"}) {
            Files.writeString(file, content);
            assertEquals(0, checkpoint.read(), "content '" + content + "'");
        }
        Files.writeString(file, " 0 \n 77 \n");
        assertEquals(77, checkpoint.read(), "surrounding blanks are tolerated");
    }

    @Test
    void aPointInsideASegmentKeepsItsPositionUntilASegmentPointReplacesIt() throws IOException {
        RecoveryPointCheckpoint checkpoint = new RecoveryPointCheckpoint(dir);
        RecoveryPointCheckpoint.Position position = new RecoveryPointCheckpoint.Position(1000, 65_536, 12, 7);
        checkpoint.write(1_420, position);
        assertEquals(1_420, checkpoint.persisted());
        RecoveryPointCheckpoint again = new RecoveryPointCheckpoint(dir);
        assertEquals(1_420, again.read());
        assertEquals(position, again.readPosition().orElseThrow());
        checkpoint.write(2_000);
        assertEquals(2_000, again.read());
        assertTrue(again.readPosition().isEmpty(), "a segment's base offset carries no position");
        // A position that cannot be one is ignored, and so the whole segment is checked again.
        Files.writeString(dir.resolve(LogFiles.RECOVERY_POINT_FILE), "1\n1420\n1000\n-5\n12\n7\n");
        assertEquals(1_420, again.read());
        assertTrue(again.readPosition().isEmpty());
    }
}
