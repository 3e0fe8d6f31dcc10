package io.rafka.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.metadata.TopicNames;
import io.rafka.coordinator.AssignorType;
import io.rafka.coordinator.CommittedOffset;
import io.rafka.coordinator.GroupCoordinator;
import io.rafka.coordinator.GroupTypes;
import io.rafka.coordinator.MemberChannel;
import io.rafka.coordinator.MemberSession;
import io.rafka.proto.v1.AlterOffsetsRequest;
import io.rafka.proto.v1.AlterOffsetsResponse;
import io.rafka.proto.v1.Assignor;
import io.rafka.proto.v1.CommitOffsetsRequest;
import io.rafka.proto.v1.CommitOffsetsResponse;
import io.rafka.proto.v1.CommittedOffset.Builder;
import io.rafka.proto.v1.DeleteGroupRequest;
import io.rafka.proto.v1.DeleteGroupResponse;
import io.rafka.proto.v1.DescribeGroupRequest;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.FetchOffsetsRequest;
import io.rafka.proto.v1.FetchOffsetsResponse;
import io.rafka.proto.v1.FindCoordinatorRequest;
import io.rafka.proto.v1.FindCoordinatorResponse;
import io.rafka.proto.v1.GroupPartition;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.HeartbeatRequest;
import io.rafka.proto.v1.HeartbeatResponse;
import io.rafka.proto.v1.ListGroupsRequest;
import io.rafka.proto.v1.ListGroupsResponse;
import io.rafka.proto.v1.MemberDescription;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionResult;
import io.rafka.proto.v1.TopicPartitions;
import io.rafka.server.broker.GroupAccess;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** GroupService: maps requests to the {@link GroupCoordinator} (through {@link GroupAccess}) and results back. */
public final class GroupApi extends GroupServiceGrpc.GroupServiceImplBase {
    private final GroupAccess access;
    private final GroupCoordinator coordinator;
    private final RequestLimits limits;

    public GroupApi(GroupAccess access, RequestLimits limits) {
        this.access = access;
        this.coordinator = access.coordinator();
        this.limits = limits;
    }

    @Override
    public void findCoordinator(FindCoordinatorRequest request, StreamObserver<FindCoordinatorResponse> out) {
        try {
            GroupAccess.Coordinator c = access.findCoordinator(request.getGroupId());
            out.onNext(FindCoordinatorResponse.newBuilder().setCoordinatorPartition(c.partition())
                    .setCoordinator(io.rafka.proto.v1.Broker.newBuilder().setId(c.broker().id())
                            .setHost(c.broker().host()).setPort(c.broker().apiPort())).build());
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
        }
    }

    @Override
    public StreamObserver<HeartbeatRequest> heartbeat(StreamObserver<HeartbeatResponse> responses) {
        ServerCallStreamObserver<HeartbeatResponse> out = (ServerCallStreamObserver<HeartbeatResponse>) responses;
        Channel channel = new Channel(out);
        MemberSession session = coordinator.openSession(ApiContext.clientHost(), channel);
        out.setOnCancelHandler(session::broken);
        // One heartbeat of a stream at a time: the next is read once the coordinator has handled this one, so a
        // client sending faster than that is held back by HTTP/2 flow control (as Kafka reads a connection's next
        // request only after answering the last) rather than filling the coordinator's queue.
        out.disableAutoRequest();
        out.request(1);
        return new StreamObserver<>() {
            @Override
            public void onNext(HeartbeatRequest r) {
                GroupTypes.Heartbeat heartbeat;
                try {
                    heartbeat = new GroupTypes.Heartbeat(r.getGroupId(), r.getMemberId(), r.getMemberEpoch(),
                            r.getInstanceId(), List.copyOf(r.getSubscribedTopicsList()), r.getSubscribedPattern(),
                            assignor(r.getAssignor()), partitions(r.getOwnedList()), r.getSessionTimeoutMs(),
                            r.getRebalanceTimeoutMs(), r.getClientId(), r.getAcknowledgedVersion());
                } catch (RafkaException e) {
                    channel.fail(e);
                    session.broken();
                    return;
                }
                session.heartbeat(heartbeat, () -> out.request(1));
            }

            @Override
            public void onError(Throwable t) {
                session.broken();
            }

            @Override
            public void onCompleted() {
                session.completed();
            }
        };
    }

