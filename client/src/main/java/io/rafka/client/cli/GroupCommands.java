package io.rafka.client.cli;

import io.grpc.StatusRuntimeException;
import io.rafka.client.admin.AdminException;
import io.rafka.client.admin.OffsetSpec;
import io.rafka.client.group.CoordinatorClient;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.GroupListings;
import io.rafka.client.internals.GroupLogEnds;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.OffsetLookup;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.DescribeGroupRequest;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.GroupListing;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.TopicMetadata;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What {@code group list|describe|delete|reset-offsets} do ({@link GroupOptions} has their options). Delete and
 * reset-offsets go through the Java SDK's RafkaAdmin. Describe and list call the GroupService themselves, through
 * the same coordinator lookup the SDK uses ({@link CoordinatorClient}: FindCoordinator, again when it moved):
 * describe prints what the SDK's GroupDescription does not carry (the coordinator, the assignor, member epochs,
 * target assignments, connected), and list asks every broker (each lists only the groups it coordinates) and
 * still prints the others when one broker fails, where the SDK's listGroups fails as a whole.
 */
final class GroupCommands {

    private final CliContext context;
    private final long retryTimeoutMs;

    GroupCommands(CliContext context, long retryTimeoutMs) {
        this.context = context;
        this.retryTimeoutMs = retryTimeoutMs;
    }

    /** Every group of the cluster: ListGroups on every broker GetMetadata names, merged by group id. */
    int list(boolean json) {
        MetadataClient metadata = metadata();
        List<BrokerAddress> brokers = new ArrayList<>(new LinkedHashSet<>(metadata.refresh(List.of(), false).brokers()));
        Map<String, GroupListing> groups = new TreeMap<>();
        int status = 0;
        for (BrokerAddress broker : brokers) {
            try {
                for (GroupListing group : GroupListings.of(
                        GroupServiceGrpc.newBlockingStub(context.channels().channel(broker)), CoordinatorClient.RPC_DEADLINE_MS)) {
                    groups.putIfAbsent(group.getGroupId(), group);
                }
            } catch (StatusRuntimeException e) {
                context.err().println(RafkaCli.errorLine(ClientException.fromCall(e, broker)));
                status = 1;
            }
        }
        List<GroupListing> sorted = new ArrayList<>(groups.values());
        if (json) {
            context.out().println(GroupFormatter.listJson(sorted));
        } else {
            GroupFormatter.listText(sorted).forEach(context.out()::println);
        }
        return status;
    }

    int describe(String groupId, boolean json) {
        MetadataClient metadata = metadata();
        CoordinatorClient coordinator = coordinator(groupId, metadata);
        DescribeGroupResponse group = coordinator
                .call(stub -> stub.describeGroup(DescribeGroupRequest.newBuilder().setGroupId(groupId).build()));
        if (group.getCoordinator().getHost().isEmpty()) {
            // The broker that answered is the coordinator: say so even when it did not fill the field in.
            BrokerAddress answered = coordinator.coordinator();
            group = group.toBuilder().setCoordinator(io.rafka.proto.v1.Broker.newBuilder()
                    .setHost(answered.host()).setPort(answered.port())).build();
        }
        group = withLogEndOffsets(group, metadata);
        if (json) {
            context.out().println(GroupFormatter.describeJson(group));
        } else {
            GroupFormatter.describeText(group).forEach(context.out()::println);
        }
        return 0;
    }

    int delete(String groupId) {
        checkGroupId(groupId);
        AdminCommands.sdk(context, retryTimeoutMs, admin -> admin.deleteGroup(groupId));
        context.err().println("deleted group " + groupId);
        return 0;
    }

