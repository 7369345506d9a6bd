"""Operations, on the receiver as a subprocess: TLS with bearer-token auth on both ports (real SDK
exporters), ``--workers 2`` sharing the ports, graceful shutdown draining in-flight work.

gpt-4o (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M input, $10.00 / 1M
output; 1000 input + 200 output tokens = 0.0025 + 0.0020 = 0.0045 USD per call.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult

from otel_cost.ledger import open_ledger
from tests.conftest import free_port
from tests.receiver.harness import (
    ReceiverProcess,
    free_port_run,
    ledger_total,
    record_spans,
    self_signed,
    spend_total,
)
from tests.receiver.otlp_builders import GPT4O_CALL, chat_attrs, request, span


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[list[ReceiverProcess]]:
    started: list[ReceiverProcess] = []
    yield started
    for receiver in started:
        receiver.kill()


def test_tls_and_bearer_token_on_both_ports(
    tmp_path: Path,
    receivers: list[ReceiverProcess],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    # requests lets REQUESTS_CA_BUNDLE override the exporter's certificate_file (session.verify).
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cert, key = self_signed(tmp_path)
    receiver = ReceiverProcess(
        tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), env={"OTEL_COST_AUTH_TOKEN": "t0ken"}
    )
    receivers.append(receiver)
    receiver.start()
    spans = record_spans("tls", [("openai", "gpt-4o", 1000, 200)] * 2)
    credentials = grpc.ssl_channel_credentials(cert.read_bytes())
    grpc_ok = GrpcSpanExporter(
        endpoint=f"127.0.0.1:{receiver.grpc_port}",
        credentials=credentials,
        headers={"authorization": "Bearer t0ken"},
        timeout=10,
    )
    http_ok = HttpSpanExporter(
        endpoint=f"https://127.0.0.1:{receiver.http_port}/v1/traces",
        certificate_file=str(cert),
        headers={"Authorization": "Bearer t0ken"},
        timeout=10,
    )
    http_no_token = HttpSpanExporter(
        endpoint=f"https://127.0.0.1:{receiver.http_port}/v1/traces", certificate_file=str(cert), timeout=3
    )
    with caplog.at_level("ERROR"):
        assert http_no_token.export(spans) is SpanExportResult.FAILURE  # 401 is not retryable
    assert "401" in caplog.text
    assert ledger_total(receiver.ledger) == (Decimal(0), 0)
    assert grpc_ok.export(spans[:1]) is SpanExportResult.SUCCESS
    assert http_ok.export(spans) is SpanExportResult.SUCCESS
    # Two calls (the agent span costs nothing), one sent twice: 2 * 0.0045 = 0.009.
    assert ledger_total(receiver.ledger) == (2 * GPT4O_CALL, 2)
    for exporter in (grpc_ok, http_ok, http_no_token):
        exporter.shutdown()
    assert receiver.terminate() == 0


def test_two_workers_share_the_ports_with_their_own_instance_ids(
    tmp_path: Path, receivers: list[ReceiverProcess]
):
    receiver = ReceiverProcess(tmp_path, workers=2)
    receivers.append(receiver)
    receiver.start()
    assert receiver.proc is not None and receiver.proc.stdout is not None
    second = json.loads(receiver.proc.stdout.readline())
    first = receiver.ready
    assert first["grpc"] == second["grpc"] == receiver.grpc_port
    assert first["service.instance.id"] != second["service.instance.id"]
    assert {first["prometheus"], second["prometheus"]} == {
        receiver.prometheus_port,
        receiver.prometheus_port + 1,
    }
    exporters = [
        HttpSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=10),
        GrpcSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=10),
    ]
    batches = [record_spans(f"w{i}", [("openai", "gpt-4o", 1000, 200)] * 5) for i in range(20)]
    failures: list[object] = []

    def send(exporter: HttpSpanExporter | GrpcSpanExporter, part: list[int]) -> None:
        for i in part:
            if exporter.export(batches[i]) is not SpanExportResult.SUCCESS:
                failures.append(i)

    threads = [threading.Thread(target=send, args=(exporters[k], list(range(k, 20, 2)))) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # 20 batches * 5 calls * 0.0045 = 0.45 USD, 100 calls.
    assert ledger_total(receiver.ledger) == (Decimal("0.45"), 100)
    for exporter in exporters:
        exporter.shutdown()
    # The supervisor dies without a word: its workers get SIGTERM (PR_SET_PDEATHSIG) and drain.
    receiver.kill()
    workers = [int(str(first["pid"])), int(str(second["pid"]))]
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
    assert ledger_total(receiver.ledger) == (Decimal("0.45"), 100)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class _Sent:
    first_span: int
    sent_at: float
    answered_at: float = 0.0
    status: int | str = "no answer"


def _batches(count: int, spans: int) -> list[bytes]:
    """``count`` serialised requests of ``spans`` priced gpt-4o calls each, span ids unique across
    them (request k holds the ids of ``span(k * spans + i)``); built up front, as copies of one
    request with new ids, so sending is not slowed by building them."""
    template = request([span(i, chat_attrs()) for i in range(spans)], "drain")
    bodies = []
    for k in range(count):
        copy = ExportTraceServiceRequest()
        copy.CopyFrom(template)
        for i, s in enumerate(copy.resource_spans[0].scope_spans[0].spans):
            s.span_id = (k * spans + i + 1).to_bytes(8, "big")
            s.trace_id = (k * spans + i + 1).to_bytes(16, "big")
        bodies.append(copy.SerializeToString())
    return bodies


def _post(port: int, body: bytes, first_span: int) -> _Sent:
    """POST one OTLP/HTTP request; no retries (unlike the SDK exporter), so each answer is the
    one to that request."""
    sent = _Sent(first_span, time.monotonic())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        response = connection.getresponse()
        response.read()
        sent.status = response.status
    except OSError as exc:  # reset or refused once the receiver is gone
        sent.status = type(exc).__name__
    finally:
        connection.close()
    sent.answered_at = time.monotonic()
    return sent


def test_sigterm_drains_in_flight_exports(tmp_path: Path, receivers: list[ReceiverProcess]):
    """Requests still in flight at SIGTERM are answered 200 while the receiver drains, and every
    request answered 200 is in the ledger whole. Draining is seen on a keep-alive connection
    (``GET /health`` turns 503 "draining"), so a receiver that exits at once fails the test: no
    drain is ever seen, and nothing in flight is answered after it."""
    receiver = ReceiverProcess(tmp_path)
    receivers.append(receiver)
    receiver.start()
    port, batch, senders, rounds = receiver.http_port, 2000, 8, 4
    bodies = _batches(senders * rounds, batch)
    stop_sending = threading.Event()
    results: list[_Sent] = []

    def send(k: int) -> None:
        for n in range(k, len(bodies), senders):
            if stop_sending.is_set():
                return
            results.append(_post(port, bodies[n], n * batch))

    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    probe.request("GET", "/health")
    assert json.loads(probe.getresponse().read())["status"] == "ok"
    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(results) < senders and time.monotonic() < deadline:  # the receiver is busy
        time.sleep(0.01)
    killed_at = time.monotonic()
    os.kill(receiver.pid, signal.SIGTERM)
    stop_sending.set()
    draining_at = None
    while draining_at is None and time.monotonic() < killed_at + 10:
        try:  # the same connection: its handler thread answers while the process drains
            probe.request("GET", "/health")
            answer = probe.getresponse()
            status, health = answer.status, json.loads(answer.read())
        except (OSError, http.client.HTTPException):
            break  # the process is gone
        if status == 503 and health["status"] == "draining":
            draining_at = time.monotonic()
    probe.close()
    for t in threads:
        t.join(60)
    assert receiver.proc is not None and receiver.proc.wait(30) == 0
    assert draining_at is not None, "the receiver never reported draining"
    in_flight = [r for r in results if r.sent_at < killed_at and r.answered_at > draining_at]
    assert any(r.status == 200 for r in in_flight), f"nothing in flight was answered 200: {in_flight}"
    ledger = open_ledger(str(receiver.ledger))
    try:
        stored = {row.span_id for row in ledger.calls()}
        total, count = spend_total(ledger)
    finally:
        ledger.close()
    acknowledged = [r for r in results if r.status == 200]
    for r in acknowledged:
        ids = {(r.first_span + i + 1).to_bytes(8, "big").hex() for i in range(batch)}
        assert ids <= stored, f"acknowledged batch from span {r.first_span} is not all in the ledger"
    # Batches commit whole (one transaction): the ledger holds whole batches only.
    assert count % batch == 0 and count >= len(acknowledged) * batch
    assert total == count * GPT4O_CALL


def _serve_until_it_fails(tmp: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """``otel-cost serve`` with ``flags`` and a ledger in ``tmp``, run to its exit (a start failure)."""
    return subprocess.run(
        [sys.executable, "-m", "otel_cost", "serve", *flags, "--ledger", str(tmp / "l.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_port_in_use_is_an_error_not_a_silent_share(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _serve_until_it_fails(
            tmp_path,
            *("--grpc-endpoint", f"127.0.0.1:{port}"),
            *("--http-endpoint", "off", "--prometheus-endpoint", "off"),
        )
    assert done.returncode == 1
    assert f"cannot start: --grpc-endpoint: cannot listen on 127.0.0.1:{port}: Failed to bind" in done.stderr


def test_a_workers_prometheus_port_in_use_names_the_worker_and_port(tmp_path: Path):
    """Worker 1 serves /metrics on the configured port + 1: when that one is taken, the error says
    so, and the supervisor stops worker 0 and exits 1 instead of running with a worker short."""
    first = free_port_run(2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", first + 1))
        busy.listen()
        done = _serve_until_it_fails(
            tmp_path,
            *("--grpc-endpoint", f"127.0.0.1:{free_port()}", "--http-endpoint", f"127.0.0.1:{free_port()}"),
            *("--prometheus-endpoint", f"127.0.0.1:{first}", "--workers", "2"),
        )
    assert done.returncode == 1
    assert (
        f"--prometheus-endpoint: cannot listen on 127.0.0.1:{first + 1} (worker 1: the configured port + 1)"
        in done.stderr
    )
    assert "a worker exited unexpectedly; stopping the others" in done.stderr
