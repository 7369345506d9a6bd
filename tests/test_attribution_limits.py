"""Untrusted inbound baggage: a capped number of attribution keys, valid keys only.

Real SDK spans, a real W3C ``baggage`` header through the standard propagator, and the fixed
processor catalog (tests/processor/catalog.yaml: gpt-4o $2.50 per 1M input tokens, from
https://openai.com/api/pricing).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_cost import CostSpanProcessor
from otel_cost import semconv as sc
from otel_cost.attribution import (
    ATTRIBUTE_PREFIX,
    DEFAULT_CONFIG,
    MAX_BAGGAGE_KEYS,
    AttributionConfig,
    from_baggage,
)
from otel_cost.pricing import load_catalog

attribution_module = sys.modules["otel_cost.attribution"]  # the package re-exports the function
CATALOG_FILE = Path(__file__).parent / "processor" / "catalog.yaml"
GPT4O_CALL = {
    sc.GEN_AI_OPERATION_NAME: "chat",
    sc.GEN_AI_PROVIDER_NAME: "openai",
    sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
}


@pytest.fixture(autouse=True)
def _fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attribution_module, "_baggage_drop_warned", False)


@pytest.fixture
def pipeline() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    catalog = load_catalog([CATALOG_FILE], include_defaults=False)
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), catalog=catalog))
    yield provider, exporter
    provider.shutdown()


def _extract(header: str) -> Context:
    return W3CBaggagePropagator().extract({"baggage": header})


def _call(provider: TracerProvider, exporter: InMemorySpanExporter, ctx: Context) -> ReadableSpan:
    """One gpt-4o call of 1,000,000 input tokens: 1,000,000 x $2.50/1M = $2.50."""
    exporter.clear()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat gpt-4o", context=ctx, attributes=GPT4O_CALL) as span:
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 1_000_000)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0)
    (finished,) = exporter.get_finished_spans()
    return finished


def test_a_baggage_flood_cannot_push_the_call_off_its_span(
    pipeline: tuple[TracerProvider, InMemorySpanExporter], caplog: pytest.LogCaptureFixture
) -> None:
    """150 ``cost.*`` entries (W3C allows 180): without the cap the SDK's 128-attribute limit
    evicted gen_ai.request.model and the call went unpriced (no_model)."""
    header = ",".join(f"cost.k{i}=v{i}" for i in range(150)) + ",user.id=u-7"
    ctx = _extract(header)
    assert len(baggage.get_all(ctx)) == 151
    provider, exporter = pipeline
    with caplog.at_level(logging.WARNING, logger="otel_cost.attribution"):
        span = _call(provider, exporter, ctx)
        second = _call(provider, exporter, ctx)
    for finished in (span, second):
        attrs = finished.attributes or {}
        assert attrs[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o"
        assert attrs[sc.COST_STATUS] == "priced"
        assert attrs[sc.COST_AMOUNT] == 2.5
        from_bag = {k for k in attrs if k.startswith(ATTRIBUTE_PREFIX) and k != ATTRIBUTE_PREFIX + "service"}
        assert len(from_bag) == MAX_BAGGAGE_KEYS == 32
        # The configured name (user.id -> user) comes first although it is last in the header,
        # then the first 31 cost.<key> entries in header order.
        assert attrs[ATTRIBUTE_PREFIX + "user"] == "u-7"
        assert from_bag == {ATTRIBUTE_PREFIX + "user"} | {f"{ATTRIBUTE_PREFIX}k{i}" for i in range(31)}
    warnings = [r for r in caplog.records if r.name == "otel_cost.attribution"]
    assert len(warnings) == 1, "logged once, not once per span"
    assert "max_baggage_keys=32" in warnings[0].getMessage()
    assert "119 dropped" in warnings[0].getMessage()  # 150 cost.* entries - 31 kept


def test_a_cost_entry_overrides_a_configured_name_past_the_cap() -> None:
    """``cost.user`` wins over ``user.id`` (documented precedence) even when the cap is reached."""
    entries = {"user.id": "plain", "cost.a": "1", "cost.b": "2", "cost.user": "prefixed"}
    config = AttributionConfig(max_baggage_keys=2)
    assert from_baggage(entries, config) == {"user": "prefixed", "a": "1"}


def test_the_cap_is_configurable_and_zero_turns_baggage_off(caplog: pytest.LogCaptureFixture) -> None:
    entries = {f"cost.k{i}": "v" for i in range(5)}
    assert from_baggage(entries, AttributionConfig(max_baggage_keys=5)) == {f"k{i}": "v" for i in range(5)}
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="otel_cost.attribution"):
        assert from_baggage(entries, AttributionConfig(max_baggage_keys=0)) == {}
    assert "5 dropped" in caplog.text


@pytest.mark.parametrize("bad", [-1, 1.5, True, "32"])
def test_a_bad_cap_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="max_baggage_keys"):
        AttributionConfig(max_baggage_keys=bad)  # type: ignore[arg-type]


def test_invalid_keys_in_inbound_baggage_are_not_copied(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    """Keys must be ``[a-z][a-z0-9_]*``: an upper-case, dashed, dotted or empty key after
    ``cost.`` is not an attribution key and never reaches the span or a metric label."""
    header = "cost.Team=x,cost.cost-center=y,cost.a.b=z,cost.=e,cost.9lives=n,cost.project=search"
    ctx = _extract(header)
    assert from_baggage(baggage.get_all(ctx), DEFAULT_CONFIG) == {"project": "search"}
    provider, exporter = pipeline
    attrs = _call(provider, exporter, ctx).attributes or {}
    copied = {
        k: v for k, v in attrs.items() if k.startswith(ATTRIBUTE_PREFIX) and k != ATTRIBUTE_PREFIX + "service"
    }
    assert copied == {ATTRIBUTE_PREFIX + "project": "search"}
    assert attrs[sc.COST_AMOUNT] == 2.5
