package io.rafka.record;

/**
 * A batch's records one at a time ({@link RecordBatch#cursor}): {@link #peek} sizes the next one in place, then
 * {@link #next} decodes it or {@link #skip} passes over it. Hostile input ends in
 * {@link io.rafka.common.CorruptRecordException}, as with {@link RecordBatch#records()}. Not thread-safe.
 */
public final class RecordCursor {
    private final RecordReader reader;
    private final int count;
    private int read;

    RecordCursor(RecordReader reader, int count) {
        this.reader = reader;
        this.count = Math.max(0, count);
    }

    public boolean hasNext() {
        return read < count;
    }

    /**
     * The next record's offset ({@code [0]}) and its size as a reader of decoded records gets it ({@code [1]}): the
     * bytes of its key, value and headers, plus {@code recordOverhead} and {@code headerOverhead} for each header.
     */
    public long[] peek(int recordOverhead, int headerOverhead) {
        return reader.peek(recordOverhead, headerOverhead);
    }

    public Record next() {
        read++;
        return reader.next();
    }

    public void skip() {
        read++;
        reader.skip();
    }
}
