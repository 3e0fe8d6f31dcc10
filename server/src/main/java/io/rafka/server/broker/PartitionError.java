package io.rafka.server.broker;

import io.rafka.common.NotLeaderException;
import io.rafka.metadata.BrokerInfo;

import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * Why one partition of a request failed: the error as thrown (typed {@link io.rafka.common.RafkaException}s
 * are the expected ones; anything else is a bug the API layer reports as UNKNOWN_SERVER_ERROR) and, for
 * NOT_LEADER, the leader's address when this broker knows it. {@link #of} is the one place that hint is built,
 * so every API answers NOT_LEADER the same way.
 */
public record PartitionError(Throwable error, BrokerInfo leader) {

    /** {@code brokers} gives a broker's address by id ({@link ClusterView#broker}). */
    public static PartitionError of(Throwable error, Function<String, Optional<BrokerInfo>> brokers) {
        Throwable e = unwrap(error);
        BrokerInfo leader = e instanceof NotLeaderException nle ? nle.leaderId().flatMap(brokers).orElse(null) : null;
        return new PartitionError(e, leader);
    }

    public Optional<BrokerInfo> leaderHint() {
        return Optional.ofNullable(leader);
    }

    /** The failure inside the wrappers that futures add. */
    public static Throwable unwrap(Throwable error) {
        Throwable e = error;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
