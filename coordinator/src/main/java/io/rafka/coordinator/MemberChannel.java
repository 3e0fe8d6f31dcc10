package io.rafka.coordinator;

import io.rafka.common.RafkaException;

/**
 * Where the coordinator sends a member's answers: the protocol adapter's side of a member's stream. Called on the
 * coordinator's thread; must not block.
 */
public interface MemberChannel {
    /** The member's current assignment (after a join, a resume, or a change). */
    void send(GroupTypes.Assignment assignment);

    /** Ends the stream with an error (fenced, not the coordinator any more, bad request). */
    void fail(RafkaException error);

    /** Ends the stream normally (after a leave). */
    void complete();
}
