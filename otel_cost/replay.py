"""Replay recorded provider traffic on loopback: real SDKs and instrumentations, no network.

``load_cassette(path)`` reads a vcrpy cassette (YAML: ``interactions`` of ``request`` and
``response``); ``ReplayServer(interactions)`` serves them on ``127.0.0.1`` on a free port, each
request answered by the first unused interaction with the same method and path, in order.
Point a client's ``base_url`` at ``server.url`` (plus the API prefix, e.g. ``/v1``).

Bodies the recorder stored gzip-compressed (``!!binary``) are decompressed and their
``Content-Encoding`` header dropped; hop-by-hop headers are dropped and ``Content-Length`` is set
from the body served. Only PyYAML and the standard library are used.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import yaml

_DROPPED_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded request/response pair."""

    method: str
    path: str
    """Request path without the query string."""
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    request_body: bytes = b""


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request the server answered (for assertions)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    matched: bool


def _as_bytes(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _decoded(body: bytes, encoding: str | None) -> tuple[bytes, bool]:
    """The body decompressed when it is gzip/deflate, and whether it was."""
    if (encoding and encoding.lower() in ("gzip", "x-gzip", "deflate")) or body[:2] == b"\x1f\x8b":
        try:
            if body[:2] == b"\x1f\x8b":
                return gzip.decompress(body), True
            return zlib.decompress(body), True
        except (OSError, zlib.error, EOFError):
            return body, False
    return body, False


def _interaction(raw: Mapping[str, object]) -> Interaction:
    request = raw.get("request")
    response = raw.get("response")
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        raise ValueError("interaction without request/response")
    status_raw = response.get("status")  # pyright: ignore[reportUnknownMemberType]
    status = status_raw.get("code", 200) if isinstance(status_raw, Mapping) else 200  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    headers_raw = response.get("headers") or {}  # pyright: ignore[reportUnknownMemberType]
    headers: list[tuple[str, str]] = []
    encoding: str | None = None
    if isinstance(headers_raw, Mapping):
        for name, values in headers_raw.items():  # pyright: ignore[reportUnknownVariableType]
            items = values if isinstance(values, list) else [values]  # pyright: ignore[reportUnknownVariableType]
            for value in items:  # pyright: ignore[reportUnknownVariableType]
                if str(name).lower() == "content-encoding":  # pyright: ignore[reportUnknownArgumentType]
                    encoding = str(value)  # pyright: ignore[reportUnknownArgumentType]
                headers.append((str(name), str(value)))  # pyright: ignore[reportUnknownArgumentType]
    body_raw = response.get("body")  # pyright: ignore[reportUnknownMemberType]
    body = _as_bytes(body_raw.get("string") if isinstance(body_raw, Mapping) else body_raw)  # pyright: ignore[reportUnknownMemberType]
    body, decompressed = _decoded(body, encoding)
    kept = tuple(
        (n, v)
        for n, v in headers
        if n.lower() not in _DROPPED_HEADERS or (n.lower() == "content-encoding" and not decompressed)
    )
    request_body = request.get("body")  # pyright: ignore[reportUnknownMemberType]
    return Interaction(
        method=str(request.get("method", "GET")).upper(),  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        path=urlsplit(str(request.get("uri", "/"))).path or "/",  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        status=int(status),  # pyright: ignore[reportUnknownArgumentType]
        body=body,
        headers=kept,
        request_body=_as_bytes(
            request_body.get("string") if isinstance(request_body, Mapping) else request_body
        ),  # pyright: ignore[reportUnknownMemberType]
    )


def load_cassette(path: str | Path) -> list[Interaction]:
    """The interactions of a vcrpy cassette file. Raises ``ValueError`` naming the file when it is not one."""
    try:
        doc = yaml.safe_load(Path(path).read_bytes())
        raw = doc["interactions"]
        return [_interaction(item) for item in raw]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a vcrpy cassette: {exc}") from exc


@dataclass
class _State:
    interactions: Sequence[Interaction]
    used: list[bool]
    received: list[ReceivedRequest] = field(default_factory=list[ReceivedRequest])
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, method: str, path: str) -> Interaction | None:
        with self.lock:
            for i, item in enumerate(self.interactions):
                if not self.used[i] and item.method == method and item.path == path:
                    self.used[i] = True
                    return item
        return None


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            item = state.take(self.command, path)
            state.received.append(
                ReceivedRequest(self.command, path, dict(self.headers.items()), body, item is not None)
            )
            if item is None:
                payload = f'{{"error": "no recorded interaction left for {self.command} {path}"}}'.encode()
                self.send_response(404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(item.status)
            for name, value in item.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(item.body)))
            self.end_headers()
            self.wfile.write(item.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


class ReplayServer:
    """Serves recorded interactions on ``127.0.0.1`` (a free port) from a background thread.

    Use as a context manager; ``url`` is ``http://127.0.0.1:<port>``; ``received`` lists the
    requests answered; ``unused`` the interactions not yet served. An unmatched request gets a
    404 with a JSON error naming it.
    """

    def __init__(self, interactions: Iterable[Interaction]) -> None:
        items = list(interactions)
        self._state = _State(items, [False] * len(items))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self._state))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def received(self) -> list[ReceivedRequest]:
        """Requests answered so far."""
        return list(self._state.received)

    @property
    def unused(self) -> list[Interaction]:
        """Interactions not served yet."""
        return [i for i, used in zip(self._state.interactions, self._state.used, strict=True) if not used]

    def start(self) -> ReplayServer:
        """Start serving (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="otel-cost-replay", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
