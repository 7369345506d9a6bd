"""``otel-cost ledger verify|compact|head|unpriced``: check the hash chain, apply retention, list
the calls that were not (fully) priced and why."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date

from otel_cost.commands.report import day_argument, non_negative_int
from otel_cost.ledger import Ledger, LedgerError, UnpricedGroup, open_ledger
from otel_cost.report.formats import day_range, grid
from otel_cost.report.progress import Progress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``ledger`` subcommand group."""
    parser = subparsers.add_parser(
        "ledger", help="verify or compact the audit ledger, list the calls that were not priced"
    )
    actions = parser.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)

    verify = actions.add_parser(
        "verify",
        help="re-hash the chain and every row; exit 1 naming the first broken link",
        description="Re-hash every batch and row of the ledger. Exit 0 when intact; otherwise print "
        "the first broken link (batch id, row id) and exit 1.",
    )
    _ledger_arg(verify)
    verify.add_argument("--expect-head", metavar="HASH", help="fail unless the chain ends at this hash")
    verify.add_argument("--all", action="store_true", help="list every problem, not only the first")
    verify.add_argument("--progress", action="store_true", help="draw a progress bar even without a TTY")
    verify.set_defaults(func=_on_ledger(run_verify))

    compact = actions.add_parser(
        "compact",
        help="replace calls older than N days by daily roll-ups (a recorded, verifiable checkpoint)",
    )
    _ledger_arg(compact)
    compact.add_argument(
        "--keep-days", type=non_negative_int, required=True, metavar="N", help="days of raw calls to keep"
    )
    compact.add_argument(
        "--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="default: today (UTC)"
    )
    compact.set_defaults(func=_on_ledger(run_compact))

    head = actions.add_parser("head", help="print the newest chain hash (publish it to pin history)")
    _ledger_arg(head)
    head.set_defaults(func=_on_ledger(run_head))

    unpriced = actions.add_parser(
        "unpriced",
        help="list the calls that were not (fully) priced, by service, provider, model and reason",
        description="List the calls whose stored status is unpriced or partial, grouped by service, "
        "provider, model, status and reason, with the number of calls and the first and last day "
        "seen, most calls first. Reads the pricing stored when each call was appended, not price "
        "views from `otel-cost reprice`. Compacted days are included (roll-ups keep status and "
        "reason). Exit 0 whether or not there are such calls.",
    )
    _ledger_arg(unpriced)
    unpriced.add_argument(
        "--since",
        "--from",
        dest="since",
        type=day_argument,
        metavar="YYYY-MM-DD",
        help="first day (UTC, inclusive)",
    )
    unpriced.add_argument(
        "--until",
        "--to",
        dest="until",
        type=day_argument,
        metavar="YYYY-MM-DD",
        help="last day (UTC, inclusive)",
    )
    unpriced.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default, ends with a hint) or json",
    )
    unpriced.set_defaults(func=_on_ledger(run_unpriced))


def _ledger_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger", required=True, metavar="URL", help="path, sqlite:///path or postgresql://..."
    )


def _on_ledger(action: Callable[[Ledger, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run ``action`` on the ledger ``--ledger`` names; exit 2 with the reason when it cannot open."""

    def run(args: argparse.Namespace) -> int:
        try:
            ledger = open_ledger(args.ledger, create=False)
        except LedgerError as exc:
            print(f"otel-cost ledger {args.ledger_command}: {exc}", file=sys.stderr)
            return 2
        with ledger:
            return action(ledger, args)

    return run


def run_verify(ledger: Ledger, args: argparse.Namespace) -> int:
    progress = Progress("verifying rows", total=ledger.count(), force=args.progress)
    report = ledger.verify(expect_head=args.expect_head, progress=progress)
    progress.done()
    if report.ok:
        print(
            f"ok: {report.batches} batches, {report.rows} rows, {report.rollups} roll-ups; head {report.head}"
        )
        return 0
    shown = report.problems if args.all else report.problems[:1]
    for problem in shown:
        print(f"BROKEN: {problem}")
    if len(report.problems) > len(shown):
        print(f"({len(report.problems) - len(shown)} more problems; --all lists them)")
    return 1


def run_compact(ledger: Ledger, args: argparse.Namespace) -> int:
    result = ledger.compact(args.keep_days, today=args.today)
    if result.checkpoint is None:
        print(f"nothing to compact: no batch entirely before {result.cutoff_day}")
    else:
        print(
            f"compacted {result.rows} calls of {result.batches} batches before {result.cutoff_day} "
            f"into {result.rollups} daily roll-ups (checkpoint batch {result.checkpoint})"
        )
    return 0


def run_head(ledger: Ledger, args: argparse.Namespace) -> int:
    head = ledger.head()
    print(f"{head.batch_id} {head.hash}")
    return 0


UNPRICED_HINT = (
    "hint: unknown_model, no_price: add the model (or its price at that date and tier) to a catalog"
    " file, see docs/pricing.md; no_usage: the instrumentation records no token counts: enable its"
    " message content capture so tokens are estimated, or fix the instrumentation"
)
_UNPRICED_COLUMNS = ("service", "provider", "model", "status", "reason", "calls", "first_day", "last_day")
_ABSENT = "-"


def run_unpriced(ledger: Ledger, args: argparse.Namespace) -> int:
    if args.since and args.until and args.since > args.until:
        print(
            f"otel-cost ledger unpriced: --since {args.since} is after --until {args.until}", file=sys.stderr
        )
        return 2
    groups = ledger.unpriced(since=args.since, until=args.until)
    if args.format == "json":
        print(unpriced_json(groups, args.since, args.until))
    else:
        print("\n".join(unpriced_table(groups, args.since, args.until)))
    return 0


def unpriced_table(groups: list[UnpricedGroup], since: str | None, until: str | None) -> list[str]:
    """The listing as text lines: a title, the grid, a total and the hint (or one "none" line)."""
    span = day_range(since, until)
    if not groups:
        return [f"no unpriced or partial calls in {span} (stored prices)"]
    rows: list[list[str]] = [list(_UNPRICED_COLUMNS)]
    rows.extend(
        [*(_ABSENT if v is None else v for v in g.key), str(g.calls), g.first_day, g.last_day] for g in groups
    )
    out = [f"unpriced or partial calls, {span} (stored prices, not price views):"]
    out.extend(grid(rows, right={_UNPRICED_COLUMNS.index("calls")}))
    total = sum(g.calls for g in groups)
    out.append(f"total: {total} calls in {len(groups)} groups")
    out.append(UNPRICED_HINT)
    return out


def unpriced_json(groups: list[UnpricedGroup], since: str | None, until: str | None) -> str:
    """One JSON object: the range, the total and the groups (``null`` for an absent value)."""
    return json.dumps(
        {
            "since": since,
            "until": until,
            "pricing": "stored",
            "calls": sum(g.calls for g in groups),
            "groups": [
                dict(zip(_UNPRICED_COLUMNS, (*g.key, g.calls, g.first_day, g.last_day), strict=True))
                for g in groups
            ],
        },
        indent=2,
    )
