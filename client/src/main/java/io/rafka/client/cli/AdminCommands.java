package io.rafka.client.cli;

import io.rafka.client.internals.ClientException;

import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.AlterConfigsRequest;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.proto.v1.DeleteTopicsRequest;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.PartitionReassignment;
import io.rafka.proto.v1.ReplaceBrokerRequest;
import io.rafka.proto.v1.ReplaceBrokerResponse;
import io.rafka.proto.v1.DescribeTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.ListTopicsRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.TopicDescription;
import io.rafka.proto.v1.TopicResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What the {@code topic ...} and {@code cluster ...} commands ({@link TopicCommands}, {@link ClusterCommands}) do:
 * one AdminService call each, sent to the
 * bootstrap broker (any broker forwards writes to the controller). They do not retry: an operator at
 * a prompt is better served by a prompt answer, and create or delete are not safe to repeat blindly.
 */
final class AdminCommands {

    /** Admin writes wait for the metadata group to commit: seconds at most, unless it has no leader. */
    static final long RPC_DEADLINE_MS = 30_000;

    private final CliContext context;

    AdminCommands(CliContext context) {
        this.context = context;
    }

    /** @param partitions 0 for the broker's num.partitions; {@code replicationFactor} likewise */
    int createTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
        NewTopic topic = NewTopic.newBuilder()
                .setName(name)
                .setPartitions(partitions)
                .setReplicationFactor(replicationFactor)
                .putAllConfigs(configs)
                .build();
        CreateTopicsResponse response = call(admin -> admin.createTopics(
                CreateTopicsRequest.newBuilder().addTopics(topic).build()));
        for (TopicResult result : response.getResultsList()) {
            check(result);
        }
        context.err().println("created topic " + name);
        for (TopicDescription created : response.getTopicsList()) {
            print(TopicFormatter.describe(created));
        }
        return 0;
    }

    int listTopics() {
        List<String> names = new ArrayList<>(call(admin -> admin.listTopics(ListTopicsRequest.getDefaultInstance()))
                .getNamesList());
        names.sort(null);
        print(names);
        return 0;
    }

    /** Prints every topic it can; a topic that failed is reported on stderr and makes the exit status 1. */
    int describeTopics(List<String> names) {
        List<TopicDescription> topics = call(admin -> admin.describeTopics(
                DescribeTopicsRequest.newBuilder().addAllNames(names).build())).getTopicsList();
        int status = 0;
        for (TopicDescription topic : topics) {
            if (topic.getErrorCode() != ErrorCode.NONE) {
                ClientException failure = ClientException.of(topic.getErrorCode(), topic.getErrorCodeValue(),
                        "topic " + topic.getName(), topic.getErrorMessage());
                context.err().println(RafkaCli.errorLine(failure));
                status = 1;
            } else {
                print(TopicFormatter.describe(topic));
            }
        }
        return status;
    }

    int deleteTopic(String name) {
        for (TopicResult result : call(admin -> admin.deleteTopics(
                DeleteTopicsRequest.newBuilder().addNames(name).build())).getResultsList()) {
            check(result);
        }
        context.err().println("deleted topic " + name);
        return 0;
    }

    int alterTopic(String name, Map<String, String> set, List<String> delete) {
        check(call(admin -> admin.alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic(name).putAllSet(set).addAllDelete(delete).build())).getResult());
        context.err().println("altered topic " + name);
        return 0;
    }

    int describeCluster() {
        print(TopicFormatter.describeCluster(call(admin -> admin.describeCluster(DescribeClusterRequest.getDefaultInstance()))));
        return 0;
    }

    /** Moves every replica of a (dead) broker to other live brokers and prints the new placements. */
    /** @param target null: per partition the live broker holding the fewest replicas */
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
            } else {
                failed++;
                context.err().println("rafka: " + r.getErrorCode() + ": " + r.getTopic() + "-" + r.getPartition() + ": " + r.getErrorMessage());
            }
        }
        context.err().println("moved " + (response.getResultsCount() - failed) + " partition replicas off broker " + broker
                + (failed > 0 ? "; " + failed + " could not move" : "") + " (the data is copied in the background)");
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

    private static void check(TopicResult result) {
        if (result.getErrorCode() != ErrorCode.NONE) {
            throw ClientException.of(result.getErrorCode(), result.getErrorCodeValue(),
                    "topic " + result.getName(), result.getErrorMessage());
        }
    }

    private void print(List<String> lines) {
        for (String line : lines) {
            context.out().println(line);
        }
    }
}
