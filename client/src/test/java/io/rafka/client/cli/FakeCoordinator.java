package io.rafka.client.cli;

import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.rafka.client.internals.ErrorCodes;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.AlterOffsetsRequest;
import io.rafka.proto.v1.AlterOffsetsResponse;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.CommitOffsetsRequest;
import io.rafka.proto.v1.CommitOffsetsResponse;
import io.rafka.proto.v1.CommittedOffset;
import io.rafka.proto.v1.DeleteGroupRequest;
import io.rafka.proto.v1.DeleteGroupResponse;
import io.rafka.proto.v1.DescribeGroupRequest;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchOffsetsRequest;
import io.rafka.proto.v1.FetchOffsetsResponse;
import io.rafka.proto.v1.FindCoordinatorRequest;
import io.rafka.proto.v1.FindCoordinatorResponse;
import io.rafka.proto.v1.GroupListing;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.HeartbeatRequest;
import io.rafka.proto.v1.HeartbeatResponse;
import io.rafka.proto.v1.ListGroupsRequest;
import io.rafka.proto.v1.ListGroupsResponse;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionResult;
import io.rafka.proto.v1.TopicPartitions;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A scripted GroupService for {@link FakeCluster}: one group, coordinated by {@link #coordinatorId}. It does no
 * assignment of its own: a join is answered with {@link #joinAssignment}, later assignments are pushed by the
 * test ({@link #push}); it records every heartbeat and commit so tests can check what the member said and in
 * which order. Streams are ended with an error code by {@link #failStream}. Not a model of the real
 * coordinator's rules (the broker's own tests and the ITs check those), only of its wire behaviour.
 */
final class FakeCoordinator {

    /** The session timeout the fake's responses name. */
    static final int SESSION_TIMEOUT_MS = 10_000;
    FakeCluster cluster;
    String coordinatorId = "1";
    /** Errors FindCoordinator answers before it names the coordinator. */
    final Deque<ErrorCode> findErrors = new ArrayDeque<>();
    List<Integer> joinAssignment = List.of();
    /** Errors the next joins (epoch 0) end their stream with, one per join, before joins are answered. */
    final Deque<ErrorCode> joinErrors = new ArrayDeque<>();
    int members;
    /** Events in order: "join m-1", "beat m-1 e1 owned=[0, 1]", "commit m-1 e1 {t-0=5}", "leave m-1". */
    final List<String> events = new ArrayList<>();
    final Map<TopicPartition, Long> committed = new HashMap<>();
    /** If set, the next leave is refused with NOT_COORDINATOR and the group moves to this broker. */
    String leaveMovesTo;
    /** Whole-call error the next commit answers, once. */
    ErrorCode commitError;
    /** The stream grace the responses name (0: none). */
    volatile int streamGraceMs;
    /** While set, every commit is refused with this error. */
    volatile ErrorCode commitsFailWith;
    /** When set, commits wait for it to open (at most 10 s) before they are handled: a slow coordinator. */
    volatile java.util.concurrent.CountDownLatch commitGate;
    /** When set, commits are never answered (a hung coordinator): the client's deadline ends them. */
    volatile boolean commitsHang;
    /** Answer of DescribeGroup; null: GROUP_ID_NOT_FOUND. */
    DescribeGroupResponse description;
    boolean hasMembers;
    private StreamObserver<HeartbeatResponse> stream;
    /** Heartbeat streams opened so far. */
    int streams;
    private String memberId = "";
    private int epoch;

    private FakeCoordinator() {
    }

    /** A cluster (see {@link #cluster}) with this coordinator's service on both brokers. */
    static FakeCoordinator start(String topic, int partitions) throws java.io.IOException {
        FakeCoordinator coordinator = new FakeCoordinator();
        coordinator.cluster = new FakeCluster(topic, partitions, coordinator::service);
        return coordinator;
    }

    BindableService service(String brokerId) {
        return new Service(brokerId);
    }

    synchronized void push(int newEpoch, List<Integer> partitions) {
        epoch = newEpoch;
        stream.onNext(response(partitions));
    }

    synchronized void failStream(ErrorCode code) {
        StreamObserver<HeartbeatResponse> s = stream;
        stream = null;
        s.onError(error(code, "fake " + code));
    }

    /** Ends the stream as a reset connection does: a transport status, no error code. */
    synchronized void breakStream() {
        StreamObserver<HeartbeatResponse> s = stream;
        stream = null;
        s.onError(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());
    }

    synchronized int streams() {
        return streams;
    }

    synchronized List<String> events() {
        return List.copyOf(events);
    }

    private HeartbeatResponse response(List<Integer> partitions) {
        return HeartbeatResponse.newBuilder().setMemberId(memberId).setMemberEpoch(epoch).setHeartbeatIntervalMs(1000)
                .setSessionTimeoutMs(SESSION_TIMEOUT_MS).setStreamGraceMs(streamGraceMs)
                .addAssignment(TopicPartitions.newBuilder().setTopic(cluster.topic).addAllPartitions(partitions)).build();
    }

    static RuntimeException error(ErrorCode code, String message) {
        Metadata trailers = new Metadata();
        trailers.put(ErrorCodes.ERROR_CODE_TRAILER, Integer.toString(code.getNumber()));
        return Status.FAILED_PRECONDITION.withDescription(message).asRuntimeException(trailers);
    }

    private static String owned(HeartbeatRequest request) {
        List<Integer> owned = new ArrayList<>();
        request.getOwnedList().forEach(t -> owned.addAll(t.getPartitionsList()));
        return owned.toString();
    }

    private final class Service extends GroupServiceGrpc.GroupServiceImplBase {
        private final String id;

        Service(String id) {
            this.id = id;
        }

        /** A broker the cluster marks down refuses every call, as a dead process would. */
        private boolean down(StreamObserver<?> observer) {
            if (cluster.down.getOrDefault(id, false)) {
                observer.onError(Status.UNAVAILABLE.withDescription("broker " + id + " is down").asRuntimeException());
                return true;
            }
            return false;
        }

        private boolean notCoordinator(StreamObserver<?> observer) {
            if (down(observer)) {
                return true;
            }
            synchronized (FakeCoordinator.this) {
                if (!id.equals(coordinatorId)) {
                    observer.onError(error(ErrorCode.NOT_COORDINATOR, "broker " + id + " does not coordinate the group"));
                    return true;
                }
                return false;
            }
        }

        @Override
        public void findCoordinator(FindCoordinatorRequest request, StreamObserver<FindCoordinatorResponse> observer) {
            Broker coordinator;
            if (down(observer)) {
                return;
            }
            synchronized (FakeCoordinator.this) {
                ErrorCode scripted = findErrors.poll();
                if (scripted != null) {
                    observer.onError(error(scripted, "fake " + scripted));
                    return;
                }
                coordinator = cluster.broker(coordinatorId);
            }
            observer.onNext(FindCoordinatorResponse.newBuilder().setCoordinator(coordinator).build());
            observer.onCompleted();
        }

        @Override
        public StreamObserver<HeartbeatRequest> heartbeat(StreamObserver<HeartbeatResponse> responses) {
            synchronized (FakeCoordinator.this) {
                streams++;
            }
            return new StreamObserver<>() {
                @Override
                public void onNext(HeartbeatRequest request) {
                    if (down(responses)) {
                        return;
                    }
                    synchronized (FakeCoordinator.this) {
                        if (!id.equals(coordinatorId)) {
                            responses.onError(error(ErrorCode.NOT_COORDINATOR, "not the coordinator"));
                            return;
                        }
                        if (request.getMemberEpoch() == 0 && !joinErrors.isEmpty()) {
                            ErrorCode refused = joinErrors.poll();
                            events.add("join refused " + refused);
                            responses.onError(error(refused, "fake " + refused));
                            return;
                        }
                        stream = responses;
                        if (request.getMemberEpoch() == 0) {
                            memberId = "m-" + ++members;
                            epoch = 1;
                            events.add("join " + memberId + " owned=" + owned(request));
                            responses.onNext(response(joinAssignment));
                        } else if (request.getMemberEpoch() < 0 && leaveMovesTo != null) {
                            events.add("leave refused on " + id);
                            coordinatorId = leaveMovesTo;
                            leaveMovesTo = null;
                            responses.onError(error(ErrorCode.NOT_COORDINATOR, "leadership moved"));
                        } else if (request.getMemberEpoch() < 0) {
                            events.add("leave " + request.getMemberId() + " e" + request.getMemberEpoch() + " on " + id);
                            responses.onCompleted();
                        } else {
                            events.add("beat " + request.getMemberId() + " e" + request.getMemberEpoch() + " owned=" + owned(request));
                        }
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }

        @Override
        public void commitOffsets(CommitOffsetsRequest request, StreamObserver<CommitOffsetsResponse> observer) {
            if (notCoordinator(observer)) {
                return;
            }
            if (commitsHang) {
                synchronized (FakeCoordinator.this) {
                    events.add("commit unanswered");
                }
                return;
            }
            java.util.concurrent.CountDownLatch gate = commitGate;
            if (gate != null) {
                try {
                    gate.await(60, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            CommitOffsetsResponse.Builder response = CommitOffsetsResponse.newBuilder();
            synchronized (FakeCoordinator.this) {
                ErrorCode failure = commitsFailWith;
                if (failure != null) {
                    events.add("commit refused " + failure);
                    observer.onError(error(failure, "fake " + failure));
                    return;
                }
                if (commitError != null) {
                    ErrorCode code = commitError;
                    commitError = null;
                    events.add("commit refused " + code);
                    observer.onError(error(code, "fake " + code));
                    return;
                }
                Map<TopicPartition, Long> offsets = new java.util.TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
                for (OffsetCommit c : request.getOffsetsList()) {
                    TopicPartition tp = new TopicPartition(c.getTopic(), c.getPartition());
                    offsets.put(tp, c.getOffset());
                    committed.put(tp, c.getOffset());
                    response.addResults(PartitionResult.newBuilder().setTopic(c.getTopic()).setPartition(c.getPartition()));
                }
                events.add("commit " + request.getMemberId() + " e" + request.getMemberEpoch() + " " + offsets);
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }

        @Override
        public void fetchOffsets(FetchOffsetsRequest request, StreamObserver<FetchOffsetsResponse> observer) {
            if (notCoordinator(observer)) {
                return;
            }
            FetchOffsetsResponse.Builder response = FetchOffsetsResponse.newBuilder();
            synchronized (FakeCoordinator.this) {
                for (TopicPartitions t : request.getPartitionsList()) {
                    for (int p : t.getPartitionsList()) {
                        response.addOffsets(CommittedOffset.newBuilder().setTopic(t.getTopic()).setPartition(p)
                                .setOffset(committed.getOrDefault(new TopicPartition(t.getTopic(), p), -1L)));
                    }
                }
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }

        @Override
        public void listGroups(ListGroupsRequest request, StreamObserver<ListGroupsResponse> observer) {
            ListGroupsResponse.Builder response = ListGroupsResponse.newBuilder();
            synchronized (FakeCoordinator.this) {
                if (id.equals(coordinatorId) && description != null) {
                    response.addGroups(GroupListing.newBuilder().setGroupId(description.getGroupId())
                            .setState(description.getState()).setMembers(description.getMembersCount()));
                }
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }

        @Override
        public void describeGroup(DescribeGroupRequest request, StreamObserver<DescribeGroupResponse> observer) {
            if (notCoordinator(observer)) {
                return;
            }
            synchronized (FakeCoordinator.this) {
                if (description == null || !description.getGroupId().equals(request.getGroupId())) {
                    observer.onError(error(ErrorCode.GROUP_ID_NOT_FOUND, "group " + request.getGroupId() + " does not exist"));
                    return;
                }
            }
            observer.onNext(description);
            observer.onCompleted();
        }

        @Override
        public void deleteGroup(DeleteGroupRequest request, StreamObserver<DeleteGroupResponse> observer) {
            if (notCoordinator(observer)) {
                return;
            }
            synchronized (FakeCoordinator.this) {
                if (hasMembers) {
                    observer.onError(error(ErrorCode.NON_EMPTY_GROUP, "group has members"));
                    return;
                }
                events.add("delete " + request.getGroupId());
            }
            observer.onNext(DeleteGroupResponse.getDefaultInstance());
            observer.onCompleted();
        }

        @Override
        public void alterOffsets(AlterOffsetsRequest request, StreamObserver<AlterOffsetsResponse> observer) {
            if (notCoordinator(observer)) {
                return;
            }
            AlterOffsetsResponse.Builder response = AlterOffsetsResponse.newBuilder();
            synchronized (FakeCoordinator.this) {
                if (hasMembers) {
                    observer.onError(error(ErrorCode.NON_EMPTY_GROUP, "group has members, so its offsets cannot be reset"));
                    return;
                }
                for (OffsetCommit c : request.getOffsetsList()) {
                    committed.put(new TopicPartition(c.getTopic(), c.getPartition()), c.getOffset());
                    response.addResults(PartitionResult.newBuilder().setTopic(c.getTopic()).setPartition(c.getPartition()));
                }
                events.add("alter " + request.getOffsetsCount());
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }
    }
}
