package io.rafka.raft.internal;

import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The MD5 files beside state-machine snapshots, in the format Ratis's snapshot storage reads ({@code <hex> *<name>}).
 *
 * <p>Written here rather than with Ratis's {@code MD5FileUtil.saveMD5File}: that one writes through a temporary file
 * that it renames over the MD5 file even when the write failed, so a snapshot taken on a full disk (Ratis takes one
 * whenever a member closes) left an empty MD5 file, and from then on Ratis's storage found no snapshot at all in that
 * folder ("Invalid MD5 file ... the content "null""): the member started again from an empty state and the log's start.
 */
public final class SnapshotMd5 {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotMd5.class);
    private static final String SUFFIX = ".md5";

    private SnapshotMd5() {
    }

    /** Computes {@code file}'s MD5 and writes it beside it: complete and synced, or not at all (then it throws). */
    public static MD5Hash save(Path file) throws IOException {
        MD5Hash md5 = MD5FileUtil.computeMd5ForFile(file.toFile());
        ByteBuffer line = ByteBuffer.wrap((md5 + " *" + file.getFileName() + "\n").getBytes(StandardCharsets.UTF_8));
        AtomicFiles.replace(file.resolveSibling(file.getFileName() + SUFFIX), line);
        return md5;
    }

    /**
     * Before a snapshot folder is read: removes MD5 files Ratis could not read (an earlier, failed write left them
     * empty; one of them hides every snapshot in the folder from Ratis) and temporary files of writes that did not
     * finish. A snapshot is renamed into place only once written and synced, so one left without its MD5 is whole;
     * Ratis takes the newest snapshot that has an MD5, else the newest. Returns how many files it removed.
     */
    public static int clean(Path snapshotDir) throws IOException {
        if (!Files.isDirectory(snapshotDir)) {
            return 0;
        }
        int removed = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(snapshotDir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                boolean unreadableMd5 = name.endsWith(SUFFIX) && !readable(f);
                if (unreadableMd5 || AtomicFiles.isTemporary(f)) {
                    Files.deleteIfExists(f);
                    removed++;
                    LOG.warn("{}: removed {} (a write of it did not finish, e.g. on a full disk)", snapshotDir,
                            unreadableMd5 ? "the unreadable MD5 file " + name : "the temporary file " + name);
                }
            }
        }
        return removed;
    }

    private static boolean readable(Path md5File) {
        String name = md5File.getFileName().toString();
        try {
            MD5FileUtil.readStoredMd5ForFile(md5File.resolveSibling(name.substring(0, name.length() - SUFFIX.length())).toFile());
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
