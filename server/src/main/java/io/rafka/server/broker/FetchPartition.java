package io.rafka.server.broker;

/** One partition of a fetch: where to read from and at most how much ({@code maxBytes} 0 = the default). */
public record FetchPartition(String topic, int partition, long offset, int maxBytes) {
}
