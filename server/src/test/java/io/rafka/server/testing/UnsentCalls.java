package io.rafka.server.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A client-side interceptor for tests of a broker that takes a call but never answers it: calls of the named
 * methods (matched by the end of their full name, e.g. {@code "/DescribeGroup"}) made while {@code when} holds never
 * send their messages, so the broker waits for them, and so does the caller, until its deadline or a cancel.
 */
public final class UnsentCalls implements ClientInterceptor {
    private final BooleanSupplier when;
    private final List<String> methodSuffixes;

    private UnsentCalls(BooleanSupplier when, List<String> methodSuffixes) {
        this.when = when;
        this.methodSuffixes = methodSuffixes;
    }

    /** Every call of these methods. */
    public static UnsentCalls of(String... methodSuffixes) {
        return when(() -> true, methodSuffixes);
    }

    /** Calls of these methods made while {@code when} holds. */
    public static UnsentCalls when(BooleanSupplier when, String... methodSuffixes) {
        return new UnsentCalls(when, List.of(methodSuffixes));
    }

    /** Client channels (plaintext) whose calls go through this interceptor; the caller closes them. */
    public io.rafka.client.internals.ChannelPool channels() {
        return new io.rafka.client.internals.ChannelPool(address -> io.grpc.ManagedChannelBuilder
                .forAddress(address.host(), address.port()).usePlaintext().intercept(this).build());
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        ClientCall<Q, R> call = next.newCall(method, options);
        String name = method.getFullMethodName();
        if (!when.getAsBoolean() || methodSuffixes.stream().noneMatch(name::endsWith)) {
            return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            @Override
            public void sendMessage(Q message) {
                // never sent
            }

            @Override
            public void halfClose() {
                // nor ended: the broker waits for the message
            }
        };
    }
}
