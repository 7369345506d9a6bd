"""``serve`` settings that reach the pricing of each span: which span and resource attributes
name attribution keys (``--span-attribution``, ``--resource-attribution``) and whether missing
usage is counted from the content (``--estimate-tokens``). Real in-process receiver, real OTLP/gRPC
export, real SQLite ledger.

Every priced call here is ``chat_attrs()``'s gpt-4o call, ``GPT4O_CALL`` (0.0045 USD, derived in
tests/receiver/otlp_builders.py).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_cost import CostSpanProcessor
from otel_cost.pricing import default_catalog
from otel_cost.receiver.app import attribution_config
from otel_cost.receiver.config import load_config
from otel_cost.receiver.spans import SpanPipeline, any_value
from tests.receiver.otlp_builders import (
    CONTENT_ONLY_CHAT,
    GPT4O_CALL,
    chat_attrs,
    grpc_export,
    kv,
    request,
    running_receiver,
    span,
)


def _with_team(req: ExportTraceServiceRequest, team: str) -> ExportTraceServiceRequest:
    req.resource_spans[0].resource.attributes.append(kv("team.name", team))
    return req


def test_configured_attributes_name_attribution_keys_before_the_built_in_ones(tmp_path: Path) -> None:
    config = load_config(
        {
            "span_attribution": "app.tenant_id=tenant,app.customer=user",
            "resource_attribution": "team.name=cost_center",
        },
        environ={},
    )
    tagged = {**chat_attrs(), "app.tenant_id": "acme", "app.customer": "c-7", "enduser.id": "u-1"}
    untagged = {**chat_attrs(), "enduser.id": "u-2"}
    with running_receiver(
        tmp_path, span_attribution=config.span_attribution, resource_attribution=config.resource_attribution
    ) as (receiver, ledger):
        grpc_export(receiver.ports.grpc, _with_team(request([span(1, tagged), span(2, untagged)]), "search"))
        rows = list(ledger.calls())  # type: ignore[attr-defined]
    assert [(row.amount, dict(row.attribution)) for row in rows] == [
        # app.customer is listed before the built-in enduser.id, so it names the user.
        (
            GPT4O_CALL,
            {"tenant": "acme", "user": "c-7", "cost_center": "search", "service": "checkout"},
        ),
        # Without the configured attribute the built-in one still applies.
        (GPT4O_CALL, {"user": "u-2", "cost_center": "search", "service": "checkout"}),
    ]


def test_the_receiver_attributes_as_the_processor_does_with_the_same_mapping() -> None:
    """One mapping, two paths: ``CostSpanProcessor(attribution_config=...)`` on a real SDK span and
    the receiver's pipeline on the same attributes give the same ``cost.attribution.*``."""
    config = load_config(
        {"span_attribution": "app.tenant_id=tenant", "resource_attribution": "team.name=cost_center"},
        environ={},
    )
    mapping = attribution_config(config)
    attrs = {**chat_attrs(), "app.tenant_id": "acme"}
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "team.name": "search"}))
    provider.add_span_processor(
        CostSpanProcessor(
            SimpleSpanProcessor(exporter), catalog=default_catalog(), attribution_config=mapping
        )
    )
    with provider.get_tracer("t").start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=attrs):  # type: ignore[arg-type]
        pass
    provider.shutdown()
    (exported,) = exporter.get_finished_spans()
    sdk = {k: v for k, v in (exported.attributes or {}).items() if k.startswith("cost.attribution.")}

    req = _with_team(request([span(1, attrs)]), "search")
    SpanPipeline(default_catalog(), attribution=mapping).process(req, enrich=True)
    forwarded = {
        kv.key: any_value(kv.value) for kv in req.resource_spans[0].scope_spans[0].spans[0].attributes
    }
    received = {k: v for k, v in forwarded.items() if k.startswith("cost.attribution.")}
    assert (
        sdk
        == received
        == {
            "cost.attribution.tenant": "acme",
            "cost.attribution.cost_center": "search",
            "cost.attribution.service": "checkout",
        }
    )


def test_estimate_tokens_off_leaves_a_span_without_usage_unpriced(tmp_path: Path) -> None:
    """With estimation on (the default) this span is priced from 9 + 2 counted tokens
    (test_receiver_exports); off, nothing is guessed: unpriced for want of usage, not $0 priced."""
    config = load_config({"estimate_tokens": "off"}, environ={})
    assert config.estimate_tokens is False
    with running_receiver(tmp_path, estimate_tokens=config.estimate_tokens) as (receiver, ledger):
        grpc_export(receiver.ports.grpc, request([span(1, CONTENT_ONLY_CHAT), span(2, chat_attrs())]))
        rows = list(ledger.calls())  # type: ignore[attr-defined]
    assert [(row.status, row.input_tokens, row.amount) for row in rows] == [
        ("unpriced", 0, Decimal(0)),
        ("priced", 1000, GPT4O_CALL),
    ]
    pipeline = SpanPipeline(default_catalog(), estimate=False)
    out = pipeline.process(request([span(1, CONTENT_ONLY_CHAT)]), enrich=False)
    (record,) = out.records
    assert (record.result.status, record.result.reason, record.usage) == ("unpriced", "no_usage", None)
