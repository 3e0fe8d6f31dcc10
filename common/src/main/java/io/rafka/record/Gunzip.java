package io.rafka.record;

import io.rafka.common.CorruptRecordException;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Gzip (RFC 1952) decompression of a batch as a stream, one member after another in a loop. The JDK's
 * {@code GZIPInputStream} reads each further member by calling itself, so a batch of tens of thousands of empty
 * members (20 bytes each, well within a message's size) overflowed the stack of the thread validating it.
 * As that stream does, bytes after a member that do not start another member are ignored. Each member's
 * checksum and size are checked when its end is read.
 */
final class Gunzip extends InputStream {
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;

    private final ByteBuffer in;
    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private boolean first = true;
    private boolean inMember;
    private boolean ended;
    private long memberSize;

    /** Reads {@code compressed} from its position to its limit; the buffer itself is not moved. */
    Gunzip(ByteBuffer compressed) {
        this.in = compressed.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (len == 0) {
            return 0;
        }
        try {
            while (true) {
                if (!inMember && !startMember()) {
                    return -1;
                }
                int n = inflater.inflate(b, off, len);
                crc.update(b, off, n);
                memberSize += n;
                if (inflater.finished()) {
                    endMember();
                } else if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new CorruptRecordException("gzip batch ends inside a compressed block");
                }
                if (n > 0) {
                    return n;
                }
            }
        } catch (DataFormatException e) {
            throw new CorruptRecordException("cannot decompress gzip batch: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        ended = true;
        inflater.end();
    }

    private boolean startMember() {
        if (ended || (!first && !startsMember(in))) {
            return false;
        }
        first = false;
        skipHeader(in);
        inflater.reset();
        inflater.setInput(in.slice());
        crc.reset();
        memberSize = 0;
        inMember = true;
        return true;
    }

    private void endMember() {
        inMember = false;
        in.position(in.position() + (int) inflater.getBytesRead());
        if (in.remaining() < 8) {
            throw new CorruptRecordException("gzip batch ends before its member's trailer");
        }
        int storedCrc = in.getInt();
        int storedSize = in.getInt();
        if (storedCrc != (int) crc.getValue() || storedSize != (int) memberSize) {
            throw new CorruptRecordException("gzip member's checksum or size does not match its data");
        }
    }

    private static boolean startsMember(ByteBuffer in) {
        return in.remaining() >= 2 && (in.get(in.position()) & 0xff) == 0x1f && (in.get(in.position() + 1) & 0xff) == 0x8b;
    }

    /** Moves past a member's header (magic, method, flags, time, extra flags, OS, then the optional fields). */
    private static void skipHeader(ByteBuffer in) {
        if (in.remaining() < 10 || !startsMember(in) || in.get(in.position() + 2) != 8) {
            throw new CorruptRecordException("not a gzip member (no deflate header)");
        }
        int flags = in.get(in.position() + 3) & 0xff;
        in.position(in.position() + 10);
        if ((flags & FEXTRA) != 0) {
            need(in, 2);
            int extra = in.getShort() & 0xffff;
            need(in, extra);
            in.position(in.position() + extra);
        }
        if ((flags & FNAME) != 0) {
            skipZeroTerminated(in);
        }
        if ((flags & FCOMMENT) != 0) {
            skipZeroTerminated(in);
        }
        if ((flags & FHCRC) != 0) {
            need(in, 2);
            in.position(in.position() + 2);
        }
    }

    private static void skipZeroTerminated(ByteBuffer in) {
        while (true) {
            need(in, 1);
            if (in.get() == 0) {
                return;
            }
        }
    }

    private static void need(ByteBuffer in, int bytes) {
        if (in.remaining() < bytes) {
            throw new CorruptRecordException("gzip batch ends inside a member's header");
        }
    }
}
