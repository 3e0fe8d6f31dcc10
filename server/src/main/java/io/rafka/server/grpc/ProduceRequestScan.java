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
            long count = 0;
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                if (tag == PARTITION) {
                    int outer = in.pushLimit(in.readRawVarint32());
                    count += partition(in);
                    in.popLimit(outer);
                } else {
                    in.skipField(tag);
                }
            }
            return count;
        } finally {
            message.reset();
        }
    }

    private static long partition(CodedInputStream in) throws IOException {
        long count = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == RECORD_SET) {
                int outer = in.pushLimit(in.readRawVarint32());
                count += recordSet(in);
                in.popLimit(outer);
            } else {
                in.skipField(tag);
            }
        }
        return count;
    }

    private static long recordSet(CodedInputStream in) throws IOException {
        long count = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == RECORD) {
                count++;
                int outer = in.pushLimit(in.readRawVarint32());
                count += headers(in);
                in.popLimit(outer);
            } else {
                in.skipField(tag);
            }
        }
        return count;
    }

    private static long headers(CodedInputStream in) throws IOException {
        long count = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == HEADER) {
                count++;
            }
            in.skipField(tag);
        }
        return count;
    }
}
