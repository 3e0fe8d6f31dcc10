package io.rafka.raft;

import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.raftlog.segmented.LogSegment;
import org.apache.ratis.server.raftlog.segmented.LogSegmentPath;
import org.apache.ratis.util.SizeInBytes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Makes Raft logs that a crash or a bad disk damaged loadable again, by cutting each at its first unreadable entry
 * before Ratis opens it. Without this, one flipped bit or torn write in one group's log stops the whole server:
 * Ratis starts every group found in its storage folder together, and with its default corruption policy
 * ({@code EXCEPTION}) one group that cannot load fails them all (the broker exits).
 *
 * <p>What it does, for every group folder under the server's storage folders, before the server is built:
 * <ul>
 *   <li>Reads each log segment in index order with Ratis's own reader. The first segment that does not read
 *       whole (an entry's checksum fails, an entry is cut short, or a closed segment holds fewer entries than its
 *       name says) is the damage.</li>
 *   <li>Every segment after it is moved aside (renamed {@code corrupt-<millis>-<name>}, so Ratis no longer sees
 *       it; kept for an operator to look at). A damaged closed segment is renamed after the entries it still holds
 *       ({@code log_<start>-<last good>}), or moved aside if none is readable.</li>
 *   <li>The damaged segment itself is cut at the bad entry by Ratis on load: {@link #apply} sets the corruption
 *       policy to {@code WARN_AND_RETURN}, which keeps the entries before it and truncates the file after them.</li>
 * </ul>
 * The replica then holds a prefix of its log, as if it had crashed before writing the rest; the leader sends
 * the rest again, and the partition log's bytes past the last entry kept are cut like after any crash
 * ({@code DataLog.reconcileTail}). Raft assumes a replica never loses what it acknowledged: an entry committed by
 * the leader and this replica alone is, after the cut, held by the leader only, and is lost if the leader also fails
 * before this replica has caught up (another replica lacking it could then win with this one's vote). One damaged
 * replica is repaired safely unless a second fault hits the same group meanwhile (docs/replication.md).
 */
public final class RaftLogRepair {
    private static final Logger LOG = LoggerFactory.getLogger(RaftLogRepair.class);
    private static final Pattern SEGMENT_NAME = Pattern.compile("log_(?:inprogress_)?(\\d+)(?:-(\\d+))?");
    private static final String METADATA_FILE = "raft-meta";
    /** How far past the last term its log knows a replica whose vote was lost restarts (see {@link #repairMetadata}). */
    static final long LOST_VOTE_TERMS = 1000;

    private RaftLogRepair() {
    }

    /** A segment file and the indexes its name gives ({@code end} -1 for the open segment). */
    private record Segment(Path path, LogSegmentPath ratisPath, long start, long end) {
        boolean open() {
            return end < 0;
        }
    }

    /**
     * Sets Ratis's corruption policy to cut a damaged segment at its first bad entry and repairs every group's log
     * under the storage folders {@code properties} names. Returns the number of groups whose log was cut.
     */
    public static int apply(RaftProperties properties) throws IOException {
        RaftServerConfigKeys.Log.setCorruptionPolicy(properties, RaftServerConfigKeys.Log.CorruptionPolicy.WARN_AND_RETURN);
        SizeInBytes maxEntrySize = RaftServerConfigKeys.Log.Appender.bufferByteLimit(properties);
        int cut = 0;
        for (File root : RaftServerConfigKeys.storageDir(properties)) {
            if (!root.isDirectory()) {
                continue;
            }
            try (Stream<Path> groups = Files.list(root.toPath())) {
                // Only the folders Ratis loads (named by a group id): one set aside for a full disk is repaired when it
                // opens (RaftNode), where there is room to write.
                for (Path group : groups.filter(g -> Files.isDirectory(g) && isGroupId(g.getFileName().toString())).sorted().toList()) {
                    Path current = group.resolve("current");
                    if (Files.isDirectory(current) && repair(current, maxEntrySize)) {
                        cut++;
                    }
                    if (Files.isDirectory(current)) {
                        repairMetadata(current, maxEntrySize);
                    }
                }
            }
        }
        return cut;
    }

    private static boolean isGroupId(String name) {
        try {
            java.util.UUID.fromString(name);
            return name.length() == 36;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Repairs one group's log folder ({@code current}); true if it cut anything. */
    static boolean repair(Path current, SizeInBytes maxEntrySize) throws IOException {
        List<Segment> segments = segments(current);
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            long[] last = {-1};   // the last entry read whole, also when the read then fails
            IOException damage = null;
            try {
                LogSegment.readSegmentFile(s.path().toFile(), s.ratisPath().getStartEnd(), maxEntrySize,
                        RaftServerConfigKeys.Log.CorruptionPolicy.EXCEPTION, null, e -> last[0] = e.getIndex());
            } catch (IOException e) {
                damage = e;
            } catch (RuntimeException e) {
                // Ratis asserts index continuity inside a segment: a damaged index field lands here.
                damage = new IOException(e.getMessage(), e);
            }
            boolean whole = damage == null && (s.open() || last[0] == s.end());
            if (whole) {
                continue;
            }
            long millis = System.currentTimeMillis();
            List<Path> movedAside = new ArrayList<>();
            for (Segment later : segments.subList(i + 1, segments.size())) {
                movedAside.add(moveAside(later.path(), millis));
            }
            String kept;
            if (s.open()) {
                kept = "cut by Ratis at its first bad entry";
            } else if (last[0] < s.start()) {
                movedAside.add(moveAside(s.path(), millis));
                kept = "no readable entry: moved aside";
            } else {
                Path renamed = s.path().resolveSibling("log_" + s.start() + "-" + last[0]);
                Files.move(s.path(), renamed);
                kept = "keeps entries " + s.start() + ".." + last[0] + " as " + renamed.getFileName();
            }
            LOG.warn("Raft log {} is damaged in {} ({}): {}; later segments moved aside: {}. The leader sends the cut "
                            + "entries again.", current.getParent().getFileName(), s.path().getFileName(),
                    damage != null ? damage.getMessage() : "holds entries up to " + last[0] + " of " + s.end(),
                    kept, movedAside.stream().map(p -> p.getFileName().toString()).toList());
            return true;
        }
        return false;
    }

    /**
     * Makes a group's {@code raft-meta} (its current term and vote) loadable again if it is not, before Ratis opens
     * the group: Ratis 3.3 writes it through a temporary file that it renames over the old one even when the write
     * failed, so a full disk leaves it empty, and Ratis then refuses to open the group ("'term' not found"), at every
     * start of the broker too, long after space is free again. The lost vote is restored as none, in a term
     * {@value #LOST_VOTE_TERMS} past the last term this replica's log and configuration know: Ratis persists a vote
     * before granting it, and could not while the disk was full, so every vote it granted was in a term it reached
     * while its log still took entries, and a new leader sends its first entry at once: that term is a few past the
     * log's last unless elections failed one after the other without this replica taking an entry. A term this far
     * past is a bound chosen on that reasoning (the lost vote cannot be known), so that it does not vote twice in one
     * term. The cost: its group holds one election when it rejoins (its leader meets a higher term).
     * Returns true if it rewrote the file.
     */
    public static boolean repairMetadata(Path current, SizeInBytes maxEntrySize) throws IOException {
        Path meta = current.resolve(METADATA_FILE);
        if (!Files.exists(meta) || readableMetadata(meta)) {
            return false;
        }
        long lastTerm = configurationTerm(current);
        for (Segment s : segments(current)) {
            long[] maxTerm = {lastTerm};
            try {
                LogSegment.readSegmentFile(s.path().toFile(), s.ratisPath().getStartEnd(), maxEntrySize,
                        RaftServerConfigKeys.Log.CorruptionPolicy.WARN_AND_RETURN, null,
                        e -> maxTerm[0] = Math.max(maxTerm[0], e.getTerm()));
            } catch (IOException | RuntimeException e) {
                // what was read before the damage counts; the log itself is cut there when Ratis loads it
            }
            lastTerm = maxTerm[0];
        }
        long term = lastTerm + LOST_VOTE_TERMS;
        Path tmp = current.resolve(METADATA_FILE + ".rafka-tmp");
        Files.writeString(tmp, "# restored by Rafka: the file was unreadable (a write that failed, e.g. on a full disk)\n"
                + "term=" + term + "\nvotedFor=\n");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, meta, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        LOG.warn("Raft group {}: its term and vote ({}) were unreadable (a write of them failed, e.g. on a full disk); "
                        + "restored as term {} with no vote (the last term its log holds is {})",
                current.getParent().getFileName(), meta, term, lastTerm);
        return true;
    }

    /**
     * Whether the group's term and vote ({@code raft-meta} in its log folder {@code current}) failed to write: the file
     * is there and unreadable. Ratis renames its temporary file over it even when the write failed (a full disk), so
     * such a file means the last term or vote Ratis took was never stored.
     */
    public static boolean termAndVoteLost(Path current) {
        Path meta = current.resolve(METADATA_FILE);
        return Files.exists(meta) && !readableMetadata(meta);
    }

    /** Whether Ratis can load this {@code raft-meta}: both its keys present, the term a number. */
    private static boolean readableMetadata(Path meta) {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
            p.load(in);
            Long.parseLong(p.getProperty("term", ""));
            return p.getProperty("votedFor") != null;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The term of the configuration entry Ratis keeps beside its log ({@code raft-meta.conf}); 0 if unreadable. */
    private static long configurationTerm(Path current) {
        try {
            return LogEntryProto.parseFrom(Files.readAllBytes(current.resolve(METADATA_FILE + ".conf"))).getTerm();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static List<Segment> segments(Path current) throws IOException {
        List<Segment> segments = new ArrayList<>();
        try (Stream<Path> files = Files.list(current)) {
            for (Path p : files.toList()) {
                Matcher m = SEGMENT_NAME.matcher(p.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                LogSegmentPath ratisPath = LogSegmentPath.matchLogSegment(p); // null for an empty open segment
                if (ratisPath != null) {
                    segments.add(new Segment(p, ratisPath, Long.parseLong(m.group(1)),
                            m.group(2) == null ? -1 : Long.parseLong(m.group(2))));
                }
            }
        }
        segments.sort(Comparator.comparingLong(Segment::start).thenComparing(Segment::open));
        return segments;
    }

    /**
     * Deletes the segments of a group's Raft log (folder {@code current}, the division closed) that hold no entry past
     * {@code index}, the index of a snapshot this replica installed: what Ratis does when it adopts an installed
     * snapshot ({@code SegmentedRaftLog.onSnapshotInstalled}). A division opened on such a snapshot with its old log
     * would keep the open segment (a start's purge drops only closed ones) and fail every later entry ("gap between
     * entries"). Returns how many files were deleted.
     */
    public static int dropSegmentsCoveredBy(Path current, long index, SizeInBytes maxEntrySize) throws IOException {
        int dropped = 0;
        List<Path> files;
        try (Stream<Path> list = Files.list(current)) {
            files = list.toList();
        }
        for (Path p : files) {
            Matcher m = SEGMENT_NAME.matcher(p.getFileName().toString());
            if (!m.matches()) {
                continue;
            }
            long start = Long.parseLong(m.group(1));
            long last = m.group(2) != null ? Long.parseLong(m.group(2)) : lastIndexOfOpenSegment(p, start, maxEntrySize);
            if (last <= index && Files.deleteIfExists(p)) {  // Ratis's own reader deletes an empty open segment
                dropped++;
            }
        }
        if (dropped > 0) {
            LOG.info("{}: deleted {} Raft log segment(s) holding only entries up to the installed snapshot at {}",
                    current, dropped, index);
        }
        return dropped;
    }

    /** The index of the last whole entry of an open segment starting at {@code start}; {@code start - 1} if none. */
    private static long lastIndexOfOpenSegment(Path p, long start, SizeInBytes maxEntrySize) throws IOException {
        LogSegmentPath ratisPath = LogSegmentPath.matchLogSegment(p);
        long[] last = {start - 1};
        if (ratisPath == null) {
            return last[0];  // empty
        }
        try {
            LogSegment.readSegmentFile(p.toFile(), ratisPath.getStartEnd(), maxEntrySize,
                    RaftServerConfigKeys.Log.CorruptionPolicy.WARN_AND_RETURN, null, e -> last[0] = e.getIndex());
        } catch (RuntimeException e) {
            throw new IOException("cannot read " + p + ": " + e, e);
        }
        return last[0];
    }

    private static Path moveAside(Path file, long millis) throws IOException {
        return Files.move(file, file.resolveSibling("corrupt-" + millis + "-" + file.getFileName()));
    }
}
