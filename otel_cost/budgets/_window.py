"""Budget windows: which period a moment falls in, and the store keys of that period.

* ``call``: every call alone (nothing accumulates);
* ``session``: one period for the lifetime of each scope value (key ``"all"``);
* rolling (``1m``, ``1h``, ``24h``, any ``<n>s|m|h|d``): the last ``n`` seconds, kept as
  :data:`ROLLING_BUCKETS` buckets, so spend leaves the window one bucket (1/60 of it) at a time;
* ``day``/``month``: calendar periods in the policy's time zone (key ``2026-12-03`` /
  ``2026-12``); a call counts in the period its reservation was made in, as the ledger counts a
  call on the day it started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

WindowKind = Literal["call", "session", "rolling", "day", "month"]

ROLLING_BUCKETS = 60
"""A rolling window is summed over this many buckets (plus the current, partly elapsed one)."""

_DURATION = re.compile(r"([1-9][0-9]*)([smhd])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NS = 1_000_000_000
UTC_ZONE = ZoneInfo("UTC")


def duration_seconds(text: str) -> int:
    """``"30s"``, ``"1m"``, ``"24h"``, ``"7d"`` -> seconds; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration (<n>s, <n>m, <n>h or <n>d): {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a window: its key in the store and its bounds (epoch ns; ``None`` = open)."""

    key: str
    start_ns: int | None
    end_ns: int | None
    bucket: int = 0
    """Rolling windows: the bucket a reservation made now goes to."""
    first_bucket: int = 0
    """Rolling windows: the oldest bucket still inside the window."""


@dataclass(frozen=True, slots=True)
class Window:
    """When spend accumulates and resets (see the module docstring)."""

    kind: WindowKind
    spec: str
    """As written in the policy: ``call``, ``session``, ``1h``, ``day`` ..."""
    seconds: int = 0
    """Rolling windows: the length."""
    tz: ZoneInfo = UTC_ZONE

    @classmethod
    def parse(cls, spec: str, tz: ZoneInfo) -> Window:
        """A window from its policy spelling; ``ValueError`` for anything else."""
        if spec in ("call", "session", "day", "month"):
            return cls(kind=spec, spec=spec, tz=tz)  # pyright: ignore[reportArgumentType]
        seconds = duration_seconds(spec)
        if seconds < ROLLING_BUCKETS:
            raise ValueError(f"a rolling window is at least {ROLLING_BUCKETS}s, not {spec!r}")
        return cls(kind="rolling", spec=spec, seconds=seconds, tz=tz)

    @property
    def accumulates(self) -> bool:
        """False for ``call``: each call is checked alone against the limit."""
        return self.kind != "call"

    @property
    def bucket_ns(self) -> int:
        """Rolling windows: the length of one bucket."""
        return self.seconds * _NS // ROLLING_BUCKETS

    def period(self, at_ns: int) -> Period:
        """The period ``at_ns`` falls in."""
        if self.kind == "rolling":
            size = self.bucket_ns
            bucket = at_ns // size
            first = bucket - ROLLING_BUCKETS
            return Period(
                key=self.spec,
                start_ns=first * size,
                end_ns=(bucket + 1) * size,
                bucket=bucket,
                first_bucket=first,
            )
        if self.kind in ("call", "session"):
            return Period(key="all", start_ns=None, end_ns=None)
        local = datetime.fromtimestamp(at_ns / _NS, self.tz)
        if self.kind == "day":
            start = local.replace(hour=0, minute=0, second=0, microsecond=0)
            end = _local_midnight(start.date() + timedelta(days=1), self.tz)
            key = start.strftime("%Y-%m-%d")
        else:
            start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            end = _local_midnight(nxt.date(), self.tz)
            key = start.strftime("%Y-%m")
        start = _local_midnight(start.date(), self.tz)
        return Period(key=key, start_ns=_ns(start), end_ns=_ns(end))

    def retention_s(self) -> int:
        """How long a store keeps a period's counters after the last activity (its expiry)."""
        if self.kind == "rolling":
            return self.seconds + self.seconds // ROLLING_BUCKETS + 60
        if self.kind == "day":
            return 2 * 86400
        if self.kind == "month":
            return 32 * 86400
        return 30 * 86400  # session: idle sessions are forgotten after 30 days


def _local_midnight(day: object, tz: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in ``tz`` (the first valid instant if DST skips it)."""
    naive = datetime.combine(day, datetime.min.time())  # pyright: ignore[reportArgumentType]
    aware = naive.replace(tzinfo=tz)
    # A DST gap at midnight: round trip through UTC lands on the first existing instant.
    return aware.astimezone(UTC).astimezone(tz)


def _ns(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000
