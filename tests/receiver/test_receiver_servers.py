"""OTLP/gRPC and OTLP/HTTP behaviour by the spec, on an in-process receiver with the real ledger
(SQLite) and the embedded catalog. Requests are built as raw protobufs, as a non-Python SDK or a
Collector sends them, because the Python SDK cannot produce malformed spans.

gpt-4o prices (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M input tokens,
$10.00 / 1M output tokens; 1000 input + 200 output = 0.0025 + 0.0020 = 0.0045 USD.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

from otel_cost.receiver.config import Endpoint
from otel_cost.receiver.http_server import OtlpHttpServer, start_http_server
from otel_cost.receiver.pipeline import Pipeline
from otel_cost.record import CostRecord
from tests.receiver.harness import spend_total
from tests.receiver.otlp_builders import GPT4O_CALL, chat_attrs, grpc_export, request, running_receiver, span


def post(
    port: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/traces",
        data=body,
        headers={"Content-Type": content_type, **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def test_grpc_partial_success_rejects_only_the_malformed_span(tmp_path: Path):
    with running_receiver(tmp_path) as (receiver, ledger):
        spans = [span(1, chat_attrs()), span(2, chat_attrs(), span_id=b"\x01" * 7), span(3, chat_attrs())]
        response = grpc_export(receiver.ports.grpc, request(spans))
        assert response.partial_success.rejected_spans == 1
        assert "span_id must be 8 non-zero bytes, got 7 bytes" in response.partial_success.error_message
        assert spend_total(ledger) == (2 * GPT4O_CALL, 2)


def _json_span(n: int, **changes: object) -> dict[str, object]:
    """A priced gpt-4o chat span in OTLP/JSON (hex ids, string int64s)."""
    return {
        "traceId": f"{n:032x}",
        "spanId": f"{n:016x}",
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": "1763856000000000000",
        "endTimeUnixNano": "1763856000500000000",
        "attributes": [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in chat_attrs().items()
        ],
        **changes,
    }


def test_http_json_hex_ids_and_partial_success(tmp_path: Path):
    good = _json_span(
        0x5B8EFFF798038103D269B633813FC60C, spanId="eee19b7ec3c1b174", futureField={"ignored": True}
    )
    bad = {**good, "spanId": "not-hex!", "traceId": "5b8efff798038103d269b633813fc60d"}
    body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [good, bad]}]}]}
    with running_receiver(tmp_path) as (receiver, ledger):
        code, headers, raw = post(receiver.ports.http, json.dumps(body).encode(), "application/json")
        assert code == 200
        assert headers["Content-Type"] == "application/json"
        answer = json.loads(raw)
        assert answer["partialSuccess"]["rejectedSpans"] == "1"
        assert spend_total(ledger) == (GPT4O_CALL, 1)
        stored = list(ledger.calls())  # type: ignore[attr-defined]
        assert [row.trace_id for row in stored] == ["5b8efff798038103d269b633813fc60c"]


def test_http_json_span_that_does_not_parse_is_rejected_alone(tmp_path: Path):
    """A field protobuf's JSON mapping cannot read (a time that is not a number, an attribute
    value that is not an AnyValue) fails that span only; a resource that does not parse takes
    its own spans with it. The rest of the batch is priced and stored."""
    bad_time = _json_span(2, startTimeUnixNano="yesterday")
    bad_value = _json_span(3, attributes=[{"key": "gen_ai.request.model", "value": {"intValue": "many"}}])
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "agent"}}]},
                "scopeSpans": [
                    {"scope": {"name": "s"}, "spans": [_json_span(1), bad_time, bad_value, _json_span(4)]}
                ],
            },
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"boolValue": "maybe"}}]},
                "scopeSpans": [{"spans": [_json_span(5), _json_span(6)]}],
            },
            {"resource": {}, "scopeSpans": [{"spans": [_json_span(7)]}]},
        ]
    }
    with running_receiver(tmp_path) as (receiver, ledger):
        code, _headers, raw = post(receiver.ports.http, json.dumps(body).encode(), "application/json")
        assert code == 200
        answer = json.loads(raw)
        assert answer["partialSuccess"]["rejectedSpans"] == "4"
        message = answer["partialSuccess"]["errorMessage"]
        assert "4 span(s) could not be parsed" in message
        assert "resourceSpans[0].scopeSpans[0].spans[1]" in message
        assert spend_total(ledger) == (3 * GPT4O_CALL, 3)
        stored = sorted(row.trace_id for row in ledger.calls())  # type: ignore[attr-defined]
        assert stored == [f"{n:032x}" for n in (1, 4, 7)]


def test_garbage_gets_400_and_invalid_argument_and_the_receiver_keeps_serving(tmp_path: Path):
    with running_receiver(tmp_path) as (receiver, ledger):
        code, _headers, raw = post(receiver.ports.http, b"\xff\x00garbage\x13", "application/x-protobuf")
        assert code == 400
        assert "cannot decode" in status_pb2.Status.FromString(raw).message
        code, _, raw = post(receiver.ports.http, b"{not json", "application/json")
        assert code == 400
        assert "not JSON" in json.loads(raw)["message"]
        with grpc.insecure_channel(f"127.0.0.1:{receiver.ports.grpc}") as channel:
            raw_export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            with pytest.raises(grpc.RpcError) as failure:
                raw_export(b"\xff\x00garbage\x13", timeout=10)
        assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        # Still serving, both ports.
        assert not grpc_export(receiver.ports.grpc, request([span(1, chat_attrs())])).HasField(
            "partial_success"
        )
        code, _, _ = post(
            receiver.ports.http,
            request([span(2, chat_attrs())]).SerializeToString(),
            "application/x-protobuf",
        )
        assert code == 200
        assert spend_total(ledger) == (2 * GPT4O_CALL, 2)


def test_content_type_gzip_and_body_limits(tmp_path: Path):
    with running_receiver(tmp_path, max_body_bytes=64 * 1024) as (receiver, ledger):
        port = receiver.ports.http
        body = request([span(1, chat_attrs())]).SerializeToString()
        assert post(port, body, "text/plain")[0] == 415
        assert (
            post(port, gzip.compress(body), "application/x-protobuf", {"Content-Encoding": "gzip"})[0] == 200
        )
        assert spend_total(ledger) == (GPT4O_CALL, 1)
        # A gzip bomb: 50 KB on the wire, 50 MB once inflated; refused while inflating.
        bomb = gzip.compress(b"\0" * 50_000_000)
        assert len(bomb) < 64 * 1024
        code, _, raw = post(port, bomb, "application/x-protobuf", {"Content-Encoding": "gzip"})
        assert code == 413
        assert "decompressed body is over 65536 bytes" in status_pb2.Status.FromString(raw).message
        assert post(port, b"\0" * 70_000, "application/x-protobuf")[0] == 413
        assert post(port, b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"})[0] == 400
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert json.load(response)["status"] == "ok"


class GatedLedger:
    """The real ledger behind a gate, to hold commits while the test fills the queue (a slow
    database cannot be produced on demand otherwise)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.entered = threading.Event()

    def append(self, records: Sequence[CostRecord]) -> list[CostRecord]:
        self.entered.set()
        self.gate.wait(30)
        return self.inner.append(records)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def test_full_queue_answers_503_retry_after_and_unavailable_with_retry_info(tmp_path: Path):
    from otel_cost.ledger import open_ledger

    gated = GatedLedger(open_ledger(str(tmp_path / "l.sqlite")))
    with running_receiver(tmp_path, ledger=gated, queue_size=1, retry_after_s=7) as (receiver, _):
        http_port, grpc_port = receiver.ports.http, receiver.ports.grpc
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(
                post(
                    http_port, request([span(1, chat_attrs())]).SerializeToString(), "application/x-protobuf"
                )[0]
            )
        )
        first.start()
        assert gated.entered.wait(10)  # the committer holds request 1
        second = threading.Thread(
            target=lambda: results.append(
                post(
                    http_port, request([span(2, chat_attrs())]).SerializeToString(), "application/x-protobuf"
                )[0]
            )
        )
        second.start()
        while receiver.pipeline is not None and receiver.pipeline.queue_depth < 1:
            threading.Event().wait(0.01)
        code, headers, _ = post(
            http_port, request([span(3, chat_attrs())]).SerializeToString(), "application/x-protobuf"
        )
        assert code == 503
        assert headers["Retry-After"] == "7"
        with pytest.raises(grpc.RpcError) as failure:
            grpc_export(grpc_port, request([span(4, chat_attrs())]))
        error = failure.value
        assert error.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        details = dict(error.trailing_metadata())["grpc-status-details-bin"]  # type: ignore[attr-defined]
        status = status_pb2.Status.FromString(details)
        info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(info)
        assert info.retry_delay.seconds == 7
        gated.gate.set()
        first.join(10)
        second.join(10)
        assert sorted(results) == [200, 200]
        assert gated.inner.count() == 2  # type: ignore[attr-defined]


