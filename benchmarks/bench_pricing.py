"""Per-call pricing time: otel-cost's catalog against genai-prices ``calc_price`` and litellm
``cost_per_token``, on the same mixed workload in the same run.

The workload: 30+ models from OpenAI, Anthropic, Google, Bedrock, Mistral, DeepSeek and xAI
in plain, cached (reads and 5m/1h writes), long-context (>200k input) and batch shapes, priced
at one fixed call time. Every library gets its inputs prebuilt (usage objects, timestamps),
is warmed up, then timed over whole passes of the workload; we report the median of several
repeats in microseconds per call, and the ratios, with the library versions measured.

Run: ``python benchmarks/bench_pricing.py [--repeats 9] [--passes 10]``. litellm is optional
(``pip install -e '.[bench]'`` pins the version compared); we load its bundled cost map
(``LITELLM_LOCAL_MODEL_COST_MAP``), so nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from genai_prices import Usage, calc_price

from otel_cost.pricing import TokenUsage, default_catalog
from otel_cost.pricing import catalog as catalog_module

AT = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
AT_NS = int(AT.timestamp()) * 1_000_000_000


@dataclass(frozen=True)
class Call:
    provider: str  # our provider name (a gen_ai.provider.name value)
    genai_provider: str
    litellm_provider: str
    model: str
    usage: TokenUsage
    tier: str | None = None


PLAIN = TokenUsage(input_tokens=1_200, output_tokens=350)
CACHED = TokenUsage(input_tokens=12_000, output_tokens=800, cache_read_tokens=9_000)
WRITES = TokenUsage(
    input_tokens=20_000,
    output_tokens=1_000,
    cache_read_tokens=8_000,
    cache_write_tokens=6_000,
    cache_write_1h_tokens=2_000,
)
LONG = TokenUsage(input_tokens=260_000, output_tokens=4_000, cache_read_tokens=100_000)
REASONING = TokenUsage(input_tokens=3_000, output_tokens=6_000, reasoning_tokens=5_000)

OPENAI = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "o3",
    "o4-mini",
    "o1",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-3.5-turbo",
]
ANTHROPIC = [
    "claude-sonnet-4-5",
    "claude-opus-4-1",
    "claude-haiku-4-5",
    "claude-3-7-sonnet-20250219",
    "claude-3-5-haiku-20241022",
    "claude-sonnet-4-20250514",
]
GOOGLE = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "gemini-2.5-flash-lite"]
BEDROCK = ["anthropic.claude-3-5-sonnet-20241022-v2:0", "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0"]
MISTRAL = ["mistral-large-latest", "mistral-small-latest", "codestral-latest"]
DEEPSEEK = ["deepseek-chat", "deepseek-reasoner"]
XAI = ["grok-3", "grok-3-mini"]


def workload() -> list[Call]:
    calls: list[Call] = []
    shapes = [PLAIN, CACHED, REASONING]
    for i, model in enumerate(OPENAI):
        calls.append(Call("openai", "openai", "openai", model, shapes[i % 3]))
        calls.append(Call("openai", "openai", "openai", model, CACHED, tier="batch"))
    for model in ANTHROPIC:
        calls += [Call("anthropic", "anthropic", "anthropic", model, u) for u in (PLAIN, WRITES)]
        calls.append(Call("anthropic", "anthropic", "anthropic", model, CACHED, tier="batch"))
    calls.append(Call("anthropic", "anthropic", "anthropic", "claude-sonnet-4-5", LONG))
    for model in GOOGLE:
        calls += [Call("gcp.gemini", "google", "gemini", model, u) for u in (PLAIN, CACHED)]
    calls.append(Call("gcp.gemini", "google", "gemini", "gemini-2.5-pro", LONG))
    calls.append(Call("gcp.gemini", "google", "gemini", "gemini-2.5-flash", PLAIN, tier="batch"))
    for model in BEDROCK:
        calls.append(Call("aws.bedrock", "aws", "bedrock", model, PLAIN))
    for model in MISTRAL:
        calls.append(Call("mistral_ai", "mistral", "mistral", model, PLAIN))
    for model in DEEPSEEK:
        calls += [Call("deepseek", "deepseek", "deepseek", model, u) for u in (PLAIN, CACHED)]
    for model in XAI:
        calls.append(Call("xai", "x-ai", "xai", model, PLAIN))
    return calls


def genai_usage(u: TokenUsage) -> Usage:
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_read_tokens=u.cache_read_tokens or None,
        cache_write_tokens=u.cache_write_tokens or None,
        cache_write_1h_tokens=u.cache_write_1h_tokens or None,
    )


def runner_ours(calls: list[Call]) -> Callable[[], None]:
    catalog = default_catalog()
    price = catalog.price_tokens
    args = [(c.model, c.usage, c.provider, c.tier) for c in calls]
    for model, usage, provider, tier in args:
        result = price(model, usage, provider=provider, at=AT_NS, service_tier=tier)
        if result.status != "priced":
            raise SystemExit(f"otel-cost cannot price {provider}/{model}: {result.reason}")

    def run() -> None:
        for model, usage, provider, tier in args:
            price(model, usage, provider=provider, at=AT_NS, service_tier=tier)

    return run


def runner_pure_python(calls: list[Call]) -> Callable[[], None]:
    """Ours without the C accelerator (what an install without a C compiler runs)."""
    run = runner_ours(calls)

    def pure() -> None:
        saved = catalog_module.fast_cost, catalog_module.fast_price
        catalog_module.fast_cost = catalog_module.fast_price = None
        try:
            run()
        finally:
            catalog_module.fast_cost, catalog_module.fast_price = saved

    return pure


def runner_genai(calls: list[Call]) -> Callable[[], None]:
    contexts = {None: None, "batch": {"processing": "batch"}}
    args = [(genai_usage(c.usage), c.model, c.genai_provider, contexts[c.tier]) for c in calls]
    for usage, model, provider, context in args:
        calc_price(usage, model, provider_id=provider, genai_request_timestamp=AT, price_context=context)

    def run() -> None:
        for usage, model, provider, context in args:
            calc_price(usage, model, provider_id=provider, genai_request_timestamp=AT, price_context=context)

    return run


def litellm_calls(calls: list[Call]) -> tuple[Callable[[], None], list[Call]] | str:
    """A runner over the calls litellm can price (and those calls), or why there is none."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm  # pyright: ignore[reportMissingImports]
    except ImportError as exc:
        return f"litellm not installed ({exc}); pip install -e '.[bench]'"
    litellm_any: Any = litellm
    litellm_any.suppress_debug_info = True
    cost_per_token = litellm_any.cost_per_token
    args: list[dict[str, Any]] = []
    priced: list[Call] = []
    for c in calls:
        kwargs: dict[str, Any] = {
            "model": c.model,
            "custom_llm_provider": c.litellm_provider,
            "prompt_tokens": c.usage.input_tokens,
            "completion_tokens": c.usage.output_tokens,
            "cache_read_input_tokens": c.usage.cache_read_tokens,
            "cache_creation_input_tokens": c.usage.cache_write_tokens,
        }
        if c.tier is not None:
            kwargs["service_tier"] = c.tier
        try:
            cost_per_token(**kwargs)
        except Exception:  # a model litellm's map lacks: left out of its comparison
            continue
        args.append(kwargs)
        priced.append(c)

    def run() -> None:
        for kwargs in args:
            cost_per_token(**kwargs)

    return run, priced


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def timed(run: Callable[[], None], calls: int, passes: int) -> float:
    """Microseconds per call of ``passes`` passes of ``run`` (``calls`` calls each)."""
    start = time.perf_counter_ns()
    for _ in range(passes):
        run()
    return (time.perf_counter_ns() - start) / (passes * calls) / 1000


