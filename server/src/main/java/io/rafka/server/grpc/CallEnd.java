package io.rafka.server.grpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;

/** Starts a call and runs {@code atEnd} once it has ended, however: completed, cancelled, or failed to start. */
final class CallEnd {
    private CallEnd() {
    }

    /** {@code next.startCall(call, headers)}, with {@code atEnd} run after its listener's onComplete or onCancel. */
    static <Q, R> ServerCall.Listener<Q> startCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next,
                                                  Runnable atEnd) {
        ServerCall.Listener<Q> listener;
        try {
            listener = next.startCall(call, headers);
        } catch (RuntimeException | Error e) {
            atEnd.run();
            throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onComplete() {
                try {
                    super.onComplete();
                } finally {
                    atEnd.run();
                }
            }

            @Override
            public void onCancel() {
                try {
                    super.onCancel();
                } finally {
                    atEnd.run();
                }
            }
        };
    }
}
