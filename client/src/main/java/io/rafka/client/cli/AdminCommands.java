package io.rafka.client.cli;

import io.rafka.client.admin.AdminException;
import io.rafka.client.admin.NewTopic;
import io.rafka.client.admin.RafkaAdmin;
import io.rafka.client.admin.TopicDescription;
import io.rafka.client.internals.ClientException;

import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.PartitionReassignment;
import io.rafka.proto.v1.ReassignPartitionsRequest;
import io.rafka.proto.v1.ReassignPartitionsResponse;
import io.rafka.proto.v1.ReplaceBrokerRequest;
import io.rafka.proto.v1.ReplaceBrokerResponse;
import io.rafka.proto.v1.ErrorCode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What the {@code topic ...} and {@code cluster ...} commands ({@link TopicCommands}, {@link ClusterCommands}) do:
 * the topic commands through the Java SDK's {@link RafkaAdmin}; {@code cluster describe} (it prints the metadata
 * version, which the SDK's ClusterDescription does not carry) and {@code cluster replace-broker} (a Rafka operator
 * call with no Kafka Admin counterpart) as one direct AdminService call each. One call per command, sent to the
 * bootstrap broker (any broker forwards writes to the controller). They do not retry: an operator at
 * a prompt is better served by a prompt answer, and create or delete are not safe to repeat blindly.
 */
final class AdminCommands {

    /** Admin writes wait for the metadata group to commit: seconds at most, unless it has no leader. */
    static final long RPC_DEADLINE_MS = 30_000;
    /** Partitions that {@code cluster replace-broker} could not move, listed one by one up to this many (then counted). */
    private static final int MAX_FAILURES_LISTED = 10;

    private final CliContext context;

    AdminCommands(CliContext context) {
        this.context = context;
    }

