package io.rafka.server.testing;

import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A marshaller that sends and receives a message's bytes as they are, for tests that put bytes on the wire which
 * are not a valid request: {@code FetchServiceGrpc.getFetchMethod().toBuilder(new RawBytes(), new RawBytes()).build()}.
 */
public final class RawBytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
        try {
            return stream.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
