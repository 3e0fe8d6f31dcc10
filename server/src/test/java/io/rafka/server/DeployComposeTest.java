package io.rafka.server;

import io.rafka.raft.NodeAddress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.rafka.server.DeployFiles.Dockerfile;
import io.rafka.server.DeployFiles.Launcher;
import io.rafka.server.DeployFiles.Stage;
import org.yaml.snakeyaml.Yaml;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static io.rafka.server.DeployFiles.list;
import static io.rafka.server.DeployFiles.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks {@code deploy/docker-compose.yml}, {@code deploy/Dockerfile} and {@code .dockerignore} against what is
 * tested: the local cluster of {@code bin/rafka cluster start} (its nodes, their ports and flags, parsed from the
 * launcher itself), the broker's configuration keys ({@link ServerConfig}), the launcher's {@code RAFKA_CLASSPATH}
 * contract and health probe that the image relies on, and the base image that {@code deploy/test-compose.sh}
 * (which runs the cluster for real, where containers can run) makes. A change to either side that the other
 * does not follow fails here, in every build, also where no container engine is at hand.
 */
class DeployComposeTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    private static final Path DEPLOY = ROOT.resolve("deploy");
    private static final Path COMPOSE_FILE = DEPLOY.resolve("docker-compose.yml");
    private static final Path DOCKERFILE = DEPLOY.resolve("Dockerfile");
    private static final Path LAUNCHER = ROOT.resolve("bin/rafka");
    /** The compose file's health check: the image's launcher, absolute, as one shell command line. */
    private static final String HEALTH_PROBE = "/opt/rafka/bin/rafka health";
    /** Where bin/rafka dist puts the jars the image copies (relative to the repository root). */
    private static final String DIST = "target/dist";
    /** The launcher's prepared classpaths: the broker's, the command-line tool's. */
    private static final List<String> CLASSPATH_VARS = List.of("RAFKA_CLASSPATH", "RAFKA_CLIENT_CLASSPATH");

    /** The port settings; cluster_start passes each as $(node_port "$n" K). */
    private static final Set<String> PORT_KEYS = Set.of("grpc.port", "raft.port", "metadata.port", "http.port");

    private static Launcher launcher;
    private static Map<String, Object> compose;
    private static Map<String, Map<String, Object>> services;
    private static Dockerfile dockerfile;

    @BeforeAll
    static void load() throws IOException {
        launcher = Launcher.parse(Files.readString(LAUNCHER));
        try (Reader r = Files.newBufferedReader(COMPOSE_FILE, StandardCharsets.UTF_8)) {
            compose = map(new Yaml().load(r), "the compose file");
        }
        services = new LinkedHashMap<>();
        map(compose.get("services"), "services").forEach((name, svc) -> services.put(name, map(svc, "service " + name)));
        dockerfile = Dockerfile.parse(Files.readString(DOCKERFILE));
    }

    // ---------------------------------------------------------------------------------------------- compose

    @Test
    void onlyWhatPodmanComposeHonoursToo() {
        // podman-compose 1.0.3 ignores a top-level name: the project name is `-p rafka`, for both tools.
        assertFalse(compose.containsKey("name"), "top-level name: podman-compose ignores it; document -p instead");
        for (var e : services.entrySet()) {
            assertFalse(e.getValue().containsKey("container_name"), e.getKey() + ": container_name clashes between projects");
        }
    }

    @Test
    void servicesAreTheLaunchersThreeNodes() {
        assertEquals(3, services.size(), "services: " + services.keySet());
        assertEquals(3, launcher.nodes().size(), "bin/rafka CLUSTER_NODES: " + launcher.nodes());
        Set<String> ids = new HashSet<>();
        for (var e : services.entrySet()) {
            Map<String, String> env = environment(e.getKey());
            String id = env.get(ServerConfig.NODE_ID.envName());
            assertNotNull(id, e.getKey() + " sets no " + ServerConfig.NODE_ID.envName());
            assertTrue(ids.add(id), "node id " + id + " used twice");
            assertEquals(serviceOf(id), e.getKey(), "service of node " + id);
            assertEquals(e.getKey(), e.getValue().get("hostname"), e.getKey() + ": hostname");
        }
        assertEquals(new TreeSet<>(launcher.nodes()), new TreeSet<>(ids), "node ids: compose vs bin/rafka cluster");
    }

    @Test
    void everyServiceBuildsTheDeployDockerfile() {
        for (var e : services.entrySet()) {
            Map<String, Object> build = map(e.getValue().get("build"), e.getKey() + ": build");
            Path context = DEPLOY.resolve(String.valueOf(build.get("context"))).normalize();
            assertEquals(ROOT.normalize(), context, e.getKey() + ": build context must be the repository root");
            Path file = context.resolve(String.valueOf(build.get("dockerfile"))).normalize();
            assertEquals(DOCKERFILE.normalize(), file, e.getKey() + ": dockerfile");
            assertTrue(Files.isRegularFile(file), file + " is missing");
        }
    }

    @Test
    void environmentKeysAreRealConfigKeys() {
        Set<String> known = ServerConfig.KEYS.stream().map(ConfigKey::envName).collect(Collectors.toSet());
        for (String service : services.keySet()) {
            for (var e : environment(service).entrySet()) {
                if (e.getKey().startsWith("RAFKA_")) {
                    assertTrue(known.contains(e.getKey()), service + ": " + e.getKey() + " is no broker setting (ServerConfig.KEYS)");
                }
            }
        }
    }

    @Test
    void nodesAreTheLocalClusterScriptsNodes() {
        // The documented scheme (README, compose comments): node N has gRPC 9N92, Raft 9N93, metadata 9N94, HTTP 9N95.
        assertEquals(9192, launcher.nodePort("1", 2));
        assertEquals(9395, launcher.nodePort("3", 5));
        Map<String, String> flags = launcher.clusterStartFlags();
        assertEquals(PORT_KEYS, flags.keySet().stream().filter(PORT_KEYS::contains).collect(Collectors.toSet()),
                "bin/rafka cluster start passes every port: " + flags);

        Set<String> expectedKeys = new TreeSet<>(flags.keySet());
        expectedKeys.add(ServerConfig.HOST.name());
        expectedKeys.add(ServerConfig.BIND_HOST.name());
        for (String node : launcher.nodes()) {
            String service = serviceOf(node);
            Map<String, String> env = environment(service);
            assertEquals(expectedKeys, configKeysSet(env),
                    service + ": the settings bin/rafka cluster start passes, plus host and bind.host");
            assertEquals(service, env.get(ServerConfig.HOST.envName()), service + ": advertised host is the service name");
            assertEquals("0.0.0.0", env.get(ServerConfig.BIND_HOST.envName()), service + ": bind.host");
            for (var flag : flags.entrySet()) {
                String key = flag.getKey();
                String actual = env.get(envName(key));
                switch (key) {
                    case "controller.quorum.voters" -> assertEquals(expectedVoters(node), parseVoters(node, actual),
                            service + ": voters are the launcher's, each on its service name");
                    case "data.dir" -> assertEquals(volumeTarget(service), actual, service + ": data.dir is the volume's mount");
                    default -> assertEquals(launcher.expand(flag.getValue(), node), actual,
                            service + ": " + key + " as bin/rafka cluster start sets it for node " + node);
                }
            }
        }
    }

    @Test
    void eachServicesConfigurationIsAcceptedByTheBroker() {
        for (String node : launcher.nodes()) {
            String service = serviceOf(node);
            Map<String, String> env = new LinkedHashMap<>(dockerfile.finalStage().env());
            env.putAll(environment(service)); // what the container sees: the image's ENV, then the compose file's
            ServerConfig c = ServerConfig.load(List.of(), env);
            assertEquals(node, c.nodeId());
            assertEquals(service, c.get(ServerConfig.HOST));
            assertEquals(launcher.nodePort(node, 2), c.getInt(ServerConfig.GRPC_PORT));
            assertEquals(launcher.nodePort(node, 5), c.getInt(ServerConfig.HTTP_PORT));
            List<NodeAddress> voters = c.voters();
            assertEquals(launcher.nodes().size(), voters.size(), service + ": voters " + voters);
            for (NodeAddress v : voters) {
                assertEquals(serviceOf(v.id()), v.host(), "voter " + v.id() + " is reached by its service name");
                assertEquals(String.valueOf(launcher.nodePort(v.id(), 4)),
                        environment(serviceOf(v.id())).get(ServerConfig.METADATA_PORT.envName()),
                        "voter " + v.id() + " names its service's metadata port");
                assertEquals(launcher.nodePort(v.id(), 4), v.port());
            }
        }
    }

    @Test
    void portsAreThoseOfTheNodePublishedByTheSameNumbers() {
        for (String node : launcher.nodes()) {
            String service = serviceOf(node);
            Map<Integer, Integer> published = new HashMap<>();
            for (Object p : list(service(service).get("ports"), service + ": ports")) {
                int[] hc = parsePort(p, service);
                assertEquals(hc[0], hc[1], service + ": publish " + p + " on the same number (brokers advertise it)");
                published.put(hc[1], hc[0]);
            }
            int grpc = launcher.nodePort(node, 2);
            int http = launcher.nodePort(node, 5);
            assertEquals(Set.of(grpc, http), published.keySet(), service + ": publishes gRPC and HTTP");
            Set<Integer> exposed = list(service(service).get("expose"), service + ": expose").stream()
                    .map(o -> Integer.parseInt(String.valueOf(o))).collect(Collectors.toSet());
            assertEquals(Set.of(launcher.nodePort(node, 3), launcher.nodePort(node, 4)), exposed,
                    service + ": exposes Raft and metadata to the other brokers");
        }
    }

    @Test
    void eachNodeHasItsOwnNamedVolumeAtTheImagesDataDir() {
        Map<String, Object> declared = map(compose.get("volumes"), "top-level volumes");
        Set<String> used = new HashSet<>();
        for (String service : services.keySet()) {
            String[] volume = dataVolume(service);
            assertTrue(declared.containsKey(volume[0]), service + ": volume " + volume[0] + " is not a declared named volume");
            assertTrue(used.add(volume[0]), "volume " + volume[0] + " is shared by two nodes");
            assertEquals(dockerfile.finalStage().single("VOLUME"), volume[1], service + ": mounted at the image's VOLUME");
            assertEquals(volume[1], environment(service).get(ServerConfig.DATA_DIR.envName()), service + ": data.dir");
        }
    }

    @Test
    void healthCheckRestartAndGracefulStop() {
        String raw;
        try {
            raw = Files.readString(COMPOSE_FILE);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        // Compose interpolates ${...} and $VAR from the host's environment when it reads the file; only $$ (a
        // literal $ for the container) is meant here.
        assertFalse(raw.replace("$$", "").contains("$"), "unescaped $ in the compose file: write $$ for the container's shell");
        for (String service : services.keySet()) {
            Map<String, Object> svc = service(service);
            Map<String, String> env = environment(service);
            Map<String, Object> hc = map(svc.get("healthcheck"), service + ": healthcheck");
            // podman-compose 1.0.3 runs every test through /bin/sh -c and glues a CMD list's words into one, so
            // the probe is CMD-SHELL with one plain command: the image's launcher, which reads RAFKA_HTTP_PORT.
            assertEquals(List.of("CMD-SHELL", HEALTH_PROBE), list(hc.get("test"), service + ": healthcheck test"),
                    service + ": healthcheck is the image's probe");
            assertNotNull(env.get(ServerConfig.HTTP_PORT.envName()), service + ": the probe reads RAFKA_HTTP_PORT");

            String restart = String.valueOf(svc.get("restart"));
            assertTrue(restart.equals("always") || restart.equals("unless-stopped") || restart.startsWith("on-failure"),
                    service + ": restart policy " + restart);

            long shutdownMs = Long.parseLong(env.getOrDefault(ServerConfig.SHUTDOWN_TIMEOUT_MS.envName(),
                    ServerConfig.SHUTDOWN_TIMEOUT_MS.defaultValue()));
            long graceMs = durationMs(String.valueOf(svc.get("stop_grace_period")));
            // The hand-over may take shutdown.timeout.ms; closing the Raft servers and the JVM come after it.
            assertTrue(graceMs >= shutdownMs + 10_000, service + ": stop_grace_period " + graceMs
                    + " ms leaves too little over shutdown.timeout.ms " + shutdownMs + " ms");
        }
    }

    // --------------------------------------------------------------------------------------------- Dockerfile

    @Test
    void dockerfileCopiesHostBuiltJarsOntoTheTestedBaseImage() throws IOException {
        String text = Files.readString(DOCKERFILE);
        // What only BuildKit understands (or fetches from a registry) fails under podman, buildah and classic Docker.
        assertFalse(text.contains("# syntax="), "no syntax directive: BuildKit pulls a parser image for it");
        for (String buildKitOnly : List.of("--mount=", "--chmod=", "--link", "<<")) {
            assertFalse(text.contains(buildKitOnly), "BuildKit-only " + buildKitOnly + " in the Dockerfile");
        }
        assertEquals(1, dockerfile.stages().size(), "one stage: the jars are built on the host by bin/rafka dist");
        Stage runtime = dockerfile.finalStage();
        assertEquals(testedBaseImage(), runtime.image(),
                "the default BASE_IMAGE is the one deploy/test-compose.sh makes and tests");
        assertTrue(runtime.runs().stream().noneMatch(r -> r.matches("(?s).*\\b(mvn|apt-get|curl|wget)\\b.*")),
                "the image build needs no network and no Maven");
        for (String dir : List.of("lib", "server", "client")) {
            assertTrue(runtime.all("COPY").contains(DIST + "/" + dir + " /opt/rafka/" + dir),
                    "the image copies bin/rafka dist's " + dir + "/: " + runtime.all("COPY"));
        }
        assertTrue(Files.readString(LAUNCHER).contains("\"$ROOT/" + DIST + "\""), "bin/rafka dist writes " + DIST);
        // Both bases are the project's Java release: the tested one and the one documented for Docker.
        String release = javaRelease();
        assertTrue(Files.readString(DEPLOY.resolve("test-compose.sh")).contains("openjdk-" + release + "-jre-headless"),
                "deploy/test-compose.sh's base has the JRE " + release);
        assertTrue(text.contains("BASE_IMAGE=eclipse-temurin:" + release + "-jre"), "the Dockerfile documents the Docker base");

        List<String> entrypoint = runtime.execForm("ENTRYPOINT");
        assertEquals(2, entrypoint.size(), "ENTRYPOINT [launcher, server]: " + entrypoint);
        assertTrue(entrypoint.get(0).endsWith("/bin/rafka"), "the entrypoint is the launcher: " + entrypoint);
        assertEquals("server", entrypoint.get(1));
        assertTrue(runtime.all("COPY").stream().anyMatch(c -> c.matches("(\\S*/)?bin/rafka\\s+" + Pattern.quote(entrypoint.get(0)))),
                "the image's launcher is copied from the repository's bin/rafka");

        Set<Integer> exposed = new TreeSet<>();
        runtime.all("EXPOSE").forEach(e -> {
            for (String p : e.trim().split("\\s+")) {
                exposed.add(Integer.parseInt(p.replace("/tcp", "")));
            }
        });
        Set<Integer> defaults = new TreeSet<>();
        for (ConfigKey k : List.of(ServerConfig.GRPC_PORT, ServerConfig.RAFT_PORT, ServerConfig.METADATA_PORT, ServerConfig.HTTP_PORT)) {
            defaults.add(Integer.parseInt(k.defaultValue()));
        }
        assertEquals(defaults, exposed, "EXPOSE the four ports' defaults (grpc, raft, metadata, http)");

        Set<String> known = ServerConfig.KEYS.stream().map(ConfigKey::envName).collect(Collectors.toSet());
        for (String key : runtime.env().keySet()) {
            assertTrue(!key.startsWith("RAFKA_") || CLASSPATH_VARS.contains(key) || known.contains(key),
                    "Dockerfile ENV " + key + " is neither a launcher classpath nor a broker setting");
        }
        assertEquals("0.0.0.0", runtime.env().get(ServerConfig.BIND_HOST.envName()), "containers listen on every interface");
        assertEquals(runtime.single("VOLUME"), runtime.env().get(ServerConfig.DATA_DIR.envName()), "data.dir is the VOLUME");

        String health = runtime.single("HEALTHCHECK");
        assertTrue(health.endsWith("CMD [\"" + entrypoint.get(0) + "\", \"health\"]"),
                "HEALTHCHECK runs the launcher's probe in exec form: " + health);
    }

    /** Root .dockerignore (the only one every builder reads) keeps all out but what the image copies. */
    @Test
    void buildContextIsOnlyWhatTheImageCopies() throws IOException {
        assertFalse(Files.exists(DEPLOY.resolve("Dockerfile.dockerignore")),
                "BuildKit prefers deploy/Dockerfile.dockerignore, which podman ignores: keep one, at the root");
        List<String> rules = Files.readAllLines(ROOT.resolve(".dockerignore")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertEquals("*", rules.get(0), ".dockerignore starts by leaving everything out");
        Set<String> allowed = rules.stream().skip(1).map(r -> {
            assertTrue(r.startsWith("!"), ".dockerignore: after '*' only exceptions: " + r);
            return r.substring(1).replaceAll("/$", "");
        }).collect(Collectors.toSet());
        Set<String> sources = dockerfile.finalStage().all("COPY").stream()
                .map(c -> c.trim().split("\\s+")[0]).collect(Collectors.toSet());
        assertEquals(sources, allowed, ".dockerignore lets in exactly the COPY sources");
    }

    /** The probe itself against a real HTTP server: 200 passes, anything else or nothing listening fails. */
    @Test
    void healthProbeWantsTwoHundredFromHealth() throws Exception {
        com.sun.net.httpserver.HttpServer http = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        int[] code = {200};
        http.createContext("/health", ex -> {
            ex.sendResponseHeaders(code[0], -1);
            ex.close();
        });
        http.start();
        try {
            int port = http.getAddress().getPort();
            assertEquals(0, probe(port), "200 from /health");
            code[0] = 503;
            assertEquals(1, probe(port), "503 from /health");
        } finally {
            http.stop(0);
        }
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int closed = free.getLocalPort();
            free.close();
            assertEquals(1, probe(closed), "nothing listening");
        }
    }

    /** Runs HEALTH_PROBE as the compose file does (a shell command line) with the container's RAFKA_HTTP_PORT. */
    private static int probe(int port) throws Exception {
        String command = HEALTH_PROBE.replace("/opt/rafka/bin/rafka", LAUNCHER.toString());
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true);
        pb.environment().put(ServerConfig.HTTP_PORT.envName(), Integer.toString(port));
        Process p = pb.start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the probe did not finish");
        }
        return p.exitValue();
    }

    private static String testedBaseImage() throws IOException {
        Matcher m = Pattern.compile("(?m)^BASE_IMAGE=(\\S+)$").matcher(Files.readString(DEPLOY.resolve("test-compose.sh")));
        assertTrue(m.find(), "deploy/test-compose.sh has no BASE_IMAGE=");
        return m.group(1);
    }

    @Test
    void imageClasspathsHoldOnlyWhatTheImageCopies() {
        Stage runtime = dockerfile.finalStage();
        List<String> destinations = runtime.all("COPY").stream().map(c -> {
            String[] words = c.trim().split("\\s+");
            return words[words.length - 1];
        }).toList();
        for (String variable : CLASSPATH_VARS) {
            String classpath = runtime.env().get(variable);
            assertNotNull(classpath, "the image sets " + variable + ", so the launcher does not build");
            for (String entry : classpath.split(":")) {
                String dir = entry.endsWith("/*") ? entry.substring(0, entry.length() - 2) : entry;
                assertTrue(destinations.contains(dir), variable + " entry " + entry + " is not something the image copies: " + destinations);
            }
        }
        assertFalse(runtime.env().get("RAFKA_CLASSPATH").contains("/client"), "the broker's classpath has no client-only jar");
        assertFalse(runtime.env().get("RAFKA_CLIENT_CLASSPATH").contains("/server"), "the tool's classpath has no broker-only jar");
    }

    /**
     * The contract the image relies on: with RAFKA_CLASSPATH and RAFKA_CLIENT_CLASSPATH set, {@code bin/rafka server}
     * and the client commands run java on them and never call Maven. Run with stand-ins for java (prints its
     * arguments) and mvn (fails).
     */
    @Test
    void launcherRunsTheImagesClasspathWithoutBuilding(@TempDir Path bin) throws Exception {
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n");
        Path mvn = bin.resolve("mvn");
        Files.writeString(mvn, "#!/usr/bin/env bash\necho 'mvn called' >&2\nexit 97\n");
        assertTrue(java.toFile().setExecutable(true) && mvn.toFile().setExecutable(true));

        List<String> entrypoint = dockerfile.finalStage().execForm("ENTRYPOINT");
        List<String> serverArgs = new ArrayList<>(entrypoint.subList(1, entrypoint.size()));
        serverArgs.add("--node.id=7");
        List<String> server = javaArgs(bin, serverArgs);
        int cp = server.indexOf("-cp");
        assertEquals(dockerfile.finalStage().env().get("RAFKA_CLASSPATH"), server.get(cp + 1), "the broker runs on RAFKA_CLASSPATH as is");
        assertEquals(List.of("io.rafka.server.Main", "--node.id=7"), server.subList(cp + 2, server.size()));

        List<String> client = javaArgs(bin, List.of("topic", "list"));
        cp = client.indexOf("-cp");
        assertEquals(dockerfile.finalStage().env().get("RAFKA_CLIENT_CLASSPATH"), client.get(cp + 1),
                "the command-line tool runs on RAFKA_CLIENT_CLASSPATH as is");
    }

    /** The java command line bin/rafka ARGS runs with the image's classpaths (stand-ins for java and mvn in BIN). */
    private static List<String> javaArgs(Path bin, List<String> launcherArgs) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        command.addAll(launcherArgs);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        for (String variable : CLASSPATH_VARS) {
            pb.environment().put(variable, dockerfile.finalStage().env().get(variable));
        }
        pb.environment().put("PATH", bin + File.pathSeparator + System.getenv("PATH"));
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bin/rafka did not finish");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.contains("mvn called"), "the launcher tried to build:\n" + out);
        List<String> args = out.lines().toList();
        int cp = args.indexOf("-cp");
        assertTrue(cp >= 0 && cp + 1 < args.size(), "java got no -cp:\n" + out);
        return args;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static Map<String, Object> service(String name) {
        Map<String, Object> svc = services.get(name);
        assertNotNull(svc, "the compose file has no service " + name + " (services: " + services.keySet() + ")");
        return svc;
    }

    private static String serviceOf(String nodeId) {
        return "rafka-" + nodeId;
    }

    private static String envName(String key) {
        return ServerConfig.KEYS.stream().filter(k -> k.name().equals(key)).findFirst()
                .orElseThrow(() -> new AssertionError("bin/rafka passes --" + key + ", which is no ServerConfig key"))
                .envName();
    }

    private static Set<String> configKeysSet(Map<String, String> env) {
        Set<String> keys = new TreeSet<>();
        for (ConfigKey k : ServerConfig.KEYS) {
            if (env.containsKey(k.envName())) {
                keys.add(k.name());
            }
        }
        return keys;
    }

    /** The launcher's voters for a node, with each voter's host replaced by its service name. */
    private static List<NodeAddress> expectedVoters(String node) {
        String voters = launcher.voters();
        List<NodeAddress> local = loadVoters(node, voters);
        return local.stream().map(a -> new NodeAddress(a.id(), serviceOf(a.id()), a.port())).toList();
    }

    private static List<NodeAddress> parseVoters(String node, String voters) {
        assertNotNull(voters, "no voters for node " + node);
        return loadVoters(node, voters);
    }

    /** The voters as a broker of {@code node} reads them (its metadata.port the one its own entry names). */
    private static List<NodeAddress> loadVoters(String node, String voters) {
        java.util.regex.Matcher own = java.util.regex.Pattern.compile("(?:^|,)\\s*" + java.util.regex.Pattern.quote(node)
                + "@[^,]*:(\\d+)").matcher(voters);
        List<String> args = new java.util.ArrayList<>(List.of("--node.id=" + node, "--controller.quorum.voters=" + voters));
        if (own.find()) {
            args.add("--metadata.port=" + own.group(1));
        }
        return ServerConfig.load(args, Map.of()).voters();
    }

    /** The service's environment, in either of compose's forms (map, or list of KEY=VALUE). */
    private static Map<String, String> environment(String service) {
        Object env = service(service).get("environment");
        Map<String, String> result = new LinkedHashMap<>();
        if (env instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                assertNotNull(v, service + ": " + k + " has no value (it would come from the host's environment)");
                result.put(String.valueOf(k), String.valueOf(v));
            });
        } else {
            for (Object o : list(env, service + ": environment")) {
                String s = String.valueOf(o);
                int eq = s.indexOf('=');
                assertTrue(eq > 0, service + ": environment entry " + s + " has no value");
                result.put(s.substring(0, eq), s.substring(eq + 1));
            }
        }
        return result;
    }

    /** The named volume holding the service's data: {source, target}. */
    private static String[] dataVolume(String service) {
        List<Object> volumes = list(service(service).get("volumes"), service + ": volumes");
        assertEquals(1, volumes.size(), service + ": one volume, its data");
        Object v = volumes.get(0);
        if (v instanceof Map<?, ?> m) {
            assertEquals("volume", String.valueOf(m.get("type")), service + ": a named volume");
            return new String[] {String.valueOf(m.get("source")), String.valueOf(m.get("target"))};
        }
        String[] parts = String.valueOf(v).split(":");
        assertTrue(parts.length >= 2 && !parts[0].startsWith("/") && !parts[0].startsWith("."),
                service + ": " + v + " is not a named volume");
        return new String[] {parts[0], parts[1]};
    }

    private static String volumeTarget(String service) {
        return dataVolume(service)[1];
    }

    /** {host port, container port} of a ports entry, short ("[ip:]host:container[/tcp]") or long syntax. */
    private static int[] parsePort(Object entry, String service) {
        if (entry instanceof Map<?, ?> m) {
            return new int[] {Integer.parseInt(String.valueOf(m.get("published"))), Integer.parseInt(String.valueOf(m.get("target")))};
        }
        String s = String.valueOf(entry).replace("/tcp", "");
        String[] parts = s.split(":");
        assertTrue(parts.length >= 2, service + ": port " + s + " is not published on a fixed host port");
        return new int[] {Integer.parseInt(parts[parts.length - 2]), Integer.parseInt(parts[parts.length - 1])};
    }

    /** A compose duration ("30s", "1m30s", "1500ms") in milliseconds. */
    static long durationMs(String d) {
        Matcher m = Pattern.compile("(\\d+)(ms|h|m|s)").matcher(d);
        long total = 0;
        int end = 0;
        while (m.find()) {
            assertEquals(end, m.start(), "bad duration " + d);
            long n = Long.parseLong(m.group(1));
            total += switch (m.group(2)) {
                case "h" -> n * 3_600_000;
                case "m" -> n * 60_000;
                case "s" -> n * 1000;
                default -> n;
            };
            end = m.end();
        }
        assertTrue(end > 0 && end == d.length(), "bad duration '" + d + "'");
        return total;
    }

    private static String javaRelease() throws IOException {
        Matcher m = Pattern.compile("<maven\\.compiler\\.release>(\\d+)</maven\\.compiler\\.release>")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(m.find(), "pom.xml has no maven.compiler.release");
        return m.group(1);
    }
}