    /** @param partitions 0 for the broker's num.partitions; {@code replicationFactor} likewise */
    int createTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
        Map<String, TopicDescription> created = sdk(admin -> admin.createTopics(
                List.of(new NewTopic(name, partitions, replicationFactor, configs))));
        context.err().println("created topic " + name);
        created.values().forEach(topic -> print(TopicFormatter.describe(topic)));
        return 0;
    }

    int listTopics() {
        print(new ArrayList<>(sdk(RafkaAdmin::listTopics)));
        return 0;
    }

    /**
     * Prints every topic it can; a topic that failed is reported on stderr and makes the exit status 1. Asks for
     * the named topics one at a time, so that one unknown name does not hide the others.
     */
    int describeTopics(List<String> names) {
        if (names.isEmpty()) {
            Map<String, TopicDescription> all = sdk(admin -> admin.describeTopics(List.of()));
            Set<String> live = liveBrokers();   // asked once the cluster answered: a cluster that is down fails once
            all.values().forEach(topic -> print(TopicFormatter.describe(topic, live)));
            return 0;
        }
        int status = 0;
        Set<String> live = null;
        boolean liveAsked = false;
        for (String name : names) {
            try {
                Map<String, TopicDescription> described = sdk(admin -> admin.describeTopics(List.of(name)));
                if (!liveAsked) {
                    live = liveBrokers();
                    liveAsked = true;
                }
                Set<String> liveNow = live;
                described.values().forEach(topic -> print(TopicFormatter.describe(topic, liveNow)));
            } catch (ClientException e) {
                context.err().println(RafkaCli.errorLine(e));
                status = 1;
            }
        }
        return status;
    }

    /** The brokers the controller counts as alive, to mark the replicas of the others; null when it cannot tell. */
    private Set<String> liveBrokers() {
        try {
            return Set.copyOf(sdk(RafkaAdmin::describeCluster).liveBrokerIds());
        } catch (ClientException e) {
            return null;   // describing the topics still works (and reports its own failure, if any)
        }
    }

    int deleteTopic(String name) {
        sdk(admin -> admin.deleteTopics(List.of(name)));
        context.err().println("deleted topic " + name);
        return 0;
    }

    /** @param partitions the new partition count, 0 to leave it */
    int alterTopic(String name, int partitions, Map<String, String> set, List<String> delete) {
        if (partitions > 0) {
            sdk(admin -> admin.createPartitions(name, partitions));
            context.err().println("topic " + name + " has " + partitions + " partitions now");
        }
        if (!set.isEmpty() || !delete.isEmpty()) {
            sdk(admin -> admin.alterConfigs(name, set, delete));
            context.err().println("altered topic " + name);
        }
        return 0;
    }

    /**
     * One call of the SDK's {@link RafkaAdmin} on the tool's channels, waited for; its failure as the CLI reports it
     * ({@code rafka: CODE: message}).
     */
    private <T> T sdk(Function<RafkaAdmin, CompletableFuture<T>> call) {
        return sdk(context, RPC_DEADLINE_MS, call);
    }

    /** @param apiTimeoutMs how long group calls retry a moving coordinator */
    static <T> T sdk(CliContext context, long apiTimeoutMs, Function<RafkaAdmin, CompletableFuture<T>> call) {
        try (RafkaAdmin admin = RafkaAdmin.create(context.bootstrap().toString(), apiTimeoutMs, context.channels());
             WaitNotice notice = WaitNotice.start(context, "still waiting for the cluster's answer (bootstrap "
                     + context.bootstrap() + "; brokers that cannot be reached are tried again for up to " + apiTimeoutMs
                     + " ms)")) {
            return call.apply(admin).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof AdminException failure) {
                throw toClientException(failure);
            }
            throw e;
        }
    }

    /** {@code rafka: CODE: message}, without the code twice. */
    static ClientException toClientException(AdminException failure) {
        String prefix = failure.code() + ": ";
        String message = failure.getMessage();
        return new ClientException(failure.code(), message.startsWith(prefix) ? message.substring(prefix.length()) : message);
    }

    int describeCluster() {
        print(TopicFormatter.describeCluster(call(admin -> admin.describeCluster(DescribeClusterRequest.getDefaultInstance()))));
        return 0;
    }

    /**
     * Moves every replica of a (dead) broker to other live brokers and prints the new placements.
     *
     * @param target null: per partition the live broker holding the fewest replicas
     */
    int replaceBroker(String broker, String target) {
        ReplaceBrokerRequest.Builder request = ReplaceBrokerRequest.newBuilder().setBrokerId(broker);
        if (target != null) {
            request.setTargetBrokerId(target);
        }
        ReplaceBrokerResponse response = call(admin -> admin.replaceBroker(request.build()));
        int failed = 0;
        for (PartitionReassignment r : response.getResultsList()) {
            if (r.getErrorCode() == ErrorCode.NONE) {
                context.out().println(r.getTopic() + "-" + r.getPartition() + "\treplicas " + String.join(",", r.getReplicasList()));
            } else if (++failed <= MAX_FAILURES_LISTED) {
                context.err().println("rafka: " + r.getErrorCode() + ": " + r.getTopic() + "-" + r.getPartition() + ": " + r.getErrorMessage());
            }
        }
        if (failed > MAX_FAILURES_LISTED) {
            context.err().println("... " + (failed - MAX_FAILURES_LISTED) + " more partitions could not move");
        }
        int moved = response.getResultsCount() - failed;
        context.err().println("moved " + moved + " partition replicas off broker " + broker
                + (failed > 0 ? "; " + failed + " could not move" : "") + (moved > 0 ? " (the data is copied in the background)" : ""));
        return failed > 0 ? 1 : 0;
    }

    /**
     * Gives partitions the replica lists named as {@code TOPIC-PARTITION=BROKER,BROKER,...} and prints each answer;
     * exit status 1 if any partition was refused (the others move).
     */
    int reassign(List<String> moves, boolean dryRun) {
        ReassignPartitionsRequest.Builder request = ReassignPartitionsRequest.newBuilder().setValidateOnly(dryRun);
        for (String move : moves) {
            int eq = move.indexOf('=');
            int dash = eq < 0 ? -1 : move.lastIndexOf('-', eq);
            int partition = -1;
            if (dash > 0) {
                try {
                    partition = Integer.parseInt(move.substring(dash + 1, eq));
                } catch (NumberFormatException e) {
                    partition = -1;
                }
            }
            List<String> brokers = eq < 0 ? List.of() : java.util.Arrays.stream(move.substring(eq + 1).split(",", -1))
                    .map(String::trim).toList();
            if (partition < 0 || brokers.stream().anyMatch(String::isBlank)) {
                throw new UsageException("'" + move + "' is not TOPIC-PARTITION=BROKER,..., e.g. orders-0=1,2,4");
            }
            request.addReassignments(PartitionReassignment.newBuilder().setTopic(move.substring(0, dash)).setPartition(partition)
                    .addAllReplicas(brokers));
        }
        return printMoves(call(admin -> admin.reassignPartitions(request.build())).getResultsList(), dryRun, "reassigned");
    }

    /** Moves replicas until the live brokers hold as many as one another, give or take one, and prints the moves. */
    int rebalance(boolean dryRun) {
        ReassignPartitionsResponse response = call(admin -> admin.reassignPartitions(ReassignPartitionsRequest.newBuilder()
                .setBalance(true).setValidateOnly(dryRun).build()));
        if (response.getResultsCount() == 0) {
            context.err().println("the live brokers hold as many replicas as one another, give or take one: nothing to move");
            return 0;
        }
        return printMoves(response.getResultsList(), dryRun, "moved");
    }

    private int printMoves(List<PartitionReassignment> results, boolean dryRun, String verb) {
        int failed = 0;
        for (PartitionReassignment r : results) {
            if (r.getErrorCode() == ErrorCode.NONE) {
                context.out().println(r.getTopic() + "-" + r.getPartition() + "\treplicas " + String.join(",", r.getReplicasList()));
            } else if (++failed <= MAX_FAILURES_LISTED) {
                context.err().println("rafka: " + r.getErrorCode() + ": " + r.getErrorMessage());
            }
        }
        if (failed > MAX_FAILURES_LISTED) {
            context.err().println("... " + (failed - MAX_FAILURES_LISTED) + " more partitions were refused");
        }
        int ok = results.size() - failed;
        context.err().println((dryRun ? "dry run: would have " : "") + verb + " " + ok + (ok == 1 ? " partition" : " partitions")
                + (failed > 0 ? "; " + failed + " refused" : "") + (ok > 0 && !dryRun ? " (the data is copied in the background)" : ""));
        return failed > 0 ? 1 : 0;
    }

    private <T> T call(Function<AdminServiceGrpc.AdminServiceBlockingStub, T> rpc) {
        try {
            return rpc.apply(AdminServiceGrpc.newBlockingStub(context.channels().channel(context.bootstrap()))
                    .withDeadlineAfter(RPC_DEADLINE_MS, TimeUnit.MILLISECONDS));
        } catch (StatusRuntimeException e) {
            throw ClientException.fromStatus(e, context.bootstrap());
        }
    }

    private void print(List<String> lines) {
        for (String line : lines) {
            context.out().println(line);
        }
    }
}
