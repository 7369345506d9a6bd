"""Report outputs: byte-identical across runs and processes, FOCUS 1.2 columns, exact totals."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.ledger import open_ledger
from otel_cost.report.focus import MANDATORY_COLUMNS, focus_report, write_focus
from otel_cost.report.rules import AllocationRules
from tests.ledger.ledger_fixtures import make_record

REPO = Path(__file__).resolve().parents[2]
RULES = """key: project
pools:
  - match: unattributed
    method: proportional
  - match: platform
    method: even
"""
FORMATS = ("table", "csv", "json", "markdown", "html", "focus")

# FOCUS 1.2 columns that must never be null (spec, "Allows nulls: False"), of the mandatory ones.
NOT_NULL = set(MANDATORY_COLUMNS) - {
    "BillingAccountName",
    "ChargeClass",
    "ChargeDescription",
    "PricingQuantity",
    "PricingUnit",
}


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    ledger = open_ledger(str(path))
    records = []
    for i in range(60):
        project = ("search", "ads", "platform", None)[i % 4]
        records.append(
            make_record(
                i + 1,
                amount=f"0.00{i + 1:02d}5",
                day=i % 3,
                model=("gpt-4o", "gpt-4o-mini", "claude-haiku-4-5")[i % 3],
                provider="anthropic" if i % 3 == 2 else "openai",
                attribution={"project": project, "user": f"u{i % 5}"} if project else {"user": "u9"},
                status="unpriced" if i == 7 else "priced",
            )
        )
    ledger.append(records[:30])
    ledger.append(records[30:])
    ledger.close()
    (path.parent / "rules.yaml").write_text(RULES)
    return path


def _run(ledger_path: Path, fmt: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    argv = ["report", "--ledger", str(ledger_path), "--by", "project,model", "--format", fmt]
    argv += ["--rules", str(ledger_path.parent / "rules.yaml"), *extra]
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_identical_in_process_and_across_processes(
    ledger_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _run(ledger_path, fmt, capsys)
    assert first == _run(ledger_path, fmt, capsys)
    # Another interpreter with another hash seed (set and dict order of str keys would differ).
    argv = ["report", "--ledger", str(ledger_path), "--by", "project,model", "--format", fmt]
    argv += ["--rules", str(ledger_path.parent / "rules.yaml")]
    code = f"import sys; from otel_cost.cli import main; sys.exit(main({argv!r}))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=REPO, env=env, check=True)
    assert out.stdout.decode() == first


def test_json_lines_sum_to_the_ledger_total(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(_run(ledger_path, "json", capsys))
    # record n (1..60) costs f"0.00{n:02d}5" = n / 10000 + 0.00005, minus the unpriced record 8:
    # sum = (1 + ... + 60) / 10000 + 60 * 0.00005 - 0.00085 = 0.183 + 0.003 - 0.00085 = 0.18515
    expected = Decimal("0.18515")
    assert sum(Decimal(line["amount"]) for line in doc["lines"]) == expected
    assert doc["totals"] == {"USD": "0.18515"}
    assert sum(line["calls"] for line in doc["lines"]) + sum(a["calls"] for a in doc["allocations"]) == 60
    # call 8 is unpriced and unattributed: pooled, so it shows in the allocation trail, not a line
    assert sum(line["unpriced_calls"] for line in doc["lines"]) == 0
    assert sum(a["unpriced_calls"] for a in doc["allocations"]) == 1
    assert {line["key"]["project"] for line in doc["lines"]} == {"ads", "search"}


def test_focus_has_every_mandatory_column(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(_run(ledger_path, "focus", capsys))))
    header = list(rows[0])
    assert header[: len(MANDATORY_COLUMNS)] == sorted(MANDATORY_COLUMNS)
    assert len(MANDATORY_COLUMNS) == 21
    assert all(c.startswith("x_") for c in header[len(MANDATORY_COLUMNS) :])
    for row in rows:
        assert all(row[c] != "" for c in NOT_NULL), row
        assert row["ChargeCategory"] in {"Usage", "Adjustment"}
        if row["ChargeCategory"] == "Usage":
            assert row["PricingQuantity"] != "" and row["PricingUnit"] == "Tokens"
        assert row["ChargePeriodStart"].endswith("T00:00:00Z")
        assert row["BilledCost"] == row["EffectiveCost"] == row["ListCost"] == row["ContractedCost"]
    # Usage rows carry the ledger total; allocations move cost between rows and add up to zero.
    usage = sum(Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] == "Usage")
    adjustments = sum(Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] == "Adjustment")
    assert (usage, adjustments) == (Decimal("0.18515"), Decimal(0))
    assert {r["ProviderName"] for r in rows} == {"openai", "anthropic"}
    assert {r["ServiceCategory"] for r in rows} == {"AI and Machine Learning"}


def test_drill_lists_the_calls_of_a_line(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "report",
        "--ledger",
        str(ledger_path),
        "--drill",
        "project=search,model=gpt-4o",
        "--format",
        "csv",
    ]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    # project=search: i % 4 == 0; model gpt-4o: i % 3 == 0 -> i in 0, 12, 24, 36, 48 (record n = i + 1)
    assert [r["span_id"][-2:] for r in rows] == ["01", "0d", "19", "25", "31"]
    # 0.00015 + 0.00135 + 0.00255 + 0.00375 + 0.00495
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("0.01275")
    # The table form adds the allocation trail and the line's total, equal to the report's line.
    argv = ["report", "--ledger", str(ledger_path), "--drill", "project=search,model=gpt-4o"]
    argv += ["--rules", str(ledger_path.parent / "rules.yaml")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "5 calls where model=gpt-4o, project=search; direct: 0.01275 USD" in text
    assert "allocated from pool platform (even)" in text
    doc = json.loads(_run(ledger_path, "json", capsys))
    (line,) = [ln for ln in doc["lines"] if ln["key"] == {"project": "search", "model": "gpt-4o"}]
    assert f"line total: {line['amount']} USD" in text


def test_progress_goes_to_stderr_only(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = _run(ledger_path, "csv", capsys)
    argv = ["report", "--ledger", str(ledger_path), "--by", "project,model", "--format", "csv", "--progress"]
    assert main([*argv, "--rules", str(ledger_path.parent / "rules.yaml")]) == 0
    captured = capsys.readouterr()
    assert captured.out == plain
    assert "report: aggregating the ledger done in" in captured.err
    # Without a TTY and without --progress, stderr stays empty.
    assert main(argv[:-1]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("by", [(), ("project",), ("project", "model")])
def test_markdown_rows_line_up_with_the_header(
    ledger_path: Path, by: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every markdown row (totals included) has one cell per header column, the amount under
    ``amount``; without --by the per-currency lines are the totals (no extra row, as in table)."""
    argv = ["report", "--ledger", str(ledger_path), "--format", "markdown"]
    assert main([*argv, "--by", ",".join(by)] if by else argv) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    header = rows[0].strip("| ").split(" | ")
    cells = [row[2:-2].split(" | ") for row in rows[1:]]
    assert all(len(row) == len(header) for row in cells), cells
    amounts = [row[header.index("amount")].strip("*") for row in cells]
    # Without rules every call is direct: the lines and the total are the ledger's 0.18515 (see above).
    lines = [Decimal(a) for a, row in zip(amounts, cells, strict=True) if row[0] != "**total**"]
    assert sum(lines) == Decimal("0.18515")
    assert [a for a, row in zip(amounts, cells, strict=True) if row[0] == "**total**"] == (
        ["0.18515"] if by else []
    )


