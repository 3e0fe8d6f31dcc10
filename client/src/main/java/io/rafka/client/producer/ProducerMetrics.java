package io.rafka.client.producer;

/**
 * <pre>{@code
 * ProducerMetrics m = producer.metrics();
 * log.info("{} batches re-sent, {} leader changes", m.batchesRetried(), m.leaderChanges());
 * }</pre>
 *
 * What a producer went through so far, for tools and tests: batches sent again after a retriable failure,
 * NOT_LEADER answers, how often a partition's batches went to a different leader than the batch before, and how
 * often a batch the broker refused as too large for its topic was split in two to be sent again.
 */
public record ProducerMetrics(long batchesRetried, long notLeaderAnswers, long leaderChanges, long batchesSplit) {
}
