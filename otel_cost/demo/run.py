"""Run the offline demo: real SDKs and instrumentations, recorded responses, the whole otel-cost path.

::

    openai SDK ----> ReplayServer (loopback; recorded OpenAI responses bundled in data/)
    httpx ---------> ReplayServer (the paid weather API, priced per call by data/demo-catalog.yaml)
       |  spans (opentelemetry-instrumentation-openai-v2, -httpx, invoke_agent/execute_tool)
       v
    CostSpanProcessor(BatchSpanProcessor(OTLPSpanExporter))  -- prices, attributes
       |  OTLP/gRPC on loopback
       v
    otel-cost receiver (in process) -> ledger (SQLite) + Prometheus /metrics

No API key and no network: every port is on 127.0.0.1 and chosen free.
"""

from __future__ import annotations

import json
import tempfile
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from otel_cost import semconv as sc
from otel_cost.attribution import attribution
from otel_cost.demo.agent import index_document, run_agent
from otel_cost.ledger import SpendRow, open_ledger
from otel_cost.pricing import PriceCatalog, load_catalog
from otel_cost.processor import CostSpanProcessor
from otel_cost.receiver.app import Receiver
from otel_cost.receiver.config import Endpoint, ReceiverConfig
from otel_cost.receiver.prometheus import metric_name, unit_suffix
from otel_cost.replay import Interaction, ReplayServer

SERVICE_NAME = "otel-cost-demo"
USERS: tuple[tuple[str, str], ...] = (("alice", "s-alice-1"), ("bob", "s-bob-1"), ("carol", "s-carol-1"))
"""(user, session) of each agent run."""
AGENT_PROJECT = ("travel-assistant", "cc-travel")
INDEXER_PROJECT = ("knowledge-base", "cc-platform")
CURRENCY = "USD"
"""The demo catalog's currency: the unit of its ``cost.spend`` series."""
SPEND_SERIES = f"{metric_name(sc.METRIC_COST_SPEND)}_{unit_suffix(CURRENCY)}_total"
"""The receiver's Prometheus counter sample for the demo's spend (name, unit suffix, ``_total``)."""
RUN_KEY = "demo_run"
"""Attribution key marking this run's calls, so a reused ledger reports only this run."""

_DATA = "data"
_LOCATIONS = ("Seattle, WA", "San Francisco, CA")
_JSON = (("content-type", "application/json"),)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What a demo run did and what otel-cost accounted for it."""

    ledger: str | None
    """The ledger path the receiver wrote (None with ``send_to``)."""
    rows: list[SpendRow]
    """Spend of this run grouped by (project, kind, model, price_ref): from the ledger, or with
    ``send_to`` from the spans as the processor priced them."""
    metric_total: float | None
    """Sum of the receiver's ``SPEND_SERIES`` samples after the run (None with ``send_to``)."""
    answer: str
    """The agent's last answer."""
    sent_to: str | None = None
    """The OTLP/gRPC endpoint the spans went to instead of the in-process receiver."""

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal(0))

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rows)


def _data(name: str) -> Any:
    return json.loads(
        resources.files("otel_cost.demo").joinpath(_DATA).joinpath(name).read_text(encoding="utf-8")
    )


def catalog_path() -> Path:
    """The demo's catalog file (the weather API's per-call price)."""
    return Path(str(resources.files("otel_cost.demo").joinpath(_DATA).joinpath("demo-catalog.yaml")))


def _interactions(users: int) -> list[Interaction]:
    """The responses in the order the demo asks for them (the replay server serves them in order)."""
    recorded = _data("openai_responses.json")["responses"]
    weather = _data("weather_api.json")["responses"]

    def replay(name: str) -> Interaction:
        item = recorded[name]
        return Interaction(
            item["method"], item["path"], item["status"], json.dumps(item["body"]).encode(), _JSON
        )

    items: list[Interaction] = []
    for _ in range(users):
        items += [replay("chat_tool_calls"), replay("chat_final")]
        items += [
            Interaction("GET", "/v1/weather", 200, json.dumps(weather[loc]).encode(), _JSON)
            for loc in _LOCATIONS
        ]
    items.append(replay("embeddings"))
    return items


def _metric_total(prometheus_port: int) -> float:
    url = f"http://127.0.0.1:{prometheus_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == SPEND_SERIES
    )


