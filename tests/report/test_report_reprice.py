"""Repricing keeps history: a new view beside the original rows, reports say which they use."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import make_record

# An internal rate card for acme-70b: $0.30 per million input tokens, $0.60 per million output.
CATALOG = """
version: 1
models:
  - id: acme-70b
    provider: acme
    prices: {input_mtok: "0.30", output_mtok: "0.60"}
"""


def _json_report(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    assert main(["report", "--ledger", str(path), "--by", "project", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_reprice_writes_a_view_and_keeps_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    ledger = open_ledger(str(path))
    # Recorded at the old price of 0.48 each (1,000,000 in + 100,000 out at $0.40 / $0.80 per MTok).
    common = {"provider": "acme", "model": "acme-70b", "input_tokens": 1_000_000, "output_tokens": 100_000}
    ledger.append(
        [
            make_record(1, amount="0.48", attribution={"project": "search"}, **common),
            make_record(2, amount="0.48", attribution={"project": "ads"}, day=1, **common),
            make_record(3, amount="0.48", attribution={"project": "ads"}, day=5, **common),
            make_record(4, amount="0.25", attribution={"project": "ads"}, model="no-such-model-x"),
        ]
    )
    head = ledger.head()
    ledger.close()
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(CATALOG)
    before = _json_report(path, capsys)

    argv = ["reprice", "--ledger", str(path), "--catalog", str(catalog), "--from", "2025-11-23"]
    assert main([*argv, "--to", "2025-11-24", "--view", "rate-card-2026"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("view rate-card-2026: 2 calls of 2025-11-23..2025-11-24 repriced")
    assert "1 calls it cannot price" in out

    # The view: 1,000,000 x 0.30/1e6 + 100,000 x 0.60/1e6 = 0.30 + 0.06 = 0.36 for calls 1 and 2;
    # call 3 (2025-11-28) is outside the range and call 4 is unknown to the catalog: original prices.
    after = _json_report(path, capsys, "--view", "rate-card-2026")
    assert after["view"] == "rate-card-2026"
    assert "repriced with" in after["notes"][0]
    amounts = {line["key"]["project"]: line["amount"] for line in after["lines"]}
    assert amounts == {"ads": "1.09", "search": "0.36"}  # ads: 0.36 + 0.48 + 0.25

    # History kept: the original report is unchanged, byte for byte, and the chain still verifies.
    assert _json_report(path, capsys) == before
    assert {line["key"]["project"]: line["amount"] for line in before["lines"]} == {
        "ads": "1.21",
        "search": "0.48",
    }
    with open_ledger(str(path)) as ledger:
        assert ledger.verify().ok
        assert ledger.head() == head
        assert [v.name for v in ledger.views()] == ["rate-card-2026"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT amount FROM calls ORDER BY row_id").fetchall() == [
        ("0.48",),
        ("0.48",),
        ("0.48",),
        ("0.25",),
    ]
    conn.close()

    # Drill-down through the view lists the view's prices with the view's price reference.
    drill = ["report", "--ledger", str(path), "--drill", "project=search", "--format", "json"]
    assert main([*drill, "--view", "rate-card-2026"]) == 0
    (call,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert Decimal(call["amount"]) == Decimal("0.36")
    assert call["price_ref"].startswith("acme/acme-70b@")


def test_unknown_view_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    open_ledger(str(path)).close()
    assert main(["report", "--ledger", str(path), "--view", "nope"]) == 2
    assert "no price view named 'nope'" in capsys.readouterr().err


def test_drill_filters_on_the_views_status(tmp_path: Path) -> None:
    """A filter on status (or currency, price_ref) through a view selects by the view's value, as
    a report grouped by that key does, so a report line and its drill-down list the same calls."""
    from otel_cost.pricing.types import CostResult

    path = tmp_path / "l.db"
    with open_ledger(str(path)) as ledger:
        ledger.append(
            [
                make_record(1, amount="0.48", provider="acme", model="acme-70b"),
                make_record(2, status="unpriced", provider="acme", model="acme-70b"),
            ]
        )

        def reprice(call: object) -> CostResult:  # both calls at 0.36 in the view
            return CostResult(status="priced", amount=Decimal("0.36"), price_ref="acme/acme-70b@v2")

        ledger.write_view("v2", catalog="test", from_day="2025-11-23", to_day="2025-11-23", reprice=reprice)
        lines = ledger.spend(["status"], view="v2")
        assert [(r.key, r.calls, r.amount) for r in lines] == [(("priced",), 2, Decimal("0.72"))]
        drilled = list(ledger.calls(where={"status": "priced"}, view="v2"))
        assert [(c.span_id, c.status, c.amount) for c in drilled] == [
            ("0000000000000001", "priced", Decimal("0.36")),
            ("0000000000000002", "priced", Decimal("0.36")),
        ]
        assert list(ledger.calls(where={"status": "unpriced"}, view="v2")) == []
        assert len(list(ledger.calls(where={"status": "unpriced"}))) == 1  # the original rows


def test_reprice_keeps_the_service_tier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A call priced at the batch tier is repriced at the batch tier (the ledger has no tier column:
    its price_ref names it), not at the standard rate, which would double it.

    OpenAI gpt-4o (https://openai.com/api/pricing, genai-prices 0.2.3): $2.50 / MTok input,
    $10.00 / MTok output; Batch API 50% off. 1,000,000 input + 100,000 output tokens:
    standard 2.50 + 1.00 = 3.50; batch 1.25 + 0.50 = 1.75."""
    from dataclasses import replace

    from otel_cost.commands.reprice import service_tier

    assert service_tier("openai/gpt-4o+batch:service_tiers#0@gp0.2.3-x") == "batch"
    assert service_tier("openai/o3+override:x+flex:override:y+discount:z@v") == "flex"
    assert service_tier("openai/gpt-4o+discount:batchy@v") is None
    assert service_tier(None) is None

    path = tmp_path / "l.db"
    usage = {"input_tokens": 1_000_000, "output_tokens": 100_000}
    batch = make_record(1, amount="1.75", attribution={"project": "batch"}, **usage)
    standard = make_record(2, amount="3.5", attribution={"project": "standard"}, **usage)
    batch = replace(batch, result=replace(batch.result, price_ref="openai/gpt-4o+batch:service_tiers#0@old"))
    standard = replace(standard, result=replace(standard.result, price_ref="openai/gpt-4o@old"))
    with open_ledger(str(path)) as ledger:
        ledger.append([batch, standard])
    argv = ["reprice", "--ledger", str(path), "--from", "2025-11-23", "--to", "2025-11-23", "--view", "v"]
    assert main(argv) == 0
    capsys.readouterr()
    report = _json_report(path, capsys, "--view", "v")
    assert {line["key"]["project"]: line["amount"] for line in report["lines"]} == {  # type: ignore[index]
        "batch": "1.75",
        "standard": "3.5",
    }


def test_reprice_progress_counts_the_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bar's total is the calls of --from..--to (what is repriced), not every stored call."""
    path = tmp_path / "l.db"
    with open_ledger(str(path)) as ledger:
        ledger.append([make_record(n, day=day) for n, day in ((1, 0), (2, 1), (3, 1), (4, 5), (5, 9))])
        assert ledger.count() == 5
        assert ledger.count(since="2025-11-24", until="2025-11-28") == 3  # days 1, 1, 5
        assert ledger.count(since="2025-11-28") == 2
        assert ledger.count(until="2025-11-23") == 1
    argv = ["reprice", "--ledger", str(path), "--from", "2025-11-24", "--to", "2025-11-28", "--view", "v"]
    assert main([*argv, "--progress"]) == 0
    bar = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert bar.startswith("repricing [") and "] 3/3 100.0%" in bar
