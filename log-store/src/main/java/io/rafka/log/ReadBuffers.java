package io.rafka.log;

import java.nio.ByteBuffer;

/**
 * Where a read puts the bytes it copies out of a segment file. The default is a new heap buffer per read; a
 * caller that serves many reads (the broker's fetches) can hand out buffers it reuses once it is done with them.
 */
@FunctionalInterface
public interface ReadBuffers {
    /** A new heap buffer per read. */
    ReadBuffers NEW = ByteBuffer::allocate;

    /**
     * A buffer for {@code size} bytes: position 0 and limit {@code size}. Its contents are unspecified (the read
     * overwrites them) and nobody else may write it until the caller is done with the read.
     */
    ByteBuffer allocate(int size);
}