def test_bearer_token_on_both_ports(tmp_path: Path):
    with running_receiver(tmp_path, auth_token="s3cret") as (receiver, ledger):
        body = request([span(1, chat_attrs())]).SerializeToString()
        assert post(receiver.ports.http, body, "application/x-protobuf")[0] == 401
        assert (
            post(receiver.ports.http, body, "application/x-protobuf", {"Authorization": "Bearer nope"})[0]
            == 401
        )
        with pytest.raises(grpc.RpcError) as failure:
            grpc_export(receiver.ports.grpc, request([span(2, chat_attrs())]))
        assert failure.value.code() is grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        assert ledger.count() == 0  # type: ignore[attr-defined]
        assert (
            post(receiver.ports.http, body, "application/x-protobuf", {"Authorization": "Bearer s3cret"})[0]
            == 200
        )
        grpc_export(
            receiver.ports.grpc,
            request([span(2, chat_attrs())]),
            metadata=[("authorization", "Bearer s3cret")],
        )
        assert spend_total(ledger) == (2 * GPT4O_CALL, 2)


def test_json_response_for_json_request_is_by_the_spec(tmp_path: Path):
    with running_receiver(tmp_path) as (receiver, _):
        body = json_format.MessageToJson(request([span(1, chat_attrs())]))
        # protobuf's JSON mapping writes base64 ids; OTLP/JSON wants hex: convert as a client would.
        data = json.loads(body)
        for s in data["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            s["traceId"] = base64.b64decode(s["traceId"]).hex()
            s["spanId"] = base64.b64decode(s["spanId"]).hex()
        code, _headers, raw = post(
            receiver.ports.http, json.dumps(data).encode(), "application/json; charset=utf-8"
        )
        assert code == 200
        assert json.loads(raw) == {}


def test_a_failed_ledger_commit_is_not_acknowledged(tmp_path: Path):
    """The database goes away (the real ledger, closed under the receiver): exports are answered
    with the retryable codes, so clients keep their spans and retry."""
    with running_receiver(tmp_path) as (receiver, ledger):
        ledger.close()
        code, headers, raw = post(
            receiver.ports.http,
            request([span(1, chat_attrs())]).SerializeToString(),
            "application/x-protobuf",
        )
        assert code == 503
        assert headers["Retry-After"] == "1"
        assert "ledger commit failed" in status_pb2.Status.FromString(raw).message
        with pytest.raises(grpc.RpcError) as failure:
            grpc_export(receiver.ports.grpc, request([span(2, chat_attrs())]))
        assert failure.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        # Spans that cost nothing need no commit: still acknowledged.
        tool = span(3, {"gen_ai.operation.name": "execute_tool"})
        assert not grpc_export(receiver.ports.grpc, request([tool])).HasField("partial_success")


@contextmanager
def second_http_server(pipeline: Pipeline | None, **settings: Any) -> Iterator[OtlpHttpServer]:
    """Another OTLP/HTTP server on a running receiver's pipeline, with settings the receiver's
    own configuration does not expose (a short read timeout, few in-flight slots)."""
    assert pipeline is not None
    server, _ = start_http_server(pipeline, Endpoint("127.0.0.1", 0), **settings)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def stalled_client(port: int, declared: int = 100_000, sent: int = 1000) -> socket.socket:
    """A client that sends the headers and part of a declared body, then goes silent."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        + f"Content-Length: {declared}\r\n\r\n".encode()
        + b"\0" * sent
    )
    return client


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_stalled_client_is_disconnected_after_the_read_timeout_and_frees_its_slot(tmp_path: Path):
    with (
        running_receiver(tmp_path) as (receiver, ledger),
        second_http_server(receiver.pipeline, read_timeout_s=0.5, max_in_flight=1) as server,
    ):
        port = server.server_address[1]
        client = stalled_client(port)
        wait_until(lambda: server.slots.in_use == 1)
        started = time.monotonic()
        with client, contextlib.suppress(ConnectionResetError):
            assert client.recv(1024) == b""  # closed by the server, no answer
        assert time.monotonic() - started < 5  # 0.5 s, not the client's own 10 s
        wait_until(lambda: server.slots.in_use == 0)
        # The one slot is free again: a normal request goes through.
        body = request([span(1, chat_attrs())]).SerializeToString()
        assert post(port, body, "application/x-protobuf")[0] == 200
        assert spend_total(ledger) == (GPT4O_CALL, 1)


def test_posts_beyond_the_in_flight_slots_get_503_retry_after_at_once(tmp_path: Path):
    with (
        running_receiver(tmp_path, retry_after_s=3) as (receiver, ledger),
        second_http_server(receiver.pipeline, max_in_flight=2, retry_after_s=3) as server,
    ):
        port = server.server_address[1]
        stalled = [stalled_client(port) for _ in range(2)]
        wait_until(lambda: server.slots.in_use == 2)
        body = request([span(1, chat_attrs())]).SerializeToString()
        started = time.monotonic()
        code, headers, raw = post(port, body, "application/x-protobuf")
        assert time.monotonic() - started < 5  # answered, not queued behind the stalled clients
        assert code == 503
        assert headers["Retry-After"] == "3"
        assert status_pb2.Status.FromString(raw).message == "too many requests in flight"
        assert ledger.count() == 0  # type: ignore[attr-defined]
        for client in stalled:  # the stalled clients go away: their slots are freed
            client.close()
        wait_until(lambda: server.slots.in_use == 0)
        assert post(port, body, "application/x-protobuf")[0] == 200
        assert spend_total(ledger) == (GPT4O_CALL, 1)


def test_posts_beyond_the_in_flight_bytes_get_503_and_smaller_ones_go_through(tmp_path: Path):
    """Stalled clients declaring big bodies hold at most ``max_in_flight_bytes`` between them,
    however few they are."""
    settings: dict[str, Any] = {"max_in_flight": 8, "max_in_flight_bytes": 300_000, "max_body_bytes": 200_000}
    with (
        running_receiver(tmp_path) as (receiver, ledger),
        second_http_server(receiver.pipeline, **settings) as server,
    ):
        port = server.server_address[1]
        stalled = stalled_client(port, declared=200_000)
        wait_until(lambda: server.slots.bytes_in_use == 200_000)
        code, headers, raw = post(port, b"\0" * 150_000, "application/x-protobuf")
        assert code == 503
        assert headers["Retry-After"] == "1"
        assert status_pb2.Status.FromString(raw).message == "too many request bytes in flight"
        body = request([span(1, chat_attrs())]).SerializeToString()  # ~300 bytes still fit
        assert post(port, body, "application/x-protobuf")[0] == 200
        assert spend_total(ledger) == (GPT4O_CALL, 1)
        stalled.close()
        wait_until(lambda: server.slots.bytes_in_use == 0)
        assert post(port, b"\0" * 150_000, "application/x-protobuf")[0] == 400  # read, not refused


def test_every_member_of_a_multi_member_gzip_body_is_read_under_one_limit(tmp_path: Path):
    """RFC 1952 2.2: a gzip file is a series of members (``gzip.decompress`` reads them all).
    Two serialised requests concatenated are one valid protobuf request holding both."""
    with running_receiver(tmp_path, max_body_bytes=64 * 1024) as (receiver, ledger):
        port = receiver.ports.http
        first = request([span(1, chat_attrs())]).SerializeToString()
        second = request([span(2, chat_attrs())]).SerializeToString()
        body = gzip.compress(first) + gzip.compress(second) + b"\0" * 8  # zero padding is allowed
        code, _, _ = post(port, body, "application/x-protobuf", {"Content-Encoding": "gzip"})
        assert code == 200
        assert spend_total(ledger) == (2 * GPT4O_CALL, 2)
        # Each member under the 64 KiB limit, together over it.
        members = gzip.compress(b"\0" * 40_000) + gzip.compress(b"\0" * 40_000)
        code, _, raw = post(port, members, "application/x-protobuf", {"Content-Encoding": "gzip"})
        assert code == 413
        assert "decompressed body is over 65536 bytes" in status_pb2.Status.FromString(raw).message
        # A member followed by something that is not gzip is a bad body, not a shorter one.
        code, _, _ = post(
            port, gzip.compress(first) + b"junk", "application/x-protobuf", {"Content-Encoding": "gzip"}
        )
        assert code == 400
        assert ledger.count() == 2  # type: ignore[attr-defined]


def test_the_http_in_flight_cap_follows_queue_size_like_the_grpc_threads(tmp_path: Path):
    with running_receiver(tmp_path, queue_size=3) as (receiver, _):
        assert receiver._http is not None  # pyright: ignore[reportPrivateUsage]
        assert receiver._http.slots.size == 3 + 8  # pyright: ignore[reportPrivateUsage]
