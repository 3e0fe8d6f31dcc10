package io.rafka.raft.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * What a partition snapshot file holds. The partition log itself is the state, so a snapshot is small:
 * the log end offset that Raft index {@code index} produced (the log is flushed up to it before the file
 * is written), the log start offset, and the producer state.
 *
 * <pre>
 * magic "RFKS" int32, version int32 = 1, logEndOffset int64, logStartOffset int64,
 * producerStateLength int32, producer state, crc32c int32 of everything before it
 * </pre>
 *
 * Written to a temporary file, fsynced and renamed, so a crash leaves either the old or the new snapshot.
 */
public record PartitionSnapshot(long logEndOffset, long logStartOffset, ByteBuffer producerState) {
    private static final int MAGIC = 0x52464b53;
    private static final int VERSION = 1;

    public void writeTo(Path file) throws IOException {
        ByteBuffer state = producerState.duplicate();
        ByteBuffer b = ByteBuffer.allocate(4 + 4 + 8 + 8 + 4 + state.remaining() + 4);
        b.putInt(MAGIC).putInt(VERSION).putLong(logEndOffset).putLong(logStartOffset).putInt(state.remaining()).put(state);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        b.flip();
        AtomicFiles.replace(file, b);
    }

    public static PartitionSnapshot readFrom(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        if (b.remaining() < 32 || b.getInt(0) != MAGIC || b.getInt(4) != VERSION) {
            throw new IOException("not a partition snapshot: " + file);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.limit() - 4);
        if ((int) crc.getValue() != b.getInt(b.limit() - 4)) {
            throw new IOException("partition snapshot " + file + " fails its checksum");
        }
        b.position(8);
        long leo = b.getLong();
        long start = b.getLong();
        int len = b.getInt();
        if (len < 0 || len != b.remaining() - 4) {
            throw new IOException("partition snapshot " + file + " has a bad producer state length");
        }
        ByteBuffer state = b.slice();
        state.limit(len);
        return new PartitionSnapshot(leo, start, state);
    }
}
