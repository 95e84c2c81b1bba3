"""An OTLP/gRPC receiver for the trace test: oteltest's trace service on a loopback port the
OS picks, printing `READY <port>` once listening, then every export request it receives as one
line of JSON on stdout.

oteltest's own `GrpcSink` binds 0.0.0.0 on the port it is given, and gRPC's default
SO_REUSEPORT lets a second process bind the same port without an error: two tests handed the
same free port would then share their spans. Here the port is chosen by the bind itself,
exclusively, on 127.0.0.1. Exports arrive on several threads at once: each line is written
whole under a lock (`print` writes the text and its newline separately, so two exports could
share a line and leave an empty one)."""

import json
import logging
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from oteltest.sink.private import _TraceServiceServicer


LINES = threading.Lock()


def print_trace(request, headers):
    line = json.dumps(MessageToDict(request)) + "\n"
    with LINES:
        sys.stdout.write(line)
        sys.stdout.flush()


def main():
    logging.basicConfig(level=logging.WARNING)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.so_reuseport", 0)],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
        _TraceServiceServicer(print_trace), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        raise SystemExit("could not bind a loopback port")
    server.start()
    print(f"READY {port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
