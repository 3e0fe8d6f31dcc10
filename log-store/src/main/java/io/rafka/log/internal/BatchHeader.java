package io.rafka.log.internal;

/** The fields of a batch header that the log needs, and where the batch sits in its segment file. */
public record BatchHeader(int position, int size, long baseOffset, long lastOffset, long maxTimestamp, byte magic) {
    public long nextOffset() {
        return lastOffset + 1;
    }
}
