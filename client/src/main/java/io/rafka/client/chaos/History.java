package io.rafka.client.chaos;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What a chaos run saw, one event per line, so a later {@code --check FILE} run re-checks it: every send with its
 * outcome, every record the final read found, every fault the nemesis injected. Tab-separated:
 *
 * <pre>
 * send   producer  idempotent  partition  value  startMs  endMs  outcome(ok|fail|unknown)  offset(-1 unless ok)
 * read   reader    partition   offset     value
 * fault  kind      node        startMs    endMs
 * consume  member  partition  offset  value  atMs      (a group member's poll returned it)
 * assign   member  partition  -1      -      atMs      (the member's listener was told it owns the partition)
 * release  member  partition  -1      -      atMs      (revoked or lost: it no longer does)
 * start    member  -1         -1      -      atMs      (the member started: it must consume what was acknowledged)
 * </pre>
 *
 * Values are the workload's own unique strings (no tabs or newlines). Appends are synchronized: producers'
 * callbacks write from several threads.
 */
public final class History implements AutoCloseable {
    /** How a send ended: acknowledged with an offset, failed for certain, or unknown (timed out, connection lost). */
    public enum Outcome { OK, FAIL, UNKNOWN }

    public record Send(String producer, boolean idempotent, int partition, String value, long startMs, long endMs,
                       Outcome outcome, long offset) {
    }

    public record Read(String reader, int partition, long offset, String value) {
    }

    public record Fault(String kind, String node, long startMs, long endMs) {
    }

    /**
     * What a group member saw, in the order it saw it: a record consumed, or a partition assigned or released; and
     * that it started, whether or not it ever got anything.
     */
    public record Group(String kind, String member, int partition, long offset, String value, long atMs) {
        public static final String CONSUME = "consume";
        public static final String ASSIGN = "assign";
        public static final String RELEASE = "release";
        public static final String START = "start";
    }

    /** A parsed history; {@code group} keeps the file's order. */
    public record Events(List<Send> sends, List<Read> reads, List<Fault> faults, List<Group> group) {
        public Events(List<Send> sends, List<Read> reads, List<Fault> faults) {
            this(sends, reads, faults, List.of());
        }
    }

    private final BufferedWriter out;

    private History(BufferedWriter out) {
        this.out = out;
    }

    /** Appends to {@code file} (created if missing), so the workload, the nemesis and the final read share one file. */
    public static History appendingTo(Path file) throws IOException {
        return new History(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND));
    }

    public synchronized void send(Send s) {
        line("send", s.producer(), Boolean.toString(s.idempotent()), Integer.toString(s.partition()), s.value(),
                Long.toString(s.startMs()), Long.toString(s.endMs()), s.outcome().name().toLowerCase(), Long.toString(s.offset()));
    }

    public synchronized void read(Read r) {
        line("read", r.reader(), Integer.toString(r.partition()), Long.toString(r.offset()), r.value());
    }

    public synchronized void group(Group g) {
        line(g.kind(), g.member(), Integer.toString(g.partition()), Long.toString(g.offset()), g.value(), Long.toString(g.atMs()));
    }

    public synchronized void fault(Fault f) {
        line("fault", f.kind(), f.node(), Long.toString(f.startMs()), Long.toString(f.endMs()));
    }

    private void line(String... fields) {
        try {
            out.write(String.join("\t", fields));
            out.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    /** Parses a history file; a malformed line fails with its line number. */
    public static Events parse(Path file) throws IOException {
        List<Send> sends = new ArrayList<>();
        List<Read> reads = new ArrayList<>();
        List<Fault> faults = new ArrayList<>();
        List<Group> group = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            try {
                switch (f[0]) {
                    case "send" -> sends.add(new Send(f[1], Boolean.parseBoolean(f[2]), Integer.parseInt(f[3]), f[4],
                            Long.parseLong(f[5]), Long.parseLong(f[6]), Outcome.valueOf(f[7].toUpperCase()), Long.parseLong(f[8])));
                    case "read" -> reads.add(new Read(f[1], Integer.parseInt(f[2]), Long.parseLong(f[3]), f[4]));
                    case "fault" -> faults.add(new Fault(f[1], f[2], Long.parseLong(f[3]), Long.parseLong(f[4])));
                    case Group.CONSUME, Group.ASSIGN, Group.RELEASE, Group.START -> group.add(new Group(f[0], f[1], Integer.parseInt(f[2]),
                            Long.parseLong(f[3]), f[4], Long.parseLong(f[5])));
                    default -> throw new IllegalArgumentException("unknown event '" + f[0] + "'");
                }
            } catch (RuntimeException e) {
                throw new IOException(file + ":" + (i + 1) + ": not a history line (" + e.getMessage() + "): " + line, e);
            }
        }
        return new Events(sends, reads, faults, group);
    }
}