    /**
     * The member's stream as the coordinator sees it: called on the coordinator's thread, and by the request side
     * when a request cannot even be read, hence synchronized (a gRPC stream takes one caller at a time).
     */
    private static final class Channel implements MemberChannel {
        private final ServerCallStreamObserver<HeartbeatResponse> out;
        private boolean closed;
        /**
         * The newest assignment not sent because the member was not reading its answers: each push is the whole
         * assignment, so it replaces any older one held, and a member that sends heartbeats but reads nothing holds
         * one answer here instead of one more in the transport's buffers every quarter session timeout.
         */
        private GroupTypes.Assignment held;

        Channel(ServerCallStreamObserver<HeartbeatResponse> out) {
            this.out = out;
            out.setOnReadyHandler(this::ready);
        }

        private synchronized void ready() {
            GroupTypes.Assignment a = held;
            if (a != null && out.isReady()) {
                held = null;
                send(a);
            }
        }

        @Override
        public synchronized void send(GroupTypes.Assignment a) {
            if (closed || out.isCancelled()) {
                return;
            }
            if (!out.isReady()) {
                held = a;
                return;
            }
            try {
                out.onNext(HeartbeatResponse.newBuilder().setMemberId(a.memberId()).setMemberEpoch(a.memberEpoch())
                        .setHeartbeatIntervalMs(a.heartbeatIntervalMs()).setSessionTimeoutMs(a.sessionTimeoutMs())
                        .setStreamGraceMs(a.streamGraceMs())
                        .addAllAssignment(topicPartitions(a.partitions()))
                        .setAssignmentVersion(a.version()).build());
            } catch (RuntimeException ended) {
                closed = true;   // the call ended under us (cancelled or closed by the transport): the coordinator goes on
            }
        }

        @Override
        public synchronized void fail(RafkaException error) {
            if (!closed && !out.isCancelled()) {
                closed = true;
                try {
                    out.onError(ApiErrors.toStatus(error));
                } catch (RuntimeException ended) {
                    // as in send
                }
            }
        }

        @Override
        public synchronized void complete() {
            if (!closed && !out.isCancelled()) {
                closed = true;
                try {
                    out.onCompleted();
                } catch (RuntimeException ended) {
                    // as in send
                }
            }
        }
    }

    @Override
    public void commitOffsets(CommitOffsetsRequest r, StreamObserver<CommitOffsetsResponse> out) {
        answer(out, () -> coordinator.commit(r.getGroupId(), r.getMemberId(), r.getMemberEpoch(), commits(r.getOffsetsList())),
                results -> CommitOffsetsResponse.newBuilder().addAllResults(results(results)).build());
    }

    @Override
    public void alterOffsets(AlterOffsetsRequest r, StreamObserver<AlterOffsetsResponse> out) {
        answer(out, () -> coordinator.alterOffsets(r.getGroupId(), commits(r.getOffsetsList())),
                results -> AlterOffsetsResponse.newBuilder().addAllResults(results(results)).build());
    }

    @Override
    public void fetchOffsets(FetchOffsetsRequest r, StreamObserver<FetchOffsetsResponse> out) {
        answer(out, () -> coordinator.fetchOffsets(r.getGroupId(), partitions(r.getPartitionsList())), offsets -> {
            FetchOffsetsResponse.Builder b = FetchOffsetsResponse.newBuilder();
            offsets.entrySet().stream().sorted(Map.Entry.comparingByKey(GroupApi::compare)).forEach(e -> {
                CommittedOffset o = e.getValue();
                Builder c = io.rafka.proto.v1.CommittedOffset.newBuilder().setTopic(e.getKey().topic())
                        .setPartition(e.getKey().partition()).setOffset(o.offset()).setMetadata(o.metadata())
                        .setCommitTimestampMs(o.commitTimestampMs());
                b.addOffsets(c);
            });
            return b.build();
        });
    }

