"""Cost metrics stay exact at any trace sampling rate when the sampler records what it drops."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanKind
from processor_support import Setup  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import RecordAllSampler
from otel_cost import semconv as sc


def test_one_percent_sampling_ten_thousand_calls_exact_total(make_setup: Callable[..., Setup]) -> None:
    setup = make_setup(sampler=RecordAllSampler(TraceIdRatioBased(0.01)))
    tracer = setup.provider.get_tracer("test")
    rng = random.Random(7)
    exact = Decimal(0)
    for _ in range(10_000):
        tokens_in, tokens_out = rng.randint(1, 5000), rng.randint(1, 2000)
        # acme-chat: $1/M input, $2/M output (tests/processor/catalog.yaml)
        exact += (Decimal(tokens_in) * 1 + Decimal(tokens_out) * 2) / Decimal(1_000_000)
        with tracer.start_as_current_span(
            "chat",
            kind=SpanKind.CLIENT,
            attributes={
                sc.GEN_AI_PROVIDER_NAME: "acme",
                sc.GEN_AI_REQUEST_MODEL: "acme-chat",
                sc.GEN_AI_USAGE_INPUT_TOKENS: tokens_in,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
            },
        ):
            pass
    exported = setup.finished()
    assert 50 < len(exported) < 200  # about 1% of the traces were exported
    data = setup.metrics()
    assert data is not None
    points = {
        m.name: list(m.data.data_points)  # type: ignore[union-attr]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    (calls,) = points[sc.METRIC_COST_CALLS]
    assert calls.value == 10_000  # type: ignore[union-attr]
    (spend,) = points[sc.METRIC_COST_SPEND]
    # The counter is a float sum of 10,000 float(Decimal) amounts; it equals the exact Decimal
    # total to float precision (relative error < 1e-12, i.e. far below a millionth of a cent here).
    assert spend.value == pytest.approx(float(exact), rel=1e-12)  # type: ignore[union-attr]
    # Exemplars point only at traces that were exported.
    exported_ids = {s.context.trace_id for s in exported if s.context is not None}
    for exemplar in spend.exemplars:
        assert exemplar.trace_id in exported_ids


def test_sdk_always_record_sampler_loses_start_attributes(make_setup: Callable[..., Setup]) -> None:
    """Why RecordAllSampler exists: with the SDK's AlwaysRecordSampler a dropped span keeps none of
    the attributes given to start_span (the SDK samplers return none on DROP), so a call whose
    model is set at start cannot be priced; attributes set later (usage) survive. With
    RecordAllSampler the same span is priced."""
    always_record = getattr(sampling, "AlwaysRecordSampler", None)  # added to the SDK after 1.40
    if always_record is None:
        pytest.skip("this opentelemetry-sdk has no AlwaysRecordSampler")
    for sampler, priced in (
        (always_record(TraceIdRatioBased(0.0)), False),
        (RecordAllSampler(TraceIdRatioBased(0.0)), True),
    ):
        setup = make_setup(sampler=sampler)
        tracer = setup.provider.get_tracer("test")
        with tracer.start_as_current_span(
            "chat",
            kind=SpanKind.CLIENT,
            attributes={sc.GEN_AI_PROVIDER_NAME: "acme", sc.GEN_AI_REQUEST_MODEL: "acme-chat"},
        ) as span:
            span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 1000)
        assert setup.finished() == ()  # dropped for export either way
        data = setup.metrics()
        assert data is not None
        statuses = {
            dict(p.attributes or {}).get(sc.COST_STATUS)
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == sc.METRIC_COST_CALLS
            for p in m.data.data_points  # type: ignore[union-attr]
        }
        assert statuses == ({"priced"} if priced else {"unpriced"})
