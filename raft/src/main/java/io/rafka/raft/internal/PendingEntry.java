package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One Raft entry on its way into the leader's log: one or more appends ({@link PendingAppend}) that the
 * partition's leader sends as a single entry (group commit), each with its own verdict and offsets. A lone
 * append keeps the single-part format ({@link PartitionMessages.DataEntry}); several make a GROUP entry.
 *
 * <p>The entry's header is completed in place when the leader places it ({@link DataLog#place}); its
 * state-machine data is the parts' own arrays, chained without a copy.
 */
final class PendingEntry {
    /** appendTimeMs int64, length int32: what precedes each part's batches in an APPEND_GROUP request. */
    static final int GROUP_PART_HEADER = 8 + 4;

    final List<PendingAppend> parts;
    /** The entry's Raft log data; verdicts and offsets completed in place when the leader places it. */
    final byte[] header;

    private PendingEntry(List<PendingAppend> parts) {
        if (parts.isEmpty() || parts.size() > Short.MAX_VALUE) {
            throw new IllegalArgumentException("an entry of " + parts.size() + " appends");
        }
        this.parts = List.copyOf(parts);
        List<byte[]> headers = new ArrayList<>(parts.size());
        parts.forEach(p -> headers.add(p.undecidedHeader()));
        this.header = parts.size() == 1 ? headers.get(0) : EntryHeader.group(headers);
    }

    static PendingEntry of(List<PendingAppend> parts) {
        return new PendingEntry(parts);
    }

    static PendingEntry of(PendingAppend single) {
        return new PendingEntry(List.of(single));
    }

    /** Where part {@code i}'s header starts in {@link #header}. */
    int partAt(int i) {
        return EntryHeader.partAt(parts.size(), i);
    }

    /** The parts' batches, in part order: the entry's state-machine data. */
    ByteString data() {
        ByteString data = ByteString.EMPTY;
        for (PendingAppend p : parts) {
            data = data.concat(UnsafeByteOperations.unsafeWrap(p.data));
        }
        return data;
    }

    /** The size of the request's bytes ({@link #encode}): what the Raft entry limit is checked against. */
    int requestBytes() {
        if (parts.size() == 1) {
            return parts.get(0).requestBytes();
        }
        int bytes = EntryHeader.GROUP_HEADER;
        for (PendingAppend p : parts) {
            bytes += GROUP_PART_HEADER + p.data.length;
        }
        return bytes;
    }

    /**
     * The entry a leader's Ratis message carries: the very one {@link #toMessage} made, or, for bytes that
     * came any other way, a checked copy of them. Refuses what one Raft entry cannot hold: Ratis would refuse
     * the entry itself, and make the leader step down while at it.
     */
    static PendingEntry take(Message message, int maxEntryBytes, int maxBatchBytes, int maxDecompressedBytes) {
        if (message.size() > maxEntryBytes) {
            throw new RafkaException(ErrorCode.RECORD_LIST_TOO_LARGE, "an append of " + message.size()
                    + " bytes exceeds the " + maxEntryBytes + " bytes one Raft entry holds");
        }
        PendingEntry e = of(message);
        return e != null ? e : decode(message.getContent(), maxBatchBytes, maxDecompressedBytes);
    }

    /**
     * The leader's transaction for an append request ({@code StateMachine.startTransaction}): the entry's
     * header as Raft log data, the batches as state-machine data, this entry as context for placing it.
     * A refused request becomes a transaction carrying the typed error, so Ratis answers it without an entry.
     */
    static TransactionContext startTransaction(StateMachine sm, RaftClientRequest request, int maxEntryBytes,
                                               int maxBatchBytes, int maxDecompressedBytes) {
        TransactionContext.Builder builder = TransactionContext.newBuilder().setServerRole(RaftPeerRole.LEADER)
                .setStateMachine(sm).setClientRequest(request);
        if (PartitionMessages.isHibernate(request.getMessage().getContent())) {
            return builder.setLogData(request.getMessage().getContent()).build();
        }
        try {
            PendingEntry e = take(request.getMessage(), maxEntryBytes, maxBatchBytes, maxDecompressedBytes);
            return builder.setLogData(UnsafeByteOperations.unsafeWrap(e.header))
                    .setStateMachineData(e.data())
                    .setStateMachineContext(e)
                    .build();
        } catch (RafkaException e) {
            TransactionContext trx = builder.setLogData(ByteString.EMPTY).build();
            trx.setException(e);
            return trx;
        }
    }

