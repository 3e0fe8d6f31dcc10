package io.rafka.server.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;

import java.io.IOException;
import java.io.InputStream;

/**
 * Counts the structured records (and their headers) a serialized {@link ProduceRequest} holds, reading its wire
 * format without building it. Parsing builds an object of some 60 bytes for each, from as little as two bytes on
 * the wire: 16 MiB of empty records became half a gigabyte of heap before any limit of the broker was looked at.
 * Everything else is skipped over, encoded batches included.
 */
final class ProduceRequestScan {
    private static final int LENGTH_DELIMITED = WireFormat.WIRETYPE_LENGTH_DELIMITED;
    private static final int PARTITION = tag(ProduceRequest.PARTITIONS_FIELD_NUMBER);
    private static final int RECORD_SET = tag(PartitionData.RECORDS_FIELD_NUMBER);
    private static final int RECORD = tag(RecordSet.RECORDS_FIELD_NUMBER);
    private static final int HEADER = tag(ProducerRecord.HEADERS_FIELD_NUMBER);
    /** The fewest bytes a record or header takes on the wire: its tag and a length of 0. */
    static final int MIN_ELEMENT_BYTES = 2;

    private ProduceRequestScan() {
    }

    /** The wire tag of a length-delimited field (a message, bytes, a string): its number and wire type. */
    private static int tag(int fieldNumber) {
        return fieldNumber << 3 | LENGTH_DELIMITED;
    }

    /**
     * The structured records and headers in {@code message}, which is left where it was (marked and reset).
     *
     * @throws IOException the message is not valid protobuf (its parse then says how)
     */
    static long structuredElements(InputStream message) throws IOException {
        message.mark(Integer.MAX_VALUE);
        try {
            CodedInputStream in = CodedInputStream.newInstance(message);
            in.setSizeLimit(Integer.MAX_VALUE);
            return sum(in, PARTITION, partition -> sum(partition, RECORD_SET,
                    set -> sum(set, RECORD, record -> 1 + sum(record, HEADER, header -> 1))));
        } finally {
            message.reset();
        }
    }

    /** What is counted inside one field, read with the field's length as the limit. */
    private interface Inside {
        long count(CodedInputStream in) throws IOException;
    }

    /**
     * The sum of {@code inside} over the fields {@code tag} of the message being read (up to the current limit),
     * skipping every other field, and whatever {@code inside} leaves unread of each.
     */
    private static long sum(CodedInputStream in, int tag, Inside inside) throws IOException {
        long count = 0;
        for (int t = in.readTag(); t != 0; t = in.readTag()) {
            if (t != tag) {
                in.skipField(t);
                continue;
            }
            int outer = in.pushLimit(in.readRawVarint32());
            count += inside.count(in);
            in.skipRawBytes(in.getBytesUntilLimit());
            in.popLimit(outer);
        }
        return count;
    }
}
