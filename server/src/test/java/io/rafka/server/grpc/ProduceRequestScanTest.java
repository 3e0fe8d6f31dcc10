package io.rafka.server.grpc;

import com.google.protobuf.ByteString;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerIdentity;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordHeader;
import io.rafka.proto.v1.RecordSet;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The count of structured records and headers read off the wire agrees with the parsed request, which it leaves whole. */
class ProduceRequestScanTest {

    @Test
    void countsRecordsAndHeadersOfEveryPartitionAndSkipsEverythingElse() throws Exception {
        Random random = new Random(42);
        for (int round = 0; round < 500; round++) {
            ProduceRequest.Builder request = ProduceRequest.newBuilder().setRequestId(random.nextLong()).setTimeoutMs(5);
            long expected = 0;
            for (int p = random.nextInt(4); p > 0; p--) {
                PartitionData.Builder data = PartitionData.newBuilder().setTopic("t" + p).setPartition(p);
                if (random.nextBoolean()) {
                    byte[] batches = new byte[random.nextInt(3_000)];
                    random.nextBytes(batches);   // anything: skipped, never read as records
                    data.setEncodedBatches(ByteString.copyFrom(batches));
                } else {
                    RecordSet.Builder set = RecordSet.newBuilder().setProducer(ProducerIdentity.newBuilder().setProducerId(7));
                    for (int r = random.nextInt(20); r > 0; r--) {
                        ProducerRecord.Builder record = ProducerRecord.newBuilder();
                        if (random.nextBoolean()) {
                            record.setKey(ByteString.copyFromUtf8("k" + r)).setTimestampMs(r);
                        }
                        if (random.nextBoolean()) {
                            record.setValue(ByteString.copyFrom(new byte[random.nextInt(300)]));
                        }
                        for (int h = random.nextInt(3); h > 0; h--) {
                            record.addHeaders(RecordHeader.newBuilder().setKey("h" + h).setValue(ByteString.copyFromUtf8("v")));
                            expected++;
                        }
                        set.addRecords(record);
                        expected++;
                    }
                    data.setRecords(set);
                }
                request.addPartitions(data);
            }
            ProduceRequest built = request.build();
            ByteArrayInputStream wire = new ByteArrayInputStream(built.toByteArray());
            assertEquals(expected, ProduceRequestScan.structuredElements(wire), built.toString());
            assertEquals(built, ProduceRequest.parseFrom(wire), "the stream is left where it was");
        }
    }
}
