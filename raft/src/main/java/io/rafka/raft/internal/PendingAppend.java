package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.RafkaException;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * An append on its way into the leader's Raft log: checked, copied, not yet placed.
 *
 * <p>It holds the leader's one private copy of the batches. The leader stamps offsets, epoch and append time
 * into that copy in place, and the very same array is what Ratis replicates and what the leader's
 * {@code DataApi.write} appends to the partition log: one heap copy between the caller's bytes and the segment
 * file, and one validation pass ({@link RecordBatches#validateProduced}) on the way in.
 *
 * <p>The copy is taken before {@link #copyOf} returns, so the caller may reuse its buffer at once, whatever
 * Ratis does with the request afterwards (it may start the transaction on another thread, later).
 */
final class PendingAppend {
    final long appendTimeMs;
    /** The private copy of the batches; stamped in place. */
    final byte[] data;
    final List<RecordBatch> batches;
    /** The batch with a producer id, if any (such a batch is appended alone); null otherwise. */
    final RecordBatch producerBatch;
    /** The entry's {@link DataEntry} header, completed in place when the leader places the append. */
    final byte[] header;

    private PendingAppend(long appendTimeMs, byte[] data, List<RecordBatch> batches) {
        this.appendTimeMs = appendTimeMs;
        this.data = data;
        this.batches = batches;
        this.producerBatch = producerBatch(batches);
        RecordBatch p = producerBatch;
        this.header = DataEntry.undecided(appendTimeMs, data.length,
                p == null ? -1 : p.producerId(), p == null ? -1 : p.producerEpoch(),
                p == null ? -1 : p.baseSequence(), p == null ? -1 : p.lastSequence());
    }

    /**
     * Copies {@code batches} (position to limit; left untouched) and checks the copy as a produce request is
     * checked: size limit, header, CRC, every record.
     */
    static PendingAppend copyOf(long appendTimeMs, ByteBuffer batches, int maxBatchBytes, int maxDecompressedBytes) {
        byte[] data = new byte[batches.remaining()];
        batches.duplicate().get(data);
        List<RecordBatch> checked = RecordBatches.validateProduced(ByteBuffer.wrap(data), maxBatchBytes, maxDecompressedBytes);
        return new PendingAppend(appendTimeMs, data, checked);
    }

    /**
     * The append a leader's Ratis message carries: the very copy {@link #toMessage} made, or, for bytes that
     * came any other way, a checked copy of them. Refuses what one Raft entry cannot hold: Ratis would refuse
     * the entry itself, and make the leader step down while at it.
     */
    static PendingAppend take(Message message, int maxEntryBytes, int maxBatchBytes, int maxDecompressedBytes) {
        if (message.size() > maxEntryBytes) {
            throw new RafkaException(ErrorCode.RECORD_LIST_TOO_LARGE, "an append of " + message.size()
                    + " bytes exceeds the " + maxEntryBytes + " bytes one Raft entry holds");
        }
        PendingAppend p = of(message);
        return p != null ? p : decode(message.getContent(), maxBatchBytes, maxDecompressedBytes);
    }

    /**
     * The leader's transaction for an append request ({@code StateMachine.startTransaction}): the entry's
     * header as Raft log data, the batches as state-machine data, this append as context for placing it.
     * A refused request becomes a transaction carrying the typed error, so Ratis answers it without an entry.
     */
    static TransactionContext startTransaction(StateMachine sm, RaftClientRequest request, int maxEntryBytes,
                                               int maxBatchBytes, int maxDecompressedBytes) {
        TransactionContext.Builder builder = TransactionContext.newBuilder().setServerRole(RaftPeerRole.LEADER)
                .setStateMachine(sm).setClientRequest(request);
        try {
            PendingAppend p = take(request.getMessage(), maxEntryBytes, maxBatchBytes, maxDecompressedBytes);
            return builder.setLogData(UnsafeByteOperations.unsafeWrap(p.header))
                    .setStateMachineData(UnsafeByteOperations.unsafeWrap(p.data))
                    .setStateMachineContext(p)
                    .build();
        } catch (RafkaException e) {
            TransactionContext trx = builder.setLogData(ByteString.EMPTY).build();
            trx.setException(e);
            return trx;
        }
    }

    /** Decodes an APPEND request that came as plain bytes (not through {@link #toMessage}). */
    static PendingAppend decode(ByteString request, int maxBatchBytes, int maxDecompressedBytes) {
        if (request.size() < PartitionMessages.APPEND_HEADER || request.byteAt(0) != PartitionMessages.APPEND) {
            throw new RafkaException(ErrorCode.INVALID_REQUEST, "not an append request");
        }
        long appendTimeMs = request.asReadOnlyByteBuffer().getLong(1);
        ByteBuffer batches = request.substring(PartitionMessages.APPEND_HEADER).asReadOnlyByteBuffer();
        return copyOf(appendTimeMs, batches, maxBatchBytes, maxDecompressedBytes);
    }

    /**
     * The append as a Ratis message. Submitted in-process, the state machine gets this very object back and
     * takes the copy as it is; its content (an APPEND request) is built only if someone asks for the bytes.
     */
    Message toMessage() {
        return new Local(this);
    }

    /** The append a message carries: the one {@link #toMessage} made, or null for any other message. */
    static PendingAppend of(Message message) {
        return message instanceof Local local ? local.append : null;
    }

    int requestBytes() {
        return PartitionMessages.APPEND_HEADER + data.length;
    }

    private static RecordBatch producerBatch(List<RecordBatch> batches) {
        RecordBatch producerBatch = null;
        for (RecordBatch b : batches) {
            if (b.hasProducerId()) {
                if (batches.size() > 1) {
                    throw new InvalidRecordException("a batch with a producer id must be appended alone");
                }
                if (b.baseSequence() < 0 || b.producerEpoch() < 0) {
                    throw new InvalidRecordException("producer batch without sequence or epoch");
                }
                producerBatch = b;
            }
        }
        return producerBatch;
    }

    private record Local(PendingAppend append) implements Message {
        @Override
        public ByteString getContent() {
            return UnsafeByteOperations.unsafeWrap(PartitionMessages.appendHeader(append.appendTimeMs))
                    .concat(UnsafeByteOperations.unsafeWrap(append.data));
        }

        @Override
        public int size() {
            return append.requestBytes();
        }

        @Override
        public String toString() {
            return "Append(" + append.data.length + " bytes, " + append.batches.size() + " batches)";
        }
    }
}
