"""``otel-cost price MODEL ...``: the cost of one call, from the catalog, on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from otel_cost.commands.report import non_negative_int
from otel_cost.pricing import (
    CatalogError,
    CostResult,
    PriceCatalog,
    TokenUsage,
    default_catalog,
    load_catalog,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``price`` subcommand."""
    parser = subparsers.add_parser(
        "price",
        help="price one model call from token counts",
        description="Price one model call. --input-tokens counts ALL input tokens, cached ones "
        "included (OpenTelemetry semconv convention); --output-tokens includes reasoning.",
    )
    parser.add_argument("model", metavar="MODEL", help="model name as a span carries it")
    parser.add_argument("--provider", help="provider (gen_ai.provider.name or gen_ai.system value)")
    parser.add_argument("--input-tokens", type=non_negative_int, required=True, metavar="N")
    parser.add_argument("--output-tokens", type=non_negative_int, required=True, metavar="N")
    parser.add_argument("--cache-read-tokens", type=non_negative_int, default=0, metavar="N")
    parser.add_argument("--cache-write-tokens", type=non_negative_int, default=0, metavar="N")
    parser.add_argument(
        "--cache-write-1h-tokens",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="of the cache writes, 1-hour TTL",
    )
    parser.add_argument("--reasoning-tokens", type=non_negative_int, default=0, metavar="N")
    parser.add_argument("--service-tier", choices=("default", "batch", "flex", "priority"))
    parser.add_argument("--at", type=timestamp, metavar="ISO-8601", help="time of the call (default: now)")
    parser.add_argument(
        "--catalog", action="append", default=[], metavar="FILE", help="catalog file (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def timestamp(text: str) -> datetime:
    """An argparse type: an ISO-8601 time (``Z`` accepted; no offset means UTC, as in pricing)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None


def catalog_from(paths: list[str]) -> PriceCatalog | None:
    """The catalog for ``--catalog`` files (defaults when none); None after printing the error."""
    if not paths:
        return default_catalog()
    try:
        return load_catalog(paths)
    except CatalogError as exc:
        print(f"otel-cost: bad catalog: {exc}", file=sys.stderr)
        return None


def result_json(result: CostResult) -> dict[str, Any]:
    """A :class:`CostResult` as the CLI's JSON object (money as decimal strings)."""
    out: dict[str, Any] = {"status": result.status}
    if result.priced:
        out["amount"] = str(result.amount)
    out["currency"] = result.currency
    if result.reason is not None:
        out["reason"] = result.reason
    out["breakdown"] = {k: str(v) for k, v in result.breakdown.items()}
    out["price_ref"] = result.price_ref
    out["provider"] = result.provider
    out["model"] = result.model
    return out


def run(args: argparse.Namespace) -> int:
    catalog = catalog_from(args.catalog)
    if catalog is None:
        return 2
    usage = TokenUsage(
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        cache_read_tokens=args.cache_read_tokens,
        cache_write_tokens=args.cache_write_tokens,
        cache_write_1h_tokens=args.cache_write_1h_tokens,
        reasoning_tokens=args.reasoning_tokens,
    )
    result = catalog.price_tokens(
        args.model, usage, provider=args.provider, at=args.at, service_tier=args.service_tier
    )
    if args.json:
        print(json.dumps(result_json(result)))
    else:
        _print_table(result)
    return 0 if result.status == "priced" else 1


def _print_table(result: CostResult) -> None:
    if not result.priced:
        print(f"unpriced: {result.reason} (provider {result.provider}, model {result.model})")
        return
    rows = [(component, f"{amount:f}") for component, amount in result.breakdown.items()]
    rows.append(("total", f"{result.amount:f} {result.currency}"))
    width = max(len(name) for name, _ in rows)
    print(f"{result.provider}/{result.model}  [{result.status}]")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    if result.reason:
        print(f"  reason: {result.reason}")
    print(f"  price_ref: {result.price_ref}")
