package io.rafka.log.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
}
