"""``otel-cost report``: chargeback/showback from the ledger, by any keys, with allocation rules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import TextIO

from otel_cost.ledger import CallRow, Ledger, LedgerError, open_ledger
from otel_cost.report.build import ORIGINAL_VIEW, Report, ReportError, build_report
from otel_cost.report.formats import (
    UNATTRIBUTED_LABEL,
    money,
    to_csv,
    to_json,
    to_markdown,
    to_table,
    write_calls,
)
from otel_cost.report.progress import Progress
from otel_cost.report.rules import AllocationRules, RulesError, read_rules

Rules = tuple[AllocationRules | None, str | None]
FORMATS = ("table", "csv", "json", "markdown", "html", "focus")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="spend from the ledger by any keys (chargeback, FOCUS, HTML)",
        description="Spend from the ledger grouped by attribution keys (project, cost_center, user, ...) "
        "and columns (provider, model, service, operation, kind, status, source, day, month, price_ref). "
        "The same ledger and rules give byte-identical output.",
    )
    parser.add_argument(
        "--ledger", required=True, metavar="URL", help="path, sqlite:///path or postgresql://..."
    )
    parser.add_argument("--by", type=_keys, default=(), metavar="KEY[,KEY...]", help="group by these keys")
    parser.add_argument(
        "--from", dest="since", type=day_argument, metavar="YYYY-MM-DD", help="first day (UTC, inclusive)"
    )
    parser.add_argument(
        "--to", dest="until", type=day_argument, metavar="YYYY-MM-DD", help="last day (UTC, inclusive)"
    )
    parser.add_argument("--rules", metavar="FILE", help="allocation rules (YAML)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--drill",
        type=_drill,
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="list the calls behind one line instead (KEY= selects calls without KEY)",
    )
    parser.add_argument(
        "--view", metavar="NAME", help=f"price view from `otel-cost reprice` (default {ORIGINAL_VIEW})"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    parser.add_argument(
        "--billing-account", metavar="ID", help="FOCUS BillingAccountId (default: the provider's id)"
    )
    parser.add_argument("--progress", action="store_true", help="draw progress on stderr even without a TTY")
    parser.set_defaults(func=run)


def _keys(text: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    if len(set(keys)) != len(keys):
        raise argparse.ArgumentTypeError(f"a key is repeated in {text!r}")
    return keys


def day_argument(text: str) -> str:
    """An argparse type: a ``YYYY-MM-DD`` day (also used by ``reprice`` and ``reconcile``)."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0 (token counts of ``price``, ``ledger compact --keep-days``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _drill(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {part!r}")
        out[key.strip()] = value if value else None
    return out


def run(args: argparse.Namespace) -> int:
    rules: AllocationRules | None = None
    rules_text: str | None = None
    try:
        if args.rules:
            rules, rules_text = read_rules(args.rules)
        ledger = open_ledger(args.ledger, create=False)
    except (RulesError, LedgerError) as exc:
        print(f"otel-cost report: {exc}", file=sys.stderr)
        return 2
    progress = Progress("report", force=args.progress)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        with ledger:
            if args.drill is not None:
                return _run_drill(args, ledger, (rules, rules_text), out, progress)
            if args.format == "focus":
                with progress.ticking("aggregating the ledger"):
                    _write_focus(args, ledger, (rules, rules_text), out)
                return 0
            with progress.ticking("aggregating the ledger"):
                report = build_report(
                    ledger,
                    args.by,
                    since=args.since,
                    until=args.until,
                    rules=rules,
                    rules_text=rules_text,
                    view=args.view,
                    daily=args.format == "html",
                )
            out.write(_render(report, args.format))
    except ReportError as exc:
        print(f"otel-cost report: {exc}", file=sys.stderr)
        return 2
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _render(report: Report, fmt: str) -> str:
    renderers: dict[str, Callable[[Report], str]] = {
        "table": to_table,
        "csv": to_csv,
        "json": to_json,
        "markdown": to_markdown,
    }
    if fmt == "html":
        from otel_cost.report.html import to_html

        return to_html(report)
    return renderers[fmt](report)


def _write_focus(args: argparse.Namespace, ledger: Ledger, rules: Rules, out: TextIO) -> None:
    from otel_cost.report.focus import focus_report, write_focus

    report = focus_report(
        ledger,
        args.by,
        since=args.since,
        until=args.until,
        rules=rules[0],
        rules_text=rules[1],
        view=args.view,
    )
    write_focus(report, out, billing_account=args.billing_account)


def _run_drill(
    args: argparse.Namespace, ledger: Ledger, rules: Rules, out: TextIO, progress: Progress
) -> int:
    where: dict[str, str | None] = args.drill
    fmt = args.format if args.format in ("csv", "json") else "table"
    calls = ledger.calls(since=args.since, until=args.until, where=where, view=args.view)

    def counted() -> Iterator[CallRow]:
        for n, call in enumerate(calls, 1):
            progress(n)
            yield call

    count, totals = write_calls(counted(), fmt, out)
    progress.done()
    if fmt != "table":
        return 0
    label = ", ".join(f"{k}={v if v is not None else UNATTRIBUTED_LABEL}" for k, v in sorted(where.items()))
    direct = ", ".join(f"{money(a)} {c}" for c, a in totals.items())
    out.write(f"\n{count} calls where {label}; direct: {direct}\n")
    allocation_rules, rules_text = rules
    if allocation_rules is None or allocation_rules.key not in where:
        return 0
    keys = tuple(where)
    report = build_report(
        ledger,
        keys,
        since=args.since,
        until=args.until,
        rules=allocation_rules,
        rules_text=rules_text,
        view=args.view,
    )
    idx = keys.index(allocation_rules.key)
    target = where[allocation_rules.key]
    others = {i: v for i, (k, v) in enumerate(where.items()) if k != allocation_rules.key}
    for a in report.allocations:
        if not all(a.source[i] == v for i, v in others.items()):
            continue
        for name, share in a.shares:
            if name == target:
                out.write(
                    f"allocated from pool {a.pool} ({a.method}): {money(share)} {a.currency} of "
                    f"{money(a.amount)} over {a.calls} calls; "
                    f"drill {allocation_rules.key}={a.source[idx] or ''} to list them\n"
                )
    for line in report.lines:
        if line.key == tuple(where.values()):
            out.write(f"line total: {money(line.amount)} {line.currency}\n")
    return 0
