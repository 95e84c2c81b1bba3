"""An OTLP/gRPC receiver for the trace test: oteltest's sink on the port given as the first
argument, printing every export request it receives as one line of JSON on stdout."""

import json
import logging
import sys

from google.protobuf.json_format import MessageToDict
from oteltest.sink import GrpcSink
from oteltest.sink.handler import RequestHandler


class Lines(RequestHandler):
    def handle_logs(self, request, headers):
        pass

    def handle_metrics(self, request, headers):
        pass

    def handle_trace(self, request, headers):
        print(json.dumps(MessageToDict(request)), flush=True)


def main():
    port = int(sys.argv[1])
    logging.basicConfig(level=logging.WARNING)
    sink = GrpcSink(Lines(), logging.getLogger("sink"), port=port)
    sink.start()
    print("READY", flush=True)
    sink.wait_for_termination()


if __name__ == "__main__":
    main()
