package io.rafka.server.broker;

/** The outcome of an admin change to one topic: {@code error} null on success. */
public record TopicResult(String name, Throwable error) {
}
