package io.rafka.record;

import io.rafka.common.CorruptRecordException;

/**
 * A compressed batch that decompresses (or declares it will) to more than the limit. Read back from a log it is
 * treated as any batch that does not check; sent by a producer it is a batch too large
 * ({@link RecordBatches#validateProduced}), which a retry cannot fix.
 */
final class DecompressedSizeException extends CorruptRecordException {
    DecompressedSizeException(String message) {
        super(message);
    }
}
