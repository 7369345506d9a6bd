"""The ``otel-cost`` command line: ``main(argv) -> int``, testable in process.

Each subcommand lives in ``otel_cost/commands/<name>.py`` and exposes
``register(subparsers) -> None`` which adds its parser and sets ``func`` (``args -> int``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from otel_cost import __version__

# Subcommand modules, in the order `otel-cost --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "otel_cost.commands.price",
    "otel_cost.commands.catalog",
    "otel_cost.commands.serve",
    "otel_cost.commands.ledger",
    "otel_cost.commands.report",
    "otel_cost.commands.reprice",
    "otel_cost.commands.reconcile",
    "otel_cost.commands.demo",
)

_SIGPIPE_STATUS = 128 + 13
"""What a shell reports for a process a closed pipe stopped (128 + SIGPIPE)."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="otel-cost", description=(__doc__ or "otel-cost").splitlines()[0])
    parser.add_argument("--version", action="version", version=f"otel-cost {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        status = int(func(args))
        sys.stdout.flush()  # a buffered pipe meets its closed reader here, not at exit
        return status
    except BrokenPipeError:
        # The reader went away (`otel-cost report | head`): stop quietly, as a SIGPIPE'd tool does,
        # and keep Python's exit-time flush of stdout from raising the same error again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return _SIGPIPE_STATUS


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
