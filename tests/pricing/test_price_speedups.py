"""The C accelerator (otel_cost/pricing/_speedups.c) computes exactly what ``Slot.cost`` does.

``fast_cost(slot.fast, usage)`` must return the Python code's result to the last digit
(trailing zeros, breakdown order, status and every string included) for every model, time,
service tier and usage shape, and must hand back ``None``, so that the Python code runs and
raises or answers as it always has, for anything that is not a plain priced call: errors, no
usage, counts of other types. Where the extension was not built (no C compiler at install)
these tests skip; ``.ci/run`` checks that it is built, so CI always runs them.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from genai_prices.data import providers
from price_support import AT_2025, AT_2026, COMMON_SHAPES, EVERY_TOKEN_KIND, UTC, exact

from otel_cost.pricing import CostResult, PriceCatalog, TokenUsage, load_catalog
from otel_cost.pricing import catalog as catalog_module
from otel_cost.pricing._prices import InvalidUsage
from otel_cost.pricing._result import Slot, fast_cost, fast_price

pytestmark = pytest.mark.skipif(
    fast_cost is None,
    reason="the C accelerator otel_cost.pricing._speedups is not built (no C compiler at install?) "
    "or OTEL_COST_NO_EXTENSIONS is set",
)

SHAPES: list[TokenUsage] = [
    *COMMON_SHAPES,
    TokenUsage(input_tokens=40, output_tokens=9, requests=0),
    EVERY_TOKEN_KIND,
    TokenUsage(input_tokens=20_000, output_tokens=10, cache_write_tokens=6_000, cache_write_1h_tokens=6_000),
    TokenUsage(input_tokens=8_000, output_tokens=1_000, input_audio_tokens=3_000, output_audio_tokens=400),
    TokenUsage(input_tokens=9_000, output_tokens=1, input_image_tokens=8_500),
    TokenUsage(input_tokens=2**34 - 1, output_tokens=2**34 - 1, cache_read_tokens=2**33),
    # Rejected by the checks (the Python code raises InvalidUsage): C must hand them back.
    TokenUsage(input_tokens=10, output_tokens=5, cache_read_tokens=11),
    TokenUsage(input_tokens=10, output_tokens=5, reasoning_tokens=6),
    TokenUsage(input_tokens=10, output_tokens=5, cache_read_tokens=6, cache_write_tokens=6),
    TokenUsage(input_tokens=10, output_tokens=5, cache_write_tokens=2, cache_write_1h_tokens=3),
    TokenUsage(input_tokens=10, output_tokens=5, input_audio_tokens=8, cache_read_tokens=8),
    TokenUsage(input_tokens=10, output_tokens=5, output_audio_tokens=4, reasoning_tokens=4),
    TokenUsage(input_tokens=-1, output_tokens=5),
    TokenUsage(input_tokens=2**34, output_tokens=5),
    # No usage: the Python code returns None.
    TokenUsage(input_tokens=0, output_tokens=0, requests=1),
]


def _python(slot: Slot, usage: TokenUsage) -> tuple[Any, ...] | str | None:
    try:
        return exact(slot.cost(usage))
    except InvalidUsage:
        return "invalid"


def _c(slot: Slot, usage: Any) -> tuple[Any, ...] | None:
    assert fast_cost is not None
    return exact(fast_cost(slot.fast, usage))


def _check(slot: Slot, usage: TokenUsage, where: str) -> str | None:
    """A mismatch between the two implementations, described, or None."""
    python, c = _python(slot, usage), _c(slot, usage)
    if c is None:
        # Handed back: only where the Python code has more to say than a priced result.
        return None if python in ("invalid", None) else f"{where}: C declined {usage}"
    return None if c == python else f"{where} {usage}: C {c} != Python {python}"


def _genai_slots(catalog: PriceCatalog) -> Iterator[tuple[str, Slot]]:
    for provider in providers:
        for model in provider.models:
            for at in (AT_2025, AT_2026):
                at_ns = int(at.timestamp()) * 1_000_000_000
                for tier in (None, "batch", "flex", "priority"):
                    slot = catalog._slot(model.id, provider.id, at_ns, tier)  # pyright: ignore[reportPrivateUsage]
                    if isinstance(slot, Slot):
                        yield f"{provider.id}/{model.id} {tier} {at:%Y}", slot


def test_c_equals_python_for_every_embedded_model(catalog: PriceCatalog) -> None:
    mismatches: list[str] = []
    compared = 0
    for where, slot in _genai_slots(catalog):
        for usage in SHAPES:
            compared += 1
            mismatch = _check(slot, usage, where)
            if mismatch:
                mismatches.append(mismatch)
    assert not mismatches, "\n".join(mismatches[:20]) + f"\n({len(mismatches)} in all)"
    assert compared > 50_000


def test_c_equals_python_for_user_catalog_shapes(tmp_path: Path) -> None:
    """User prices the embedded data lacks: tiers on every component, a per-request fee, no
    output price (partial), a positive exponent (the total must start from Decimal(0)), a
    figure with trailing zeros, a currency other than USD."""
    path = tmp_path / "models.yaml"
    path.write_text(
        """\
