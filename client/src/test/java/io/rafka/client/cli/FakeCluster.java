package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.ListOffsetsResponse;
import io.rafka.proto.v1.InitProducerIdRequest;
import io.rafka.proto.v1.InitProducerIdResponse;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.PartitionOffset;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.PartitionTimestamp;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.TopicMetadata;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pretend cluster of brokers "1" and "2" serving one topic, in process: each broker is a real gRPC
 * server on the in-memory transport with Metadata, Produce and Fetch services over shared state. The
 * state is a reference model (a list of records per partition) and the knobs tests turn to make it
 * misbehave the way real clusters do: stale leaders in the metadata, scripted per-partition errors, a
 * topic that appears only after a few metadata calls, a broker that is down.
 *
 * <p>Calls run on the caller's thread (direct executors), so state needs no locking beyond
 * {@code synchronized}, and a Fetch with no data "waits" by advancing the fake clock by its max wait.
 */
final class FakeCluster implements AutoCloseable {

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    final String topic;
    final int partitionCount;
    final FakeTime time = new FakeTime();
    final Map<String, BrokerAddress> brokers = new HashMap<>();
    /** Who really leads each partition: other brokers answer NOT_LEADER. */
    final Map<Integer, String> leaders = new HashMap<>();
    /** What GetMetadata claims leads each partition, when it differs from the truth... */
    final Map<Integer, String> staleMetadataLeaders = new HashMap<>();
    /** ...in its first this many answers. */
    int staleMetadataCalls = Integer.MAX_VALUE;
    /** The logs: the reference model of what was committed. */
    final Map<Integer, List<ProducerRecord>> logs = new HashMap<>();
    /** Errors to answer, in order, for a partition's next produce or fetch calls. */
    final Map<Integer, Deque<ErrorCode>> scriptedErrors = new HashMap<>();
    /** Produce requests as "brokerId:partition=records", in arrival order. */
    final List<String> produceCalls = new ArrayList<>();
    final Map<String, Boolean> down = new HashMap<>();
    /** Brokers that refuse every call as the real one does at its connection limit (RESOURCE_EXHAUSTED, BUSY). */
    final Map<String, Boolean> busy = new HashMap<>();
    boolean hintLeader = true;
    /**
     * Answer RECORD_FORMAT_ENCODED fetches with stored batches (one record per batch), honouring the request's and
     * each partition's max_bytes as the broker does (the first batch of a partition comes even if larger);
     * otherwise every fetch gets up to two decoded records per partition.
     */
    boolean encodedFetch;
    /** Fetch requests as "brokerId:partitions@maxBytes", in arrival order. */
    final List<String> fetchCalls = new ArrayList<>();
    int metadataCallsBeforeTopicExists;
    int metadataCalls;
    int logStartOffset;

    private final List<Server> servers = new ArrayList<>();

    FakeCluster(String topic, int partitionCount) throws IOException {
        this(topic, partitionCount, id -> null);
    }

    /** @param extra a further service per broker id (a fake group coordinator), or null for none */
    FakeCluster(String topic, int partitionCount, java.util.function.Function<String, io.grpc.BindableService> extra)
            throws IOException {
        this.topic = topic;
        this.partitionCount = partitionCount;
        int instance = INSTANCES.incrementAndGet();
        for (String id : List.of("1", "2")) {
            BrokerAddress address = new BrokerAddress("broker" + id + "-" + instance, 9000 + Integer.parseInt(id));
            brokers.put(id, address);
            InProcessServerBuilder server = InProcessServerBuilder.forName(address.toString()).directExecutor();
            server.addService(new Metadata(id)).addService(new Produce(id)).addService(new Fetch(id));
            if (extra.apply(id) != null) {
                server.addService(extra.apply(id));
            }
            servers.add(server.build().start());
        }
        for (int p = 0; p < partitionCount; p++) {
            leaders.put(p, p % 2 == 0 ? "1" : "2");
            logs.put(p, new ArrayList<>());
        }
    }

    BrokerAddress bootstrap() {
        return brokers.get("1");
    }

    ChannelPool channels() {
        return new ChannelPool(address -> InProcessChannelBuilder.forName(address.toString()).directExecutor().build());
    }