    /** Prints the plan; with --execute, sets it (the group must have no members). Through the SDK's RafkaAdmin. */
    int resetOffsets(String groupId, ResetPlan.Spec spec, List<String> topics, boolean execute) {
        checkGroupId(groupId);
        List<TopicPartition> partitions = partitions(topics, metadata());
        Map<TopicPartition, Long> committed = AdminCommands.sdk(context, retryTimeoutMs,
                admin -> admin.listGroupOffsets(groupId, partitions));
        Map<TopicPartition, Long> earliest = AdminCommands.sdk(context, retryTimeoutMs,
                admin -> admin.listOffsets(partitions, OffsetSpec.earliest()));
        Map<TopicPartition, Long> latest = AdminCommands.sdk(context, retryTimeoutMs,
                admin -> admin.listOffsets(partitions, OffsetSpec.latest()));
        Map<TopicPartition, Long> byTime = spec.kind() == ResetPlan.Spec.Kind.DATETIME
                ? AdminCommands.sdk(context, retryTimeoutMs, admin -> admin.listOffsets(partitions, OffsetSpec.forTimestamp(spec.value())))
                : Map.of();
        List<ResetPlan.Row> plan = ResetPlan.compute(spec, partitions, committed, earliest, latest, byTime);
        if (!execute) {
            GroupFormatter.resetText(groupId, plan).forEach(context.out()::println);
            context.err().println("dry run: nothing changed (add --execute to reset the offsets of group " + groupId + ")");
            return 0;
        }
        Map<TopicPartition, Long> targets = new LinkedHashMap<>();
        plan.forEach(row -> targets.put(row.tp(), row.target()));
        Map<TopicPartition, AdminException> failed = AdminCommands.sdk(context, retryTimeoutMs,
                admin -> admin.alterGroupOffsets(groupId, targets));
        // Printed once set (a group with members refuses the whole reset): stdout never shows a plan not applied.
        GroupFormatter.resetText(groupId, plan.stream().filter(row -> !failed.containsKey(row.tp())).toList())
                .forEach(context.out()::println);
        failed.values().forEach(e -> context.err().println(RafkaCli.errorLine(AdminCommands.toClientException(e))));
        context.err().println("reset the offsets of " + (plan.size() - failed.size()) + " partitions of group " + groupId
                + (failed.isEmpty() ? "" : "; " + failed.size() + " failed"));
        return failed.isEmpty() ? 0 : 1;
    }

    /** Fills the log-end offsets the coordinator did not know (-1) from the leaders, and the lag with them. */
    private DescribeGroupResponse withLogEndOffsets(DescribeGroupResponse group, MetadataClient metadata) {
        DescribeGroupResponse filled;
        try {
            filled = GroupLogEnds.fill(group, new OffsetLookup(metadata, context.channels(), context.time(), retryTimeoutMs));
        } catch (ClientException e) {
            context.err().println("rafka: warning: log-end offsets unknown: " + e.code() + ": " + e.getMessage());
            return group;
        }
        // A deleted topic's committed offsets are still worth showing: without their log end, lag stays unknown.
        List<String> unknown = filled.getPartitionsList().stream().filter(p -> p.getLogEndOffset() < 0)
                .map(p -> p.getTopic() + "-" + p.getPartition()).toList();
        if (!unknown.isEmpty()) {
            context.err().println("rafka: warning: log-end offsets unknown (topic deleted, or no leader answered) for "
                    + unknown);
        }
        return filled;
    }

    /** {@code --topic T} (every partition) or {@code --topic T:0,2}, repeatable; checked against the metadata. */
    private List<TopicPartition> partitions(List<String> specs, MetadataClient metadata) {
        Set<TopicPartition> partitions = new LinkedHashSet<>();
        for (String spec : specs) {
            int colon = spec.indexOf(':');
            String topic = colon < 0 ? spec : spec.substring(0, colon);
            TopicMetadata described = metadata.refresh(List.of(topic), false).topic(topic)
                    .orElseThrow(() -> ClientException.of(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic " + topic + " does not exist"));
            if (described.getErrorCode() != ErrorCode.NONE) {
                throw ClientException.of(described.getErrorCode(), described.getErrorCodeValue(), "topic " + topic,
                        described.getErrorMessage());
            }
            int count = described.getPartitionsCount();
            if (colon < 0) {
                for (int p = 0; p < count; p++) {
                    partitions.add(new TopicPartition(topic, p));
                }
                continue;
            }
            for (String text : spec.substring(colon + 1).split(",")) {
                int p;
                try {
                    p = Integer.parseInt(text.trim());
                } catch (NumberFormatException e) {
                    throw new UsageException("--topic needs TOPIC or TOPIC:PARTITION,..., not '" + spec + "'");
                }
                if (p < 0 || p >= count) {
                    throw ClientException.of(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                            "topic " + topic + " has " + count + " partitions, there is no partition " + p);
                }
                partitions.add(new TopicPartition(topic, p));
            }
        }
        List<TopicPartition> sorted = new ArrayList<>(partitions);
        sorted.sort(TopicPartition.ORDER);
        return sorted;
    }

    private MetadataClient metadata() {
        return new MetadataClient(context.channels(), context.bootstrap(), context.time(), retryTimeoutMs);
    }

    private CoordinatorClient coordinator(String groupId, MetadataClient metadata) {
        checkGroupId(groupId);
        return new CoordinatorClient(groupId, context.channels(), context.bootstrap(), metadata, context.time(),
                retryTimeoutMs);
    }

    private static void checkGroupId(String groupId) {
        if (groupId.isEmpty()) {
            throw ClientException.of(ErrorCode.INVALID_GROUP_ID, "the group id is empty");
        }
    }
}
