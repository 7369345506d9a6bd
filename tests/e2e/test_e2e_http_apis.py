"""Paid non-LLM HTTP APIs: the real httpx and requests instrumentations calling a loopback API,
priced per call by a rule in a user catalog file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import requests
from e2e_support import Pipeline  # pyright: ignore[reportImplicitRelativeImport]
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor

from otel_cost import semconv as sc
from otel_cost.pricing import load_catalog
from otel_cost.replay import Interaction, ReplayServer

CATALOG = """\
version: 1
apis:
  - id: loopback-search
    host: 127.0.0.1
    method: GET
    path: /v1/search*
    per_call: "0.005"          # $0.005 a call
    source: test fixture
  - id: loopback-weather
    host: 127.0.0.1
    method: GET
    path: /weather
    per_1000_calls: "1.50"     # $1.50 per 1,000 calls = $0.0015 a call
    source: test fixture
"""


@pytest.fixture
def api_pipeline(make_pipeline: Callable[..., Pipeline], tmp_path: Path) -> Pipeline:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    return make_pipeline(catalog=load_catalog([path]))


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    ok = (("content-type", "application/json"),)
    interactions = [Interaction("GET", "/v1/search", 200, b'{"hits": []}', ok) for _ in range(3)]
    interactions += [Interaction("GET", "/weather", 200, b'{"t": 21}', ok) for _ in range(2)]
    interactions += [Interaction("GET", "/free", 200, b"{}", ok)]
    with ReplayServer(interactions) as srv:
        yield srv


def _http_spans(pipeline: Pipeline) -> list[dict[str, object]]:
    """HTTP client spans, in the old (``http.method``, the instrumentations' default) or the new
    (``http.request.method``) HTTP semantic conventions."""
    return [
        dict(s.attributes or {})
        for s in pipeline.spans()
        if s.attributes and (sc.HTTP_REQUEST_METHOD in s.attributes or sc.HTTP_METHOD in s.attributes)
    ]


def _url(span: dict[str, object]) -> str:
    return str(span.get(sc.URL_FULL, span.get(sc.HTTP_URL, "")))


def test_httpx_calls_priced_per_call(api_pipeline: Pipeline, server: ReplayServer) -> None:
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=api_pipeline.tracer_provider)
    try:
        with httpx.Client() as client:
            for _ in range(3):
                client.get(f"{server.url}/v1/search", params={"q": "otel", "api_key": "sk-secret"})
            client.get(f"{server.url}/weather")
            client.get(f"{server.url}/free")
    finally:
        instrumentor.uninstrument()
    spans = _http_spans(api_pipeline)
    assert len(spans) == 5
    costs = sorted(float(s.get(sc.COST_AMOUNT, 0.0)) for s in spans)  # type: ignore[arg-type]
    assert costs == [0.0, 0.0015, 0.005, 0.005, 0.005]
    for span in spans:
        assert "sk-secret" not in _url(span)
    free = [s for s in spans if _url(s).endswith("/free")]
    assert len(free) == 1 and sc.COST_STATUS not in free[0]  # no rule: not a paid API


def test_requests_calls_priced_per_call(api_pipeline: Pipeline, server: ReplayServer) -> None:
    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=api_pipeline.tracer_provider)
    try:
        with requests.Session() as session:
            session.get(f"{server.url}/v1/search?q=1", timeout=5)
            session.get(f"{server.url}/weather", timeout=5)
    finally:
        instrumentor.uninstrument()
    spans = _http_spans(api_pipeline)
    assert sorted(float(s[sc.COST_AMOUNT]) for s in spans) == [0.0015, 0.005]  # type: ignore[arg-type]
    refs = sorted(str(s[sc.COST_PRICE_REF]).split("@", 1)[0] for s in spans)
    assert refs == ["api/loopback-search", "api/loopback-weather"]
