"""A progress bar on stderr for long commands; stdout stays the deterministic output."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Call with the number of items done so far; draws at most ten times a second.

    Enabled when ``stream`` is a TTY or ``force`` is set; otherwise every call is a no-op.
    """

    def __init__(
        self, label: str, *, total: int | None = None, force: bool = False, stream: TextIO | None = None
    ):
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = force or self._stream.isatty()
        self._label = label
        self.total = total
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (self.total is None or done < self.total):
            return
        self._last = now
        if self.total:
            share = min(done / self.total, 1.0)
            bar = "#" * int(share * 30)
            line = f"\r{self._label} [{bar:<30}] {done:,}/{self.total:,} {share:6.1%}"
        else:
            line = f"\r{self._label} {done:,}"
        self._stream.write(line)
        self._stream.flush()
        self._drawn = True

    @contextmanager
    def ticking(self, phase: str) -> Iterator[None]:
        """Show ``phase`` with the seconds elapsed while a step without a row count runs (one query)."""
        if not self.enabled:
            yield
            return
        stop = threading.Event()
        started = time.monotonic()

        def tick() -> None:
            while not stop.wait(0.2):
                self._stream.write(f"\r{self._label}: {phase} {time.monotonic() - started:5.1f} s")
                self._stream.flush()

        thread = threading.Thread(target=tick, name="otel-cost-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._stream.write(f"\r{self._label}: {phase} done in {time.monotonic() - started:.1f} s\n")
            self._stream.flush()

    def done(self, message: str | None = None) -> None:
        """End the bar's line (and print ``message`` on stderr)."""
        if not self.enabled:
            return
        if self._drawn:
            self._stream.write("\n")
        if message:
            self._stream.write(message + "\n")
        self._stream.flush()
