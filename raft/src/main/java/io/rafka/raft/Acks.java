package io.rafka.raft;

/**
 * How long a produce request waits, in a broker where every partition is a Raft group.
 *
 * <ul>
 *   <li>{@link #ALL} ({@code acks=all}, -1): the batch is committed — in the Raft logs of a majority of the
 *       replicas and fsynced there — and applied to the leader's partition log; the result carries its
 *       offsets. Nothing acknowledged this way is lost while a majority survives.</li>
 *   <li>{@link #LEADER} ({@code acks=1}): in Kafka, the leader acknowledges after its own write, and a
 *       leader failure can lose the batch. A Raft leader learns a batch's offset only when the batch commits,
 *       so Rafka gives {@code acks=1} the guarantee and the latency of {@code acks=all}; it is never weaker.</li>
 *   <li>{@link #NONE} ({@code acks=0}): the broker hands the batch to the local Raft leader and answers at once,
 *       without offsets or errors from replication. The batch can be lost if the leader fails before it
 *       commits, or if it is rejected (the rejection is only logged).</li>
 * </ul>
 */
public enum Acks {
    /** Kafka's {@code acks=0}. */
    NONE,
    /** Kafka's {@code acks=1}. */
    LEADER,
    /** Kafka's {@code acks=all} (-1). */
    ALL
}
