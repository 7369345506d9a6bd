"""OTLP/gRPC TraceService on grpcio.

The method is registered with a raw-bytes deserializer instead of through
``trace_service_pb2_grpc.add_TraceServiceServicer_to_server``: grpcio answers a request it
cannot deserialize with INTERNAL, and the OTLP spec asks for INVALID_ARGUMENT (not retryable),
so the receiver parses the bytes itself. The wire contract (service and method name, message
types) is the generated one.

Status codes (OTLP spec, "OTLP/gRPC Response"): success with ``partial_success`` for rejected
spans; INVALID_ARGUMENT for an undecodable request; UNAVAILABLE with a ``google.rpc.RetryInfo``
detail when the queue is full, the receiver is draining or the ledger commit failed (retryable);
UNAUTHENTICATED without the configured bearer token.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    DESCRIPTOR as _TRACE_SERVICE_FILE,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otel_cost.receiver._auth import bearer_matches
from otel_cost.receiver.config import Endpoint
from otel_cost.receiver.pipeline import CommitFailed, Overloaded, Pipeline, ShuttingDown

_log = logging.getLogger(__name__)

SERVICE_NAME = _TRACE_SERVICE_FILE.services_by_name["TraceService"].full_name
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class _Status(namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status):
    """A ``grpc.Status`` carrying ``google.rpc.Status`` details (what grpcio-status builds)."""


def retry_status(message: str, delay_s: int) -> grpc.Status:
    """UNAVAILABLE with a RetryInfo detail, the OTLP way to say "retry after ``delay_s``"."""
    info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=delay_s))
    status = status_pb2.Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message=message)
    status.details.add().Pack(info)
    return _Status(grpc.StatusCode.UNAVAILABLE, message, ((_STATUS_DETAILS_KEY, status.SerializeToString()),))


class TraceExportHandler:
    """The ``Export`` method: decode, hand to the pipeline, answer by the spec."""

    def __init__(self, pipeline: Pipeline, *, auth_token: str | None, retry_after_s: int) -> None:
        self._pipeline = pipeline
        self._auth = f"Bearer {auth_token}" if auth_token else None
        self._retry_after = retry_after_s

    def export(self, body: bytes, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        if self._auth is not None:
            given = dict(context.invocation_metadata()).get("authorization")
            if not bearer_matches(given if isinstance(given, str) else None, self._auth):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"cannot decode ExportTraceServiceRequest: {exc}")
        try:
            result = self._pipeline.export(request)
        except (Overloaded, ShuttingDown, CommitFailed) as exc:
            context.abort_with_status(retry_status(str(exc), self._retry_after))
        except Exception as exc:  # a bug: keep serving, let the client retry
            _log.exception("export failed")
            context.abort_with_status(retry_status(f"internal error: {exc}", self._retry_after))
        if not result.rejected_spans:
            return ExportTraceServiceResponse()
        return ExportTraceServiceResponse(
            partial_success=ExportTracePartialSuccess(
                rejected_spans=result.rejected_spans, error_message=result.error_message
            )
        )


def start_grpc_server(
    pipeline: Pipeline,
    endpoint: Endpoint,
    *,
    auth_token: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    reuse_port: bool = False,
    max_message_bytes: int = 16 * 1024 * 1024,
    retry_after_s: int = 1,
    threads: int = 16,
) -> tuple[grpc.Server, int]:
    """Start the gRPC server; return it and the bound port (useful with port 0).

    ``reuse_port`` turns SO_REUSEPORT on (``--workers``); off, a port already in use is an
    error instead of two servers silently sharing it. Raises ``RuntimeError`` when it cannot bind.
    """
    options: list[tuple[str, Any]] = [
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="otlp-grpc"), options=options
    )
    handler = TraceExportHandler(pipeline, auth_token=auth_token, retry_after_s=retry_after_s)
    method = grpc.unary_unary_rpc_method_handler(
        handler.export,
        request_deserializer=None,
        response_serializer=ExportTraceServiceResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, {"Export": method}),))
    address = str(endpoint)
    if tls_cert and tls_key:
        credentials = grpc.ssl_server_credentials([(Path(tls_key).read_bytes(), Path(tls_cert).read_bytes())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot listen for OTLP/gRPC on {address}")
    server.start()
    return server, port
