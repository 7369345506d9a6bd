"""Spend on failed calls from the SDK processor: a span ending with status ERROR is counted under
the semconv ``error.type`` (its own value, else ``_OTHER``); successful calls carry no such key.
Runs behind a SimpleSpanProcessor (``record`` in on_end) and a BatchSpanProcessor (``record_many``
in the export thread)."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, Status, StatusCode
from processor_support import Setup  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import semconv as sc
from otel_cost.record import ERROR_TYPE_OTHER

ACME = {
    sc.GEN_AI_PROVIDER_NAME: "acme",
    sc.GEN_AI_REQUEST_MODEL: "acme-chat",
    sc.GEN_AI_OPERATION_NAME: "chat",
    sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500,
}


def _call(setup: Setup, name: str, *, failed: bool, error_type: str | None = None) -> None:
    attrs: dict[str, str | int] = dict(ACME)
    if error_type is not None:
        attrs[sc.ERROR_TYPE] = error_type
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attrs) as span:
        if failed:
            span.set_status(Status(StatusCode.ERROR, "stream interrupted"))


def _by_error_type(setup: Setup, metric: str) -> dict[str | None, float]:
    data = setup.metrics()
    assert data is not None
    out: dict[str | None, float] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == metric:
                    for point in m.data.data_points:
                        key = dict(point.attributes or {}).get(sc.ERROR_TYPE)
                        assert key is None or isinstance(key, str)
                        out[key] = out.get(key, 0.0) + point.value  # type: ignore[union-attr]
    return out


def test_failed_spans_spend_carries_error_type(setup: Setup) -> None:
    # acme-chat (tests/processor/catalog.yaml): 1000 input x $1/M + 500 output x $2/M = $0.002 a call.
    _call(setup, "ok", failed=False)
    _call(setup, "timeout", failed=True, error_type="timeout")
    _call(setup, "no-type", failed=True)
    _call(setup, "unset-status", failed=False, error_type="ignored")  # not failed: no dimension
    spend = _by_error_type(setup, sc.METRIC_COST_SPEND)
    assert spend == pytest.approx({None: 0.004, "timeout": 0.002, ERROR_TYPE_OTHER: 0.002})
    assert _by_error_type(setup, sc.METRIC_COST_CALLS) == {None: 2, "timeout": 1, ERROR_TYPE_OTHER: 1}
