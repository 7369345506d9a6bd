"""The Grafana dashboards query metrics that exist.

End to end: spans go with the real OTLP gRPC exporter into `otel-cost serve` (a subprocess on
loopback), a real Prometheus (the Debian `prometheus` binary, started here on a free loopback port
with exemplar storage on) scrapes the receiver every second, and every PromQL query of every
dashboard panel, with Grafana's variables replaced by concrete values, must return data. The
Tempo (TraceQL) panels cannot run here (no Tempo binary): they are checked for the attributes they
read and their query type only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_cost import semconv as sc
from tests.conftest import free_port
from tests.receiver.harness import prometheus_binary

GRAFANA = Path(__file__).resolve().parent.parent / "examples" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

# Grafana's variables as the test substitutes them: the range covers the whole test, the rate
# interval holds several 1-second scrapes, every template variable means "all".
GRAFANA_VARIABLES = {
    "${currency}": "USD",
    "$__rate_interval": "30s",
    "$__interval": "5s",
    "$__range": "10m",
    "$project": ".*",
    "$service": ".*",
}


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def promql_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) of every Prometheus target."""
    out: list[tuple[str, str, str]] = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                ds = target.get("datasource") or panel.get("datasource") or {}
                if ds.get("type") == "prometheus":
                    out.append((path.name, panel["title"], target["expr"]))
    return out


def traceql_queries() -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    for path in DASHBOARDS:
        for panel in _panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                ds = target.get("datasource") or panel.get("datasource") or {}
                if ds.get("type") == "tempo":
                    out.append((path.name, panel["title"], target))
    return out


def substitute(expr: str) -> str:
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name])
    leftover = re.findall(r"\$\w+", expr)
    assert not leftover, f"unsubstituted Grafana variables {leftover} in {expr}"
    return expr


# ---- static checks ---------------------------------------------------------------------------


def test_dashboards_exist_and_cover_the_brief() -> None:
    assert DASHBOARDS, "no dashboards in examples/grafana/dashboards"
    exprs = " ".join(expr for _, _, expr in promql_queries())
    for needle in (
        "cost_spend_${currency}_total",
        "cost_calls_total",
        "cost_tokens_total",
        "cost_unpriced_calls_total",
        "gen_ai_client_token_usage_bucket",
        "gen_ai_client_operation_duration_seconds_bucket",
        "by (cost_attribution_project)",
        "by (cost_attribution_cost_center)",
        "gen_ai_request_model",
        "by (gen_ai_provider_name)",
        "cost_attribution_user",
        "cost_attribution_session",
        "by (gen_ai_token_type)",
        "by (cost_reason",
        "by (error_type)",
    ):
        assert needle in exprs, f"no panel query uses {needle}"


def test_dashboard_uids_and_datasources_match_provisioning() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "otel-cost.yaml").read_text())
    uids = {ds["uid"]: ds for ds in provisioned["datasources"]}
    assert uids["prometheus"]["type"] == "prometheus" and uids["tempo"]["type"] == "tempo"
    destinations = uids["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    # The receiver's exemplars carry the trace id under the label `trace_id`.
    assert {"name": "trace_id", "datasourceUid": "tempo"} in [
        {"name": d["name"], "datasourceUid": d["datasourceUid"]} for d in destinations
    ]
    seen_uids: set[str] = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] not in seen_uids
        seen_uids.add(dashboard["uid"])
        # Datasources are picked by variables of type `datasource`, so the dashboard imports into
        # any Grafana (whatever its datasources' uids); the provisioned ones are the defaults.
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        by_type = {v["query"]: f"${{{name}}}" for name, v in variables.items() if v["type"] == "datasource"}
        assert set(by_type) == {"prometheus", "tempo"}, path.name
        for panel in _panels(dashboard):
            for target in [panel, *panel.get("targets", [])]:
                ds = target.get("datasource")
                if ds is not None:
                    assert ds == {"type": ds["type"], "uid": by_type[ds["type"]]}, (
                        f"{path.name}: {panel['title']}"
                    )
            if panel["type"] != "row":
                assert panel.get("datasource") or all(t.get("datasource") for t in panel.get("targets", []))
        for variable in variables.values():
            if "datasource" in variable:
                assert variable["datasource"]["uid"] == by_type["prometheus"], variable["name"]
        assert '"uid": "prometheus"' not in path.read_text() and '"uid": "tempo"' not in path.read_text()
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "otel-cost.yaml").read_text())
    assert providers["providers"][0]["type"] == "file"


def test_spend_panels_offer_exemplars() -> None:
    spend_panels = [
        panel
        for path in DASHBOARDS
        for panel in _panels(json.loads(path.read_text()))
        if panel.get("type") == "timeseries"
        and any("cost_spend_${currency}_total" in t.get("expr", "") for t in panel.get("targets", []))
    ]
    assert spend_panels
    assert any(t.get("exemplar") for p in spend_panels for t in p["targets"])