version: 1
models:
  - id: tiered
    currency: EUR
    prices:
      input_mtok: {base: '1.10', tiers: [{start: 1000, price: '2.200'}, {start: 50000, price: '4'}]}
      output_mtok: {base: '5', tiers: [{start: 1000, price: '7.50'}]}
      cache_read_mtok: {base: '0.110', tiers: [{start: 50000, price: '0.4'}]}
      requests_kcount: '0.50'
  - id: embed-only
    prices: {input_mtok: '0.020'}
  - id: absurd
    prices: {input_mtok: 1.0e+16, output_mtok: '3'}
""",
        encoding="utf-8",
    )
    catalog = load_catalog([path], include_defaults=False)
    at_ns = int(AT_2025.timestamp()) * 1_000_000_000
    extra = [
        TokenUsage(input_tokens=n, output_tokens=3, cache_read_tokens=n // 2)
        for n in (999, 1000, 1001, 60_000)
    ]
    mismatches: list[str] = []
    for model in ("tiered", "embed-only", "absurd"):
        slot = catalog._slot(model, None, at_ns, None)  # pyright: ignore[reportPrivateUsage]
        assert isinstance(slot, Slot)
        for usage in SHAPES + extra:
            mismatch = _check(slot, usage, model)
            if mismatch:
                mismatches.append(mismatch)
    assert not mismatches, "\n".join(mismatches)
    # The shapes above reached each kind of result, not only declines.
    tiered = catalog._slot("tiered", None, at_ns, None)  # pyright: ignore[reportPrivateUsage]
    assert isinstance(tiered, Slot)
    result = fast_cost(tiered.fast, extra[3]) if fast_cost else None
    assert result is not None
    # 60,000 input (30,000 cached) is past both input tiers: EUR 4/MTok input, 0.4 cached,
    # 7.50 output, 0.50 per 1,000 requests.
    assert (
        result.amount
        == (Decimal(30_000) * Decimal("4") + Decimal(30_000) * Decimal("0.4") + 3 * Decimal("7.50"))
        / 1_000_000
        + Decimal("0.50") / 1_000
    )
    assert result.currency == "EUR"
    embed = catalog._slot("embed-only", None, at_ns, None)  # pyright: ignore[reportPrivateUsage]
    assert isinstance(embed, Slot)
    partial = fast_cost(embed.fast, SHAPES[0]) if fast_cost else None
    assert partial is not None
    assert (partial.status, partial.reason) == ("partial", "no_price_component")


class _Int(int):
    pass


class _Usage(TokenUsage):
    pass


@pytest.mark.parametrize(
    "usage",
    [
        TokenUsage(input_tokens=True, output_tokens=10),  # pyright: ignore[reportArgumentType]
        TokenUsage(input_tokens=100, output_tokens=10.0),  # pyright: ignore[reportArgumentType]
        TokenUsage(input_tokens=100, output_tokens=10, cache_read_tokens=None),  # pyright: ignore[reportArgumentType]
        TokenUsage(input_tokens=100, output_tokens=10, reasoning_tokens=Decimal(0)),  # pyright: ignore[reportArgumentType]
        TokenUsage(input_tokens=_Int(100), output_tokens=10),
        TokenUsage(input_tokens=2**70, output_tokens=10),
        TokenUsage(input_tokens=-(2**70), output_tokens=10),
        _Usage(input_tokens=100, output_tokens=10),
        object.__new__(TokenUsage),  # slots never set
        {"input_tokens": 100, "output_tokens": 10},
        None,
        "100",
    ],
    ids=[
        "bool",
        "float",
        "none",
        "decimal",
        "int-subclass",
        "over-int64",
        "under-int64",
        "usage-subclass",
        "unset-slots",
        "dict",
        "no-usage",
        "str",
    ],
)
def test_anything_else_runs_the_python_code(catalog: PriceCatalog, usage: Any) -> None:
    """C declines what is not an exact TokenUsage of exact ints, and the catalog's answer is
    then the pure-Python one (priced, ``invalid_usage`` or ``no_usage``)."""
    slot = catalog._slot("gpt-4o", "openai", int(AT_2025.timestamp()) * 10**9, None)  # pyright: ignore[reportPrivateUsage]
    assert isinstance(slot, Slot)
    assert _c(slot, usage) is None
    with_c = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025)
    without = _pure(catalog, "gpt-4o", usage, provider="openai", at=AT_2025)
    assert exact(with_c) == exact(without)


def _pure(catalog: PriceCatalog, model: Any, usage: Any, **kwargs: Any) -> CostResult:
    """``price_tokens`` with the accelerator switched off (as ``OTEL_COST_NO_EXTENSIONS`` does)."""
    saved = catalog_module.fast_cost, catalog_module.fast_price
    catalog_module.fast_cost = catalog_module.fast_price = None
    try:
        return catalog.price_tokens(model, usage, **kwargs)
    finally:
        catalog_module.fast_cost, catalog_module.fast_price = saved


def test_catalog_answers_the_same_with_and_without_c(catalog: PriceCatalog) -> None:
    for provider, model, tier in [
        ("openai", "gpt-4o", None),
        ("openai", "gpt-4o-mini", "batch"),
        ("anthropic", "claude-sonnet-4-5", None),
        ("google", "gemini-2.5-pro", None),
        ("aws.bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", None),
    ]:
        for usage in SHAPES:
            for at in (AT_2025, AT_2026):
                kwargs: dict[str, Any] = {"provider": provider, "at": at, "service_tier": tier}
                with_c = catalog.price_tokens(model, usage, **kwargs)
                assert exact(with_c) == exact(_pure(catalog, model, usage, **kwargs)), (model, usage)


def test_catalog_lookup_declines_what_it_cannot_answer(tmp_path: Path) -> None:
    """``fast_price`` answers only from a cached slot that covers the call's time and has no
    discount rules; for anything else the Python code runs and gives its own answer."""
    path = tmp_path / "deal.yaml"
    path.write_text(
        "version: 1\ndiscounts:\n  - {id: deal, provider: openai, model: gpt-4o, multiplier: '0.9',"
        " when: {project: search}}\n",
        encoding="utf-8",
    )
    catalog = load_catalog([path])
    usage = SHAPES[1]
    o3_before, o3_after = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 20, tzinfo=UTC)
    ns = [int(at.timestamp()) * 10**9 for at in (AT_2025, o3_before, o3_after)]
    slots = catalog._slots  # pyright: ignore[reportPrivateUsage]
    assert fast_price is not None
    assert fast_price(slots, "openai", "o3", None, ns[1], usage) is None  # nothing cached yet
    cases: list[tuple[Any, Any, dict[str, Any]]] = [
        ("gpt-4o", usage, {"provider": "openai", "at": ns[0], "attribution": {"project": "search"}}),
        ("gpt-4o", usage, {"provider": "openai", "at": ns[0]}),  # has rules, none matching
        ("o3", usage, {"provider": "openai", "at": ns[1]}),
        ("o3", usage, {"provider": "openai", "at": ns[2]}),  # the cached slot ends at the price cut
        ("o3", usage, {"provider": "openai", "at": ns[1]}),
        (["o3"], usage, {"provider": "openai", "at": ns[1]}),  # unhashable: internal_error either way
        ("o3", usage, {"provider": "openai", "at": AT_2025}),  # a datetime, converted first
    ]
    for model, use, kwargs in cases:
        with_c = catalog.price_tokens(model, use, **kwargs)
        assert exact(with_c) == exact(_pure(catalog, model, use, **kwargs)), (model, kwargs)
    assert fast_price(slots, "openai", "gpt-4o", None, ns[0], usage) is None  # discounted model
    # The last case cached o3's slot after the 2025-06-10 cut: calls before it are not its own.
    assert fast_price(slots, "openai", "o3", None, ns[2], usage) is not None
    assert fast_price(slots, "openai", "o3", None, ns[1], usage) is None
    assert fast_price(slots, "openai", "o3", None, float(ns[2]), usage) is None
    discounted = catalog.price_tokens("gpt-4o", usage, **cases[0][2])
    assert discounted.price_ref is not None
    assert "+discount:deal@" in discounted.price_ref


def test_decimal_context_is_the_callers(catalog: PriceCatalog) -> None:
    """Both implementations multiply in the thread's decimal context (at 3 digits the figures
    round), so a caller who sets one gets the same answer either way."""
    slot = catalog._slot("gpt-4o", "openai", int(AT_2025.timestamp()) * 10**9, None)  # pyright: ignore[reportPrivateUsage]
    assert isinstance(slot, Slot)
    usage = TokenUsage(input_tokens=123_457, output_tokens=98_765, cache_read_tokens=54_321)
    with localcontext() as context:
        context.prec = 3
        c = _c(slot, usage)
        assert c == _python(slot, usage)
    assert c is not None
    assert c != _c(slot, usage)  # rounded: the context was used


def test_no_reference_leaks(tmp_path: Path) -> None:
    """Each result holds one reference to each object it shares with the slot and the usage,
    and gives it back when freed (a catalog of its own, so no other test holds these objects)."""
    path = tmp_path / "leak.yaml"
    path.write_text(
        "version: 1\nmodels:\n  - {id: leak-check-model, provider: leak-check, currency: XTS,"
        " prices: {input_mtok: '1.25', output_mtok: '10', cache_read_mtok: '0.125',"
        " cache_write_mtok: '1.5', cache_write_1h_mtok: '2.5', output_reasoning_mtok: '12'}}\n",
        encoding="utf-8",
    )
    catalog = load_catalog([path], include_defaults=False)
    slot = catalog._slot("leak-check-model", "leak-check", int(AT_2025.timestamp()) * 10**9, None)  # pyright: ignore[reportPrivateUsage]
    assert isinstance(slot, Slot)
    counts = [int(s) for s in ("123457", "98765", "54321", "4321", "321")]  # not interned small ints
    usages = [
        TokenUsage(input_tokens=counts[0], output_tokens=counts[1], cache_read_tokens=counts[2]),
        TokenUsage(
            input_tokens=counts[0],
            output_tokens=counts[1],
            cache_write_tokens=counts[3],
            cache_write_1h_tokens=counts[4],
            reasoning_tokens=counts[4],
        ),
    ]
    shared = [*counts, *(x for x in slot.fast[0] if isinstance(x, Decimal)), *slot.fast[1:]]
    gc.collect()
    before = [sys.getrefcount(x) for x in shared]
    assert fast_cost is not None
    held = [fast_cost(slot.fast, usage) for usage in usages for _ in range(1000)]
    assert all(r is not None and r.currency == "XTS" for r in held)
    assert sys.getrefcount(slot.fast[1]) == before[len(shared) - 4] + len(held)
    del held
    gc.collect()
    assert [sys.getrefcount(x) for x in shared] == before


def test_no_extensions_env_selects_pure_python() -> None:
    code = "from otel_cost.pricing import _result; print(_result.fast_cost is None)"
    env = {**os.environ, "OTEL_COST_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_a_free_threaded_interpreter_keeps_the_gil_off_by_skipping_the_accelerator() -> None:
    """The module relies on the GIL; on a free-threaded build, importing it would re-enable the
    GIL process-wide. No free-threaded CPython can be installed here (no python.org downloads), so
    the build flag is faked in a fresh interpreter: ``sysconfig`` answers ``Py_GIL_DISABLED = 1``."""
    code = (
        "import sys, sysconfig\n"
        "real = sysconfig.get_config_var\n"
        "sysconfig.get_config_var = lambda name: 1 if name == 'Py_GIL_DISABLED' else real(name)\n"
        "from otel_cost.pricing import _result\n"
        "print(_result.fast_cost is None, 'otel_cost.pricing._speedups' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OTEL_COST_NO_EXTENSIONS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_times_on_both_sides_of_a_price_change(catalog: PriceCatalog) -> None:
    """o3's 2025-06-10 price cut ($10/$40 -> $2/$8 per MTok, OpenAI pricing page): the slot
    for each side prices at its own figures through C as through Python."""
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    before = catalog.price_tokens("o3", usage, provider="openai", at=datetime(2025, 6, 1, tzinfo=UTC))
    after = catalog.price_tokens("o3", usage, provider="openai", at=datetime(2025, 6, 20, tzinfo=UTC))
    assert (before.amount, after.amount) == (Decimal(50), Decimal(10))


@pytest.mark.parametrize(
    "fast",
    [
        (),
        ((), "USD", "ref", "p", "m"),
        ((None,) * 12, "USD", "ref", "p", "m"),  # tiers not a tuple
        ((None,) * 11 + (((1, ()),),), "USD", "ref", "p", "m"),  # a tier's vector malformed
        ((None,) * 11 + ((("1", (None,) * 11 + ((),)),),), "USD", "ref", "p", "m"),  # threshold not int
        ((None,) * 11 + (((2**70, (None,) * 11 + ((),)),),), "USD", "ref", "p", "m"),  # threshold overflows
    ],
    ids=["empty", "short-vector", "tiers-not-tuple", "bad-tier-vector", "str-threshold", "huge-threshold"],
)
def test_a_malformed_slot_tuple_is_declined_not_read(fast: tuple[object, ...]) -> None:
    """``Slot.fast`` is ours, but C checks its shape anyway: a wrong one is declined (None)."""
    assert fast_cost is not None
    assert fast_cost(fast, TokenUsage(input_tokens=10, output_tokens=5)) is None
