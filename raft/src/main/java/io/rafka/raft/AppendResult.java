package io.rafka.raft;

/**
 * Offsets of a committed append. {@code logAppendTimeMs} is -1 unless the topic stamps LogAppendTime.
 * For {@link Acks#NONE} the result is {@link #UNKNOWN}.
 */
public record AppendResult(long baseOffset, long lastOffset, long logAppendTimeMs) {
    public static final AppendResult UNKNOWN = new AppendResult(-1, -1, -1);
}