    /** Decodes an APPEND or APPEND_GROUP request that came as plain bytes (not through {@link #toMessage}). */
    static PendingEntry decode(ByteString request, int maxBatchBytes, int maxDecompressedBytes) {
        if (request.size() >= PartitionMessages.APPEND_HEADER && request.byteAt(0) == PartitionMessages.APPEND) {
            long appendTimeMs = request.asReadOnlyByteBuffer().getLong(1);
            ByteBuffer batches = request.substring(PartitionMessages.APPEND_HEADER).asReadOnlyByteBuffer();
            return of(PendingAppend.copyOf(appendTimeMs, batches, maxBatchBytes, maxDecompressedBytes));
        }
        if (request.size() >= EntryHeader.GROUP_HEADER && request.byteAt(0) == PartitionMessages.APPEND_GROUP) {
            ByteBuffer b = request.asReadOnlyByteBuffer();
            int count = b.getShort(1) & 0xffff;
            b.position(EntryHeader.GROUP_HEADER);
            List<PendingAppend> parts = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                if (b.remaining() < GROUP_PART_HEADER) {
                    throw new RafkaException(ErrorCode.INVALID_REQUEST, "truncated append group");
                }
                long appendTimeMs = b.getLong();
                int length = b.getInt();
                if (length < 0 || length > b.remaining()) {
                    throw new RafkaException(ErrorCode.INVALID_REQUEST, "append group part of " + length + " bytes");
                }
                ByteBuffer batches = b.slice(b.position(), length);
                b.position(b.position() + length);
                parts.add(PendingAppend.copyOf(appendTimeMs, batches, maxBatchBytes, maxDecompressedBytes));
            }
            if (b.hasRemaining() || parts.isEmpty()) {
                throw new RafkaException(ErrorCode.INVALID_REQUEST, "malformed append group");
            }
            return of(parts);
        }
        throw new RafkaException(ErrorCode.INVALID_REQUEST, "not an append request");
    }

    /**
     * The entry as a Ratis message. Submitted in-process, the state machine gets this very object back and
     * takes the copies as they are; its content (an APPEND request) is built only if someone asks for the bytes.
     */
    Message toMessage() {
        return new Local(this);
    }

    /** The entry a message carries: the one {@link #toMessage} made, or null for any other message. */
    static PendingEntry of(Message message) {
        return message instanceof Local local ? local.entry : null;
    }

    private ByteString encode() {
        if (parts.size() == 1) {
            PendingAppend p = parts.get(0);
            return UnsafeByteOperations.unsafeWrap(PartitionMessages.appendHeader(p.appendTimeMs))
                    .concat(UnsafeByteOperations.unsafeWrap(p.data));
        }
        ByteString bytes = UnsafeByteOperations.unsafeWrap(ByteBuffer.allocate(EntryHeader.GROUP_HEADER)
                .put(PartitionMessages.APPEND_GROUP).putShort((short) parts.size()).flip());
        for (PendingAppend p : parts) {
            bytes = bytes.concat(UnsafeByteOperations.unsafeWrap(ByteBuffer.allocate(GROUP_PART_HEADER).putLong(p.appendTimeMs)
                    .putInt(p.data.length).flip())).concat(UnsafeByteOperations.unsafeWrap(p.data));
        }
        return bytes;
    }

    private record Local(PendingEntry entry) implements Message {
        @Override
        public ByteString getContent() {
            return entry.encode();
        }

        @Override
        public int size() {
            return entry.requestBytes();
        }

        @Override
        public String toString() {
            return "Append(" + entry.parts.size() + " appends, " + size() + " bytes)";
        }
    }
}