    synchronized void script(int partition, ErrorCode... errors) {
        scriptedErrors.computeIfAbsent(partition, p -> new ArrayDeque<>()).addAll(List.of(errors));
    }

    synchronized void append(int partition, String key, String value) {
        ProducerRecord.Builder record = ProducerRecord.newBuilder().setValue(com.google.protobuf.ByteString.copyFromUtf8(value));
        if (key != null) {
            record.setKey(com.google.protobuf.ByteString.copyFromUtf8(key));
        }
        logs.get(partition).add(record.build());
    }

    synchronized List<String> values(int partition) {
        return logs.get(partition).stream().map(r -> r.getValue().toStringUtf8()).toList();
    }

    @Override
    public void close() {
        servers.forEach(Server::shutdownNow);
    }

    Broker broker(String id) {
        BrokerAddress address = brokers.get(id);
        return Broker.newBuilder().setId(id).setHost(address.host()).setPort(address.port()).build();
    }

    /** The error this broker answers for a partition right now, or NONE to serve it. */
    private ErrorCode errorFor(String brokerId, int partition) {
        if (partition < 0 || partition >= partitionCount) {
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        }
        Deque<ErrorCode> scripted = scriptedErrors.get(partition);
        if (scripted != null && !scripted.isEmpty()) {
            return scripted.poll();
        }
        return leaders.get(partition).equals(brokerId) ? ErrorCode.NONE : ErrorCode.NOT_LEADER;
    }

    private boolean refuse(String brokerId, StreamObserver<?> observer) {
        if (down.getOrDefault(brokerId, false)) {
            observer.onError(Status.UNAVAILABLE.withDescription("broker " + brokerId + " is down").asRuntimeException());
            return true;
        }
        if (busy.getOrDefault(brokerId, false)) {
            io.grpc.Metadata trailers = new io.grpc.Metadata();
            trailers.put(io.rafka.client.internals.ErrorCodes.ERROR_CODE_TRAILER, Integer.toString(ErrorCode.BUSY.getNumber()));
            observer.onError(Status.RESOURCE_EXHAUSTED.withDescription("broker " + brokerId + " is at its connection limit")
                    .asRuntimeException(trailers));
            return true;
        }
        return false;
    }

    private final class Metadata extends MetadataServiceGrpc.MetadataServiceImplBase {
        private final String id;

        Metadata(String id) {
            this.id = id;
        }

        @Override
        public void getMetadata(MetadataRequest request, StreamObserver<MetadataResponse> observer) {
            if (refuse(id, observer)) {
                return;
            }
            MetadataResponse.Builder response = MetadataResponse.newBuilder().setControllerId("1");
            response.addBrokers(broker("1")).addBrokers(broker("2"));
            synchronized (FakeCluster.this) {
                TopicMetadata.Builder topicMetadata = TopicMetadata.newBuilder().setName(topic);
                int call = ++metadataCalls;
                boolean asked = request.getTopicsList().isEmpty() || request.getTopicsList().contains(topic);  // none: all
                if (call <= metadataCallsBeforeTopicExists || !asked) {
                    topicMetadata.setErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
                } else {
                    for (int p = 0; p < partitionCount; p++) {
                        String leader = call <= staleMetadataCalls
                                ? staleMetadataLeaders.getOrDefault(p, leaders.get(p)) : leaders.get(p);
                        topicMetadata.addPartitions(PartitionMetadata.newBuilder()
                                .setPartition(p).setLeaderId(leader).addReplicas("1").addReplicas("2"));
                    }
                }
                response.addTopics(topicMetadata);
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }
    }

    private final class Produce extends ProduceServiceGrpc.ProduceServiceImplBase {
        private final String id;

        Produce(String id) {
            this.id = id;
        }

