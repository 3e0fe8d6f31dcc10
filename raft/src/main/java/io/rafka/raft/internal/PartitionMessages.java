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
 * APPEND request : type=1, appendTimeMs int64, batches...        (in-process, {@link PendingAppend} carries it decoded)
 * DATA entry     : logData = {@link DataEntry} header; stateMachineData = the batches, offsets stamped
 * APPEND reply   : errorCode int32, baseOffset int64, lastOffset int64, logAppendTimeMs int64
 * FETCH query    : type=2, offset int64, maxBytes int32, upToOffset int64
 * FETCH reply    : appliedTerm int64, appliedIndex int64, logStartOffset int64, logEndOffset int64, batches...
 * STATE query    : type=3
 * STATE reply    : appliedTerm int64, appliedIndex int64, logStartOffset int64, logEndOffset int64, producer state...
 * </pre>
 *
 * A query is told apart by its type byte alone ({@link Query#decode}); its size must then match the type's.
 */
public final class PartitionMessages {
    public static final byte APPEND = 1;
    public static final byte FETCH = 2;
    public static final byte STATE = 3;
    public static final byte DATA = 4;

    /** Verdict of a DATA entry: its batches are in the partition log at {@code baseOffset..lastOffset}. */
    static final byte APPENDED = 1;
    /** Verdict of a DATA entry: a producer retry of the batch at {@code baseOffset..lastOffset}; nothing stored. */
    static final byte DUPLICATE = 2;

    static final int APPEND_HEADER = 1 + 8;
    static final int APPEND_REPLY_SIZE = 4 + 8 + 8 + 8;
    static final int STATE_HEADER = 8 * 4;

    private PartitionMessages() {
    }

    /** The header of an APPEND request; the batches follow it. */
    static ByteBuffer appendHeader(long appendTimeMs) {
        return ByteBuffer.allocate(APPEND_HEADER).put(APPEND).putLong(appendTimeMs).flip();
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

    /**
     * The Raft log part of an append entry (its {@code logData}); the batches travel beside it as Ratis
     * state-machine data, which Ratis hands to {@code DataApi.write} instead of storing it in its own log.
     * The leader fills in verdict and offsets just before the entry gets its log index, so every replica
     * learns from the Raft log alone where the entry's bytes lie in the partition log.
     *
     * <pre>
     * type=4 int8, verdict int8, appendTimeMs int64, baseOffset int64, lastOffset int64, replyTimeMs int64,
     * dataBytes int32, producerId int64, producerEpoch int16, baseSequence int32, lastSequence int32
     * </pre>
     */
    public record DataEntry(byte verdict, long appendTimeMs, long baseOffset, long lastOffset, long replyTimeMs,
                            int dataBytes, long producerId, short producerEpoch, int baseSequence, int lastSequence) {
        static final int SIZE = 1 + 1 + 8 + 8 + 8 + 8 + 4 + 8 + 2 + 4 + 4;
        private static final int VERDICT = 1;
        private static final int BASE_OFFSET = 10;

        /** A header whose verdict and offsets are still to be decided ({@link #decide}). */
        static byte[] undecided(long appendTimeMs, int dataBytes, long producerId, short producerEpoch,
                                int baseSequence, int lastSequence) {
            byte[] b = new byte[SIZE];
            ByteBuffer.wrap(b).put(DATA).put((byte) 0).putLong(appendTimeMs).putLong(-1).putLong(-1).putLong(-1)
                    .putInt(dataBytes).putLong(producerId).putShort(producerEpoch).putInt(baseSequence).putInt(lastSequence);
            return b;
        }

        /** Writes verdict and offsets into an {@link #undecided} header, in place. */
        static void decide(byte[] header, byte verdict, long baseOffset, long lastOffset, long replyTimeMs) {
            ByteBuffer.wrap(header).put(VERDICT, verdict).putLong(BASE_OFFSET, baseOffset)
                    .putLong(BASE_OFFSET + 8, lastOffset).putLong(BASE_OFFSET + 16, replyTimeMs);
        }

        static boolean isDataEntry(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            return logData.size() == SIZE && logData.byteAt(0) == DATA;
        }

        static DataEntry decode(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            if (!isDataEntry(logData)) {
                throw new InvalidRecordException("not a data entry: " + logData.size() + " bytes");
            }
            ByteBuffer b = logData.asReadOnlyByteBuffer();
            b.position(1);
            return new DataEntry(b.get(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getInt(), b.getLong(),
                    b.getShort(), b.getInt(), b.getInt());
        }

        boolean appended() {
            return verdict == APPENDED;
        }

        long nextOffset() {
            return lastOffset + 1;
        }
    }

    /**
     * A read-only query a catching-up replica sends to the leader. The leading type byte says which one it
     * is, and each type has exactly one size: anything else is refused rather than guessed at.
     */
    public sealed interface Query permits FetchQuery, StateQuery {
        ByteBuffer encode();

        static Query decode(ByteBuffer b) {
            if (!b.hasRemaining()) {
                throw new InvalidRecordException("empty partition query");
            }
            byte type = b.get(b.position());
            if (type == FETCH) {
                requireSize(b, FetchQuery.SIZE, "fetch");
                int p = b.position();
                return new FetchQuery(b.getLong(p + 1), b.getInt(p + 9), b.getLong(p + 13));
            }
            if (type == STATE) {
                requireSize(b, StateQuery.SIZE, "state");
                return new StateQuery();
            }
            throw new InvalidRecordException("unknown partition query type " + type);
        }

        private static void requireSize(ByteBuffer b, int size, String what) {
            if (b.remaining() != size) {
                throw new InvalidRecordException(what + " query of " + b.remaining() + " bytes; it has " + size);
            }
        }
    }

    /** Asks for the leader's committed batches from {@code offset}, below {@code upToOffset}. */
    public record FetchQuery(long offset, int maxBytes, long upToOffset) implements Query {
        static final int SIZE = 1 + 8 + 4 + 8;

        @Override
        public ByteBuffer encode() {
            return ByteBuffer.allocate(SIZE).put(FETCH).putLong(offset).putInt(maxBytes).putLong(upToOffset).flip();
        }
    }

    /** Asks for the leader's applied position and producer state. */
    public record StateQuery() implements Query {
        static final int SIZE = 1;

        @Override
        public ByteBuffer encode() {
            return ByteBuffer.allocate(SIZE).put(STATE).flip();
        }
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
