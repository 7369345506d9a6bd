"""``otel-cost ledger verify|compact|head`` in process: exit codes and what they print."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.commands.report import non_negative_int
from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import make_record


def _ledger(path: Path) -> None:
    ledger = open_ledger(str(path))
    ledger.append([make_record(1), make_record(2)])
    ledger.append([make_record(3, day=3)])
    ledger.close()


def test_verify_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    _ledger(path)
    assert main(["ledger", "verify", "--ledger", str(path)]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 batches, 3 rows, 0 roll-ups; head ")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE calls SET model = 'gpt-4o-mini' WHERE row_id = 2")
    conn.commit()
    conn.close()
    assert main(["ledger", "verify", "--ledger", str(path)]) == 1
    assert capsys.readouterr().out == "BROKEN: batch 1, row 2: row altered (hash does not recompute)\n"


def test_compact_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    _ledger(path)
    assert (
        main(["ledger", "compact", "--ledger", str(path), "--keep-days", "1", "--today", "2025-11-26"]) == 0
    )
    out = capsys.readouterr().out
    assert out == (
        "compacted 2 calls of 1 batches before 2025-11-25 into 1 daily roll-ups (checkpoint batch 3)\n"
    )
    assert main(["ledger", "verify", "--ledger", f"sqlite:///{path}"]) == 0
    assert "3 batches, 1 rows, 1 roll-ups" in capsys.readouterr().out
    assert main(["ledger", "head", "--ledger", str(path)]) == 0
    assert capsys.readouterr().out.startswith("3 ")


@pytest.mark.parametrize(
    ("value", "message"), [("-1", "must not be negative: '-1'"), ("x", "not a whole number: 'x'")]
)
def test_bad_keep_days_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ledger", "compact", "--ledger", str(tmp_path / "l.db"), "--keep-days", value])
    assert exc.value.code == 2
    assert f"argument --keep-days: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["1.5", "", "ten", "-0x1", "-3"])
def test_one_non_negative_int_type_for_every_count_argument(text: str) -> None:
    """``ledger compact --keep-days`` and ``price --*-tokens`` share one argparse type."""
    from otel_cost.commands import ledger, price

    assert {non_negative_int(ok) for ok in ("0", "7", " 12 ")} == {0, 7, 12}
    with pytest.raises(argparse.ArgumentTypeError):
        non_negative_int(text)
    for module, option in ((ledger, "--keep-days"), (price, "--input-tokens")):
        parser = argparse.ArgumentParser()
        module.register(parser.add_subparsers())
        types = {a.type for sub in _subparsers(parser) for a in sub._actions if option in a.option_strings}
        assert types == {non_negative_int}, module.__name__


@pytest.mark.parametrize(
    "argv",
    [
        ["ledger", "verify"],
        ["ledger", "head"],
        ["ledger", "compact", "--keep-days", "30"],
        ["report", "--by", "project"],
        ["reconcile", "--provider", "openai", "--usage-export", "costs.json"],
    ],
)
def test_reading_commands_refuse_a_missing_ledger_instead_of_creating_one(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo.sqlite"
    (tmp_path / "costs.json").write_text('{"data": []}')
    code = main([*argv, "--ledger", str(missing)])
    assert code == 2
    assert "no ledger at" in capsys.readouterr().err
    assert not missing.exists()


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subcommand parser under it."""
    yield parser
    for action in parser._actions:  # pyright: ignore[reportPrivateUsage]
        if isinstance(action, argparse._SubParsersAction):  # pyright: ignore[reportPrivateUsage]
            for sub in action.choices.values():  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
                yield from _subparsers(sub)  # pyright: ignore[reportUnknownArgumentType]