        @Override
        public void produce(ProduceRequest request, StreamObserver<ProduceResponse> observer) {
            if (refuse(id, observer)) {
                return;
            }
            ProduceResponse.Builder response = ProduceResponse.newBuilder().setRequestId(request.getRequestId());
            synchronized (FakeCluster.this) {
                for (PartitionData data : request.getPartitionsList()) {
                    response.addResults(append(data));
                }
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }

        @Override
        public void initProducerId(InitProducerIdRequest request, StreamObserver<InitProducerIdResponse> observer) {
            if (refuse(id, observer)) {
                return;
            }
            observer.onNext(InitProducerIdResponse.newBuilder().setProducerId(1000 + Integer.parseInt(id)).build());
            observer.onCompleted();
        }

        /** The SDK producer's pipelined stream: each request answered in order, as by {@link #produce}. */
        @Override
        public StreamObserver<ProduceRequest> produceStream(StreamObserver<ProduceResponse> observer) {
            if (refuse(id, observer)) {
                return new StreamObserver<>() {
                    @Override
                    public void onNext(ProduceRequest value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                };
            }
            return new StreamObserver<>() {
                @Override
                public void onNext(ProduceRequest request) {
                    ProduceResponse.Builder response = ProduceResponse.newBuilder().setRequestId(request.getRequestId());
                    synchronized (FakeCluster.this) {
                        for (PartitionData data : request.getPartitionsList()) {
                            response.addResults(append(data));
                        }
                    }
                    observer.onNext(response.build());
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    observer.onCompleted();
                }
            };
        }

        /** Structured records as they are; encoded batches (the SDK's) decoded into them. */
        private List<ProducerRecord> recordsOf(PartitionData data) {
            if (!data.hasEncodedBatches()) {
                return data.getRecords().getRecordsList();
            }
            List<ProducerRecord> out = new ArrayList<>();
            for (io.rafka.record.Record r : new io.rafka.record.RecordBatch(data.getEncodedBatches().asReadOnlyByteBuffer()).records()) {
                ProducerRecord.Builder b = ProducerRecord.newBuilder();
                if (r.key() != null) {
                    b.setKey(com.google.protobuf.ByteString.copyFrom(r.key()));
                }
                if (r.value() != null) {
                    b.setValue(com.google.protobuf.ByteString.copyFrom(r.value()));
                }
                out.add(b.build());
            }
            return out;
        }

        private PartitionProduceResult append(PartitionData data) {
            int partition = data.getPartition();
            List<ProducerRecord> records = recordsOf(data);
            produceCalls.add(id + ":" + partition + "=" + records.size());
            PartitionProduceResult.Builder result = PartitionProduceResult.newBuilder()
                    .setTopic(data.getTopic()).setPartition(partition).setBaseOffset(-1);
            ErrorCode error = data.getTopic().equals(topic) ? errorFor(id, partition) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            if (error != ErrorCode.NONE) {
                result.setErrorCode(error).setErrorMessage("fake " + error);
                if (error == ErrorCode.NOT_LEADER && hintLeader) {
                    result.setLeader(broker(leaders.get(partition)));
                }
                return result.build();
            }
            List<ProducerRecord> log = logs.get(partition);
            result.setBaseOffset(log.size());
            log.addAll(records);
            return result.build();
        }
    }

    private final class Fetch extends FetchServiceGrpc.FetchServiceImplBase {
        private final String id;

        Fetch(String id) {
            this.id = id;
        }

        @Override
        public void listOffsets(ListOffsetsRequest request, StreamObserver<ListOffsetsResponse> observer) {
            if (refuse(id, observer)) {
                return;
            }
            ListOffsetsResponse.Builder response = ListOffsetsResponse.newBuilder();
            synchronized (FakeCluster.this) {
                for (PartitionTimestamp asked : request.getPartitionsList()) {
                    PartitionOffset.Builder result = PartitionOffset.newBuilder()
                            .setTopic(asked.getTopic()).setPartition(asked.getPartition()).setTimestampMs(-1);
                    ErrorCode error = errorFor(id, asked.getPartition());
                    if (error == ErrorCode.NONE) {
                        result.setOffset(asked.getTimestampMs() == -2 ? logStartOffset : logs.get(asked.getPartition()).size());
                    } else {
                        result.setErrorCode(error).setOffset(-1);
                        if (error == ErrorCode.NOT_LEADER && hintLeader) {
                            result.setLeader(broker(leaders.get(asked.getPartition())));
                        }
                    }
                    response.addResults(result);
                }
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }

        @Override
        public void fetch(FetchRequest request, StreamObserver<FetchResponse> observer) {
            if (refuse(id, observer)) {
                return;
            }
            FetchResponse.Builder response = FetchResponse.newBuilder();
            boolean anyRecords = false;
            synchronized (FakeCluster.this) {
                fetchCalls.add(id + ":" + request.getPartitionsList().stream().map(PartitionFetch::getPartition).toList()
                        + "@" + request.getMaxBytes());
                int budget = request.getMaxBytes() == 0 ? 3 << 20 : request.getMaxBytes();
                for (PartitionFetch asked : request.getPartitionsList()) {
                    PartitionFetchResult result = fetch(asked);
                    if (encodedFetch && request.getFormat() == io.rafka.proto.v1.RecordFormat.RECORD_FORMAT_ENCODED
                            && result.getErrorCode() == ErrorCode.NONE) {
                        result = encoded(asked, budget);
                        budget -= result.getEncodedBatches().size();
                    }
                    anyRecords |= result.getRecordsCount() > 0 || !result.getEncodedBatches().isEmpty();
                    response.addResults(result);
                }
            }
            if (!anyRecords) {
                time.advance(request.getMaxWaitMs());   // the long poll found nothing to return
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }

        /** Stored batches of one record each from the offset asked, within the partition's and the request's bytes left. */
        private PartitionFetchResult encoded(PartitionFetch asked, int budget) {
            List<ProducerRecord> log = logs.get(asked.getPartition());
            int limit = Math.min(budget, asked.getMaxBytes() == 0 ? 1 << 20 : asked.getMaxBytes());
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            long offset = asked.getOffset();
            while (offset < log.size()) {
                ProducerRecord stored = log.get((int) offset);
                java.nio.ByteBuffer batch = new io.rafka.record.RecordBatchBuilder(io.rafka.record.CompressionType.NONE)
                        .baseOffset(offset).append(1_000L + offset, stored.hasKey() ? stored.getKey().toByteArray() : null,
                                stored.getValue().toByteArray()).build();
                if (bytes.size() > 0 && bytes.size() + batch.remaining() > limit || budget <= 0) {
                    break;
                }
                byte[] array = new byte[batch.remaining()];
                batch.get(array);
                bytes.writeBytes(array);
                offset++;
            }
            return PartitionFetchResult.newBuilder().setTopic(asked.getTopic()).setPartition(asked.getPartition())
                    .setEncodedBatches(com.google.protobuf.ByteString.copyFrom(bytes.toByteArray()))
                    .setHighWatermark(log.size()).setLogStartOffset(logStartOffset).setNextOffset(offset).build();
        }

        /** Up to two records per partition per call, so consumers must follow next_offset. */
        private PartitionFetchResult fetch(PartitionFetch asked) {
            int partition = asked.getPartition();
            PartitionFetchResult.Builder result = PartitionFetchResult.newBuilder()
                    .setTopic(asked.getTopic()).setPartition(partition);
            ErrorCode error = errorFor(id, partition);
            List<ProducerRecord> log = error == ErrorCode.NONE ? logs.get(partition) : List.of();
            if (error == ErrorCode.NONE && (asked.getOffset() < logStartOffset || asked.getOffset() > log.size())) {
                error = ErrorCode.OFFSET_OUT_OF_RANGE;
            }
            if (error != ErrorCode.NONE) {
                result.setErrorCode(error).setErrorMessage("fake " + error)
                        .setHighWatermark(log.size()).setLogStartOffset(logStartOffset);
                if (error == ErrorCode.NOT_LEADER && hintLeader) {
                    result.setLeader(broker(leaders.get(partition)));
                }
                return result.build();
            }
            long end = Math.min(log.size(), asked.getOffset() + 2);
            for (long offset = asked.getOffset(); offset < end; offset++) {
                ProducerRecord stored = log.get((int) offset);
                ConsumerRecord.Builder record = ConsumerRecord.newBuilder().setOffset(offset).setValue(stored.getValue());
                if (stored.hasKey()) {
                    record.setKey(stored.getKey());
                }
                result.addRecords(record);
            }
            return result.setHighWatermark(log.size()).setLogStartOffset(logStartOffset).setNextOffset(end).build();
        }
    }
}
