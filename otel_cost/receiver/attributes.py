"""The ``cost.*`` attributes the receiver adds to the spans it forwards.

The same names and meanings the SDK processor writes (see ``docs/semconv.md``), so a trace
backend sees one shape whether a span was priced in the application or in the receiver.
"""

from __future__ import annotations

from otel_cost import semconv
from otel_cost.record import CostRecord


def cost_attributes(record: CostRecord) -> dict[str, object]:
    """The attributes describing ``record``'s cost, as plain OTLP attribute values.

    ``cost.amount`` is written only when an amount was computed (``priced`` or ``partial``):
    an unpriced call carries ``cost.status=unpriced`` and ``cost.reason``, never a $0.
    """
    result = record.result
    out: dict[str, object] = {semconv.COST_STATUS: result.status}
    if result.reason:
        out[semconv.COST_REASON] = result.reason
    if result.priced:
        amount = float(result.amount)
        out[semconv.COST_AMOUNT] = amount
        out[semconv.COST_CURRENCY] = result.currency
        out[semconv.COST_SOURCE] = result.source
        for component, value in result.breakdown.items():
            out[f"{semconv.COST_BREAKDOWN}.{component}"] = float(value)
        if result.price_ref:
            out[semconv.COST_PRICE_REF] = result.price_ref
        if record.kind == "llm":
            out[semconv.GEN_AI_USAGE_COST_AMOUNT] = amount
            out[semconv.GEN_AI_USAGE_COST_CURRENCY] = result.currency
            out[semconv.GEN_AI_USAGE_COST_SOURCE] = result.source
    if record.usage_estimated:
        out[semconv.COST_USAGE_ESTIMATED] = True
    for key, value in record.attribution.items():
        out[f"{semconv.COST_ATTRIBUTION}.{key}"] = value
    return out
