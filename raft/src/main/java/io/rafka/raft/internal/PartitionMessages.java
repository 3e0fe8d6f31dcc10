package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRecordException;

import java.nio.ByteBuffer;

/**
 * The byte formats of what a partition's Raft group carries: the log entry of an append, the state
 * machine's reply, and the read-only queries a catching-up replica sends to the leader. Big-endian,
 * versioned by the leading type byte; record batches travel as they are, never re-encoded.
 *
 * <pre>
 * APPEND entry   : type=1, appendTimeMs int64, batches...
 * APPEND reply   : errorCode int32, baseOffset int64, lastOffset int64, logAppendTimeMs int64
 * FETCH query    : type=2, offset int64, maxBytes int32, upToOffset int64
 * FETCH reply    : appliedTerm int64, appliedIndex int64, logStartOffset int64, logEndOffset int64, batches...
 * STATE query    : type=3
 * STATE reply    : appliedTerm int64, appliedIndex int64, logStartOffset int64, logEndOffset int64, producer state...
 * </pre>
 */
public final class PartitionMessages {
    public static final byte APPEND = 1;
    public static final byte FETCH = 2;
    public static final byte STATE = 3;

    static final int APPEND_HEADER = 1 + 8;
    static final int APPEND_REPLY_SIZE = 4 + 8 + 8 + 8;
    static final int STATE_HEADER = 8 * 4;

    private PartitionMessages() {
    }

    public static ByteBuffer append(long appendTimeMs, ByteBuffer batches) {
        ByteBuffer b = ByteBuffer.allocate(APPEND_HEADER + batches.remaining());
        b.put(APPEND).putLong(appendTimeMs).put(batches.duplicate());
        return b.flip();
    }

    /** The result of an append as the state machine reports it. */
    public record AppendReply(ErrorCode error, long baseOffset, long lastOffset, long logAppendTimeMs) {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(APPEND_REPLY_SIZE).putInt(error.code()).putLong(baseOffset)
                    .putLong(lastOffset).putLong(logAppendTimeMs).flip();
        }

        public static AppendReply decode(ByteBuffer b) {
            if (b.remaining() != APPEND_REPLY_SIZE) {
                throw new InvalidRecordException("append reply of " + b.remaining() + " bytes");
            }
            return new AppendReply(ErrorCode.forCode(b.getInt(0)), b.getLong(4), b.getLong(12), b.getLong(20));
        }

        static AppendReply error(ErrorCode code) {
            return new AppendReply(code, -1, -1, -1);
        }
    }

    public static ByteBuffer fetch(long offset, int maxBytes, long upToOffset) {
        return ByteBuffer.allocate(1 + 8 + 4 + 8).put(FETCH).putLong(offset).putInt(maxBytes).putLong(upToOffset).flip();
    }

    public static ByteBuffer stateQuery() {
        return ByteBuffer.allocate(1).put(STATE).flip();
    }

    /** The applied position of a replica: the Raft entry last applied and the log bounds after it. */
    public record AppliedState(long term, long index, long logStartOffset, long logEndOffset) {
        ByteBuffer encodeWith(ByteBuffer payload) {
            ByteBuffer b = ByteBuffer.allocate(STATE_HEADER + payload.remaining());
            b.putLong(term).putLong(index).putLong(logStartOffset).putLong(logEndOffset).put(payload.duplicate());
            return b.flip();
        }

        /** Decodes the header; leaves {@code b} positioned at the payload. */
        static AppliedState decodeHeader(ByteBuffer b) {
            if (b.remaining() < STATE_HEADER) {
                throw new InvalidRecordException("state reply of " + b.remaining() + " bytes");
            }
            return new AppliedState(b.getLong(), b.getLong(), b.getLong(), b.getLong());
        }
    }
}
