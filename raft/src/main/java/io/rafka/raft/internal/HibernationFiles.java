package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.DiskRoom;
import org.apache.ratis.protocol.RaftGroupId;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Where a partition replica's hibernation lives on disk, and what it froze.
 *
 * <p>A hibernated replica has a {@code hibernated} file in its partition folder (the {@link Frozen} state it
 * closed at) and its Ratis group folder under {@code <dataDir>/raft-hibernated/} instead of
 * {@code <dataDir>/raft/}, where Ratis does not look when its server starts: a restart opens only active groups.
 *
 * <pre>
 * version: 0
 * index: 1204          last Raft index: the HIBERNATE entry every replica applied
 * term: 3
 * high_watermark: 53110
 * log_start_offset: 0
 * leader: n2           who led when it hibernated ("" for a partition created hibernated)
 * </pre>
 *
 * <p>Crash behaviour: hibernating writes the file (atomically, fsynced) before closing the group, then moves the
 * group folder; waking moves the folder back, then deletes the file (and fsyncs the folder), all before Ratis
 * opens the group. So at start-up the file decides ({@link #settle}): with it, a group folder left in
 * {@code raft/} finishes its move; without it, one left in {@code raft-hibernated/} goes back. A replica that
 * took part in any Raft round after waking no longer has the file. Not thread-safe: callers hold the replica's
 * lifecycle lock.
 */
public final class HibernationFiles {
    public static final String MARKER = "hibernated";
    static final String HIBERNATED_DIR = "raft-hibernated";
    static final String SET_ASIDE_SUFFIX = ".waiting-for-room";

    /** A hibernated replica's frozen view: everything at or below {@code highWatermark} is committed. */
    public record Frozen(long index, long term, long highWatermark, long logStartOffset, String leader) {
        /** A partition created hibernated: nothing written, no term yet. */
        public static Frozen empty() {
            return new Frozen(0, 0, 0, 0, "");
        }
    }

    private final Path dataDir;

    public HibernationFiles(Path dataDir) {
        this.dataDir = dataDir;
    }

    /** The group's Ratis storage folder while it is open. */
    public Path activeGroupDir(RaftGroupId gid) {
        return dataDir.resolve("raft").resolve(gid.getUuid().toString());
    }

    Path hibernatedGroupDir(RaftGroupId gid) {
        return dataDir.resolve(HIBERNATED_DIR).resolve(gid.getUuid().toString());
    }

    /**
     * Where an open replica's Ratis folder waits while the node started on a disk without room for it
     * ({@link #setAsideForRoom}): beside the open groups' folders, under a name that is not a group id, so Ratis's
     * start passes it by (it loads only folders named by a UUID), and moved there by a rename in the same folder,
     * which a full disk allows.
     */
    public Path setAsideGroupDir(RaftGroupId gid) {
        return dataDir.resolve("raft").resolve(gid.getUuid() + SET_ASIDE_SUFFIX);
    }

    /** Bytes this node may still write to its data folder's file system ({@link DiskRoom#usableBytes}). */
    long usableSpace() {
        return DiskRoom.usableBytes(dataDir);
    }

    private Path marker(TopicPartition tp) {
        return dataDir.resolve(tp.dirName()).resolve(MARKER);
    }

    /** The frozen state of a hibernated replica, or null if it is not hibernated. */
    public Frozen read(TopicPartition tp) throws IOException {
        Path file = marker(tp);
        if (!Files.exists(file)) {
            return null;
        }
        Map<String, String> kv = new HashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                kv.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        try {
            return new Frozen(Long.parseLong(kv.get("index")), Long.parseLong(kv.get("term")),
                    Long.parseLong(kv.get("high_watermark")), Long.parseLong(kv.get("log_start_offset")),
                    kv.getOrDefault("leader", ""));
        } catch (RuntimeException e) {
            throw new IOException("unreadable " + file + ": " + kv, e);
        }
    }

    /** Records that the replica hibernates at {@code frozen}: written beside, fsynced, renamed over. */
    void write(TopicPartition tp, Frozen frozen) throws IOException {
        Path dir = dataDir.resolve(tp.dirName());
        Files.createDirectories(dir);
        String text = "version: 0\nindex: " + frozen.index() + "\nterm: " + frozen.term() + "\nhigh_watermark: "
                + frozen.highWatermark() + "\nlog_start_offset: " + frozen.logStartOffset() + "\nleader: " + frozen.leader() + "\n";
        Path tmp = dir.resolve(MARKER + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, marker(tp), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(dir);
    }

    /** Forgets the hibernation (the replica is opening), durably. */
    void delete(TopicPartition tp) throws IOException {
        if (Files.deleteIfExists(marker(tp))) {
            fsyncDir(marker(tp).getParent());
        }
    }

    /** Moves a closed group's Ratis folder out of Ratis's sight. */
    void hideGroup(RaftGroupId gid) throws IOException {
        move(activeGroupDir(gid), hibernatedGroupDir(gid));
    }

    /** Moves a hibernated group's Ratis folder back where Ratis opens it (none for a group never opened). */
    void restoreGroup(RaftGroupId gid) throws IOException {
        move(hibernatedGroupDir(gid), activeGroupDir(gid));
    }

    /**
     * Keeps an open group's Ratis folder out of the sight of the server about to start: the node starts on a disk
     * without room, where the replica's opening would fail (and with it the server's start). True if there was one.
     */
    public boolean setAsideForRoom(RaftGroupId gid) throws IOException {
        boolean active = Files.exists(activeGroupDir(gid));
        move(activeGroupDir(gid), setAsideGroupDir(gid));
        return active;
    }

    /**
     * Moves a folder {@link #setAsideForRoom set aside} back where Ratis opens it; nothing if there is none. One left
     * beside an active folder of the same group (the replica was deleted while it waited and created again before the
     * deletion got to it) is stale, and deleted.
     */
    void restoreSetAside(RaftGroupId gid) throws IOException {
        if (Files.exists(setAsideGroupDir(gid)) && Files.exists(activeGroupDir(gid))) {
            deleteSetAside(gid);
            return;
        }
        move(setAsideGroupDir(gid), activeGroupDir(gid));
    }

    private static void move(Path from, Path to) throws IOException {
        if (!Files.exists(from)) {
            return;
        }
        if (Files.exists(to)) {
            throw new IOException("cannot move " + from + ": " + to + " exists");
        }
        Files.createDirectories(to.getParent());
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(from.getParent());
        fsyncDir(to.getParent());
    }

    /**
     * Finishes whatever a crash interrupted, before Ratis starts (see the class comment); returns the frozen
     * state if the replica is hibernated.
     */
    public Frozen settle(TopicPartition tp, RaftGroupId gid) throws IOException {
        restoreSetAside(gid);  // set aside at an earlier start on a full disk, and not opened since
        Frozen frozen = read(tp);
        if (frozen != null && Files.exists(activeGroupDir(gid))) {
            hideGroup(gid);
        } else if (frozen == null && Files.exists(hibernatedGroupDir(gid))) {
            restoreGroup(gid);
        }
        return frozen;
    }

    /** Deletes a removed replica's hibernated group folder, if any. */
    void deleteHiddenGroup(RaftGroupId gid) throws IOException {
        deleteTree(hibernatedGroupDir(gid));
    }

    /** Deletes a removed replica's group folder {@link #setAsideForRoom set aside}, if any. */
    public void deleteSetAside(RaftGroupId gid) throws IOException {
        deleteTree(setAsideGroupDir(gid));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems refuse to open folders for sync; the rename is still atomic.
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
    }
}