    /**
     * The groups this broker coordinates, sorted by id, a page at a time: those after {@code after_group_id}, at most
     * {@code max_groups} and {@code group.list.max.groups}, with {@code more} set when others follow.
     */
    @Override
    public void listGroups(ListGroupsRequest r, StreamObserver<ListGroupsResponse> out) {
        if (r.getMaxGroups() < 0) {
            out.onError(ApiErrors.toStatus(new io.rafka.common.InvalidRequestException("max_groups must not be negative: "
                    + r.getMaxGroups())));
            return;
        }
        int page = r.getMaxGroups() == 0 ? limits.maxListedGroups() : Math.min(r.getMaxGroups(), limits.maxListedGroups());
        answer(out, coordinator::listGroups, groups -> {
            ListGroupsResponse.Builder b = ListGroupsResponse.newBuilder();
            for (GroupTypes.GroupListing g : groups) {   // sorted by id
                if (!r.getAfterGroupId().isEmpty() && g.groupId().compareTo(r.getAfterGroupId()) <= 0) {
                    continue;
                }
                if (b.getGroupsCount() == page) {
                    b.setMore(true);
                    break;
                }
                b.addGroupsBuilder().setGroupId(g.groupId()).setState(g.state()).setMembers(g.members());
            }
            return b.build();
        });
    }

    @Override
    public void describeGroup(DescribeGroupRequest r, StreamObserver<DescribeGroupResponse> out) {
        answer(out, () -> coordinator.describeGroup(r.getGroupId()), d -> {
            DescribeGroupResponse.Builder b = description(d).toBuilder();
            access.self().ifPresent(self -> b.setCoordinator(io.rafka.proto.v1.Broker.newBuilder().setId(self.id())
                    .setHost(self.host()).setPort(self.apiPort())));
            return b.build();
        });
    }

    @Override
    public void deleteGroup(DeleteGroupRequest r, StreamObserver<DeleteGroupResponse> out) {
        answer(out, () -> coordinator.deleteGroup(r.getGroupId()), v -> DeleteGroupResponse.getDefaultInstance());
    }

    private DescribeGroupResponse description(GroupTypes.GroupDescription d) {
        DescribeGroupResponse.Builder b = DescribeGroupResponse.newBuilder().setGroupId(d.groupId()).setState(d.state())
                .setGroupEpoch(d.groupEpoch())
                .setAssignor(d.assignor() == AssignorType.RANGE ? Assignor.ASSIGNOR_RANGE : Assignor.ASSIGNOR_UNIFORM);
        for (GroupTypes.MemberDescription m : d.members()) {
            b.addMembers(MemberDescription.newBuilder().setMemberId(m.memberId()).setInstanceId(m.instanceId())
                    .setClientId(m.clientId()).setHost(m.host()).setMemberEpoch(m.memberEpoch())
                    .addAllAssignment(topicPartitions(m.assignment())).addAllTarget(topicPartitions(m.target()))
                    .addAllSubscribedTopics(m.subscribedTopics()).setSubscribedPattern(m.subscribedPattern())
                    .setConnected(m.connected()));
        }
        for (GroupTypes.GroupPartition p : d.partitions()) {
            long end = access.localHighWatermark(p.partition());
            b.addPartitions(GroupPartition.newBuilder().setTopic(p.partition().topic()).setPartition(p.partition().partition())
                    .setCommittedOffset(p.committedOffset()).setMetadata(p.metadata()).setOwner(p.owner())
                    .setLogEndOffset(end).setLag(end >= 0 && p.committedOffset() >= 0 ? Math.max(0, end - p.committedOffset()) : -1));
        }
        return b.build();
    }

