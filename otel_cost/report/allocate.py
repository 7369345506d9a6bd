"""Splitting pooled spend between targets, exactly and deterministically.

The remainder rule (so lines always add up to the total, to the last digit):
1. each target's exact share ``amount * weight / total weight`` (rational arithmetic) is rounded
   down to a multiple of ``quantum``;
2. the whole quanta still missing go one each to the targets with the largest rounded-off
   remainders (ties: target name, ascending);
3. what is left below one quantum (when the pooled amount itself is finer than ``quantum``) goes
   to the first target of that same order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction


def split_amount(amount: Decimal, weights: Mapping[str, Decimal], quantum: Decimal) -> dict[str, Decimal]:
    """``amount`` split by ``weights`` (targets with weight 0 get nothing); shares sum to ``amount``."""
    positive = {k: w for k, w in weights.items() if w > 0}
    if not positive:
        raise ValueError("no target with a positive weight")
    with localcontext() as ctx:
        ctx.prec = 80  # exact for any realistic amount and quantum
        return _split(amount, positive, quantum)


def _split(amount: Decimal, positive: Mapping[str, Decimal], quantum: Decimal) -> dict[str, Decimal]:
    total = sum((Fraction(w) for w in positive.values()), Fraction(0))
    q = Fraction(quantum)
    floors: dict[str, Decimal] = {}
    remainders: dict[str, Fraction] = {}
    for target, weight in positive.items():
        exact = Fraction(amount) * Fraction(weight) / total
        units = math.floor(exact / q)
        floors[target] = Decimal(units) * quantum
        remainders[target] = exact - units * q
    order = sorted(positive, key=lambda t: (-remainders[t], t))
    leftover = amount - sum(floors.values(), Decimal(0))
    whole = int(leftover // quantum) if leftover > 0 else 0
    for target in order[:whole]:
        floors[target] += quantum
    floors[order[0]] += leftover - whole * quantum
    return floors


def even_weights(targets: Sequence[str]) -> dict[str, Decimal]:
    return {t: Decimal(1) for t in targets}
