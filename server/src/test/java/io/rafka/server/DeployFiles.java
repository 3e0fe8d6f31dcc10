package io.rafka.server;

import org.yaml.snakeyaml.Yaml;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The readers {@link DeployComposeTest} checks the deployment files with: what {@code bin/rafka} says about the
 * local cluster, and a Dockerfile's stages. Small on purpose: they read only the forms these files use, and fail
 * with a message to update them when a file moves beyond that.
 */
final class DeployFiles {
    private DeployFiles() {
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o, String what) {
        assertInstanceOf(Map.class, o, what + " is not a mapping");
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o, String what) {
        assertInstanceOf(List.class, o, what + " is not a list");
        return (List<Object>) o;
    }

    /** What bin/rafka says about the local cluster: its nodes, node_port, and the flags of cluster_start. */
    record Launcher(List<String> nodes, String portTemplate, Map<String, String> clusterStartFlags, String voterTemplate) {
        static Launcher parse(String script) {
            Matcher nodes = Pattern.compile("(?m)^CLUSTER_NODES=\\(([^)]*)\\)").matcher(script);
            assertTrue(nodes.find(), "bin/rafka: no CLUSTER_NODES=(...)");
            Matcher port = Pattern.compile("(?m)^node_port\\(\\)\\s*\\{\\s*echo\\s+\"([^\"]*)\"\\s*}").matcher(script);
            assertTrue(port.find(), "bin/rafka: node_port() is no longer `echo \"TEMPLATE\"`; update DeployComposeTest");
            Matcher body = Pattern.compile("(?ms)^cluster_start\\(\\)\\s*\\{(.*?)^}").matcher(script);
            assertTrue(body.find(), "bin/rafka: no cluster_start()");
            Map<String, String> flags = new LinkedHashMap<>();
            // A value is either "$(node_port "$n" K)" (quotes inside) or a plain "..." string.
            Matcher flag = Pattern.compile("--([a-z][a-z.]*)=\"(\\$\\(node_port \"\\$n\" \\d\\)|[^\"]*)\"").matcher(body.group(1));
            while (flag.find()) {
                flags.put(flag.group(1), flag.group(2));
            }
            assertEquals("$n", flags.get("node.id"), "bin/rafka cluster start: --node.id");
            assertEquals("$voters", flags.get("controller.quorum.voters"), "bin/rafka cluster start: --controller.quorum.voters");
            Matcher voter = Pattern.compile("(?m)voters=\"\\$\\{voters:\\+\\$voters,}(.*)\"\\s*$").matcher(body.group(1));
            assertTrue(voter.find(), "bin/rafka cluster start: the voters loop changed; update DeployComposeTest");
            List<String> ids = List.of(nodes.group(1).trim().split("\\s+"));
            Launcher l = new Launcher(ids, port.group(1), flags, voter.group(1));
            for (String id : ids) {
                for (int kind = 2; kind <= 5; kind++) {
                    l.nodePort(id, kind); // fails now if the template is not a plain number for every node
                }
            }
            return l;
        }

        int nodePort(String node, int kind) {
            String s = portTemplate.replace("${1}", node).replace("$1", node)
                    .replace("${2}", Integer.toString(kind)).replace("$2", Integer.toString(kind));
            // The launcher's ports are RAFKA_PORT_BASE (default 9000, what the compose file mirrors) plus 1NK.
            Matcher sum = Pattern.compile("\\$\\(\\(\\s*\\$\\{RAFKA_PORT_BASE:-(\\d+)}\\s*\\+\\s*(\\d+)\\s*\\)\\)").matcher(s);
            if (sum.matches()) {
                s = Integer.toString(Integer.parseInt(sum.group(1)) + Integer.parseInt(sum.group(2)));
            }
            assertTrue(s.matches("\\d{1,5}"), "bin/rafka node_port " + node + " " + kind + " gives '" + s + "'; update DeployComposeTest");
            return Integer.parseInt(s);
        }

