"""Pipeline and SpanPipeline failure paths: what a failing forward or a failing engine leaves."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from otel_cost.ledger import open_ledger
from otel_cost.pricing import default_catalog, load_catalog
from otel_cost.receiver.pipeline import Pipeline
from otel_cost.receiver.spans import SpanPipeline
from tests.receiver.otlp_builders import GPT4O_CALL, chat_attrs, request, span


def test_a_failing_forward_neither_fails_the_export_nor_stops_the_committer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The records are committed before the forward: an exception from the forward callable is
    logged, the export is acknowledged, and later exports are still committed (the committer
    thread survives)."""
    calls: list[bytes] = []

    def broken_forward(payload: bytes) -> None:
        calls.append(payload)
        raise RuntimeError("forward queue broken")

    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    pipeline = Pipeline(
        SpanPipeline(default_catalog()), ledger, None, forward=broken_forward, commit_timeout_s=5.0
    )
    try:
        with caplog.at_level(logging.ERROR, logger="otel_cost.receiver.pipeline"):
            first = pipeline.export(request([span(1, chat_attrs())]))
            second = pipeline.export(request([span(2, chat_attrs())]))
            # No billable span: forwarded straight away, outside the committer.
            third = pipeline.export(request([span(3, {"gen_ai.operation.name": "execute_tool"})]))
        assert (first.rejected_spans, second.rejected_spans, third.rejected_spans) == (0, 0, 0)
        assert len(calls) == 3
        assert "forwarding an enriched request failed" in caplog.text
        rows = ledger.calls()  # type: ignore[attr-defined]
        assert sorted(row.amount for row in rows) == [GPT4O_CALL, GPT4O_CALL]
    finally:
        pipeline.close(5.0)
        ledger.close()


class _FailingTokenCatalog:
    """The embedded catalog, except that ``price_tokens`` raises. A stub: the real catalog
    catches its own errors, so an engine bug can only be simulated."""

    def __init__(self) -> None:
        self._real = default_catalog()

    def price_tokens(self, model: str, usage: object, **_: object) -> object:
        raise RuntimeError(f"engine bug pricing {model}")

    def price_http(self, **kwargs: object) -> object:
        return self._real.price_http(**kwargs)  # type: ignore[arg-type]


def test_a_span_the_engine_fails_on_is_recorded_unpriced_and_the_rest_is_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As ``SpanPipeline.process`` promises: logged and recorded as unpriced (``internal_error``),
    so it shows in ``cost.unpriced.calls`` and the ledger instead of vanishing; other spans of the
    request are still processed."""
    pipeline = SpanPipeline(_FailingTokenCatalog())  # type: ignore[arg-type]
    tool = span(2, {"gen_ai.operation.name": "execute_tool"})
    with caplog.at_level(logging.ERROR, logger="otel_cost.receiver.spans"):
        out = pipeline.process(request([span(1, chat_attrs()), tool]), enrich=True)
    assert "pricing failed on span" in caplog.text
    assert (out.spans, out.rejected_spans) == (2, 0)
    (record,) = out.records
    assert record.span_id == (2).to_bytes(8, "big")
    assert (record.result.status, record.result.reason) == ("unpriced", "internal_error")
    assert (record.provider, record.model, record.kind) == ("openai", "gpt-4o", "llm")
    assert record.usage is not None and record.usage.input_tokens == 1000


def test_forwarded_http_spans_carry_no_url_credentials(tmp_path: Path) -> None:
    """As the SDK processor does on spans it enriches: userinfo and key-like query values in
    ``url.full`` are replaced when the request is forwarded, priced or not; other values stay."""
    rules = tmp_path / "apis.yaml"
    rules.write_text(
        "version: 1\napis:\n  - {id: search, host: api.search.example, path: /v1/*, per_call: '0.005'}\n",
        encoding="utf-8",
    )
    pipeline = SpanPipeline(load_catalog([rules]))
    secret = "https://bob:hunter2@api.search.example/v1/search?q=otel&api_key=sk-123"
    unknown = "https://user:pw@other.example/x?token=abc&page=2"
    plain = "https://api.search.example/v1/search?q=otel"
    spans = [
        span(n, {"http.request.method": "GET", "url.full": url, "server.address": urlsplit(url).hostname})
        for n, url in enumerate((secret, unknown, plain), start=1)
    ]
    req = request(spans)
    out = pipeline.process(req, enrich=True)
    urls = [
        next(kv.value.string_value for kv in s.attributes if kv.key == "url.full")
        for s in req.resource_spans[0].scope_spans[0].spans
    ]
    assert urls[0] == "https://REDACTED:REDACTED@api.search.example/v1/search?q=otel&api_key=REDACTED"
    assert urls[1] == "https://REDACTED:REDACTED@other.example/x?token=REDACTED&page=2"
    assert urls[2] == plain
    assert [r.result.amount for r in out.records if r.result.priced] == [Decimal("0.005"), Decimal("0.005")]
    # Not forwarded (enrich=False): the receiver leaves the spans as they came.
    untouched = request([span(9, {"http.request.method": "GET", "url.full": secret})])
    pipeline.process(untouched, enrich=False)
    (kept,) = untouched.resource_spans[0].scope_spans[0].spans
    assert next(kv.value.string_value for kv in kept.attributes if kv.key == "url.full") == secret
