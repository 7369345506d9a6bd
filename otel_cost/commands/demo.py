"""``otel-cost demo [--ledger PATH]``: the whole path offline, no API keys.

An agent answers three users with the real ``openai`` SDK (recorded responses replayed on
loopback) and a paid weather API tool; an indexer embeds a text. The spans are priced by
``CostSpanProcessor``, sent over OTLP to an otel-cost receiver that writes the ledger and the
cost metrics, and the command ends by printing spend by project and model from the ledger.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

_MONEY = "{:.8f}"


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run an offline demo: agent, tool, paid API -> processor -> receiver -> ledger",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--ledger",
        default=None,
        metavar="PATH",
        help="SQLite ledger file the demo's receiver writes (default: a temporary file, removed after)",
    )
    parser.add_argument(
        "--send-to",
        default=None,
        metavar="HOST:PORT",
        help="send the priced spans over OTLP/gRPC to this Collector or otel-cost receiver instead of"
        " starting one in process (e.g. otel-collector:4317 in examples/docker-compose.yaml)",
    )
    parser.set_defaults(func=run)


def _label(key: tuple[str | None, ...]) -> tuple[str, str]:
    """(project, what was paid for): the model, or for an API call the catalog entry that priced
    it (a price reference is ``<entry id>@<catalog version>``)."""
    project, kind, model, price_ref = key
    what = model
    if kind == "http" and not model and price_ref:
        what = f"{price_ref.split('@', 1)[0]} (per call)"
    return project or "(unattributed)", what or "(unknown model)"


def print_report(result: Any, out: TextIO) -> None:
    """The demo's closing table: this run's spend by project and model, from the ledger."""
    from otel_cost.demo.run import CURRENCY, SPEND_SERIES

    rows = [(*_label(r.key), r.calls, r.amount, r.currency) for r in result.rows]
    width = max([len(p) for p, *_ in rows] + [len("project")])
    mwidth = max([len(m) for _, m, *_ in rows] + [len("model")])
    source = (
        f"ledger: {result.ledger}"
        if result.ledger
        else f"as priced by the processor, sent to {result.sent_to}"
    )
    print(f"\nSpend by project and model ({source})", file=out)
    print(f"  {'project':<{width}}  {'model':<{mwidth}}  {'calls':>5}  {'spend':>12}", file=out)
    for project, model, calls, amount, currency in rows:
        print(
            f"  {project:<{width}}  {model:<{mwidth}}  {calls:>5}  {_MONEY.format(amount):>12} {currency}",
            file=out,
        )
    total = _MONEY.format(result.total)
    print(f"  {'total':<{width}}  {'':<{mwidth}}  {result.calls:>5}  {total:>12} {CURRENCY}", file=out)
    if result.metric_total is None:
        return
    agrees = abs(result.metric_total - float(result.total)) < 1e-9
    print(
        f"\nReceiver metric {SPEND_SERIES}: {_MONEY.format(result.metric_total)} {CURRENCY}"
        f" ({'matches' if agrees else 'DIFFERS FROM'} the ledger)",
        file=out,
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of ``otel-cost demo``."""
    from otel_cost.demo import run_demo

    out = sys.stdout
    print(
        "otel-cost demo: 3 agent runs (2 LLM calls + 2 paid weather-API calls each) and 1 embedding,",
        file=out,
    )
    where = f"to {args.send_to}" if args.send_to else "to an otel-cost receiver on loopback"
    print(f"priced by CostSpanProcessor, sent over OTLP {where} ...", file=out)
    try:
        result = run_demo(args.ledger, send_to=args.send_to)
    except Exception as exc:
        print(f"otel-cost demo: failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nAgent's last answer: {result.answer}", file=out)
    print_report(result, out)
    return 0
