"""Receiver throughput: decode + price + aggregate + ledger, against a count-only gRPC receiver.

Two loads, each sent to every server in the same rounds: pre-serialised OTLP
``ExportTraceServiceRequest``s of realistic gen_ai client spans (unique ids, so the ledger stores
every span), and of spans that carry no cost (HTTP server, database and internal HTTP client
spans, as most of a service's spans are). Sent over gRPC by a client process with several
concurrent streams. The count-only receiver is the generated ``TraceServiceServicer`` that decodes
each request and counts its spans: the floor any Python OTLP receiver pays. ``otel-cost serve``
runs as a real subprocess (SQLite ledger in WAL mode, Prometheus endpoint on, metrics recorded for
every priced span); for the load without cost it forwards every request (``--forward-traces``) to
a count-only sink, as a gateway does.

On a machine with 2+ cores the servers are pinned to core 0 and the load generator (and the sink)
to core 1 ("one core"); ``--workers 2`` runs unpinned. Medians of ``--rounds`` rounds.

    python benchmarks/bench_receiver.py [--rounds 5] [--requests 40] [--spans 500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Span  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
MODELS = (("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-20250514"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kv(key: str, value: object) -> KeyValue:
    out = KeyValue(key=key)
    if isinstance(value, int):
        out.value.int_value = value
    else:
        out.value.string_value = str(value)
    return out


def build_requests(round_no: int, count: int, spans_per_request: int) -> list[bytes]:
    """Serialised requests of gen_ai client spans, ids unique across rounds."""
    out: list[bytes] = []
    for r in range(count):
        req = ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        rs.resource.attributes.extend(
            [_kv("service.name", f"svc-{r % 4}"), _kv("service.version", "1.2.3"), _kv("host.name", "node-7")]
        )
        scope = rs.scope_spans.add()
        scope.scope.name = "opentelemetry.instrumentation.openai_v2"
        for i in range(spans_per_request):
            n = ((round_no * count + r) * spans_per_request + i) + 1
            provider, model = MODELS[i % len(MODELS)]
            start = 1_763_856_000 * 10**9 + n * 1000
            scope.spans.append(
                Span(
                    trace_id=n.to_bytes(16, "big"),
                    span_id=n.to_bytes(8, "big"),
                    parent_span_id=(n + 7).to_bytes(8, "big"),
                    name=f"chat {model}",
                    kind=Span.SpanKind.SPAN_KIND_CLIENT,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + 420_000_000,
                    attributes=[
                        _kv("gen_ai.operation.name", "chat"),
                        _kv("gen_ai.provider.name", provider),
                        _kv("gen_ai.request.model", model),
                        _kv("gen_ai.response.model", model),
                        _kv("gen_ai.response.id", f"chatcmpl-{n}"),
                        _kv("gen_ai.response.finish_reasons", "stop"),
                        _kv("gen_ai.usage.input_tokens", 1000 + i),
                        _kv("gen_ai.usage.output_tokens", 200 + i % 50),
                        _kv("gen_ai.request.temperature", "0.2"),
                        _kv("server.address", "api.openai.com"),
                        _kv("server.port", 443),
                        _kv("user.id", f"u-{i % 100}"),
                        _kv("cost.attribution.project", f"p-{i % 5}"),
                    ],
                )
            )
        out.append(req.SerializeToString())
    return out


def build_plain_requests(round_no: int, count: int, spans_per_request: int) -> list[bytes]:
    """Serialised requests of spans that carry no cost: HTTP server spans, database client spans
    and HTTP client spans to an internal service (1 in 4 of each kind is a client call)."""
    out: list[bytes] = []
    for r in range(count):
        req = ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        rs.resource.attributes.extend(
            [_kv("service.name", f"svc-{r % 4}"), _kv("service.version", "1.2.3"), _kv("host.name", "node-7")]
        )
        scope = rs.scope_spans.add()
        scope.scope.name = "opentelemetry.instrumentation.fastapi"
        for i in range(spans_per_request):
            n = ((round_no * count + r) * spans_per_request + i) + 1
            start = 1_763_856_000 * 10**9 + n * 1000
            if i % 4 == 0:
                kind = Span.SpanKind.SPAN_KIND_SERVER
                name = "GET /items/{item_id}"
                attributes = [
                    _kv("http.request.method", "GET"),
                    _kv("http.route", "/items/{item_id}"),
                    _kv("url.path", f"/items/{n % 1000}"),
                    _kv("url.scheme", "https"),
                    _kv("http.response.status_code", 200),
                    _kv("server.address", "shop.example.com"),
                    _kv("network.protocol.version", "1.1"),
                    _kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
                ]
            elif i % 4 == 1:
                kind = Span.SpanKind.SPAN_KIND_CLIENT
                name = "SELECT shop.items"
                attributes = [
                    _kv("db.system.name", "postgresql"),
                    _kv("db.namespace", "shop"),
                    _kv("db.operation.name", "SELECT"),
                    _kv("db.collection.name", "items"),
                    _kv("db.query.text", "SELECT id, name, price FROM items WHERE id = $1"),
                    _kv("server.address", "db.internal"),
                    _kv("server.port", 5432),
                ]
            elif i % 4 == 2:
                kind = Span.SpanKind.SPAN_KIND_CLIENT
                name = "GET"
                attributes = [
                    _kv("http.request.method", "GET"),
                    _kv("url.full", f"http://inventory.internal:8080/stock/{n % 1000}"),
                    _kv("server.address", "inventory.internal"),
                    _kv("server.port", 8080),
                    _kv("http.response.status_code", 200),
                ]
            else:
                kind = Span.SpanKind.SPAN_KIND_INTERNAL
                name = "render item page"
                attributes = [_kv("code.function.name", "render_item"), _kv("app.cache.hit", "true")]
            scope.spans.append(
                Span(
                    trace_id=n.to_bytes(16, "big"),
                    span_id=n.to_bytes(8, "big"),
                    parent_span_id=(n + 7).to_bytes(8, "big"),
                    name=name,
                    kind=kind,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + 12_000_000,
                    attributes=attributes,
                )
            )
        out.append(req.SerializeToString())
    return out


class CountOnly(trace_service_pb2_grpc.TraceServiceServicer):
    """Decode and count: the least a Python OTLP receiver does."""

    def __init__(self) -> None:
        self.spans = 0
        self.lock = threading.Lock()

    def Export(self, request: ExportTraceServiceRequest, context: object) -> ExportTraceServiceResponse:
        n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        with self.lock:
            self.spans += n
        return ExportTraceServiceResponse()


def serve_count_only(port: int) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[("grpc.so_reuseport", 0)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(CountOnly(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def send(port: int, payloads: list[bytes], concurrency: int) -> float:
    """Send every payload (each until acknowledged) over ``concurrency`` connections; return the
    seconds taken. One TCP connection per stream, so SO_REUSEPORT can spread them over workers."""
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(concurrency)]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=20)
    todo = list(payloads)
    lock = threading.Lock()

    def worker(channel: grpc.Channel) -> None:
        call = channel.unary_unary(EXPORT)
        while True:
            with lock:
                if not todo:
                    return
                body = todo.pop()
            while True:
                try:
                    call(body, timeout=60)
                    break
                except grpc.RpcError as exc:
                    if exc.code() is not grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                        raise
                    time.sleep(0.05)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(channel,)) for channel in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for channel in channels:
        channel.close()
    return elapsed


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})


def start_count_only(port: int, pin: bool, cpu: int = 0) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--count-only-server", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: _pin(cpu)) if pin else None,  # noqa: PLW1509
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def start_otel_cost(
    port: int, tmp: Path, workers: int, pin: bool, *, repo: Path = REPO, forward: str | None = None
) -> subprocess.Popen[str]:
    ledger = tmp / f"ledger-{port}.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_COST_")}
    env["PYTHONPATH"] = str(repo)
    env["OTEL_COST_LOG_LEVEL"] = "WARNING"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otel_cost",
            "serve",
            "--grpc-endpoint",
            f"127.0.0.1:{port}",
            "--http-endpoint",
            "off",
            "--prometheus-endpoint",
            f"127.0.0.1:{free_port()}",
            "--ledger",
            str(ledger),
            "--workers",
            str(workers),
            "--queue-size",
            "256",
            *(["--forward-traces", forward] if forward else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,  # `python -m` puts the working directory first on sys.path
        preexec_fn=(lambda: _pin(0)) if pin else None,  # noqa: PLW1509
    )
    assert proc.stdout is not None
    for _ in range(workers):
        json.loads(proc.stdout.readline())
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--plain-requests", type=int, default=120, help="requests of the load without cost")
    parser.add_argument("--spans", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="CHECKOUT",
        help="also run `otel-cost serve` (one worker) from another source tree, e.g. an earlier commit"
        " (`git worktree add /tmp/before HEAD~1`), in the same rounds: an A/B that shares the noise",
    )
    parser.add_argument("--count-only-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_only_server is not None:
        serve_count_only(args.count_only_server)
        return 0
    pin = (os.cpu_count() or 1) >= 2
    loads = {
        "gen_ai spans": (build_requests, args.requests),
        "spans without cost, forwarded": (build_plain_requests, args.plain_requests),
    }
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        sink_port = free_port()
        sink = start_count_only(sink_port, pin, cpu=1)
        forward = f"grpc://127.0.0.1:{sink_port}"
        # load -> server -> port
        plan: dict[str, dict[str, int]] = {load: {"count-only": free_port()} for load in loads}
        plan["gen_ai spans"] |= {"otel-cost": free_port(), "otel-cost --workers 2": free_port()}
        plan["spans without cost, forwarded"]["otel-cost"] = free_port()
        servers = {
            ("gen_ai spans", "count-only"): start_count_only(plan["gen_ai spans"]["count-only"], pin),
            ("gen_ai spans", "otel-cost"): start_otel_cost(plan["gen_ai spans"]["otel-cost"], tmp, 1, pin),
            ("gen_ai spans", "otel-cost --workers 2"): start_otel_cost(
                plan["gen_ai spans"]["otel-cost --workers 2"], tmp, 2, False
            ),
            ("spans without cost, forwarded", "count-only"): start_count_only(
                plan["spans without cost, forwarded"]["count-only"], pin
            ),
            ("spans without cost, forwarded", "otel-cost"): start_otel_cost(
                plan["spans without cost, forwarded"]["otel-cost"], tmp, 1, pin, forward=forward
            ),
        }
        if args.compare is not None:
            name = f"otel-cost @{args.compare.name}"
            for load in loads:
                plan[load][name] = port = free_port()
                to = forward if "forwarded" in load else None
                servers[(load, name)] = start_otel_cost(
                    port, tmp, 1, pin, repo=args.compare.resolve(), forward=to
                )
        rates: dict[tuple[str, str], list[float]] = {key: [] for key in servers}
        try:
            if pin:
                _pin(1)
            for load, (build, _) in loads.items():  # warm-up: catalogs, caches, connections
                for name, port in plan[load].items():
                    send(port, build(10_000 + len(name), 2, args.spans), 2)
            batch = 0
            for round_no in range(args.rounds):
                for load, (build, count) in loads.items():
                    for name, port in plan[load].items():
                        batch += 1
                        payloads = build(round_no * 100 + batch, count, args.spans)
                        seconds = send(port, payloads, args.concurrency)
                        rates[(load, name)].append(count * args.spans / seconds)
        finally:
            for proc in [*servers.values(), sink]:
                stop(proc)
    medians = {key: statistics.median(values) for key, values in rates.items()}
    print(f"{args.rounds} rounds, {args.spans} spans a request, concurrency {args.concurrency}")
    for load, (_, count) in loads.items():
        base = medians[(load, "count-only")]
        print(f"\n{load} ({count} requests a round)")
        print(f"{'server':<24} {'median spans/s':>15} {'vs count-only':>14}   all rounds")
        for name in plan[load]:
            value = medians[(load, name)]
            rounds = ", ".join(f"{v:,.0f}" for v in rates[(load, name)])
            print(f"{name:<24} {value:>15,.0f} {value / base:>13.1%}   {rounds}")
        if args.compare is not None:
            other = medians[(load, f"otel-cost @{args.compare.name}")]
            print(f"otel-cost vs @{args.compare.name}: {medians[(load, 'otel-cost')] / other:.2f}x")
    gain = medians[("gen_ai spans", "otel-cost --workers 2")] / medians[("gen_ai spans", "otel-cost")]
    print(f"\n--workers 2 gain over 1 worker (gen_ai spans): {gain:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
