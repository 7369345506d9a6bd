"""Writing a ``Report`` as table, CSV, JSON or Markdown; listing the calls behind a line (drill).

Amounts are printed exactly (``Decimal`` in plain notation, never rounded, never a float), so
every format adds up to the same total to the last digit.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Container, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from otel_cost.ledger import CallRow
from otel_cost.report.build import Report, ReportLine

UNATTRIBUTED_LABEL = "(unattributed)"
LINE_COLUMNS = (
    "currency",
    "direct",
    "allocated",
    "amount",
    "calls",
    "unpriced_calls",
    "input_tokens",
    "output_tokens",
)


def money(value: Decimal) -> str:
    """Exact plain notation: no exponent, no trailing zeros, ``0`` for zero."""
    if value.is_zero():
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def line_values(line: ReportLine) -> list[str]:
    """A line's ``LINE_COLUMNS`` cells, in order."""
    return [
        line.currency,
        money(line.direct),
        money(line.allocated),
        money(line.amount),
        str(line.calls),
        str(line.unpriced_calls),
        str(line.input_tokens),
        str(line.output_tokens),
    ]


def _keys(line: ReportLine, empty: str) -> list[str]:
    return [empty if k is None else k for k in line.key]


def header_lines(report: Report) -> list[str]:
    span = day_range(report.since, report.until)
    out = [
        f"otel-cost report by {','.join(report.by) or '(total)'}, {span}, price view: {report.view}",
        f"ledger head: batch {report.head.batch_id} {report.head.hash}",
    ]
    if report.rules_key:
        out.append(f"allocation rules: key {report.rules_key}, sha256 {report.rules_digest}")
    out.extend(f"note: {n}" for n in report.notes)
    return out


def day_range(since: object, until: object) -> str:
    """``2025-11-01..2025-11-30``; an open end reads ``start`` / ``end``."""
    return f"{since or 'start'}..{until or 'end'}"


