package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.PartitionSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The {@code partition.metadata} file in each partition folder: what the replica was created as, so a node
 * finds its partitions again after a restart (Ratis's storage names groups only by id).
 *
 * <pre>
 * version: 0
 * topic_id: 6f1c...-...
 * replicas: n1@127.0.0.1:9091,n2@127.0.0.1:9092
 * </pre>
 *
 * Replaced atomically (written beside, then renamed over), so a crash leaves the old or the new file. A file
 * without topic id or replicas is ignored with a warning.
 */
public final class PartitionMetadataFile {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionMetadataFile.class);
    public static final String NAME = "partition.metadata";

    private PartitionMetadataFile() {
    }

    /** Writes {@code spec} into its partition folder under {@code dataDir}, creating the folder if needed. */
    public static void write(Path dataDir, PartitionSpec spec) throws IOException {
        Path dir = dataDir.resolve(spec.topicPartition().dirName());
        Files.createDirectories(dir);
        StringBuilder replicas = new StringBuilder();
        for (NodeAddress a : spec.replicas()) {
            replicas.append(replicas.length() == 0 ? "" : ",").append(a.id()).append('@').append(a.hostPort());
        }
        String text = "version: 0\ntopic_id: " + spec.topicId() + "\nreplicas: " + replicas + "\n";
        Path tmp = dir.resolve(NAME + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The topic id recorded in {@code tp}'s folder under {@code dataDir}; empty if there is no complete metadata file. */
    public static java.util.Optional<UUID> topicId(Path dataDir, TopicPartition tp) throws IOException {
        Path meta = dataDir.resolve(tp.dirName()).resolve(NAME);
        if (!Files.exists(meta)) {
            return java.util.Optional.empty();
        }
        PartitionSpec spec = read(meta, tp);
        return spec == null ? java.util.Optional.empty() : java.util.Optional.of(spec.topicId());
    }

    /** The specs of every partition folder under {@code dataDir} that holds a complete metadata file. */
    public static List<PartitionSpec> readAll(Path dataDir) throws IOException {
        List<PartitionSpec> specs = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(dataDir, Files::isDirectory)) {
            for (Path dir : dirs) {
                Path meta = dir.resolve(NAME);
                if (Files.exists(meta)) {
                    PartitionSpec spec = read(meta, TopicPartition.fromDirName(dir.getFileName().toString()));
                    if (spec != null) {
                        specs.add(spec);
                    }
                }
            }
        }
        return specs;
    }

    private static PartitionSpec read(Path meta, TopicPartition tp) throws IOException {
        UUID topicId = null;
        List<NodeAddress> replicas = List.of();
        for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
            if (line.startsWith("topic_id: ")) {
                topicId = UUID.fromString(line.substring("topic_id: ".length()).trim());
            } else if (line.startsWith("replicas: ")) {
                replicas = parseReplicas(line.substring("replicas: ".length()).trim());
            }
        }
        if (topicId == null || replicas.isEmpty()) {
            LOG.warn("Ignoring {}: incomplete partition metadata", meta);
            return null;
        }
        return new PartitionSpec(tp, topicId, replicas);
    }

    private static List<NodeAddress> parseReplicas(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        return Arrays.stream(text.split(",")).map(s -> {
            int at = s.indexOf('@');
            int colon = s.lastIndexOf(':');
            return new NodeAddress(s.substring(0, at), s.substring(at + 1, colon), Integer.parseInt(s.substring(colon + 1)));
        }).toList();
    }
}
