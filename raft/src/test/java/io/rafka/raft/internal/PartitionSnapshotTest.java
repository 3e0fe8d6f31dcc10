package io.rafka.raft.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PartitionSnapshotTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsAndRejectsDamage() throws IOException {
        Path file = tmp.resolve("snapshot.3_100");
        ByteBuffer state = ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5});
        new PartitionSnapshot(1234, 56, state).writeTo(file);
        PartitionSnapshot read = PartitionSnapshot.readFrom(file);
        assertEquals(1234, read.logEndOffset());
        assertEquals(56, read.logStartOffset());
        assertEquals(state, read.producerState());

        byte[] bytes = Files.readAllBytes(file);
        for (int i = 0; i < bytes.length; i++) {
            byte[] damaged = bytes.clone();
            damaged[i] ^= 0x01;
            Files.write(file, damaged);
            assertThrows(IOException.class, () -> PartitionSnapshot.readFrom(file), "flip at byte " + i);
        }
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 1));
        assertThrows(IOException.class, () -> PartitionSnapshot.readFrom(file));
    }
}
