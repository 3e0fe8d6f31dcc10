package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRecordException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The byte formats of what a partition's Raft group carries: the log entry of an append, the state
 * machine's reply, and the read-only queries a catching-up replica sends to the leader. Big-endian,
 * versioned by the leading type byte; record batches travel as they are, never re-encoded.
 *
 * <pre>
 * APPEND request : type=1, appendTimeMs int64, batches...        (in-process, {@link PendingEntry} carries it decoded)
 * GROUP request  : type=6, count int16, count x (appendTimeMs int64, length int32, batches...)
 * DATA entry     : logData = {@link DataEntry} header; stateMachineData = the batches, offsets stamped
 * GROUP entry    : logData = type=5, count int16, count x {@link DataEntry}; stateMachineData = each part's batches
 * APPEND reply   : errorCode int32, baseOffset int64, lastOffset int64, logAppendTimeMs int64 (one per part)
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
    /** A Raft entry holding several appends (group commit): one {@link DataEntry} part per append. */
    public static final byte GROUP = 5;
    public static final byte APPEND_GROUP = 6;
    /**
     * An idle leader's request, and the Raft log entry it becomes, that the group close until the next write
     * ({@link Hibernation}): one byte, no state-machine data.
     */
    public static final byte HIBERNATE = 7;

    /** Verdict of a DATA entry: its batches are in the partition log at {@code baseOffset..lastOffset}. */
    static final byte APPENDED = 1;
    /** Verdict of a DATA entry: a producer retry of the batch at {@code baseOffset..lastOffset}; nothing stored. */
    static final byte DUPLICATE = 2;
    /**
     * Verdict of a part of a GROUP entry: refused in log order (a producer sequence or epoch error); nothing
     * stored. The part's {@code replyTimeMs} field holds the error code. A lone append is refused without an
     * entry instead.
     */
    static final byte REJECTED = 3;

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

        /** The replies to the parts of one entry, in part order. */
        public static ByteBuffer encodeAll(List<AppendReply> replies) {
            ByteBuffer b = ByteBuffer.allocate(replies.size() * APPEND_REPLY_SIZE);
            for (AppendReply r : replies) {
                b.put(r.encode());
            }
            return b.flip();
        }

        public static List<AppendReply> decodeAll(ByteBuffer b) {
            if (b.remaining() == 0 || b.remaining() % APPEND_REPLY_SIZE != 0) {
                throw new InvalidRecordException("append reply of " + b.remaining() + " bytes");
            }
            List<AppendReply> replies = new ArrayList<>(b.remaining() / APPEND_REPLY_SIZE);
            for (int p = b.position(); p < b.limit(); p += APPEND_REPLY_SIZE) {
                replies.add(decode(b.duplicate().position(p).limit(p + APPEND_REPLY_SIZE).slice()));
            }
            return replies;
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

        /** Writes verdict and offsets into the {@link #undecided} header at {@code at} of {@code header}, in place. */
        static void decide(byte[] header, int at, byte verdict, long baseOffset, long lastOffset, long replyTimeMs) {
            ByteBuffer.wrap(header).put(at + VERDICT, verdict).putLong(at + BASE_OFFSET, baseOffset)
                    .putLong(at + BASE_OFFSET + 8, lastOffset).putLong(at + BASE_OFFSET + 16, replyTimeMs);
        }

        static boolean isDataEntry(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            return logData.size() == SIZE && logData.byteAt(0) == DATA;
        }

        static DataEntry decode(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            if (!isDataEntry(logData)) {
                throw new InvalidRecordException("not a data entry: " + logData.size() + " bytes");
            }
            return decode(logData.asReadOnlyByteBuffer(), 0);
        }

        private static DataEntry decode(ByteBuffer b, int at) {
            if (b.get(at) != DATA) {
                throw new InvalidRecordException("not a data entry part: type " + b.get(at));
            }
            b.position(at + 1);
            return new DataEntry(b.get(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getInt(), b.getLong(),
                    b.getShort(), b.getInt(), b.getInt());
        }

        boolean appended() {
            return verdict == APPENDED;
        }

        /** The error of a REJECTED part; NONE otherwise. */
        ErrorCode error() {
            return verdict == REJECTED ? ErrorCode.forCode((int) replyTimeMs) : ErrorCode.NONE;
        }

        /** What this part answers its append, once its entry is committed. */
        AppendReply reply() {
            return verdict == REJECTED ? AppendReply.error(error()) : new AppendReply(ErrorCode.NONE, baseOffset, lastOffset, replyTimeMs);
        }

        long nextOffset() {
            return lastOffset + 1;
        }
    }

    /**
     * The Raft log part of an append entry: one {@link DataEntry} (a lone append, logData = its header) or the
     * parts of a GROUP entry, in the order their batches lie in the entry's state-machine data. The partition
     * log holds the APPENDED parts' batches, contiguous from {@link #baseOffset}; the others' are dropped.
     */
    /** Whether a Raft entry's log data (or a request) is a HIBERNATE. */
    static boolean isHibernate(org.apache.ratis.thirdparty.com.google.protobuf.ByteString data) {
        return data.size() == 1 && data.byteAt(0) == HIBERNATE;
    }

    public record EntryHeader(List<DataEntry> parts) {
        static final int GROUP_HEADER = 1 + 2;

        static EntryHeader of(DataEntry single) {
            return new EntryHeader(List.of(single));
        }

        static boolean isDataEntry(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            if (DataEntry.isDataEntry(logData)) {
                return true;
            }
            return logData.size() > GROUP_HEADER && logData.byteAt(0) == GROUP
                    && logData.size() == GROUP_HEADER + DataEntry.SIZE * (logData.asReadOnlyByteBuffer().getShort(1) & 0xffff);
        }

        /** The header of a data entry; null for any other log data. */
        static EntryHeader decodeIfData(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            return isDataEntry(logData) ? decode(logData) : null;
        }

        static EntryHeader decode(org.apache.ratis.thirdparty.com.google.protobuf.ByteString logData) {
            if (DataEntry.isDataEntry(logData)) {
                return of(DataEntry.decode(logData));
            }
            if (!isDataEntry(logData)) {
                throw new InvalidRecordException("not a data entry: " + logData.size() + " bytes");
            }
            ByteBuffer b = logData.asReadOnlyByteBuffer();
            int count = b.getShort(1) & 0xffff;
            List<DataEntry> parts = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                parts.add(DataEntry.decode(b, GROUP_HEADER + i * DataEntry.SIZE));
            }
            return new EntryHeader(parts);
        }

        /** A GROUP header of {@code parts} undecided part headers, to be filled in by {@link #partAt}. */
        static byte[] group(List<byte[]> parts) {
            ByteBuffer b = ByteBuffer.allocate(GROUP_HEADER + parts.size() * DataEntry.SIZE);
            b.put(GROUP).putShort((short) parts.size());
            parts.forEach(b::put);
            return b.array();
        }

        /** Where part {@code i} of a header with {@code count} parts starts. */
        static int partAt(int count, int i) {
            return count == 1 ? 0 : GROUP_HEADER + i * DataEntry.SIZE;
        }

        /** Whether any part's batches are in the partition log. */
        boolean appended() {
            return parts.stream().anyMatch(DataEntry::appended);
        }

        /** The first offset of the appended parts; -1 if none. */
        long baseOffset() {
            return parts.stream().filter(DataEntry::appended).mapToLong(DataEntry::baseOffset).findFirst().orElse(-1);
        }

        /** The offset after the appended parts; -1 if none. */
        long nextOffset() {
            long next = -1;
            for (DataEntry p : parts) {
                if (p.appended()) {
                    next = p.nextOffset();
                }
            }
            return next;
        }

        /** Bytes of the appended parts: what the partition log holds of this entry. */
        int appendedBytes() {
            return parts.stream().filter(DataEntry::appended).mapToInt(DataEntry::dataBytes).sum();
        }

        /** Bytes of all parts: what the leader's state-machine data holds. */
        int allBytes() {
            return parts.stream().mapToInt(DataEntry::dataBytes).sum();
        }

        List<AppendReply> replies() {
            return parts.stream().map(DataEntry::reply).toList();
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
