#!/usr/bin/python3
"""Times one CreateTopics request of N topics (1 partition, replication factor 3 each) against a running cluster.

Usage: bench/admin/bulk-create.py HOST:PORT PREFIX N
Needs Debian's python3-grpcio and python3-grpc-tools (bench/rafka_stubs.py).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import rafka_stubs  # noqa: E402

address, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with rafka_stubs.generated():
    import grpc
    from rafka.v1 import admin_pb2, admin_pb2_grpc

    stub = admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(address))
    request = admin_pb2.CreateTopicsRequest(topics=[
        admin_pb2.NewTopic(name=f"{prefix}-{i}", partitions=1, replication_factor=3) for i in range(n)])
    start = time.time()
    try:
        response = stub.CreateTopics(request, timeout=300)
        errors = sum(1 for r in response.results if r.error_code != 0)
        print(f"{n} topics in one CreateTopics: {time.time() - start:.2f} s, {errors} refused")
    except grpc.RpcError as e:
        print(f"failed after {time.time() - start:.2f} s: {e.code()} {e.details()}")
        sys.exit(1)
