"""``otel-cost catalog validate FILE`` and ``otel-cost catalog show MODEL [--provider P]``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from otel_cost.commands.price import catalog_from, timestamp
from otel_cost.pricing import CatalogError, load_catalog
from otel_cost.pricing.catalog import to_ns
from otel_cost.pricing.explain import describe_model


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``catalog`` subcommand with ``validate`` and ``show``."""
    parser = subparsers.add_parser("catalog", help="check catalog files, look up a model's prices")
    actions = parser.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)

    validate = actions.add_parser("validate", help="validate catalog files against the schema and catalog")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=run_validate)

    show = actions.add_parser("show", help="show how a model name resolves and its prices")
    show.add_argument("model", metavar="MODEL")
    show.add_argument("--provider", help="provider (gen_ai.provider.name or gen_ai.system value)")
    show.add_argument(
        "--at", type=timestamp, metavar="ISO-8601", help="prices in force at this time (default: now)"
    )
    show.add_argument(
        "--catalog", action="append", default=[], metavar="FILE", help="catalog file (repeatable)"
    )
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=run_show)


def run_validate(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog(args.files)
    except CatalogError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 2
    for file in catalog.files[-len(args.files) :]:
        counts = (
            f"{len(file.models)} models, {len(file.overrides)} overrides, {len(file.discounts)} discounts, "
            f"{len(file.aliases)} aliases, {len(file.tier_rules)} tier rules, {len(file.apis)} API rules"
        )
        print(f"ok: {file.path}: {counts}")
    print(f"catalog version {catalog.version}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    catalog = catalog_from(args.catalog)
    if catalog is None:
        return 2
    info = describe_model(catalog, args.model, args.provider, to_ns(args.at))
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_info(info)
    return 0 if "entry" in info else 1


def _print_info(info: dict[str, Any]) -> None:
    if "entry" not in info:
        print(f"{info['model']}: {info['reason']} (provider {info['provider']})")
        return
    print(f"{info['model']} -> {info['entry']}  (served by {info['provider']})")
    for key in ("name", "currency", "source", "checked"):
        if info.get(key):
            print(f"  {key}: {info[key]}")
    for tier, prices in info["prices"].items():
        if prices is None:
            print(f"  {tier}: no price")
            continue
        print(f"  {tier}:")
        for price_key, value in prices.items():
            print(f"    {price_key}: {value}")
    print(f"  catalog version: {info['catalog_version']}")
