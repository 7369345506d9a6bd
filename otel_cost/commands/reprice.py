"""``otel-cost reprice``: price stored calls again with another catalog, into a named view.

The original rows are never touched (the hash chain would say so); the new amounts go to a price
view that reports select with ``--view NAME``. Calls the catalog cannot price in the new view keep
nothing there, so reports fall back to their original price (counted and printed). Paid-HTTP-API
calls are not repriced: the ledger does not keep the host and path they were priced by.
"""

from __future__ import annotations

import argparse
import sys

from otel_cost.commands.report import day_argument
from otel_cost.ledger import LedgerError, StoredCall, open_ledger
from otel_cost.pricing import CatalogError, CostResult, load_catalog
from otel_cost.report.progress import Progress

_SERVICE_TIERS = ("batch", "flex", "priority")
"""The tiers a price reference can name (``otel-cost price --service-tier``)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``reprice`` subcommand."""
    parser = subparsers.add_parser(
        "reprice",
        help="reprice stored calls with a catalog into a new price view (originals kept)",
        description="Price the calls of a day range again with the built-in catalog plus --catalog files, "
        "into a named price view. Original rows stay as they were; "
        "`otel-cost report --view NAME` uses the view.",
    )
    parser.add_argument(
        "--ledger", required=True, metavar="URL", help="path, sqlite:///path or postgresql://..."
    )
    parser.add_argument(
        "--catalog", action="append", default=[], metavar="FILE", help="catalog file (repeatable)"
    )
    parser.add_argument("--from", dest="since", required=True, type=day_argument, metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="until", required=True, type=day_argument, metavar="YYYY-MM-DD")
    parser.add_argument("--view", metavar="NAME", help="view name (default: repriced-<catalog version>)")
    parser.add_argument("--progress", action="store_true", help="draw a progress bar even without a TTY")
    parser.set_defaults(func=run)


def service_tier(price_ref: str | None) -> str | None:
    """The service tier a stored call was priced at, read from its price reference
    (``<entry id>[+override:x][+<tier>[:rule]][+discount:y]@<version>``, docs/pricing.md): the
    ledger keeps no tier column, and a batch call repriced at the standard rate would double."""
    if not price_ref:
        return None
    for part in price_ref.rsplit("@", 1)[0].split("+")[1:]:
        name = part.split(":", 1)[0]
        if name in _SERVICE_TIERS:
            return name
    return None


def run(args: argparse.Namespace) -> int:
    if args.view == "original":
        print(
            "otel-cost reprice: 'original' names the ledger's own prices; choose another view name",
            file=sys.stderr,
        )
        return 2
    try:
        catalog = load_catalog(args.catalog)
        ledger = open_ledger(args.ledger, create=False)
    except (CatalogError, LedgerError) as exc:
        print(f"otel-cost reprice: {exc}", file=sys.stderr)
        return 2
    name = args.view or f"repriced-{catalog.version}"
    skipped = {"http": 0, "unpriced": 0}

    def reprice(call: StoredCall) -> CostResult | None:
        if call.kind != "llm":
            skipped["http"] += 1
            return None
        result = catalog.price_tokens(
            call.model,
            call.usage,
            provider=call.provider,
            at=call.start_ns,
            service_tier=service_tier(call.original_price_ref),
            attribution=call.attribution,
        )
        if not result.priced:
            skipped["unpriced"] += 1
            return None
        return result

    label = ", ".join(args.catalog) or "built-in catalog"
    with ledger:
        progress = Progress("repricing", force=args.progress)
        if progress.enabled:  # the bar's total: the calls write_view walks (a count query only then)
            progress.total = ledger.count(since=args.since, until=args.until)
        info = ledger.write_view(
            name,
            catalog=f"{label} (version {catalog.version})",
            from_day=args.since,
            to_day=args.until,
            reprice=reprice,
            progress=progress,
        )
        progress.done()
    print(
        f"view {info.name}: {info.row_count} calls of {args.since}..{args.until} repriced with {label} "
        f"(catalog {catalog.version}); {skipped['unpriced']} calls it cannot price and {skipped['http']} "
        "API calls keep their original price"
    )
    return 0
