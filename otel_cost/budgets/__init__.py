"""Budgets: policies (who may spend how much, over which window), their state over the ledger,
and (see docs/budgets.md) the guard that refuses an LLM call before it is sent.

Policy API (shared by the in-process guard and the fleet side)::

    policy = load_policy("budgets.yaml")          # PolicyError (a ValueError): file, key, reason
    for state in evaluate(policy, open_ledger(url)):
        state.budget.id, state.scope, state.spent, state.limit, state.remaining, state.alerts_crossed
"""

from __future__ import annotations

from otel_cost.budgets._ledger import BudgetState, LedgerReader, convert, evaluate
from otel_cost.budgets._policy import (
    Budget,
    Limit,
    Policy,
    PolicyError,
    StoreConfig,
    load_policy,
    parse_money,
    policy_from_mapping,
)
from otel_cost.budgets._window import ROLLING_BUCKETS, Period, Window

__all__ = (
    "ROLLING_BUCKETS",
    "Budget",
    "BudgetState",
    "LedgerReader",
    "Limit",
    "Period",
    "Policy",
    "PolicyError",
    "StoreConfig",
    "Window",
    "convert",
    "evaluate",
    "load_policy",
    "parse_money",
    "policy_from_mapping",
)
