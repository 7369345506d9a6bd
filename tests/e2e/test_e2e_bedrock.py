"""Amazon Bedrock through the real boto3 client and OpenLLMetry's Bedrock instrumentation
(0.62.x), answered on loopback (tests/e2e/bedrock_support.py): model ids the instrumentation
strips of their vendor, and its input count that excludes the prompt cache.

Prices: https://aws.amazon.com/bedrock/pricing/ (checked 2026-12), USD per 1M tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from bedrock_support import client, converse, converse_answer  # pyright: ignore[reportImplicitRelativeImport]
from e2e_support import Pipeline  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import semconv as sc
from otel_cost.replay import ReplayServer

M = Decimal(1_000_000)


@pytest.mark.parametrize(
    ("model_id", "span_model", "prices"),
    [
        # Amazon Nova Lite: $0.06 in, $0.24 out.
        ("us.amazon.nova-lite-v1:0", "nova-lite-v1:0", (Decimal("0.06"), Decimal("0.24"))),
        # Meta Llama 3 70B Instruct: $2.65 in, $3.50 out.
        ("meta.llama3-70b-instruct-v1:0", "llama3-70b-instruct-v1:0", (Decimal("2.65"), Decimal("3.50"))),
    ],
)
def test_model_ids_without_vendor_are_priced(
    pipeline: Pipeline,
    instrument: Callable[[str], None],
    model_id: str,
    span_model: str,
    prices: tuple[Decimal, Decimal],
) -> None:
    price_in, price_out = prices
    instrument("openllmetry-bedrock")
    with ReplayServer([converse_answer(model_id, input_tokens=1_000, output_tokens=100)]) as server:
        converse(client(server.url), model_id)
    (span,) = pipeline.llm_spans()
    attrs = span.attributes or {}
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == span_model  # vendor (and region) stripped upstream
    assert attrs[sc.COST_STATUS] == "priced", attrs.get(sc.COST_REASON)
    assert attrs[sc.COST_AMOUNT] == float((1_000 * price_in + 100 * price_out) / M)
