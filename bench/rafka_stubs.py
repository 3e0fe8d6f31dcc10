"""Python gRPC stubs of Rafka's API for the bench scripts, generated from proto/ into a temporary directory on each
run. Needs Debian's python3-grpcio and python3-grpc-tools (as PythonClientIT).

    with rafka_stubs.generated():
        from rafka.v1 import admin_pb2, admin_pb2_grpc
"""
import contextlib
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def generated():
    with tempfile.TemporaryDirectory() as out:
        protos = os.path.join(ROOT, "proto", "src", "main", "proto")
        files = [os.path.join(protos, "rafka", "v1", f) for f in os.listdir(os.path.join(protos, "rafka", "v1"))]
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", protos, "--python_out=" + out,
                        "--grpc_python_out=" + out] + files, check=True)
        sys.path.insert(0, out)
        try:
            yield
        finally:
            sys.path.remove(out)
