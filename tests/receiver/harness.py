"""Test harness for the receiver: runs of free loopback ports, the receiver as a subprocess, a real
Prometheus, the ledger's totals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_cost.ledger import open_ledger
from tests.conftest import REPO, free_port, missing_tool


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive TCP ports all free on 127.0.0.1 right now.

    ``serve --workers N`` puts worker *i*'s Prometheus endpoint on port + *i*; a port from
    :func:`free_port` alone says nothing of its neighbours (Linux hands ``connect`` the even
    ephemeral ports that ``bind(0)``'s odd ones sit between), so the run is checked whole.
    """
    for _ in range(100):
        first = free_port()
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


def wait_http(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout_s}s")
        time.sleep(0.1)


class ReceiverProcess:
    """``python -m otel_cost serve`` on free loopback ports, as a real subprocess."""

    def __init__(
        self,
        tmp: Path,
        *extra: str,
        ledger: Path | None = None,
        env: dict[str, str] | None = None,
        workers: int = 1,
    ):
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.prometheus_port = free_port_run(workers)
        self.workers = workers
        self.ledger = ledger or tmp / "ledger.sqlite"
        self.extra = extra
        self.env = env or {}
        self.log = tmp / f"receiver-{self.grpc_port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, object] = {}

    @property
    def args(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "otel_cost",
            "serve",
            "--grpc-endpoint",
            f"127.0.0.1:{self.grpc_port}",
            "--http-endpoint",
            f"127.0.0.1:{self.http_port}",
            "--prometheus-endpoint",
            f"127.0.0.1:{self.prometheus_port}",
            "--ledger",
            str(self.ledger),
            *(("--workers", str(self.workers)) if self.workers > 1 else ()),
            *self.extra,
        ]

    def start(self, timeout_s: float = 30.0) -> ReceiverProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_COST_")}
        env.update(self.env)
        env["PYTHONPATH"] = str(REPO)
        self._close_files()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=log, env=env, cwd=REPO)
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not lines or not lines[0]:
            self.kill()
            raise RuntimeError(f"receiver did not start; log:\n{self.log.read_text()}")
        self.ready = json.loads(lines[0])
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (graceful drain) and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self._close_files()
        return code

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close_files()

    def _close_files(self) -> None:
        if self.proc is not None and self.proc.stdout is not None and self.proc.poll() is not None:
            self.proc.stdout.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Prometheus:
    """A real Prometheus server (Debian package) scraping given targets every second."""

    def __init__(self, binary: str, tmp: Path, targets: list[str]) -> None:
        self.port = free_port()
        self.dir = tmp / "prometheus"
        self.dir.mkdir()
        config = self.dir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: otel-cost\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n"
        )
        self.log = self.dir / "prometheus.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--enable-feature=exemplar-storage",
                    "--web.console.templates=/nonexistent",
                    "--web.console.libraries=/nonexistent",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_http(f"http://127.0.0.1:{self.port}/-/ready", 30)

    def query(self, promql: str) -> list[dict[str, object]]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def scalar(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None  # type: ignore[index]

    def wait_for(self, promql: str, expected: float, timeout_s: float = 30.0) -> float | None:
        """Poll until ``promql`` returns ``expected`` (to 1e-9) or time out; return the last value."""
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            value = self.scalar(promql)
            if value is not None and abs(value - expected) < 1e-9:
                return value
            time.sleep(0.5)
        return value

    def exemplars(self, promql: str) -> list[dict[str, object]]:
        now = time.time()
        params = urllib.parse.urlencode({"query": promql, "start": now - 600, "end": now + 60})
        url = f"http://127.0.0.1:{self.port}/api/v1/query_exemplars?{params}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def prometheus_binary() -> str:
    """Path of the Debian ``prometheus`` binary; skips (fails under CI) when it is missing."""
    binary = shutil.which("prometheus")
    if binary is None:
        missing_tool(
            "the prometheus binary is not installed (Debian package 'prometheus'; .ci/run installs it)"
        )
    return binary


def record_spans(
    service: str, calls: Sequence[tuple[str, str, int, int]], extra_spans: int = 0
) -> list[ReadableSpan]:
    """Finished SDK spans: one gen_ai client span per (provider, model, input, output) call,
    inside an agent span (never priced), plus ``extra_spans`` plain internal spans."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "invoke_agent planner",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
    ):
        for provider_name, model, input_tokens, output_tokens in calls:
            with tracer.start_as_current_span(
                f"chat {model}",
                kind=SpanKind.CLIENT,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": provider_name,
                    "gen_ai.request.model": model,
                    "gen_ai.usage.input_tokens": input_tokens,
                    "gen_ai.usage.output_tokens": output_tokens,
                },
            ):
                pass
        for i in range(extra_spans):
            with tracer.start_as_current_span(f"step {i}"):
                pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def spend_total(ledger: object) -> tuple[Decimal, int]:
    """(total spend, number of calls) in an open ledger (typed ``object``: tests hold it as the
    receiver's ``LedgerLike``, which has no reading methods)."""
    rows = ledger.spend()  # type: ignore[attr-defined]
    return sum((r.amount for r in rows), Decimal(0)), ledger.count()  # type: ignore[attr-defined]


def ledger_total(path: Path) -> tuple[Decimal, int]:
    """:func:`spend_total` of the ledger at ``path`` (a file, or a database URL), opened and closed."""
    ledger = open_ledger(str(path))
    try:
        return spend_total(ledger)
    finally:
        ledger.close()


def export_until_ok(exporter: SpanExporter, spans: Sequence[ReadableSpan], timeout_s: float = 60.0) -> int:
    """Export like a Collector's retry queue: the same batch again until it is acknowledged (the
    SDK exporter also retries by itself within its timeout)."""
    deadline = time.monotonic() + timeout_s
    attempts = 0
    while True:
        attempts += 1
        if exporter.export(spans) is SpanExportResult.SUCCESS:
            return attempts
        if time.monotonic() > deadline:
            raise AssertionError(f"batch not acknowledged after {attempts} attempts")
        time.sleep(0.2)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost and its key (PEM files in ``tmp``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing_tool("openssl is not installed (needed to make a test certificate; .ci/run installs it)")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *(
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
            ),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
