"""Allocation rules: who pays for spend nobody tagged and for shared spend (a YAML file).

```yaml
key: project            # the attribution key spend is charged to (must be one of --by)
quantum: "0.000001"     # allocated shares are multiples of this (remainder rule: see allocate.py)
pools:
  - match: unattributed # calls without the key
    method: proportional
  - match: platform     # calls charged to project=platform are shared
    method: fixed
    shares: {search: "60", ads: "40"}   # percent, must add up to 100
  - match: tooling
    method: even
    to: [search, ads]   # default: every value with direct spend in the report
```
Spend with a ``key`` value that no pool matches is charged directly to that value.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

UNATTRIBUTED = "unattributed"
"""The ``match`` value that names calls without the rule's key."""


class RulesError(ValueError):
    """An allocation rules file that cannot be read or does not validate."""


class Pool(BaseModel):
    """Spend to redistribute, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str
    """``unattributed`` (calls without the key; reserved, so never a key value of that spelling) or
    a key value whose spend is shared."""
    method: Literal["even", "proportional", "fixed"]
    """``even``: equal shares; ``proportional``: in proportion to each target's direct spend in the
    same report line group (else in the whole report); ``fixed``: the percentages in ``shares``."""
    to: tuple[str, ...] | None = None
    """Targets (key values); default: every value with direct spend in the report."""
    shares: dict[str, Decimal] | None = None
    """``fixed`` only: percent per target, adding up to exactly 100."""

    @model_validator(mode="after")
    def _check(self) -> Pool:
        if self.method == "fixed":
            if not self.shares:
                raise ValueError(f"pool {self.match!r}: method fixed needs shares")
            if any(v < 0 for v in self.shares.values()):
                raise ValueError(f"pool {self.match!r}: shares must not be negative")
            total = sum(self.shares.values(), Decimal(0))
            if total != 100:
                raise ValueError(f"pool {self.match!r}: shares add up to {total}, not 100")
            if self.match in self.shares:
                raise ValueError(f"pool {self.match!r}: a pool cannot share to itself")
        elif self.shares is not None:
            raise ValueError(f"pool {self.match!r}: shares only apply to method fixed")
        if self.to is not None and self.match in self.to:
            raise ValueError(f"pool {self.match!r}: a pool cannot share to itself")
        return self


class AllocationRules(BaseModel):
    """The rules of one report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    """Attribution key spend is charged to (e.g. ``project``, ``cost_center``)."""
    quantum: Decimal = Field(default=Decimal("0.000001"), gt=0)
    """Allocated shares are whole multiples of this; the sub-quantum rest goes to the first target."""
    pools: tuple[Pool, ...] = ()

    @field_validator("pools")
    @classmethod
    def _unique(cls, pools: tuple[Pool, ...]) -> tuple[Pool, ...]:
        seen: set[str] = set()
        for pool in pools:
            if pool.match in seen:
                raise ValueError(f"pool {pool.match!r} listed twice")
            seen.add(pool.match)
        return pools

    def pool_for(self, value: str | None) -> Pool | None:
        """The pool that takes spend with this key value (``None`` = unattributed), if any.

        ``unattributed`` is reserved for calls without the key: a call whose key value is literally
        ``"unattributed"`` was attributed, and is charged directly (no pool can match it)."""
        if value == UNATTRIBUTED:
            return None
        wanted = UNATTRIBUTED if value is None else value
        for pool in self.pools:
            if pool.match == wanted:
                return pool
        return None


def load_rules(path: str | Path) -> AllocationRules:
    """Read and validate a rules file; ``RulesError`` names the file and the problem."""
    return read_rules(path)[0]


def read_rules(path: str | Path) -> tuple[AllocationRules, str]:
    """Read a rules file once: the validated rules and the text they were parsed from (what a
    report's digest names). ``RulesError`` names the file and the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read allocation rules: {exc}") from exc
    return parse_rules(text, path), text


def parse_rules(text: str, path: str | Path = "<rules>") -> AllocationRules:
    """Validate rules from YAML ``text``; ``path`` names where it came from in a ``RulesError``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: cannot read allocation rules: {exc}") from exc
    try:
        return AllocationRules.model_validate(data)
    except ValidationError as exc:
        raise RulesError(f"{path}: invalid allocation rules:\n{exc}") from exc