    /** Runs {@code call} and answers with its mapped result, or with the status its failure maps to. */
    private static <T, R> void answer(StreamObserver<R> out, java.util.function.Supplier<CompletableFuture<T>> call,
                                      Function<T, R> map) {
        CompletableFuture<T> future;
        try {
            future = call.get();
        } catch (RuntimeException e) {
            out.onError(ApiErrors.toStatus(e));
            return;
        }
        // Off the coordinator's thread (which completes these): mapping may read replica state (describe's lag).
        future.whenCompleteAsync((v, e) -> {
            if (e != null) {
                out.onError(ApiErrors.toStatus(e));
                return;
            }
            try {
                out.onNext(map.apply(v));
                out.onCompleted();
            } catch (RuntimeException mapError) {
                out.onError(ApiErrors.toStatus(mapError));
            }
        }, java.util.concurrent.ForkJoinPool.commonPool());
    }

    private static AssignorType assignor(Assignor a) {
        if (a == Assignor.UNRECOGNIZED) {
            throw new io.rafka.common.InvalidRequestException("an assignor this version does not know");
        }
        return a == Assignor.ASSIGNOR_RANGE ? AssignorType.RANGE : AssignorType.UNIFORM;
    }

    private List<GroupTypes.OffsetCommit> commits(List<OffsetCommit> offsets) {
        limits.partitions(offsets.size());
        List<GroupTypes.OffsetCommit> out = new ArrayList<>();
        String valid = null;
        for (OffsetCommit o : offsets) {
            if (!o.getTopic().equals(valid)) {
                TopicNames.validate(o.getTopic());
                valid = o.getTopic();
            }
            out.add(new GroupTypes.OffsetCommit(partition(o.getTopic(), o.getPartition()), o.getOffset(), o.getMetadata()));
        }
        return out;
    }

    /**
     * The partitions listed, their topics' names checked as a topic's (INVALID_TOPIC): offsets fetched for a name no
     * topic could have would only be answered, each with that name, as "none".
     */
    private Set<TopicPartition> partitions(List<TopicPartitions> list) {
        limits.partitions(list.stream().mapToLong(TopicPartitions::getPartitionsCount).sum());
        Set<TopicPartition> out = new HashSet<>();
        for (TopicPartitions t : list) {
            TopicNames.validate(t.getTopic());
            for (int p : t.getPartitionsList()) {
                out.add(partition(t.getTopic(), p));
            }
        }
        return out;
    }

    private static TopicPartition partition(String topic, int partition) {
        if (partition < 0) {
            throw new io.rafka.common.InvalidRequestException("partition " + partition + " of " + topic + " is negative");
        }
        return new TopicPartition(topic, partition);
    }

    static List<TopicPartitions> topicPartitions(List<TopicPartition> partitions) {
        Map<String, TopicPartitions.Builder> byTopic = new LinkedHashMap<>();
        for (TopicPartition tp : partitions) {
            byTopic.computeIfAbsent(tp.topic(), t -> TopicPartitions.newBuilder().setTopic(t)).addPartitions(tp.partition());
        }
        return byTopic.values().stream().map(TopicPartitions.Builder::build).toList();
    }

    private static List<PartitionResult> results(List<GroupTypes.PartitionResult> results) {
        return results.stream().map(r -> PartitionResult.newBuilder().setTopic(r.partition().topic())
                .setPartition(r.partition().partition()).setErrorCode(ApiErrors.toProto(r.error()))
                .setErrorMessage(r.message()).build()).toList();
    }

    private static int compare(TopicPartition a, TopicPartition b) {
        int c = a.topic().compareTo(b.topic());
        return c != 0 ? c : Integer.compare(a.partition(), b.partition());
    }

}
