package io.rafka.client.producer;

/**
 * <pre>{@code
 * ProducerMetrics m = producer.metrics();
 * log.info("{} batches re-sent, {} leader changes", m.batchesRetried(), m.leaderChanges());
 * }</pre>
 *
 * What a producer went through so far, for tools and tests: batches sent again after a retriable failure,
 * NOT_LEADER answers, and how often a partition's batches went to a different leader than the batch before.
 */
public record ProducerMetrics(long batchesRetried, long notLeaderAnswers, long leaderChanges) {
}
