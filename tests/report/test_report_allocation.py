"""Allocation rules: shares computed by hand, remainder rule, lines adding up to the total exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.ledger import Ledger, open_ledger
from otel_cost.report.allocate import split_amount
from otel_cost.report.build import ReportError, build_report
from otel_cost.report.rules import AllocationRules, RulesError, load_rules
from tests.ledger.ledger_fixtures import make_record

RULES = """
key: project
quantum: "0.000001"
pools:
  - match: unattributed
    method: proportional
  - match: platform
    method: even
  - match: shared
    method: fixed
    shares: {search: "60", ads: "40"}
"""


def _ledger(tmp_path: Path) -> Ledger:
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, amount="10", attribution={"project": "search"}),
            make_record(2, amount="30", attribution={"project": "ads"}),
            make_record(3, amount="5", attribution={"project": "maps"}),
            make_record(4, amount="1.5"),
            make_record(5, amount="0.5", attribution={"team": "x"}),  # no project: unattributed too
            make_record(6, amount="1", attribution={"project": "platform"}),
            make_record(7, amount="0.0000105", attribution={"project": "shared"}),
        ]
    )
    return ledger


def _rules(tmp_path: Path) -> AllocationRules:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return load_rules(path)


def test_hand_computed_splits(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    report = build_report(ledger, ["project"], rules=_rules(tmp_path))
    got = {line.key[0]: (line.direct, line.allocated, line.amount) for line in report.lines}
    # unattributed 2 (1.5 + 0.5), proportional to direct spend 10:30:5 (of 45), quantum 1e-6:
    #   search 2*10/45 = 0.4444444.. -> 0.444444, ads 1.3333333.. -> 1.333333, maps 0.2222222.. -> 0.222222;
    #   sum 1.999999, one quantum left -> largest remainder (search, .444e-6) -> search 0.444445.
    # platform 1, even over ads, maps, search: 0.333333 each, one quantum left, remainders tie ->
    #   name order -> ads 0.333334.
    # shared 0.0000105, fixed 60/40: search 0.0000063 -> 0.000006, ads 0.0000042 -> 0.000004;
    #   0.0000005 left is below one quantum -> first by remainder (search, 0.3e-6) -> search 0.0000065.
    assert got == {
        "ads": (Decimal(30), Decimal("1.666671"), Decimal("31.666671")),
        "maps": (Decimal(5), Decimal("0.555555"), Decimal("5.555555")),
        "search": (Decimal(10), Decimal("0.7777845"), Decimal("10.7777845")),
    }
    # 10 + 30 + 5 + 1.5 + 0.5 + 1 + 0.0000105: every cent and sub-cent of the ledger is charged.
    assert report.totals() == {"USD": Decimal("48.0000105")}
    assert report.calls() == 7
    assert [(a.pool, a.calls) for a in report.allocations] == [
        ("platform", 1),
        ("shared", 1),
        ("unattributed", 2),
    ]


def test_a_project_spelled_unattributed_is_charged_directly_not_pooled(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, amount="10", attribution={"project": "search"}),
            make_record(2, amount="30", attribution={"project": "ads"}),
            make_record(3, amount="4", attribution={"project": "unattributed"}),  # a real project
            make_record(4, amount="2"),  # no project: the pool
        ]
    )
    path = tmp_path / "rules.yaml"
    path.write_text("key: project\npools:\n  - match: unattributed\n    method: even\n")
    report = build_report(ledger, ["project"], rules=load_rules(path))
    got = {line.key[0]: line.amount for line in report.lines}
    # Only the call without a project (2) is pooled, evenly over the three projects with direct
    # spend (ads, search, unattributed): 0.666666 each, two quanta left -> remainders tie -> name
    # order -> ads and search get one more.
    assert got == {
        "ads": Decimal("30.666667"),
        "search": Decimal("10.666667"),
        "unattributed": Decimal("4.666666"),
    }
    assert [(a.pool, a.calls) for a in report.allocations] == [("unattributed", 1)]


def test_without_rules_pools_are_plain_lines(tmp_path: Path) -> None:
    report = build_report(_ledger(tmp_path), ["project"])
    assert [(line.key[0], line.amount) for line in report.lines] == [
        ("ads", Decimal(30)),
        ("maps", Decimal(5)),
        ("platform", Decimal(1)),
        ("search", Decimal(10)),
        ("shared", Decimal("0.0000105")),
        (None, Decimal(2)),
    ]


def test_proportional_within_each_group(tmp_path: Path) -> None:
    """By project and model: unattributed gpt-4o-mini spend follows gpt-4o-mini's direct spend."""
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, amount="3", attribution={"project": "search"}, model="gpt-4o-mini"),
            make_record(2, amount="1", attribution={"project": "ads"}, model="gpt-4o-mini"),
            make_record(3, amount="1", attribution={"project": "search"}),
            make_record(4, amount="9", attribution={"project": "ads"}),
            make_record(5, amount="2", model="gpt-4o-mini"),
        ]
    )
    rules = AllocationRules.model_validate(
        {"key": "project", "pools": [{"match": "unattributed", "method": "proportional"}]}
    )
    report = build_report(ledger, ["project", "model"], rules=rules)
    got = {line.key: line.amount for line in report.lines}
    # 2 on gpt-4o-mini split 3:1 (mini's own direct spend), not 4:10 (the report's): 1.5 and 0.5.
    assert got == {
        ("ads", "gpt-4o"): Decimal(9),
        ("ads", "gpt-4o-mini"): Decimal("1.5"),
        ("search", "gpt-4o"): Decimal(1),
        ("search", "gpt-4o-mini"): Decimal("4.5"),
    }


def test_split_amount_sums_exactly() -> None:
    # 0.01 in thirds at a cent quantum: 0 each, one cent left -> tie broken by name: a.
    assert split_amount(
        Decimal("0.01"), {"b": Decimal(1), "a": Decimal(1), "c": Decimal(1)}, Decimal("0.01")
    ) == {
        "a": Decimal("0.01"),
        "b": Decimal(0),
        "c": Decimal(0),
    }
    shares = split_amount(
        Decimal("100"), {"x": Decimal(1), "y": Decimal(2), "z": Decimal(4)}, Decimal("0.01")
    )
    # 100/7 = 14.2857.., 28.5714.., 57.1428..: floors 14.28, 28.57, 57.14 (99.99);
    # remainders .0057, .0014, .0028: the missing cent goes to x.
    assert shares == {"x": Decimal("14.29"), "y": Decimal("28.57"), "z": Decimal("57.14")}
    assert sum(shares.values()) == 100


def test_rules_key_must_be_grouped(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="add it to --by"):
        build_report(_ledger(tmp_path), ["model"], rules=_rules(tmp_path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key: project\npools: [{match: a, method: fixed, shares: {b: 50}}]\n", "add up to 50, not 100"),
        ("key: project\npools: [{match: a, method: even, shares: {b: 100}}]\n", "only apply to method fixed"),
        ("key: project\nextra: 1\n", "Extra inputs are not permitted"),
        ("key: project\npools: [{match: a, method: even}, {match: a, method: even}]\n", "listed twice"),
    ],
)
def test_bad_rules_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)