def test_focus_allocation_by_a_base_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rules keyed on a column FOCUS rows always carry (service) move shares onto that column."""
    path = tmp_path / "l.db"
    with open_ledger(str(path)) as ledger:
        ledger.append(
            [
                make_record(1, amount="3", service="checkout"),
                make_record(2, amount="1", service="search"),
                make_record(3, amount="1", service="shared-gateway"),
            ]
        )
    rules = tmp_path / "rules.yaml"
    rules.write_text("key: service\npools:\n  - {match: shared-gateway, method: even}\n")
    argv = ["report", "--ledger", str(path), "--by", "service", "--rules", str(rules), "--format", "focus"]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    moves = [(r["x_Service"], r["BilledCost"]) for r in rows if r["ChargeCategory"] == "Adjustment"]
    # 1 of shared-gateway split evenly over checkout and search: -1, +0.5, +0.5.
    assert moves == [("shared-gateway", "-1"), ("checkout", "0.5"), ("search", "0.5")]
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(5)  # 3 + 1 + 1


def test_focus_usage_and_adjustments_come_from_one_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that commits right after the report's read must change neither part: the Usage and
    Adjustment rows are read in one snapshot, the one their x_LedgerHead names. The real ledger's
    ``snapshot`` is wrapped (not replaced) to let such a writer in after each read."""
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, amount="3", service="checkout"),
            make_record(2, amount="1", service="search"),
            make_record(3, amount="1", service="shared-gateway"),
        ]
    )
    read_at = ledger.head()
    real_snapshot = ledger.snapshot
    late = iter(range(100, 110))
    reads = 0

    @contextmanager
    def snapshot_then_a_writer() -> Iterator[None]:
        nonlocal reads
        reads += 1
        with real_snapshot():
            yield
        ledger.append([make_record(next(late), amount="7", service="shared-gateway")])

    monkeypatch.setattr(ledger, "snapshot", snapshot_then_a_writer)
    rules = AllocationRules.model_validate(
        {"key": "service", "pools": [{"match": "shared-gateway", "method": "even"}]}
    )
    report = focus_report(ledger, ["service"], rules=rules, rules_text="key: service")
    assert reads == 1
    assert report.allocated is not None
    assert report.usage.head == report.allocated.head == read_at
    # Both parts see 1 of shared-gateway (not 1 + 7): moved out as -1, +0.5 to checkout and search.
    (pool,) = report.allocated.allocations
    assert pool.amount == Decimal(1)
    shared = [line.direct for line in report.usage.lines if line.key[4] == "shared-gateway"]
    assert shared == [Decimal(1)]
    out = io.StringIO()
    write_focus(report, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["x_LedgerHead"] for r in rows} == {read_at.hash}
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(5)  # 3 + 1 + 1, the 7 came later
    ledger.close()


def test_rules_from_a_pipe_are_read_once(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--rules <(make-rules)``: a pipe can be read once, so the rules applied and the digest the
    header names must come from that one reading (a second read would see nothing)."""
    read_end, write_end = os.pipe()
    os.write(write_end, RULES.encode())
    os.close(write_end)
    try:
        argv = ["report", "--ledger", str(ledger_path), "--by", "project", "--format", "json"]
        assert main([*argv, "--rules", f"/dev/fd/{read_end}"]) == 0
    finally:
        os.close(read_end)
    rules = json.loads(capsys.readouterr().out)["rules"]
    assert rules == {"key": "project", "sha256": hashlib.sha256(RULES.encode()).hexdigest()[:16]}


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"key: project\n\xff\xfe\n", "cannot read allocation rules"), (None, "cannot read allocation rules")],
)
def test_unreadable_rules_are_a_clear_error(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    """Not UTF-8, or not there: exit 2 naming the file, no traceback."""
    rules = ledger_path.parent / "bad-rules.yaml"
    if content is not None:
        rules.write_bytes(content)
    argv = ["report", "--ledger", str(ledger_path), "--by", "project", "--rules", str(rules)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"otel-cost report: {rules}: {message}")
