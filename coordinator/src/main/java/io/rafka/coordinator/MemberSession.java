package io.rafka.coordinator;

/**
 * One member's stream to the coordinator, as the protocol adapter sees it: it passes on each request and how the
 * stream ended. Thread-safe (everything is handed to the coordinator's thread).
 */
public final class MemberSession {
    final GroupCoordinator coordinator;
    final String host;
    final MemberChannel channel;
    /** Set on the coordinator's thread once the stream's first heartbeat joined or resumed a member. */
    String groupId;
    String memberId;
    boolean ended;

    MemberSession(GroupCoordinator coordinator, String host, MemberChannel channel) {
        this.coordinator = coordinator;
        this.host = host;
        this.channel = channel;
    }

    /**
     * Hands a heartbeat to the coordinator's thread; {@code processed} runs there once it has been handled (the
     * stream reads the next request only then, so a client that sends faster than the coordinator answers is held
     * back by its stream's flow control instead of queuing work without bound).
     */
    public void heartbeat(GroupTypes.Heartbeat request, Runnable processed) {
        coordinator.post(() -> {
            try {
                coordinator.membership.heartbeat(this, request);
            } finally {
                processed.run();
            }
        });
    }

    /** The stream broke (connection reset, client gone): the member is removed after the grace unless it resumes. */
    public void broken() {
        coordinator.post(() -> coordinator.membership.broken(this));
    }

    /** The client half-closed the stream: a leave. */
    public void completed() {
        coordinator.post(() -> coordinator.membership.completed(this));
    }
}