        /** A cluster_start flag value for a node: $(node_port "$n" K) and $n expanded; any other variable fails. */
        String expand(String template, String node) {
            Matcher m = Pattern.compile("\\$\\(node_port \"\\$n\" (\\d)\\)").matcher(template);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(sb, Integer.toString(nodePort(node, Integer.parseInt(m.group(1)))));
            }
            m.appendTail(sb);
            String s = sb.toString().replaceAll("\\$n(?![A-Za-z0-9_])", node).replace("${n}", node);
            assertFalse(s.contains("$"), "bin/rafka cluster start passes '" + template + "', which DeployComposeTest cannot "
                    + "mirror in the compose file; teach it");
            return s;
        }

        /** The --controller.quorum.voters value cluster_start builds. */
        String voters() {
            Set<String> parts = new LinkedHashSet<>();
            nodes.forEach(n -> parts.add(expand(voterTemplate, n)));
            return String.join(",", parts);
        }
    }

    /** One FROM ... stage: its base image (ARG defaults applied) and its instructions (keyword, arguments). */
    record Stage(String image, List<String[]> instructions) {
        List<String> all(String keyword) {
            return instructions.stream().filter(i -> i[0].equals(keyword)).map(i -> i[1]).toList();
        }

        String single(String keyword) {
            List<String> all = all(keyword);
            assertEquals(1, all.size(), "one " + keyword + " in the final stage: " + all);
            return all.get(0).trim();
        }

        List<String> runs() {
            return all("RUN");
        }

        /** An instruction in exec form (a JSON array of strings). */
        List<String> execForm(String keyword) {
            String s = single(keyword);
            assertTrue(s.startsWith("[") && s.endsWith("]"), keyword + " in exec form: " + s);
            Object parsed = new Yaml().load(s); // a JSON array is a YAML flow sequence
            return list(parsed, keyword).stream().map(String::valueOf).toList();
        }

        /** Every ENV of the stage (KEY=VALUE forms, optionally quoted). */
        Map<String, String> env() {
            Map<String, String> env = new LinkedHashMap<>();
            Matcher m = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S*)").matcher("");
            for (String e : all("ENV")) {
                m.reset(e);
                int n = 0;
                while (m.find()) {
                    String v = m.group(2);
                    env.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
                    n++;
                }
                assertTrue(n > 0, "ENV " + e + ": use KEY=VALUE");
            }
            return env;
        }
    }

    /** A Dockerfile's stages, with comments dropped and continuation lines joined. */
    record Dockerfile(List<Stage> stages) {
        static Dockerfile parse(String text) {
            List<String> lines = new ArrayList<>();
            StringBuilder current = new StringBuilder();
            for (String line : text.split("\n", -1)) {
                String t = line.strip();
                if (t.startsWith("#") || (t.isEmpty() && current.length() == 0)) {
                    continue;
                }
                if (t.endsWith("\\")) {
                    current.append(t, 0, t.length() - 1).append(' ');
                } else {
                    current.append(t);
                    if (current.length() > 0) {
                        lines.add(current.toString().strip());
                    }
                    current.setLength(0);
                }
            }
            Map<String, String> args = new HashMap<>();
            List<Stage> stages = new ArrayList<>();
            List<String[]> instructions = null;
            String image = null;
            for (String line : lines) {
                String[] kv = line.split("\\s+", 2);
                String keyword = kv[0].toUpperCase();
                String rest = kv.length > 1 ? kv[1] : "";
                if (keyword.equals("FROM")) {
                    if (instructions != null) {
                        stages.add(new Stage(image, instructions));
                    }
                    String ref = rest.split("\\s+")[0];
                    for (var a : args.entrySet()) {
                        ref = ref.replace("${" + a.getKey() + "}", a.getValue()).replace("$" + a.getKey(), a.getValue());
                    }
                    image = ref;
                    instructions = new ArrayList<>();
                } else if (instructions == null) {
                    assertEquals("ARG", keyword, "only ARG may come before the first FROM: " + line);
                    String[] a = rest.split("=", 2);
                    args.put(a[0].trim(), a.length > 1 ? a[1].trim() : "");
                } else {
                    instructions.add(new String[] {keyword, rest});
                }
            }
            assertNotNull(instructions, "the Dockerfile has no FROM");
            stages.add(new Stage(image, instructions));
            return new Dockerfile(List.copyOf(stages));
        }

        Stage finalStage() {
            return stages.get(stages.size() - 1);
        }
    }
}
