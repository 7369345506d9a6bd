"""``otel-cost ledger verify|compact|head``: check the hash chain, apply retention."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date

from otel_cost.commands.report import non_negative_int
from otel_cost.ledger import Ledger, LedgerError, open_ledger
from otel_cost.report.progress import Progress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``ledger`` subcommand group."""
    parser = subparsers.add_parser("ledger", help="verify or compact the audit ledger")
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
