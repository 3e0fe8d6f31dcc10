package io.rafka.client.cli;

import io.rafka.client.internals.ErrorCodes;

import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The three lists of error codes (the broker's Java enum, the API's {@code common.proto}, and what the client
 * retries) must say the same thing: a number means one condition everywhere, and a client retries exactly what
 * the broker calls retriable.
 */
class ErrorCodesTest {

    /** One {@code NAME = number; // (R) ...} line of the proto enum; (R) marks a retriable error. */
    private static final Pattern PROTO_LINE = Pattern.compile("^\\s*([A-Z_]+)\\s*=\\s*(-?\\d+);(.*)$");

    @Test
    void brokerEnumAndProtoEnumHaveTheSameNamesAndNumbers() {
        Map<String, Integer> broker = Arrays.stream(io.rafka.common.ErrorCode.values())
                .collect(Collectors.toMap(Enum::name, io.rafka.common.ErrorCode::code, (a, b) -> a, TreeMap::new));
        Map<String, Integer> api = Arrays.stream(ErrorCode.values())
                .filter(c -> c != ErrorCode.UNRECOGNIZED)
                .collect(Collectors.toMap(Enum::name, ErrorCode::getNumber, (a, b) -> a, TreeMap::new));
        assertEquals(broker, api);
    }

    @Test
    void protoRetriableMarksAgreeWithTheBrokerAndTheClient() throws IOException {
        Map<String, Boolean> marked = retriableMarksInProto();
        Map<String, Boolean> broker = new TreeMap<>();
        Map<String, Boolean> client = new TreeMap<>();
        for (io.rafka.common.ErrorCode code : io.rafka.common.ErrorCode.values()) {
            broker.put(code.name(), code.retriable());
            client.put(code.name(), ErrorCodes.isRetriable(ErrorCode.forNumber(code.code())));
        }
        assertEquals(marked, broker, "(R) marks in common.proto vs ErrorCode.retriable()");
        assertEquals(broker, client, "the client's retry decision vs the broker's table");
    }

    @Test
    void aNumberFromANewerBrokerIsFatalAndPrintsItsNumber() {
        assertEquals(false, ErrorCodes.isRetriable(ErrorCode.UNRECOGNIZED));
        assertEquals("ERROR_4242", ErrorCodes.name(ErrorCode.UNRECOGNIZED, 4242));
    }

    private static Map<String, Boolean> retriableMarksInProto() throws IOException {
        Path proto = Path.of("..", "proto", "src", "main", "proto", "rafka", "v1", "common.proto");
        String text = Files.readString(proto);
        String body = text.substring(text.indexOf("enum ErrorCode {"), text.indexOf('}', text.indexOf("enum ErrorCode {")));
        Map<String, Boolean> marked = new TreeMap<>();
        for (String line : body.split("\n")) {
            Matcher m = PROTO_LINE.matcher(line);
            if (m.matches()) {
                marked.put(m.group(1), m.group(3).contains("(R)"));
            }
        }
        return marked;
    }
}
