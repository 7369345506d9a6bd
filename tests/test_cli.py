"""The ``otel-cost`` entry point itself, as a shell runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    "argv",
    [
        ["price", "gpt-4o", "--input-tokens", "10", "--output-tokens", "5"],
        ["catalog", "show", "gpt-4o", "--provider", "openai"],
    ],
    ids=["price", "catalog-show"],
)
def test_a_reader_that_goes_away_stops_the_command_quietly(argv: list[str], unbuffered: bool) -> None:
    """``otel-cost ... | head``: once the reader has closed the pipe, the command stops with the
    shell's SIGPIPE status (141) and no traceback. The read end is closed before the command
    starts, so its first write always meets the closed pipe: in a print when stdout is unbuffered,
    in the final flush when it is buffered (the default for a pipe)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "otel_cost", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")
