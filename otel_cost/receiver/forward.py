"""Forwarding enriched traces to Tempo or a Collector, from a bounded queue with retries.

The payload is the received ``ExportTraceServiceRequest`` re-serialised after the cost
attributes were appended to its spans: no SDK span is ever rebuilt. ``http://`` and
``https://`` URLs are sent as OTLP/HTTP protobuf (``/v1/traces`` is appended when the URL has
no path, as the OTLP exporters do for a base endpoint); ``grpc://host:port`` (plaintext) and
``grpcs://host:port`` (TLS) use the OTLP gRPC TraceService.

Forwarding never slows down ingestion: ``submit`` does not block, and when the queue is full
(``max_queue`` payloads or ``max_queue_bytes`` bytes, 1000 and 256 MiB by default) the oldest
payloads are dropped and counted (``dropped``); a payload larger than ``max_queue_bytes`` alone
is dropped itself. Retryable failures (HTTP 429, 502,
503, 504; gRPC UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ...) are retried with
exponential backoff, honouring ``Retry-After``; other failures drop the payload with a log line.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

_log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE = 1000
DEFAULT_MAX_QUEUE_BYTES = 256 * 1024 * 1024

_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
_RETRYABLE_GRPC = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


class RetryableError(Exception):
    """A send failed in a way the OTLP spec says to retry; ``delay_s`` is the server's hint."""

    def __init__(self, message: str, delay_s: float | None = None) -> None:
        super().__init__(message)
        self.delay_s = delay_s


Sender = Callable[[bytes], None]


def http_sender(url: str, *, timeout_s: float = 10.0, headers: dict[str, str] | None = None) -> Sender:
    """Send OTLP/HTTP protobuf to ``url``."""
    parts = urllib.parse.urlsplit(url)
    if parts.path in ("", "/"):
        url = urllib.parse.urlunsplit(parts._replace(path="/v1/traces"))
    base_headers = {"Content-Type": "application/x-protobuf", **(headers or {})}

    def send(payload: bytes) -> None:
        request = urllib.request.Request(url, data=payload, headers=base_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in _RETRYABLE_HTTP:
                retry_after = exc.headers.get("Retry-After")
                delay = float(retry_after) if retry_after and retry_after.isdigit() else None
                raise RetryableError(f"HTTP {exc.code}", delay) from exc
            raise
        except (urllib.error.URLError, OSError) as exc:
            raise RetryableError(str(exc)) from exc

    return send


def grpc_sender(url: str, *, timeout_s: float = 10.0) -> Sender:
    """Send over the OTLP gRPC TraceService to ``grpc://host:port`` or ``grpcs://host:port``."""
    parts = urllib.parse.urlsplit(url)
    target = parts.netloc
    if parts.scheme == "grpcs":
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials())
    else:
        channel = grpc.insecure_channel(target)
    # The payload is already a serialised ExportTraceServiceRequest: sent as is (no request
    # serializer), not decoded into a message for the stub to encode again.
    export = channel.unary_unary(
        _EXPORT_METHOD,
        request_serializer=None,
        response_deserializer=ExportTraceServiceResponse.FromString,
    )

    def send(payload: bytes) -> None:
        try:
            export(payload, timeout=timeout_s)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code in _RETRYABLE_GRPC:
                raise RetryableError(f"gRPC {code}") from exc
            raise

    return send


def sender_for(url: str) -> Sender:
    """The sender for a ``--forward-traces`` URL; ``ValueError`` for an unknown scheme."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme in ("http", "https"):
        return http_sender(url)
    if scheme in ("grpc", "grpcs"):
        return grpc_sender(url)
    raise ValueError(f"unsupported forward URL scheme {scheme!r} in {url!r} (http, https, grpc, grpcs)")


class Forwarder:
    """A bounded queue of payloads and one thread that sends them, with retries."""

    def __init__(
        self,
        send: Sender,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        max_attempts: int = 6,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._send = send
        self._queue: deque[bytes] = deque()
        self._max_queue = max_queue
        self._max_queue_bytes = max_queue_bytes
        self._queued_bytes = 0
        self._max_attempts = max_attempts
        self._initial_backoff = initial_backoff_s
        self._max_backoff = max_backoff_s
        self._cond = threading.Condition()
        self._closing = False
        self._busy = False
        self.dropped = 0
        """Payloads dropped because the queue was full or a send failed for good."""
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="otel-cost-forwarder", daemon=True)
        self._thread.start()

    @property
    def queued_bytes(self) -> int:
        """Bytes of the payloads waiting in the queue (not the one being sent)."""
        return self._queued_bytes

    def submit(self, payload: bytes) -> None:
        """Queue a payload; never blocks. Drops the oldest payloads while the queue is over its
        count or byte cap with this one added; drops this one if it alone is over the byte cap."""
        size = len(payload)
        with self._cond:
            if size > self._max_queue_bytes:
                self.dropped += 1
                _log.warning(
                    "forward payload of %d bytes is over the queue's %d bytes: dropped (%d dropped)",
                    size,
                    self._max_queue_bytes,
                    self.dropped,
                )
                return
            while self._queue and (
                len(self._queue) >= self._max_queue or self._queued_bytes + size > self._max_queue_bytes
            ):
                self._queued_bytes -= len(self._queue.popleft())
                self.dropped += 1
                _log.warning(
                    "forward queue full (%d batches or %d bytes): dropped the oldest batch (%d dropped)",
                    self._max_queue,
                    self._max_queue_bytes,
                    self.dropped,
                )
            self._queue.append(payload)
            self._queued_bytes += size
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                payload = self._queue.popleft()
                self._queued_bytes -= len(payload)
                self._busy = True
            try:
                self._deliver(payload)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, payload: bytes) -> None:
        backoff = self._initial_backoff
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._send(payload)
                self.sent += 1
                return
            except RetryableError as exc:
                if attempt == self._max_attempts or self._closing:
                    break
                delay = min(exc.delay_s if exc.delay_s is not None else backoff, self._max_backoff)
                _log.info("forward failed (%s); retry %d in %.1fs", exc, attempt, delay)
                time.sleep(delay)
                backoff = min(backoff * 2, self._max_backoff)
            except Exception:
                _log.exception("forward failed for good; batch dropped")
                break
        self.dropped += 1

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the queue is empty and no send is under way; True if it got there."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued (bounded by ``timeout_s``), then stop the thread."""
        self.flush(timeout_s)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
