package io.rafka.record;

import io.rafka.common.CorruptRecordException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Gzip (RFC 1952) decompression of a whole batch, one member after another in a loop. The JDK's
 * {@code GZIPInputStream} reads each further member by calling itself, so a batch of tens of thousands of empty
 * members (20 bytes each, well within a message's size) overflowed the stack of the thread validating it.
 * As that stream does, bytes after a member that do not start another member are ignored.
 */
final class Gunzip {
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;

    private Gunzip() {
    }

    /** Decompresses {@code compressed} (position to limit), producing at most {@code maxBytes}. */
    static byte[] decompress(ByteBuffer compressed, int maxBytes) {
        ByteBuffer in = compressed.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        Inflater inflater = new Inflater(true);
        try {
            byte[] out = new byte[Math.min(Math.max(maxBytes, 1), 64 * 1024)];
            int len = 0;
            boolean first = true;
            while (first || startsMember(in)) {
                skipHeader(in);
                first = false;
                inflater.reset();
                inflater.setInput(in.slice());
                int memberStart = len;
                while (!inflater.finished()) {
                    int n;
                    if (len == out.length && len >= maxBytes) {
                        // Full: the member may still end without another byte (its last block's end).
                        if (inflater.inflate(new byte[1]) > 0) {
                            throw new DecompressedSizeException("gzip batch decompresses to more than " + maxBytes + " bytes");
                        }
                        n = 0;
                    } else {
                        if (len == out.length) {
                            out = Arrays.copyOf(out, (int) Math.min((long) maxBytes, 2L * out.length));
                        }
                        n = inflater.inflate(out, len, out.length - len);
                    }
                    if (n == 0 && !inflater.finished() && (inflater.needsInput() || inflater.needsDictionary())) {
                        throw new CorruptRecordException("gzip batch ends inside a compressed block");
                    }
                    len += n;
                }
                in.position(in.position() + (int) inflater.getBytesRead());
                if (in.remaining() < 8) {
                    throw new CorruptRecordException("gzip batch ends before its member's trailer");
                }
                CRC32 crc = new CRC32();
                crc.update(out, memberStart, len - memberStart);
                int storedCrc = in.getInt();
                int storedSize = in.getInt();
                if (storedCrc != (int) crc.getValue() || storedSize != len - memberStart) {
                    throw new CorruptRecordException("gzip member's checksum or size does not match its data");
                }
            }
            return len == out.length ? out : Arrays.copyOf(out, len);
        } catch (DataFormatException e) {
            throw new CorruptRecordException("cannot decompress gzip batch: " + e.getMessage(), e);
        } finally {
            inflater.end();
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