def compare(
    ours: Callable[[], None], other: Callable[[], None], calls: int, repeats: int, passes: int
) -> tuple[float, float, float]:
    """Median us/call of ours and of the other library, and the median of per-repeat ratios.

    The two are timed alternately within each repeat, so a burst of load on the machine hits
    both and the ratio stays honest."""
    for run in (ours, other):  # warm up: caches, lazy imports
        run()
        run()
    ours_samples: list[float] = []
    other_samples: list[float] = []
    for _ in range(repeats):
        ours_samples.append(timed(ours, calls, passes * 10))
        other_samples.append(timed(other, calls, passes))
    ratios = [o / u for o, u in zip(other_samples, ours_samples, strict=True)]
    return statistics.median(ours_samples), statistics.median(other_samples), statistics.median(ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--passes", type=int, default=10, help="workload passes per timing (ours: x10)")
    args = parser.parse_args(argv)
    calls = workload()
    models = {(c.provider, c.model) for c in calls}
    print(f"workload: {len(calls)} calls over {len(models)} models")
    print(
        f"python {sys.version.split()[0]} ({platform.python_implementation()}); "
        f"otel-cost {_version('otel-cost')}, genai-prices {_version('genai-prices')}, "
        f"litellm {_version('litellm')}"
    )
    accelerated = catalog_module.fast_cost is not None
    print(f"otel-cost C accelerator: {'built' if accelerated else 'absent (pure Python)'}")
    print(f"medians of {args.repeats} repeats; each library timed alternately with ours")

    ours, genai, ratio = compare(
        runner_ours(calls), runner_genai(calls), len(calls), args.repeats, args.passes
    )
    print(f"{'otel-cost PriceCatalog.price_tokens':<40} {ours:9.3f} us/call")
    print(f"{'genai-prices calc_price':<40} {genai:9.3f} us/call   ours is {ratio:6.1f}x faster")
    if accelerated:
        _, pure, pure_ratio = compare(
            runner_ours(calls), runner_pure_python(calls), len(calls), args.repeats, args.passes * 10
        )
        print(
            f"{'otel-cost without the C accelerator':<40} {pure:9.3f} us/call   "
            f"(ours with it is {pure_ratio:.2f}x faster; genai-prices/this: {genai / pure:.1f}x)"
        )
    lite = litellm_calls(calls)
    if isinstance(lite, str):
        print(f"{'litellm cost_per_token':<40} skipped: {lite}")
        return 0
    run, subset = lite
    ours_subset, litellm_us, ratio = compare(runner_ours(subset), run, len(subset), args.repeats, args.passes)
    print(f"{'litellm cost_per_token':<40} {litellm_us:9.3f} us/call   ours is {ratio:6.1f}x faster")
    print(f"  (litellm prices {len(subset)} of {len(calls)} calls; ours on those: {ours_subset:.3f} us/call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
