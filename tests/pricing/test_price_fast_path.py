"""Results built by slot stores change nothing a caller can see.

``Slot.cost`` and the C accelerator (otel_cost/pricing/_result.py, _speedups.c), ``price_http``
and ``unpriced`` build CostResults without the frozen dataclass' keyword ``__init__``: each must
be an ordinary CostResult, equal to a constructed one; the integer checks must reject zeros of
other types; a total must read as ``Decimal(0) + components``, trailing zeros included.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from price_support import AT_2025, EVERY_TOKEN_KIND, exact

from otel_cost.pricing import CostResult, PriceCatalog, TokenUsage, load_catalog, unpriced


def assert_ordinary(result: CostResult) -> None:
    """``result`` is indistinguishable from a constructed CostResult: type, equality, repr, frozenness."""
    assert type(result) is CostResult
    rebuilt = CostResult(**{f.name: getattr(result, f.name) for f in dataclasses.fields(CostResult)})
    assert result == rebuilt
    assert repr(result) == repr(rebuilt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.amount = Decimal(0)  # type: ignore[misc]
    assert dataclasses.replace(result, amount=Decimal(1)).amount == Decimal(1)


@pytest.mark.parametrize("usage", [TokenUsage(1_000, 200), EVERY_TOKEN_KIND], ids=["plain", "every-kind"])
def test_token_results_are_ordinary_cost_results(catalog: PriceCatalog, usage: TokenUsage) -> None:
    result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025)
    assert result.status == "priced"
    assert_ordinary(result)


@pytest.mark.parametrize(
    "zeroish",
    [0.0, None, Decimal(0), "0"],
)
def test_zero_of_another_type_is_still_invalid(catalog: PriceCatalog, zeroish: object) -> None:
    # Not the int 0: the integer checks reject it (no zero of another type passes as 0).
    for field in ("cache_write_tokens", "cache_read_tokens", "input_audio_tokens", "reasoning_tokens"):
        usage = TokenUsage(input_tokens=100, output_tokens=10, **{field: cast(Any, zeroish)})
        result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025)
        assert (result.status, result.reason) == ("unpriced", "invalid_usage"), field


def test_false_counts_as_zero(catalog: PriceCatalog) -> None:
    # bool is an int: False is 0 (and True 1).
    plain = catalog.price_tokens("gpt-4o", TokenUsage(100, 10), provider="openai", at=AT_2025)
    with_false = catalog.price_tokens(
        "gpt-4o", TokenUsage(100, 10, input_audio_tokens=cast(Any, False)), provider="openai", at=AT_2025
    )
    assert exact(plain) == exact(with_false)


def test_total_keeps_decimal_zero_semantics_for_positive_exponents(tmp_path: Path) -> None:
    """A price whose per-token figure has a positive exponent (YAML float 1.0e+16 per MTok is
    Decimal('1E+16'), 1E+10 a token): the total must read as Decimal(0) + components, so the C
    accelerator's "start from the first component" (taken only when no price has a positive
    exponent) is not taken."""
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
        assert_ordinary(result)
        # $0.005 a call; with the 0.8 discount 0.005 x 0.8 = 0.0040 (Decimal keeps the digit).
        assert (str(result.amount), {k: str(v) for k, v in result.breakdown.items()}) == (
            amount,
            {"call": amount},
        )
        assert result.price_ref is not None and result.price_ref.startswith(ref)


def test_unpriced_results_are_ordinary_cost_results(catalog: PriceCatalog) -> None:
    made = unpriced("unknown_model", provider="openai", model="nope")
    assert_ordinary(made)
    assert made == CostResult(status="unpriced", reason="unknown_model", provider="openai", model="nope")
    assert not made.priced and made.breakdown == {} and made.amount == 0 and made.source == "local"
    assert made.breakdown is not unpriced("unknown_model").breakdown  # no shared mutable dict
    via_catalog = catalog.price_tokens("no-such-model-anywhere", TokenUsage(10, 10), provider="openai")
    assert via_catalog == CostResult(
        status="unpriced", reason="unknown_model", provider="openai", model="no-such-model-anywhere"
    )
