package io.rafka.common;

import java.util.Optional;

/** This replica is not the partition's leader; carries the current leader's node id when known. */
public class NotLeaderException extends RafkaException {
    private final String leaderId;

    public NotLeaderException(String message, String leaderId) {
        super(ErrorCode.NOT_LEADER, message);
        this.leaderId = leaderId;
    }

    /** The node that leads the partition now, if this node knows it. */
    public Optional<String> leaderId() {
        return Optional.ofNullable(leaderId);
    }
}
