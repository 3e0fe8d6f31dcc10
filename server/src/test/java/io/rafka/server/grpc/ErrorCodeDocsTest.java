package io.rafka.server.grpc;

import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The error codes are documented twice, for two audiences: in {@code common.proto} (what generated clients
 * see) and in docs/api.md's table. Both must say the same, and agree with the broker's own enum on numbers
 * and on which codes are retriable.
 */
class ErrorCodeDocsTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    private static final Pattern PROTO_VALUE = Pattern.compile("^  ([A-Z_]+) = (-?\\d+);\\s*(?://\\s*(.*))?$");
    private static final Pattern PROTO_CONTINUATION = Pattern.compile("^\\s+//\\s*(.*)$");
    private static final Pattern DOCS_ROW = Pattern.compile("^\\| (-?\\d+) \\| `([A-Z_]+)` \\| (yes|no|) \\| (.*) \\|$");

    /** A code as one source documents it. */
    record Documented(int number, boolean retriable, String meaning) {
    }

    @Test
    void protoCommentsAndTheApiDocsTableSayTheSame() throws IOException {
        Map<String, Documented> proto = fromProto(Files.readAllLines(ROOT.resolve("proto/src/main/proto/rafka/v1/common.proto")));
        Map<String, Documented> docs = fromDocs(Files.readAllLines(ROOT.resolve("docs/api.md")));
        assertEquals(proto.keySet(), docs.keySet(), "the same codes in both");
        proto.forEach((name, p) -> assertEquals(p, docs.get(name), name + ": common.proto vs docs/api.md"));
        for (ErrorCode c : ErrorCode.values()) {
            if (c == ErrorCode.UNRECOGNIZED) {
                continue;
            }
            Documented d = proto.get(c.name());
            assertTrue(d != null && !d.meaning().isBlank(), c + " has a documented meaning");
            assertEquals(c.getNumber(), d.number(), c.name());
            assertEquals(io.rafka.common.ErrorCode.forCode(c.getNumber()).retriable(), d.retriable(), c + ": retriable as the broker says");
        }
    }

    static Map<String, Documented> fromProto(List<String> lines) {
        Map<String, Documented> out = new LinkedHashMap<>();
        int start = lines.indexOf("enum ErrorCode {");
        assertTrue(start >= 0, "common.proto has enum ErrorCode");
        String last = null;
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.equals("}")) {
                break;
            }
            Matcher v = PROTO_VALUE.matcher(line);
            Matcher more = PROTO_CONTINUATION.matcher(line);
            if (v.matches()) {
                String comment = v.group(3) == null ? "" : v.group(3).trim();
                boolean retriable = comment.startsWith("(R)");
                last = v.group(1);
                out.put(last, new Documented(Integer.parseInt(v.group(2)), retriable, retriable ? comment.substring(3).trim() : comment));
            } else if (more.matches() && last != null) {
                Documented d = out.get(last);
                out.put(last, new Documented(d.number(), d.retriable(), (d.meaning() + " " + more.group(1)).trim()));
            } else {
                last = null;
            }
        }
        return out;
    }

    static Map<String, Documented> fromDocs(List<String> lines) {
        Map<String, Documented> out = new LinkedHashMap<>();
        int start = lines.indexOf("| code | name | retriable | when |");
        assertTrue(start >= 0, "docs/api.md has the error code table");
        for (String line : lines.subList(start + 2, lines.size())) {
            Matcher m = DOCS_ROW.matcher(line);
            if (!m.matches()) {
                break;
            }
            out.put(m.group(2), new Documented(Integer.parseInt(m.group(1)), m.group(3).equals("yes"), m.group(4).trim()));
        }
        return out;
    }
}
