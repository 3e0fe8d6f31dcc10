package io.rafka.raft;

/**
 * What this node's partition leaders handed to Raft since it started: appends (produce requests, one per
 * partition) and the Raft entries that carried them. Their ratio is how much group commit saves: every
 * entry costs the same thread hand-offs, log writes and replies on each replica.
 */
public record AppendCounts(long appends, long entries) {
}
