package io.rafka.record;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import io.rafka.common.CorruptRecordException;
import io.rafka.common.UnsupportedCompressionTypeException;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.xerial.snappy.SnappyError;
import org.xerial.snappy.SnappyInputStream;
import org.xerial.snappy.SnappyOutputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

/**
 * The per-batch compression codecs of Kafka's v2 format; the id is the low three bits of the batch
 * attributes. The stream framings are Kafka's, so batches compressed here are readable by Kafka
 * clients and tools and the other way round: gzip (RFC 1952), snappy in xerial's block framing, LZ4 in
 * the standard LZ4 frame format (independent 64 KiB blocks), zstd frames.
 */
public enum CompressionType {
    NONE(0, "none"),
    GZIP(1, "gzip"),
    SNAPPY(2, "snappy"),
    LZ4(3, "lz4"),
    ZSTD(4, "zstd");

    private static final CompressionType[] BY_ID = values();

    /** The attribute bits that hold the codec id. */
    public static final int ATTRIBUTE_MASK = 0x07;

    /**
     * Largest zstd window accepted when decompressing (2^24 = 16 MiB). Producers' windows are far smaller;
     * a hostile frame asking for zstd's default limit of 128 MiB is refused instead of allocated.
     */
    private static final int ZSTD_WINDOW_LOG_MAX = 24;
    private static final byte[] SNAPPY_MAGIC = {(byte) 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    private static final int SNAPPY_HEADER_SIZE = 16;

    public final int id;
    public final String configName;

    CompressionType(int id, String configName) {
        this.id = id;
        this.configName = configName;
    }

    public static CompressionType forId(int id) {
        if (id < 0 || id >= BY_ID.length) {
            throw new UnsupportedCompressionTypeException("unknown compression codec id " + id);
        }
        return BY_ID[id];
    }

    /** Parses a config value such as {@code "zstd"} (case-insensitive). */
    public static CompressionType forName(String name) {
        for (CompressionType t : BY_ID) {
            if (t.configName.equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown compression type '" + name
                + "'; expected one of none, gzip, snappy, lz4, zstd");
    }

    /** Wraps {@code out} so that what is written to the result is compressed into {@code out}. */
    public OutputStream wrapForOutput(OutputStream out) throws IOException {
        return switch (this) {
            case NONE -> out;
            case GZIP -> new GZIPOutputStream(out, 8 * 1024);
            case SNAPPY -> new SnappyOutputStream(out);
            case LZ4 -> new LZ4FrameOutputStream(out, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB,
                    LZ4FrameOutputStream.FLG.Bits.BLOCK_INDEPENDENCE);
            case ZSTD -> new ZstdOutputStreamNoFinalizer(out);
        };
    }

    /**
     * A stream of the decompressed bytes of {@code compressed} (position to limit; the buffer is not moved). Reading
     * it throws {@link CorruptRecordException} for data that does not decompress, and never allocates for more than
     * {@code maxBytes} at once (a hostile snappy chunk or zstd window cannot ask for more), but does not count what it
     * yields: callers stop at their limit.
     */
    InputStream open(ByteBuffer compressed, int maxBytes) {
        if (this == SNAPPY) {
            checkSnappyChunks(compressed.duplicate(), maxBytes);
        }
        InputStream in = new ByteBufferInputStream(compressed.duplicate());
        try {
            return new Checked(switch (this) {
                case NONE -> in;
                case GZIP -> new Gunzip(compressed);
                case SNAPPY -> new SnappyInputStream(in);
                case LZ4 -> new LZ4FrameInputStream(in);
                case ZSTD -> new ZstdInputStreamNoFinalizer(in).setLongMax(ZSTD_WINDOW_LOG_MAX);
            }, configName);
        } catch (IOException | RuntimeException | SnappyError e) {
            throw new CorruptRecordException("cannot decompress " + configName + " batch: " + e, e);
        }
    }

    /**
     * Decompresses {@code compressed} (position to limit) fully, refusing to produce more than
     * {@code maxBytes} or to allocate for more, so a small hostile batch cannot expand into an
     * out-of-memory error.
     *
     * @throws CorruptRecordException if the data does not decompress
     * @throws DecompressedSizeException if it would exceed {@code maxBytes}
     */
    public byte[] decompress(ByteBuffer compressed, int maxBytes) {
        try (InputStream in = open(compressed, maxBytes)) {
            byte[] buf = new byte[Math.min(Math.max(maxBytes, 1), 64 * 1024)];
            int len = 0;
            while (true) {
                if (len == buf.length) {
                    if (len >= maxBytes) {
                        if (in.read() < 0) {
                            break;
                        }
                        throw new DecompressedSizeException(configName + " batch decompresses to more than "
                                + maxBytes + " bytes");
                    }
                    buf = Arrays.copyOf(buf, (int) Math.min((long) maxBytes, 2L * buf.length));
                }
                int n = in.read(buf, len, buf.length - len);
                if (n < 0) {
                    break;
                }
                len += n;
            }
            return len == buf.length ? buf : Arrays.copyOf(buf, len);
        } catch (IOException e) {
            throw new CorruptRecordException("cannot decompress " + configName + " batch: " + e, e);
        }
    }

    /** A codec's stream whose failures, whatever their type, are {@link CorruptRecordException}s. */
    private static final class Checked extends InputStream {
        private final InputStream in;
        private final String codec;

        Checked(InputStream in, String codec) {
            this.in = in;
            this.codec = codec;
        }

        @Override
        public int read() {
            try {
                return in.read();
            } catch (CorruptRecordException e) {
                throw e;
            } catch (IOException | RuntimeException | SnappyError e) {
                throw new CorruptRecordException("cannot decompress " + codec + " batch: " + e, e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) {
            try {
                return in.read(b, off, len);
            } catch (CorruptRecordException e) {
                throw e;
            } catch (IOException | RuntimeException | SnappyError e) {
                throw new CorruptRecordException("cannot decompress " + codec + " batch: " + e, e);
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /**
     * Walks xerial's snappy framing (16-byte header, then chunks of 4-byte length + snappy block) and checks
     * every chunk fits in the input and declares at most {@code maxBytes} uncompressed, before snappy-java
     * allocates a buffer of whatever size a chunk claims.
     */
    private static void checkSnappyChunks(ByteBuffer in, int maxBytes) {
        if (in.remaining() < SNAPPY_HEADER_SIZE) {
            throw new CorruptRecordException("snappy batch is shorter than its stream header");
        }
        for (int i = 0; i < SNAPPY_MAGIC.length; i++) {
            if (in.get(in.position() + i) != SNAPPY_MAGIC[i]) {
                throw new CorruptRecordException("snappy batch does not start with the xerial stream header");
            }
        }
        in.position(in.position() + SNAPPY_HEADER_SIZE);
        while (in.remaining() >= 4) {
            int chunk = in.getInt();
            if (chunk < 0 || chunk > in.remaining()) {
                throw new CorruptRecordException("snappy chunk of " + chunk + " bytes with " + in.remaining() + " left");
            }
            long declared = 0;
            for (int shift = 0, i = 0; i < Math.min(5, chunk); i++, shift += 7) {
                int b = in.get(in.position() + i);
                declared |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    break;
                }
            }
            if (declared > maxBytes) {
                throw new DecompressedSizeException("snappy chunk declares " + declared + " bytes, above the limit of " + maxBytes);
            }
            in.position(in.position() + chunk);
        }
        if (in.hasRemaining()) {
            throw new CorruptRecordException("snappy batch ends in a partial chunk header");
        }
    }
}
