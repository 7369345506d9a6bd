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
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client.parser import text_string_to_metric_families

from otel_cost import semconv as sc
from otel_cost.attribution import attribution
from otel_cost.demo.agent import index_document, run_agent
from otel_cost.ledger import SpendRow, open_ledger
from otel_cost.pricing import PriceCatalog, load_catalog
from otel_cost.processor import CostSpanProcessor
from otel_cost.receiver.app import Receiver
from otel_cost.receiver.config import Endpoint, ReceiverConfig
from otel_cost.receiver.prometheus import metric_name
from otel_cost.replay import Interaction, ReplayServer

SERVICE_NAME = "otel-cost-demo"
USERS: tuple[tuple[str, str], ...] = (("alice", "s-alice-1"), ("bob", "s-bob-1"), ("carol", "s-carol-1"))
"""(user, session) of each agent run."""
AGENT_PROJECT = ("travel-assistant", "cc-travel")
INDEXER_PROJECT = ("knowledge-base", "cc-platform")
RUN_KEY = "demo_run"
"""Attribution key marking this run's calls, so a reused ledger reports only this run."""

_DATA = "data"
_LOCATIONS = ("Seattle, WA", "San Francisco, CA")
_JSON = (("content-type", "application/json"),)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What a demo run did and what otel-cost accounted for it."""

    ledger: str
    """The ledger path the receiver wrote."""
    rows: list[SpendRow]
    """Spend of this run grouped by (project, kind, model, price_ref), from the ledger."""
    metric_total: float
    """Sum of the receiver's ``cost_spend_USD_total`` series after the run."""
    answer: str
    """The agent's last answer."""

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
    wanted = metric_name(sc.METRIC_COST_SPEND) + "_USD_total"
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == wanted
    )


def _drive(catalog: PriceCatalog, grpc_port: int, server: ReplayServer, run_id: str) -> str:
    """Run the agent for every user and the indexer once, with instrumented clients."""
    provider = TracerProvider(resource=Resource.create({sc.SERVICE_NAME: SERVICE_NAME}))
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)
    provider.add_span_processor(CostSpanProcessor(BatchSpanProcessor(exporter), catalog=catalog))
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
    return answer


def run_demo(ledger: str | Path | None = None) -> DemoResult:
    """Run the demo end to end; the receiver writes ``ledger`` (a temporary file when None).

    Raises ``RuntimeError`` when a recorded response was not used or a request found none (the
    demo and its data disagree), so a broken demo never prints partial figures as if whole.
    """
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
            answer = _drive(catalog, ports.grpc, server, run_id)
            missed = [r for r in server.received if not r.matched]
            if missed or server.unused:
                raise RuntimeError(
                    f"demo replay out of step: unmatched requests {[(r.method, r.path) for r in missed]},"
                    f" unused responses {[(i.method, i.path) for i in server.unused]}"
                )
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
