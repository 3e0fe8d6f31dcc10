package io.rafka.log.internal;

/** An index file that fails its sanity checks; the segment's indexes are rebuilt from its log. */
public class CorruptIndexException extends RuntimeException {
    public CorruptIndexException(String message) {
        super(message);
    }
}
