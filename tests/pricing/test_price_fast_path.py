"""The hot path's shortcuts change nothing a caller can see.

``Slot.cost`` (otel_cost/pricing/_result.py) prices the common usage shapes (input, output,
cache reads, reasoning) on a shorter path than the full one (cache writes, audio, image), picked
by ``count is 0``; both must give the same figures to the last digit, trailing zeros included,
and the shortcut must never let through what the full checks reject. Results built by slot
stores (tokens and HTTP APIs) must be ordinary CostResults.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from price_support import AT_2025, AT_2026, COMMON_SHAPES, exact

from otel_cost.pricing import CostResult, PriceCatalog, TokenUsage, load_catalog, unpriced


class _Zero(int):
    """A zero that is not CPython's small-int ``0`` object: it sends a usage down the full path."""


FULL_PATH_ZERO = _Zero(0)

SHAPES = COMMON_SHAPES
MODELS = [
    ("openai", "gpt-4o", None),
    ("openai", "gpt-4o-mini", "batch"),
    ("openai", "o3", None),
    ("anthropic", "claude-sonnet-4-5", None),
    ("google", "gemini-2.5-pro", None),
    ("deepseek", "deepseek-reasoner", None),
    ("openai", "text-embedding-3-small", None),  # no output price: partial
]


@pytest.mark.parametrize(("provider", "model", "tier"), MODELS)
def test_common_path_equals_full_path(
    catalog: PriceCatalog, provider: str, model: str, tier: str | None
) -> None:
    for usage in SHAPES:
        for at in (AT_2025, AT_2026):
            fast = catalog.price_tokens(model, usage, provider=provider, at=at, service_tier=tier)
            full = catalog.price_tokens(
                model,
                dataclasses.replace(usage, cache_write_tokens=FULL_PATH_ZERO),
                provider=provider,
                at=at,
                service_tier=tier,
            )
            assert exact(fast) == exact(full), (model, usage, at)


@pytest.mark.parametrize(
    "zeroish",
    [0.0, None, Decimal(0), "0"],
)
def test_zero_of_another_type_is_still_invalid(catalog: PriceCatalog, zeroish: object) -> None:
    # Not the int 0: the shortcut is skipped and the full checks reject it, as before.
    for field in ("cache_write_tokens", "cache_read_tokens", "input_audio_tokens", "reasoning_tokens"):
        usage = TokenUsage(input_tokens=100, output_tokens=10, **{field: cast(Any, zeroish)})
        result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025)
        assert (result.status, result.reason) == ("unpriced", "invalid_usage"), field


def test_false_counts_as_zero_on_both_paths(catalog: PriceCatalog) -> None:
    # bool is an int: False is 0 (and True 1), on the full path as on the common one.
    plain = catalog.price_tokens("gpt-4o", TokenUsage(100, 10), provider="openai", at=AT_2025)
    with_false = catalog.price_tokens(
        "gpt-4o", TokenUsage(100, 10, input_audio_tokens=cast(Any, False)), provider="openai", at=AT_2025
    )
    assert exact(plain) == exact(with_false)


def test_total_keeps_decimal_zero_semantics_for_positive_exponents(tmp_path: Path) -> None:
    """A price whose per-token figure has a positive exponent (YAML float 1.0e+16 per MTok is
    Decimal('1E+16'), 1E+10 a token): the total must read as Decimal(0) + components, as the
    full path sums it, so the common path's "start from the first component" is not taken."""
    path = tmp_path / "absurd.yaml"
    path.write_text(
        "version: 1\nmodels:\n  - id: absurd\n    prices: {input_mtok: 1.0e+16, output_mtok: 1.0e+16}\n",
        encoding="utf-8",
    )
    catalog = load_catalog([path], include_defaults=False)
    result = catalog.price_tokens("absurd", TokenUsage(input_tokens=3, output_tokens=2), at=AT_2025)
    per_token = Decimal("1E+16").scaleb(-6)
    assert result.status == "priced"
    assert str(result.amount) == str(Decimal(0) + per_token * 3 + per_token * 2) == "50000000000"


def test_http_results_are_ordinary_cost_results(tmp_path: Path) -> None:
    path = tmp_path / "apis.yaml"
    path.write_text(
        "version: 1\napis:\n  - {id: search, host: api.example.com, path: /s, per_call: '0.005'}\n"
        "discounts:\n  - {id: growth, api: search, when: {team: growth}, multiplier: '0.8'}\n",
        encoding="utf-8",
    )
    catalog = load_catalog([path], include_defaults=False)
    for attribution, amount, ref in (
        (None, "0.005", "api/search@"),
        ({"team": "growth"}, "0.0040", "api/search+discount:growth@"),
    ):
        result = catalog.price_http(
            host="api.example.com", method="GET", path="/s", at=AT_2025, attribution=attribution
        )
        assert result is not None
        assert type(result) is CostResult
        rebuilt = CostResult(**{f.name: getattr(result, f.name) for f in dataclasses.fields(CostResult)})
        assert result == rebuilt
        assert repr(result) == repr(rebuilt)
        # $0.005 a call; with the 0.8 discount 0.005 x 0.8 = 0.0040 (Decimal keeps the digit).
        assert (str(result.amount), {k: str(v) for k, v in result.breakdown.items()}) == (
            amount,
            {"call": amount},
        )
        assert result.price_ref is not None and result.price_ref.startswith(ref)
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.amount = Decimal(0)  # type: ignore[misc]


def test_unpriced_results_are_ordinary_cost_results(catalog: PriceCatalog) -> None:
    made = unpriced("unknown_model", provider="openai", model="nope")
    assert type(made) is CostResult
    assert made == CostResult(status="unpriced", reason="unknown_model", provider="openai", model="nope")
    assert repr(made) == repr(
        CostResult(status="unpriced", reason="unknown_model", provider="openai", model="nope")
    )
    assert not made.priced and made.breakdown == {} and made.amount == 0 and made.source == "local"
    assert made.breakdown is not unpriced("unknown_model").breakdown  # no shared mutable dict
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.reason = "x"  # type: ignore[misc]
    via_catalog = catalog.price_tokens("no-such-model-anywhere", TokenUsage(10, 10), provider="openai")
    assert via_catalog == CostResult(
        status="unpriced", reason="unknown_model", provider="openai", model="no-such-model-anywhere"
    )
