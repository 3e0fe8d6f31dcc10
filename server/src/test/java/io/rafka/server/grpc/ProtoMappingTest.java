package io.rafka.server.grpc;

import com.google.protobuf.ByteString;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.Compression;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.NotLeaderException;
import io.rafka.metadata.BrokerInfo;
import io.rafka.record.CompressionType;
import io.rafka.record.Header;
import io.rafka.server.broker.PartitionError;
import io.rafka.server.broker.PartitionRead;
import io.rafka.server.broker.ProducePartition;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gRPC adapters' protobuf ⇄ broker mapping. */
class ProtoMappingTest {
    @Test
    void protoCompressionNumbersAreKafkaCodecIds() {
        for (Compression c : Compression.values()) {
            if (c != Compression.UNRECOGNIZED) {
                assertEquals(c.name(), "COMPRESSION_" + CompressionType.forId(c.getNumber()).name(), "the broker reads the number as a codec id");
            }
        }
    }

    @Test
    void acksUnsetMeansAllAndUnknownValuesAreLeftForTheBrokerToRefuse() {
        assertEquals(io.rafka.raft.Acks.ALL, ProduceApi.acks(Acks.ACKS_UNSPECIFIED));
        assertEquals(io.rafka.raft.Acks.ALL, ProduceApi.acks(Acks.ACKS_ALL));
        assertEquals(io.rafka.raft.Acks.LEADER, ProduceApi.acks(Acks.ACKS_LEADER));
        assertEquals(io.rafka.raft.Acks.NONE, ProduceApi.acks(Acks.ACKS_NONE));
        assertNull(ProduceApi.acks(Acks.UNRECOGNIZED));
    }

    @Test
    void partitionDataMapsToItsDomainForm() {
        ByteString encoded = ByteString.copyFrom(new byte[]{1, 2, 3});
        var e = assertInstanceOf(ProducePartition.EncodedBatches.class,
                ProduceApi.data(PartitionData.newBuilder().setEncodedBatches(encoded).build()));
        assertTrue(e.batches().isReadOnly(), "a view of the request, which nobody may write");
        assertEquals(ByteBuffer.wrap(new byte[]{1, 2, 3}), e.batches());

        var r = assertInstanceOf(ProducePartition.Records.class, ProduceApi.data(PartitionData.newBuilder().setRecords(
                RecordSet.newBuilder().setCompression(Compression.COMPRESSION_LZ4)
                        .addRecords(ProducerRecord.newBuilder().setTimestampMs(-3).setValue(ByteString.copyFromUtf8("v")))
                        .addRecords(ProducerRecord.newBuilder().setKey(ByteString.EMPTY))).build()));
        assertEquals(CompressionType.LZ4.id, r.compressionId());
        assertNull(r.producer());
        assertEquals(-3, r.records().get(0).timestampMs().getAsLong(), "passed on for the broker to refuse");
        assertNull(r.records().get(0).key());
        assertFalse(r.records().get(1).timestampMs().isPresent());
        assertEquals(0, r.records().get(1).key().length, "an empty key is not a null key");
        assertNull(r.records().get(1).value());

        assertInstanceOf(ProducePartition.Missing.class, ProduceApi.data(PartitionData.getDefaultInstance()));
    }

    @Test
    void fetchResultsCarryDataOrTheErrorWithTheLeaderHint() {
        PartitionFetchResult ok = FetchApi.result(new PartitionRead("t", 0, 10, 0, 4, ByteBuffer.wrap(new byte[]{9, 8}), List.of(),
                2, null));
        assertEquals(ByteString.copyFrom(new byte[]{9, 8}), ok.getEncodedBatches());
        assertEquals(4, ok.getNextOffset());

        PartitionFetchResult decoded = FetchApi.result(new PartitionRead("t", 0, 10, 0, 4, null, List.of(
                new PartitionRead.DecodedRecord(3, 77, true, null, new byte[]{5}, List.of(new Header("h", null)))), 40, null));
        assertEquals(io.rafka.proto.v1.TimestampType.LOG_APPEND_TIME, decoded.getRecords(0).getTimestampType());
        assertFalse(decoded.getRecords(0).hasKey());
        assertEquals(ByteString.copyFrom(new byte[]{5}), decoded.getRecords(0).getValue());
        assertEquals(ByteString.EMPTY, decoded.getRecords(0).getHeaders(0).getValue());

        BrokerInfo leader = new BrokerInfo("2", "h2", 9092, 9093);
        PartitionFetchResult moved = FetchApi.result(new PartitionRead("t", 0, -1, -1, 4, null, List.of(), 0,
                new PartitionError(new NotLeaderException("moved", "2"), leader)));
        assertEquals(ErrorCode.NOT_LEADER, moved.getErrorCode());
        assertEquals("h2", moved.getLeader().getHost());
        assertEquals(9092, moved.getLeader().getPort());
    }

    @Test
    void unknownRecordFormatsAreInvalidRequests() {
        assertTrue(FetchApi.decode(RecordFormat.RECORD_FORMAT_DECODED, 0));
        assertFalse(FetchApi.decode(RecordFormat.RECORD_FORMAT_ENCODED, 1));
        assertThrows(InvalidRequestException.class, () -> FetchApi.decode(RecordFormat.UNRECOGNIZED, 7));
    }
}
