"""``otel-cost reconcile``: compare the ledger with a provider's usage or cost export."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from decimal import Decimal

from otel_cost.commands.report import day_argument
from otel_cost.ledger import LedgerError, open_ledger
from otel_cost.report.formats import grid, money
from otel_cost.report.reconcile import ExportError, VarianceLine, load_export, reconcile

COLUMNS = (
    "day",
    "model",
    "ledger_calls",
    "export_requests",
    "ledger_input_tokens",
    "export_input_tokens",
    "ledger_output_tokens",
    "export_output_tokens",
    "ledger_amount",
    "export_amount",
    "variance",
    "variance_pct",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``reconcile`` subcommand."""
    parser = subparsers.add_parser(
        "reconcile",
        help="compare the ledger with a provider's usage or cost export per day and model",
        description="Compare the ledger (calls of one provider) with the provider's own usage or cost "
        "export, per UTC day and model. Variance = ledger - export (money for cost exports, tokens "
        "for usage exports). Shapes accepted: see docs/reports.md.",
    )
    parser.add_argument(
        "--ledger", required=True, metavar="URL", help="path, sqlite:///path or postgresql://..."
    )
    parser.add_argument("--provider", required=True, choices=("openai", "anthropic"))
    parser.add_argument("--usage-export", required=True, metavar="FILE", help="JSON (API page) or CSV export")
    parser.add_argument(
        "--from",
        dest="since",
        type=day_argument,
        metavar="YYYY-MM-DD",
        help="default: the export's first day",
    )
    parser.add_argument(
        "--to", dest="until", type=day_argument, metavar="YYYY-MM-DD", help="default: the export's last day"
    )
    parser.add_argument(
        "--exact-models", action="store_true", help="do not fold dated model snapshots together"
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--tolerance",
        type=Decimal,
        metavar="PCT",
        help="exit 1 when any line's |variance| exceeds PCT percent",
    )
    parser.set_defaults(func=run)


def _values(line: VarianceLine) -> list[str]:
    def opt(value: object) -> str:
        if value is None:
            return ""
        return money(value) if isinstance(value, Decimal) else str(value)

    return [
        line.day,
        line.model,
        str(line.ledger_calls),
        opt(line.export.requests),
        str(line.ledger_input_tokens),
        opt(line.export.input_tokens),
        str(line.ledger_output_tokens),
        opt(line.export.output_tokens),
        money(line.ledger_amount),
        opt(line.export.amount),
        opt(line.variance),
        opt(line.variance_pct),
    ]


def run(args: argparse.Namespace) -> int:
    try:
        export = load_export(args.usage_export, args.provider, exact_models=args.exact_models)
        ledger = open_ledger(args.ledger, create=False)
    except (ExportError, LedgerError) as exc:
        print(f"otel-cost reconcile: {exc}", file=sys.stderr)
        return 2
    with ledger:
        lines = reconcile(
            ledger, args.provider, export, since=args.since, until=args.until, exact_models=args.exact_models
        )
    rows = [_values(line) for line in lines]
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    elif args.format == "json":
        print(json.dumps([dict(zip(COLUMNS, r, strict=True)) for r in rows], indent=2))
    else:
        print("\n".join(grid([list(COLUMNS), *rows], right=range(2, len(COLUMNS)))))
        ledger_total = sum((line.ledger_amount for line in lines), Decimal(0))
        amounts = [line.export.amount for line in lines if line.export.amount is not None]
        if amounts:
            export_total = sum(amounts, Decimal(0))
            print(
                f"total: ledger {money(ledger_total)}, export {money(export_total)}, "
                f"variance {money(ledger_total - export_total)}"
            )
    if args.tolerance is not None:
        over = [ln for ln in lines if ln.variance_pct is not None and abs(ln.variance_pct) > args.tolerance]
        if over:
            print(f"{len(over)} lines over the {args.tolerance}% tolerance", file=sys.stderr)
            return 1
    return 0
