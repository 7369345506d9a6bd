"""The receiver and the SDK processor give the same span the same cost, tokens and attributes.

Each test sends one set of attributes through both: a real ``TracerProvider`` with
``CostSpanProcessor`` and an in-memory exporter, and ``SpanPipeline.process`` on a raw OTLP
protobuf (as forwarded, ``enrich=True``).

Token counts: tiktoken ``o200k_base`` (gpt-4o) with OpenAI's chat accounting, 3 tokens priming
the reply + 3 per message + role + content: "user" is 1 token, "Say hello" 2 ("Say", " hello"),
so input = 3 + 3 + 1 + 2 = 9; "Hello!" is 2 tokens ("Hello", "!"), so output = 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_cost import CostSpanProcessor
from otel_cost.pricing import default_catalog
from otel_cost.receiver.spans import SpanPipeline, any_value
from otel_cost.record import CostRecord
from tests.receiver.otlp_builders import CONTENT_ONLY_CHAT, chat_attrs, request, span

_COMPARED_PREFIXES = ("cost.", "gen_ai.usage.")


def _through_processor(attrs: Mapping[str, object]) -> dict[str, object]:
    """The attributes the SDK processor exports for a client span with ``attrs``."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))  # as request()
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), catalog=default_catalog()))
    try:
        with provider.get_tracer("parity").start_as_current_span(
            "chat",
            kind=SpanKind.CLIENT,
            attributes=dict(attrs),  # type: ignore[arg-type]
        ):
            pass
        provider.force_flush()
        (exported,) = exporter.get_finished_spans()
        return dict(exported.attributes or {})
    finally:
        provider.shutdown()


def _through_receiver(attrs: Mapping[str, object]) -> tuple[CostRecord, dict[str, object]]:
    """The record and the forwarded attributes the receiver makes of a span with ``attrs``."""
    req = request([span(1, attrs)])
    out = SpanPipeline(default_catalog()).process(req, enrich=True)
    (record,) = out.records
    forwarded = req.resource_spans[0].scope_spans[0].spans[0].attributes
    return record, {kv.key: any_value(kv.value) for kv in forwarded}


def _cost_and_usage(attributes: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in attributes.items() if k.startswith(_COMPARED_PREFIXES)}


def test_usage_is_estimated_beside_a_provider_reported_cost_as_the_processor_does() -> None:
    """A provider-reported cost is kept as the amount, and the missing usage is still counted
    from the content on both sides (ledger tokens, forwarded ``gen_ai.usage.*`` and
    ``cost.usage.estimated`` agree)."""
    attrs = {**CONTENT_ONLY_CHAT, "gen_ai.usage.cost.amount": 0.0125, "gen_ai.usage.cost.source": "provider"}
    record, forwarded = _through_receiver(attrs)
    processed = _through_processor(attrs)
    assert record.result.amount == Decimal("0.0125")  # the provider's figure, not the catalog's
    assert record.result.source == "provider"
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens) == (9, 2)  # see module docstring
    assert record.usage_estimated is True
    assert forwarded["gen_ai.usage.input_tokens"] == 9
    assert forwarded["gen_ai.usage.output_tokens"] == 2
    assert forwarded["cost.usage.estimated"] is True
    assert forwarded["cost.amount"] == 0.0125
    assert _cost_and_usage(forwarded) == _cost_and_usage(processed)


def test_a_span_with_only_cost_amount_is_kept_as_priced_not_repriced() -> None:
    """``cost.amount`` without ``cost.status`` marks a span priced upstream: the processor leaves
    it alone, so the receiver records that amount and forwards the span unchanged, instead of
    pricing it from its usage (gpt-4o, 1000 + 200 tokens would be 0.0045) and overwriting it."""
    attrs = {**chat_attrs(), "cost.amount": 0.5}
    record, forwarded = _through_receiver(attrs)
    processed = _through_processor(attrs)
    assert (record.result.status, record.result.amount) == ("priced", Decimal("0.5"))
    assert record.result.currency == "USD"
    assert forwarded == attrs  # nothing added, nothing overwritten
    assert _cost_and_usage(processed) == _cost_and_usage(attrs)


def test_an_invalid_upstream_cost_is_recorded_unpriced_not_repriced() -> None:
    """A span marked priced upstream whose amount is not a number (or missing beside an unknown
    ``cost.status``) is recorded unpriced with a reason, and forwarded as it came."""
    for marker in ({"cost.amount": "lots"}, {"cost.status": "bogus"}):
        attrs = {**chat_attrs(), **marker}
        record, forwarded = _through_receiver(attrs)
        assert (record.result.status, record.result.reason) == ("unpriced", "invalid_upstream_cost")
        assert record.result.amount == 0
        assert forwarded == attrs