class _Checked(SpanExporter):
    """Passes spans on and remembers whether every export succeeded."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter
        self.failed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._exporter.export(spans)
        self.failed = self.failed or result is not SpanExportResult.SUCCESS
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _drive(
    catalog: PriceCatalog, endpoint: str, server: ReplayServer, run_id: str, tee: SpanExporter | None = None
) -> str:
    """Run the agent for every user and the indexer once, with instrumented clients; the priced
    spans go over OTLP/gRPC to ``endpoint`` (HOST:PORT), and to ``tee`` when given."""
    provider = TracerProvider(resource=Resource.create({sc.SERVICE_NAME: SERVICE_NAME}))
    exporter = _Checked(OTLPSpanExporter(endpoint=endpoint, insecure=True))
    exporting = SynchronousMultiSpanProcessor()
    exporting.add_span_processor(BatchSpanProcessor(exporter))
    if tee is not None:
        exporting.add_span_processor(SimpleSpanProcessor(tee))
    provider.add_span_processor(CostSpanProcessor(exporting, catalog=catalog))
    tracer = provider.get_tracer("otel_cost.demo")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    port = server.url.rsplit(":", 1)[1]
    client = OpenAI(base_url=f"{server.url}/v1", api_key="demo-key-not-a-secret", max_retries=0)
    # `localhost`, the host the demo catalog prices (a real API has its own host name there).
    weather = httpx.Client(base_url=f"http://localhost:{port}", timeout=10)
    HTTPXClientInstrumentor.instrument_client(weather, tracer_provider=provider)
    answer = ""
    try:
        for user, session in USERS:
            project, cost_center = AGENT_PROJECT
            keys = {"project": project, "cost_center": cost_center, "user": user, "session": session}
            with attribution(**keys, **{RUN_KEY: run_id}):
                answer = run_agent(client, weather, tracer)
        project, cost_center = INDEXER_PROJECT
        with attribution(project=project, cost_center=cost_center, **{RUN_KEY: run_id}):
            index_document(client)
    finally:
        instrumentor.uninstrument()
        HTTPXClientInstrumentor.uninstrument_client(weather)
        weather.close()
        client.close()
        provider.force_flush()
        provider.shutdown()
    if exporter.failed:
        raise RuntimeError(f"could not export the spans over OTLP/gRPC to {endpoint}")
    return answer


def _check_replay(server: ReplayServer) -> None:
    missed = [r for r in server.received if not r.matched]
    if missed or server.unused:
        raise RuntimeError(
            f"demo replay out of step: unmatched requests {[(r.method, r.path) for r in missed]},"
            f" unused responses {[(i.method, i.path) for i in server.unused]}"
        )


def _rows_from_spans(spans: Sequence[ReadableSpan]) -> list[SpendRow]:
    """This run's spend as the processor priced it, grouped like the ledger report."""
    groups: dict[tuple[str | None, ...], list[Decimal]] = {}
    for span in spans:
        attrs = span.attributes or {}
        amount = attrs.get(sc.COST_AMOUNT)
        if not isinstance(amount, (int, float)):
            continue
        project = attrs.get(f"{sc.COST_ATTRIBUTION}.project")
        http = sc.HTTP_REQUEST_METHOD in attrs or sc.HTTP_METHOD in attrs
        model = attrs.get(sc.GEN_AI_RESPONSE_MODEL) or attrs.get(sc.GEN_AI_REQUEST_MODEL)
        ref = attrs.get(sc.COST_PRICE_REF)
        key = tuple(None if v is None else str(v) for v in (project, "http" if http else "llm", model, ref))
        # The attribute is a float; its shortest repr is the Decimal the processor computed.
        groups.setdefault(key, []).append(Decimal(repr(float(amount))))
    return [
        SpendRow(
            key=key,
            currency=CURRENCY,
            amount=sum(amounts, Decimal(0)),
            calls=len(amounts),
            unpriced_calls=0,
            error_calls=0,
            input_tokens=0,
            output_tokens=0,
        )
        for key, amounts in sorted(groups.items(), key=lambda kv: tuple(v or "" for v in kv[0]))
    ]


def _run_remote(send_to: str) -> DemoResult:
    catalog = load_catalog([catalog_path()])
    memory = InMemorySpanExporter()
    with ReplayServer(_interactions(len(USERS))) as server:
        answer = _drive(catalog, send_to, server, uuid.uuid4().hex, tee=memory)
        _check_replay(server)
    rows = _rows_from_spans(memory.get_finished_spans())
    return DemoResult(ledger=None, rows=rows, metric_total=None, answer=answer, sent_to=send_to)


def run_demo(ledger: str | Path | None = None, *, send_to: str | None = None) -> DemoResult:
    """Run the demo end to end; the in-process receiver writes ``ledger`` (a temporary file when
    None). With ``send_to`` (HOST:PORT of an OTLP/gRPC endpoint: a Collector or ``otel-cost
    serve``) no receiver is started here and the spans go there instead.

    Raises ``RuntimeError`` when a recorded response was not used or a request found none (the
    demo and its data disagree) or the spans could not be exported, so a broken demo never prints
    partial figures as if whole; ``ValueError`` for ``ledger`` together with ``send_to``.
    """
    if send_to is not None:
        if ledger is not None:
            raise ValueError("a ledger is written by the receiver at --send-to, not by the demo")
        return _run_remote(send_to)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if ledger is None:
        tmp = tempfile.TemporaryDirectory(prefix="otel-cost-demo-")
        ledger = Path(tmp.name) / "ledger.sqlite"
    ledger_path = str(ledger)
    catalog = load_catalog([catalog_path()])
    run_id = uuid.uuid4().hex
    config = ReceiverConfig(
        grpc_endpoint=Endpoint("127.0.0.1", 0),
        http_endpoint=None,
        prometheus_endpoint=Endpoint("127.0.0.1", 0),
        ledger=ledger_path,
    )
    receiver = Receiver(config, catalog=catalog)
    try:
        ports = receiver.start()
        assert ports.grpc is not None and ports.prometheus is not None
        with ReplayServer(_interactions(len(USERS))) as server:
            answer = _drive(catalog, f"127.0.0.1:{ports.grpc}", server, run_id)
            _check_replay(server)
        metric_total = _metric_total(ports.prometheus)
    finally:
        receiver.stop()
    try:
        with open_ledger(ledger_path) as book:
            rows: list[SpendRow] = book.spend(
                ["project", "kind", "model", "price_ref"], where={RUN_KEY: run_id}
            )
        return DemoResult(ledger=ledger_path, rows=rows, metric_total=metric_total, answer=answer)
    finally:
        if tmp is not None:
            tmp.cleanup()
