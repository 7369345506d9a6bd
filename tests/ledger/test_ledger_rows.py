"""The append path's row encoding (built before the write lock, hashed once the row's place is
known) is byte for byte the canonical form ``verify`` re-hashes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from otel_cost.ledger import group_order, open_ledger
from otel_cost.ledger._rows import (
    canonical_amount,
    canonical_json,
    chained_row_hash,
    record_row,
    record_tail,
    row_hash,
    tail_json,
)
from otel_cost.pricing.types import CostResult, TokenUsage
from otel_cost.record import CostRecord
from tests.ledger.ledger_fixtures import make_record


def _odd_record() -> CostRecord:
    """Text that JSON escapes (quotes, backslash, control and non-ASCII characters, U+2028),
    None columns, a 16-digit token count and Decimals with exponents and trailing zeros."""
    return CostRecord(
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        start_time_ns=1_763_856_000 * 10**9,
        end_time_ns=1_763_856_000 * 10**9 + 5,
        kind="llm",
        result=CostResult(
            status="partial",
            amount=Decimal("1.2300E-3"),
            breakdown={"output": Decimal("0.00120"), "input": Decimal("3E-5"), "request": Decimal("1E+1")},
            reason=None,
            price_ref='a"b\\c@1',
            model=None,
        ),
        service_name='svc "é" \u2028 \x00\n',
        provider=None,
        model="gpt-4o",
        operation=None,
        usage=TokenUsage(input_tokens=10**9, output_tokens=3),
        attribution={"user": "ü☃", "project": "a\tb"},
        error=True,
    )


def test_chained_hash_equals_the_canonical_row_hash() -> None:
    record = _odd_record()
    row = record_row(record, 123_456_789_012, 7)
    assert tail_json(record_tail(record)) == canonical_json(list(row))[len("[123456789012,7,") :]
    assert chained_row_hash(123_456_789_012, 7, tail_json(record_tail(record))) == row_hash(row)


def test_amount_text_is_plain_and_minimal() -> None:
    # What format(amount, "f") gives, without trailing zeros: the stored amount text.
    cases = {
        "1.2300E-3": "0.00123",
        "3E-5": "0.00003",
        "2.5E-7": "0.00000025",
        "1E+2": "100",
        "100": "100",
        "100.000": "100",
        "-1.50": "-1.5",
        "-0.000": "0",
        "0.0045": "0.0045",
    }
    assert {k: canonical_amount(Decimal(k)) for k in cases} == cases


def test_appended_odd_row_verifies(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    assert ledger.append([_odd_record()]) == [_odd_record()]
    report = ledger.verify()
    assert report.ok, report.problems
    ledger.close()


def test_attribution_index_holds_each_key_as_given(tmp_path: Path) -> None:
    """SQLite's index rows are built from the rows' attribution JSON in one statement; odd text is
    kept as given, except NUL, stored as U+FFFD in the row and the index alike (docs/ledger.md)."""
    ledger = open_ledger(str(tmp_path / "l.db"))
    odd = {"project": 'a"b\\c', "user": "é☃\u2028\U0001f600", "team": "\n\t\x01", "tenant": "null"}
    nul = {"project": "x\x00y", "user": "u"}
    first = make_record(1, attribution=odd)
    second = make_record(2, attribution=nul)
    assert ledger.append([first]) == [first]
    assert ledger.append([second]) == [second]
    stored = ledger.db.execute("SELECT row_id, key, value FROM call_attribution ORDER BY row_id, key")
    expected = [(1, k, v) for k, v in sorted(odd.items())] + [(2, "project", "x\ufffdy"), (2, "user", "u")]
    assert [tuple(r) for r in stored] == expected
    assert ledger.verify().ok
    assert [r.amount for r in ledger.spend(["project"], where={"project": "x\ufffdy"})] == [Decimal("0.0015")]
    ledger.close()


def test_unattributed_sorts_last_everywhere(tmp_path: Path) -> None:
    """One order for groups: values as text, ``None`` (unattributed) after all of them, also after
    the empty string and after "zzz"; spend rows and report lines use it."""
    from otel_cost.report.build import build_report

    keys: list[tuple[object, ...]] = [(None, "a"), ("zzz", None), ("", "b"), ("zzz", "a"), (None, None)]
    assert sorted(keys, key=group_order) == [
        ("", "b"),
        ("zzz", "a"),
        ("zzz", None),
        (None, "a"),
        (None, None),
    ]
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, attribution={"project": "zzz"}),
            make_record(2),
            make_record(3, attribution={"project": ""}),
            make_record(4, attribution={"project": "a"}),
        ]
    )
    expected = [("",), ("a",), ("zzz",), (None,)]
    assert [r.key for r in ledger.spend(["project"])] == expected
    assert [line.key for line in build_report(ledger, ["project"]).lines] == expected
    ledger.close()
