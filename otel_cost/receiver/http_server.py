"""OTLP/HTTP: ``POST /v1/traces`` (binary protobuf and JSON, optionally gzip) and ``GET /health``.

Answers by the OTLP spec ("OTLP/HTTP Response"): 200 with ``ExportTraceServiceResponse``
(``partial_success`` for rejected spans) encoded like the request; 400 with a
``google.rpc.Status`` body for an undecodable body; 413 over the body limit, checked on the
declared length and again while decompressing (incrementally, so a gzip bomb never expands
past the limit); 415 for other content types; 503 with ``Retry-After`` when the queue is full,
the receiver is draining or the ledger commit failed (the client retries); 401 without the
configured bearer token.

Slow and stalled clients hold nothing for long, and bodies in flight are bounded: a connection
silent for ``READ_TIMEOUT_S`` (request line, headers or body) is closed, and at most
``max_in_flight`` requests (``DEFAULT_MAX_IN_FLIGHT``, as many as the gRPC server's handler
threads) declaring at most ``max_in_flight_bytes`` together (``DEFAULT_MAX_IN_FLIGHT_BYTES``) are
read and processed at once; a POST beyond either is answered 503 with ``Retry-After`` at once,
and its body is read and dropped in chunks, never held.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otel_cost.receiver._auth import bearer_matches
from otel_cost.receiver.config import Endpoint
from otel_cost.receiver.otlp_json import BadRequest, DecodedJson, decode_json
from otel_cost.receiver.pipeline import CommitFailed, Overloaded, Pipeline, ShuttingDown

_log = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
HEALTH_PATH = "/health"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_READ_CHUNK = 64 * 1024

READ_TIMEOUT_S = 30.0
"""Seconds a connection may stay silent (request line, headers, body) before it is closed."""
DEFAULT_MAX_IN_FLIGHT = 64 + 8
"""Request bodies read and processed at once: the default queue size plus 8 spare, as the gRPC
server's handler threads (so a full queue, not this bound, pushes back under normal load)."""
DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024
"""Declared body bytes (``Content-Length``; the body limit for a chunked body) of the requests
in flight together; never below the body limit, so one request of any allowed size fits."""
DRAIN_TIMEOUT_S = 10.0
"""How long closing the server waits for in-flight requests to be answered."""


class BodyTooLarge(Exception):
    """The body, as sent or once decompressed, is over the limit."""


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data``, raising ``BodyTooLarge`` as soon as output passes ``limit``.

    Every member of a multi-member stream is decompressed (RFC 1952 2.2, as ``gzip.decompress``
    does), under one ``limit`` for them all; zero bytes after the last member are ignored.
    """
    parts: list[bytes] = []
    total = 0
    rest = data
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = inflater.decompress(rest, limit - total + 1)
            if total + len(out) > limit or inflater.unconsumed_tail:
                raise BodyTooLarge(f"decompressed body is over {limit} bytes")
            out += inflater.flush()
        except zlib.error as exc:
            raise BadRequest(f"body is not valid gzip: {exc}") from exc
        total += len(out)
        if total > limit:
            raise BodyTooLarge(f"decompressed body is over {limit} bytes")
        if not inflater.eof:
            raise BadRequest("gzip body is truncated")
        parts.append(out)
        rest = inflater.unused_data.lstrip(b"\0")
        if not rest:
            return b"".join(parts)


class _Slots:
    """Requests and declared body bytes in flight, under two caps; taking a slot never blocks,
    and the slots can be waited free."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._free = size
        self.bytes_in_use = 0
        self._cond = threading.Condition()

    def take(self, nbytes: int) -> str | None:
        """Take a slot for a body of ``nbytes``; or say why not."""
        with self._cond:
            if self._free == 0:
                return "too many requests in flight"
            if self.bytes_in_use + nbytes > self.max_bytes:
                return "too many request bytes in flight"
            self._free -= 1
            self.bytes_in_use += nbytes
            return None

    def give_back(self, nbytes: int) -> None:
        with self._cond:
            self._free += 1
            self.bytes_in_use -= nbytes
            self._cond.notify_all()

    @property
    def in_use(self) -> int:
        return self.size - self._free

    def wait_all_free(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._free == self.size, timeout_s)


class OtlpHttpServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the receiver's pipeline and settings."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        endpoint: Endpoint,
        pipeline: Pipeline,
        *,
        auth_token: str | None,
        max_body_bytes: int,
        retry_after_s: int,
        reuse_port: bool,
        ssl_context: ssl.SSLContext | None,
        read_timeout_s: float = READ_TIMEOUT_S,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_in_flight_bytes: int = DEFAULT_MAX_IN_FLIGHT_BYTES,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.pipeline = pipeline
        self.auth = f"Bearer {auth_token}" if auth_token else None
        self.max_body_bytes = max_body_bytes
        self.retry_after_s = retry_after_s
        self.read_timeout_s = read_timeout_s
        self.slots = _Slots(max_in_flight, max(max_in_flight_bytes, max_body_bytes))
        self.reuse_port = reuse_port
        if ":" in endpoint.host:
            self.address_family = socket.AF_INET6
        super().__init__((endpoint.host, endpoint.port), _Handler, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
        except OSError:
            self.server_close()
            raise
        if ssl_context is not None:
            # The handshake runs on first read, in the request's thread, not in accept().
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def server_bind(self) -> None:
        if self.reuse_port:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def server_close(self) -> None:
        """Stop listening, then wait (up to ``DRAIN_TIMEOUT_S``) for in-flight requests to be
        answered: the handler threads are daemons, so the process would not wait for them."""
        super().server_close()
        if not self.slots.wait_all_free(DRAIN_TIMEOUT_S):
            _log.warning("%d OTLP/HTTP requests still in flight at shutdown", self.slots.in_use)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def _server(self) -> OtlpHttpServer:
        server = self.server
        assert isinstance(server, OtlpHttpServer)
        return server

    def setup(self) -> None:
        super().setup()
        # Every read, the TLS handshake included, gives up after the timeout (TimeoutError, and
        # handle_one_request closes the connection).
        self.connection.settimeout(self._server.read_timeout_s)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_message(
        self, code: int, message: Message, json_body: bool, headers: dict[str, str] | None = None
    ) -> None:
        if json_body:
            body = json_format.MessageToJson(message, indent=None).encode()
            self._send(code, body, JSON, headers)
        else:
            self._send(code, message.SerializeToString(), PROTOBUF, headers)

    def _error(self, code: int, text: str, json_body: bool, headers: dict[str, str] | None = None) -> None:
        grpc_code = {400: 3, 401: 16, 413: 8, 415: 3, 503: 14}.get(code, 2)
        self._send_message(code, status_pb2.Status(code=grpc_code, message=text), json_body, headers)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != HEALTH_PATH:
            self._send(404, b"not found\n", "text/plain")
            return
        pipeline = self._server.pipeline
        healthy = pipeline.accepting
        body = json.dumps({"status": "ok" if healthy else "draining", "queue_depth": pipeline.queue_depth})
        self._send(200 if healthy else 503, body.encode(), JSON)

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != TRACES_PATH:
            self._discard_body()
            self._send(404, b"not found\n", "text/plain")
            return
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        json_body = content_type == JSON
        if self._server.auth is not None and not bearer_matches(
            self.headers.get("Authorization"), self._server.auth
        ):
            self._discard_body()
            self._error(401, "missing or wrong bearer token", json_body, {"WWW-Authenticate": "Bearer"})
            return
        if content_type not in (PROTOBUF, JSON):
            self._discard_body()
            self._error(415, f"unsupported content type {content_type!r}; use {PROTOBUF} or {JSON}", False)
            return
        slots, limit = self._server.slots, self._server.max_body_bytes
        length = (self.headers.get("Content-Length") or "").strip()
        chunked = (self.headers.get("Transfer-Encoding") or "").lower() == "chunked"
        declared = min(int(length), limit) if length.isdigit() and not chunked else limit
        refused = slots.take(declared)
        if refused is not None:
            # OTLP backpressure, answered before the body is read: the client retries later.
            headers = {"Retry-After": str(self._server.retry_after_s)}
            if chunked or not length.isdigit() or int(length) > limit:
                headers["Connection"] = "close"  # _discard_body closes rather than reads
            self._error(503, refused, json_body, headers)
            self._discard_body()
            return
        try:
            self._export(json_body)
        finally:
            slots.give_back(declared)

    def _export(self, json_body: bool) -> None:
        try:
            body = self._read_body()
            decoded = decode_json(body) if json_body else DecodedJson(_decode_protobuf(body))
        except BodyTooLarge as exc:
            self.close_connection = True
            self._error(413, str(exc), json_body, {"Connection": "close"})
            return
        except BadRequest as exc:
            self._error(400, str(exc), json_body)
            return
        retry = {"Retry-After": str(self._server.retry_after_s)}
        try:
            result = self._server.pipeline.export(decoded.request)
        except (Overloaded, ShuttingDown, CommitFailed) as exc:
            self._error(503, str(exc), json_body, retry)
            return
        except Exception as exc:  # a bug: keep serving, let the client retry
            _log.exception("export failed")
            self._error(503, f"internal error: {exc}", json_body, retry)
            return
        response = ExportTraceServiceResponse()
        rejected = decoded.rejected_spans + result.rejected_spans
        if rejected:
            message = "; ".join(m for m in (decoded.error_message, result.error_message) if m)
            response.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
            )
        self._send_message(200, response, json_body)

    def _discard_body(self) -> None:
        """Read and drop the body chunk by chunk (keeping the connection), or close the connection
        when its length is unknown or over the limit."""
        length = (self.headers.get("Content-Length") or "").strip()
        chunked = (self.headers.get("Transfer-Encoding") or "").lower() == "chunked"
        if chunked or not length.isdigit() or int(length) > self._server.max_body_bytes:
            self.close_connection = True
            return
        remaining = int(length)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _READ_CHUNK))
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def _read_body(self) -> bytes:
        limit = self._server.max_body_bytes
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("gzip", "identity"):
            self._discard_body()
            raise BadRequest(f"unsupported Content-Encoding {encoding!r} (gzip or identity)")
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            raw = self._read_chunked(limit)
        else:
            length_text = self.headers.get("Content-Length")
            if length_text is None or not length_text.strip().isdigit():
                self.close_connection = True
                raise BadRequest("Content-Length is required")
            length = int(length_text)
            if length > limit:
                self.close_connection = True
                raise BodyTooLarge(f"body of {length} bytes is over {limit} bytes")
            raw = self.rfile.read(length)
            if len(raw) != length:
                self.close_connection = True
                raise BadRequest("body shorter than Content-Length")
        return gunzip_capped(raw, limit) if encoding == "gzip" else raw

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                self.close_connection = True
                raise BadRequest("malformed chunked body") from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                raise BodyTooLarge(f"body is over {limit} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)


def _decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(body)
    except DecodeError as exc:
        raise BadRequest(f"cannot decode ExportTraceServiceRequest: {exc}") from exc


def start_http_server(
    pipeline: Pipeline,
    endpoint: Endpoint,
    *,
    auth_token: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    reuse_port: bool = False,
    max_body_bytes: int = 16 * 1024 * 1024,
    retry_after_s: int = 1,
    read_timeout_s: float = READ_TIMEOUT_S,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    max_in_flight_bytes: int = DEFAULT_MAX_IN_FLIGHT_BYTES,
) -> tuple[OtlpHttpServer, int]:
    """Start the OTLP/HTTP server in a thread; return it and the bound port.

    ``read_timeout_s``: a connection silent that long is closed. ``max_in_flight`` requests,
    declaring ``max_in_flight_bytes`` together, are read and processed at once; a POST beyond
    either is answered 503 with ``Retry-After``.
    """
    context = None
    if tls_cert and tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
    server = OtlpHttpServer(
        endpoint,
        pipeline,
        auth_token=auth_token,
        max_body_bytes=max_body_bytes,
        retry_after_s=retry_after_s,
        reuse_port=reuse_port,
        ssl_context=context,
        read_timeout_s=read_timeout_s,
        max_in_flight=max_in_flight,
        max_in_flight_bytes=max_in_flight_bytes,
    )
    thread = threading.Thread(target=server.serve_forever, name="otlp-http", daemon=True)
    thread.start()
    return server, server.server_address[1]