def grid(rows: Sequence[Sequence[str]], right: Container[int]) -> list[str]:
    """Text table lines: columns two spaces apart, the ``right`` column indexes right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out: list[str] = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out


def to_table(report: Report) -> str:
    head = [*report.by, *LINE_COLUMNS]
    body = [head] + [[*_keys(line, UNATTRIBUTED_LABEL), *line_values(line)] for line in report.lines]
    if report.by:
        for currency, amount in report.totals().items():
            padding = [""] * (len(report.by) - 1)
            body.append(
                [
                    "TOTAL",
                    *padding,
                    currency,
                    "",
                    "",
                    money(amount),
                    str(_calls(report, currency)),
                    "",
                    "",
                    "",
                ]
            )
    return "\n".join([*header_lines(report), "", *grid(body, range(len(report.by) + 1, len(body[0])))]) + "\n"


def _calls(report: Report, currency: str) -> int:
    return report.calls(currency)


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*report.by, *LINE_COLUMNS])
    for line in report.lines:
        writer.writerow([*_keys(line, ""), *line_values(line)])
    return buffer.getvalue()


def to_json(report: Report) -> str:
    doc: dict[str, Any] = {
        "by": list(report.by),
        "from": report.since,
        "to": report.until,
        "view": report.view,
        "ledger": {"batch_id": report.head.batch_id, "head": report.head.hash},
        "rules": {"key": report.rules_key, "sha256": report.rules_digest} if report.rules_key else None,
        "lines": [
            {
                "key": dict(zip(report.by, line.key, strict=True)),
                **dict(zip(LINE_COLUMNS, [line.currency, *line_values(line)[1:4]], strict=False)),
                "calls": line.calls,
                "unpriced_calls": line.unpriced_calls,
                "error_calls": line.error_calls,
                "input_tokens": line.input_tokens,
                "output_tokens": line.output_tokens,
            }
            for line in report.lines
        ],
        "allocations": [
            {
                "source": dict(zip(report.by, a.source, strict=True)),
                "pool": a.pool,
                "method": a.method,
                "currency": a.currency,
                "amount": money(a.amount),
                "calls": a.calls,
                "unpriced_calls": a.unpriced_calls,
                "shares": {target: money(share) for target, share in a.shares},
            }
            for a in report.allocations
        ],
        "totals": {currency: money(amount) for currency, amount in report.totals().items()},
        "notes": list(report.notes),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(report: Report) -> str:
    head = [*report.by, *LINE_COLUMNS]
    out = [f"# {header_lines(report)[0]}", ""]
    out.extend(f"- {line}" for line in header_lines(report)[1:])
    out.append("")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join([":---"] * len(report.by) + ["---:"] * len(LINE_COLUMNS)) + "|")
    for line in report.lines:
        cells = [*_keys(line, UNATTRIBUTED_LABEL), *line_values(line)]
        out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    for currency, amount in report.totals().items() if report.by else ():  # no --by: the lines are totals
        cells = ["**total**", *[""] * (len(report.by) - 1), currency, "", "", f"**{money(amount)}**"]
        cells += [str(_calls(report, currency)), "", "", ""]
        out.append("| " + " | ".join(cells[: len(head)]) + " |")
    if report.allocations:
        out += [
            "",
            "## Allocations",
            "",
            "| pool line | method | amount | calls | unpriced calls | shares |",
            "|:---|:---|---:|---:|---:|:---|",
        ]
        for a in report.allocations:
            source = ", ".join(
                f"{k}={v if v is not None else ''}" for k, v in zip(report.by, a.source, strict=True)
            )
            shares = "; ".join(f"{t}: {money(s)}" for t, s in a.shares)
            amount = f"{money(a.amount)} {a.currency}"
            out.append(
                f"| {_md_cell(source)} | {a.method} | {amount} | {a.calls} | {a.unpriced_calls}"
                f" | {_md_cell(shares)} |"
            )
    return "\n".join(out) + "\n"


CALL_COLUMNS = (
    "time",
    "trace_id",
    "span_id",
    "service",
    "provider",
    "model",
    "operation",
    "status",
    "currency",
    "amount",
    "input_tokens",
    "output_tokens",
    "price_ref",
    "attribution",
    "calls",
)


def _iso(epoch_ns: int | None, day: str) -> str:
    if epoch_ns is None:
        return day
    seconds, nanos = divmod(epoch_ns, 10**9)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def call_values(call: CallRow) -> list[str]:
    return [
        _iso(call.start_ns, call.day),
        call.trace_id or "(compacted)",
        call.span_id or "",
        call.service,
        call.provider or "",
        call.model or "",
        call.operation or "",
        call.status,
        call.currency,
        money(call.amount),
        str(call.input_tokens),
        str(call.output_tokens),
        call.price_ref or "",
        ";".join(f"{k}={v}" for k, v in sorted(call.attribution.items())),
        str(call.calls),
    ]


def write_calls(
    calls: Iterable[CallRow], fmt: str, out: io.TextIOBase | Any
) -> tuple[int, dict[str, Decimal]]:
    """Write drill-down calls as csv or json lines or a table; returns (calls, total per currency)."""
    count = 0
    totals: dict[str, Decimal] = {}
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CALL_COLUMNS)
    elif fmt != "json":
        out.write("  ".join(CALL_COLUMNS) + "\n")
    for call in calls:
        values = call_values(call)
        count += call.calls
        totals[call.currency] = totals.get(call.currency, Decimal(0)) + call.amount
        if writer is not None:
            writer.writerow(values)
        elif fmt == "json":
            out.write(json.dumps(dict(zip(CALL_COLUMNS, values, strict=True)), ensure_ascii=False) + "\n")
        else:
            out.write("  ".join(v or "-" for v in values) + "\n")
    return count, dict(sorted(totals.items()))