def test_traceql_panels_sum_cost_amount() -> None:
    targets = traceql_queries()
    assert targets, "no Tempo panel"
    queries = [t["query"] for _, _, t in targets]
    assert any("sum_over_time(span.cost.amount)" in q for q in queries)
    assert any("status = error" in q for q in queries)
    for _, title, target in targets:
        # Grafana's Tempo datasource runs search and metrics queries as queryType `traceql`; a
        # metrics query (`| rate()`, `| sum_over_time(...)`) also names its metricsQueryType.
        assert target["queryType"] == "traceql", title
        query = target["query"]
        is_metrics = re.search(r"\|\s*(rate|\w+_over_time)\(", query) is not None
        assert (target.get("metricsQueryType") in {"range", "instant"}) == is_metrics, title
        assert query.count("{") == query.count("}") and query.count("(") == query.count(")"), title
        # Every span attribute a TraceQL panel reads is one otel-cost writes or reads.
        for attr in re.findall(r"span\.([a-z_.]+[a-z_])", query):
            assert attr in vars(sc).values(), f"{title}: span.{attr} is not in the semconv registry"


# ---- the live run: receiver -> Prometheus -> every panel query ---------------------------------


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last error: {last_error})")


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """`otel-cost serve` on free loopback ports; yields the ports it reports."""
    tmp = tmp_path_factory.mktemp("receiver")
    cmd = [
        sys.executable,
        "-m",
        "otel_cost",
        "serve",
        "--grpc-endpoint",
        "127.0.0.1:0",
        "--http-endpoint",
        "127.0.0.1:0",
        "--prometheus-endpoint",
        "127.0.0.1:0",
        "--ledger",
        str(tmp / "ledger.sqlite"),
        "--high-cardinality-keys",
        "user,session",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_COST_")}
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.wait(10)
            raise AssertionError(f"otel-cost serve exited: {(tmp / 'serve.log').read_text()}")
        ready = json.loads(line)
        yield {"grpc": ready["grpc"], "prometheus": ready["prometheus"]}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


@pytest.fixture(scope="module")
def prometheus(receiver: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus scraping the receiver every second; yields its base URL."""
    with _prometheus(receiver, tmp_path_factory) as url:
        yield url


@contextmanager
def _prometheus(receiver: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = prometheus_binary()
    tmp = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "otel-cost",
                "scrape_interval": "1s",
                "static_configs": [{"targets": [f"127.0.0.1:{receiver['prometheus']}"]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--enable-feature=exemplar-storage",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _ready(url), 30, "prometheus to be ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
        return response.status == 200


# One batch of calls, sent twice (so every counter series has grown between two scrapes and
# increase() over it is positive). Token counts follow the semconv usage convention (input
# includes cached, output includes reasoning).
CALLS: list[dict[str, Any]] = [
    {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1200,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1000,
        f"{sc.COST_ATTRIBUTION}.project": "search",
        f"{sc.COST_ATTRIBUTION}.cost_center": "cc-42",
        sc.USER_ID: "u-1",
        sc.SESSION_ID: "s-1",
    },
    {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "o3-mini",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 500,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 800,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 600,
        f"{sc.COST_ATTRIBUTION}.project": "support",
        f"{sc.COST_ATTRIBUTION}.cost_center": "cc-7",
        sc.USER_ID: "u-2",
        sc.SESSION_ID: "s-2",
    },
    {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "anthropic",
        sc.GEN_AI_REQUEST_MODEL: "claude-3-5-haiku-20241022",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 2000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1500,
        f"{sc.COST_ATTRIBUTION}.project": "search",
        sc.USER_ID: "u-1",
        sc.SESSION_ID: "s-3",
        "error": True,  # status ERROR, no error.type on the span: counted under _OTHER
    },
    {
        # The client gave up after the provider had billed the answer.
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 400,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
        f"{sc.COST_ATTRIBUTION}.project": "support",
        sc.ERROR_TYPE: "timeout",
        "error": True,
    },
    {
        # Priced upstream in EUR (an SDK processor with a EUR catalog): its own cost_spend_EUR_total.
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "mistral_ai",
        sc.GEN_AI_REQUEST_MODEL: "mistral-large-latest",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
        sc.COST_AMOUNT: 0.25,
        sc.COST_CURRENCY: "EUR",
        sc.COST_STATUS: "priced",
        f"{sc.COST_ATTRIBUTION}.project": "search",
    },
    {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "no-such-model-xyz",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 10,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
        f"{sc.COST_ATTRIBUTION}.project": "search",
    },
]


def _send(grpc_port: int, batches: int) -> None:
    provider = TracerProvider(resource=Resource.create({sc.SERVICE_NAME: "dashboard-test"}))
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.dashboards")
    for _ in range(batches):
        for call in CALLS:
            attrs = {k: v for k, v in call.items() if k != "error"}
            name = f"{call[sc.GEN_AI_OPERATION_NAME]} {call[sc.GEN_AI_REQUEST_MODEL]}"
            with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attrs) as span:
                if call.get("error"):
                    span.set_status(Status(StatusCode.ERROR, "stream interrupted"))
    provider.shutdown()


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    body = _get_json(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.fixture(scope="module")
def populated(receiver: dict[str, int], prometheus: str) -> str:
    """Prometheus after two rounds of calls, each seen by at least one scrape."""
    _send(receiver["grpc"], 1)
    _wait(lambda: _query(prometheus, "cost_calls_total"), 30, "the first scrape with cost metrics")
    first = sum(float(s["value"][1]) for s in _query(prometheus, "cost_calls_total"))
    _send(receiver["grpc"], 1)
    _wait(
        lambda: sum(float(s["value"][1]) for s in _query(prometheus, "cost_calls_total")) >= 2 * first,
        30,
        "the second round to be scraped",
    )
    time.sleep(2)  # two more scrapes, so rate windows hold the final values
    return prometheus


@pytest.mark.parametrize(("dashboard", "title", "expr"), promql_queries(), ids=lambda v: str(v)[:60])
def test_panel_query_returns_data(populated: str, dashboard: str, title: str, expr: str) -> None:
    result = _query(populated, substitute(expr))
    assert result, f"{dashboard}: panel {title!r} returned no data for {substitute(expr)}"
    values = [float(sample["value"][1]) for sample in result]
    assert any(v > 0 for v in values), f"{dashboard}: panel {title!r} returned only zeros: {result}"


def test_failed_call_spend_by_error_type(populated: str) -> None:
    """The failed-calls panel splits spend by error.type: the span's value, else ``_OTHER``."""
    title = "Spend on failed calls by error type (${currency})"
    (expr,) = [e for _, panel, e in promql_queries() if panel == title]
    by_type = {
        s["metric"].get("error_type"): float(s["value"][1]) for s in _query(populated, substitute(expr))
    }
    assert set(by_type) == {"_OTHER", "timeout"}
    assert all(v > 0 for v in by_type.values())


def test_spend_exemplars_carry_trace_ids(populated: str) -> None:
    """Exemplar storage on: the spend series carry the priced spans' trace ids (Grafana -> Tempo)."""
    now = time.time()
    params = urllib.parse.urlencode({"query": "cost_spend_USD_total", "start": now - 600, "end": now})
    body = _get_json(f"{populated}/api/v1/query_exemplars?{params}")
    assert body["status"] == "success", body
    exemplars = [e for series in body["data"] for e in series["exemplars"]]
    assert exemplars, "no exemplars on cost_spend_USD_total"
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["labels"]["trace_id"]) for e in exemplars)


def test_currency_variable_selects_one_currency(populated: str) -> None:
    """Spend in EUR is its own series (cost_spend_EUR_total), offered by the dashboard's currency
    variable, and never part of the USD panels: 2 rounds x 0.25 EUR = 0.5 EUR."""
    dashboard = json.loads(DASHBOARDS[0].read_text())
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "currency"]
    match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
    assert match is not None
    params = urllib.parse.urlencode({"match[]": match.group(1)})
    body = _get_json(f"{populated}/api/v1/label/{match.group(2)}/values?{params}")
    assert set(body["data"]) == {"EUR", "USD"}
    (expr,) = [e for _, title, e in promql_queries() if title == "Spend in range (${currency})"]
    eur = _query(populated, substitute(expr).replace("cost_spend_USD_total", "cost_spend_EUR_total"))
    assert eur and float(eur[0]["value"][1]) > 0  # the panel with currency = EUR
    total = _query(populated, 'sum(cost_spend_EUR_total{cost_currency="EUR"})')
    assert [round(float(s["value"][1]), 9) for s in total] == [0.5]
    usd = _query(populated, 'sum(cost_spend_USD_total{gen_ai_request_model="mistral-large-latest"})')
    assert usd == []


@pytest.fixture(scope="module")
def second_prometheus(receiver: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The other half of an HA pair: a second Prometheus scraping the same receiver."""
    with _prometheus(receiver, tmp_path_factory) as url:
        yield url


def test_both_servers_of_an_ha_pair_get_the_exemplars(populated: str, second_prometheus: str) -> None:
    """A scrape does not consume exemplars: both Prometheus servers scraping the receiver store
    the spend exemplars (the SDK's reservoirs handed each exemplar to one collection only)."""
    traces: list[set[str]] = []
    for url in (populated, second_prometheus):
        _wait(lambda url=url: _exemplar_traces(url), 30, f"exemplars in {url}")
        traces.append(_exemplar_traces(url))
    assert traces[0] & traces[1], traces


def _exemplar_traces(url: str) -> set[str]:
    now = time.time()
    params = urllib.parse.urlencode({"query": "cost_spend_USD_total", "start": now - 600, "end": now})
    body = _get_json(f"{url}/api/v1/query_exemplars?{params}")
    return {e["labels"]["trace_id"] for series in body["data"] for e in series["exemplars"]}
