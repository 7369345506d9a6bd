"""Policy files: the three documented examples load as written; every malformed file fails with
file, key path and reason; windows fall in the right calendar periods of the policy's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from otel_cost.budgets import Limit, PolicyError, Window, load_policy, policy_from_mapping

DOC_EXAMPLE = """\
version: 1
timezone: Europe/Berlin
budgets:
  - id: user-daily
    description: each user $5 a day
    scope: user
    window: day
    limit: 5 USD
    alerts: [50, 80, 100]
    action: block
  - id: agent-session-tokens
    description: each agent session 200k tokens
    scope: [agent, session]
    window: session
    limit: 200000 tokens
  - id: search-monthly
    description: project search $2,000 a month, alert at 80%
    scope: project
    match: {project: search}
    window: month
    limit: 2,000 USD
    alerts: [80]
    action: alert
"""


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000_000)


def test_documented_examples_load(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text(DOC_EXAMPLE)
    policy = load_policy(path)
    user, agent, search = policy.budgets
    assert (user.id, user.scope, user.window.kind, user.action) == ("user-daily", ("user",), "day", "block")
    assert user.limit == Limit("money", Decimal(5), "USD")
    assert user.alerts == (Decimal(50), Decimal(80), Decimal(100))
    assert agent.scope == ("agent", "session") and agent.limit == Limit("tokens", Decimal(200000))
    assert agent.window.kind == "session"
    assert search.limit.amount == Decimal(2000) and search.action == "alert"
    assert search.match == {"project": frozenset({"search"})}
    assert policy.timezone == ZoneInfo("Europe/Berlin")


def test_docs_page_shows_the_examples() -> None:
    """docs/budgets.md carries the same file, so the documented examples are known to load."""
    docs = (Path(__file__).parents[2] / "docs" / "budgets.md").read_text()
    assert DOC_EXAMPLE in docs


def test_scope_and_match() -> None:
    policy = policy_from_mapping(
        {
            "budgets": [
                {
                    "id": "a",
                    "scope": ["agent", "session"],
                    "match": {"project": ["x", "y"]},
                    "window": "1h",
                    "limit": "1 USD",
                },
                {"id": "g", "window": "day", "limit": "10 calls"},
            ]
        }
    )
    pair, glob = policy.budgets
    assert pair.scope_values({"agent": "a1", "session": "s1", "project": "y"}) == ("a1", "s1")
    assert pair.scope_values({"agent": "a1", "session": "s1", "project": "z"}) is None  # match differs
    assert pair.scope_values({"agent": "a1", "project": "x"}) is None  # no session: not counted here
    assert glob.scope_values({}) == () and glob.describe_scope(()) == "global"
    assert pair.describe_scope(("a1", "s1")) == "agent=a1,session=s1"


@pytest.mark.parametrize(
    ("data", "key", "reason"),
    [
        ({}, "<root>", "'budgets' is a required property"),
        (
            {"budgets": [{"id": "a", "window": "dya", "limit": "5 USD"}]},
            "budgets[0].window",
            "'dya' does not match",
        ),
        ({"budgets": [{"id": "a", "window": "30s", "limit": "5 USD"}]}, "budgets[0].window", "at least 60s"),
        ({"budgets": [{"id": "a", "window": "day", "limit": "5 dollars"}]}, "budgets[0].limit", "not valid"),
        ({"budgets": [{"id": "a", "window": "day", "limit": "1.5 tokens"}]}, "budgets[0].limit", "not valid"),
        ({"budgets": [{"id": "a", "window": "day", "limit": "5 EUR"}]}, "budgets[0].limit", "add rates"),
        (
            {"budgets": [{"id": "a", "window": "day", "limit": "5 USD", "scope": "User"}]},
            "budgets[0].scope",
            "",
        ),
        (
            {"budgets": [{"id": "a", "window": "day", "limit": "5 USD", "action": "stop"}]},
            "budgets[0].action",
            "",
        ),
        (
            {"budgets": [{"id": "a", "window": "day", "limit": "5 USD", "action": "downgrade"}]},
            "budgets[0]",
            "'downgrade_to' is a required property",
        ),
        (
            {
                "budgets": [
                    {
                        "id": "a",
                        "window": "day",
                        "limit": "5 calls",
                        "action": "downgrade",
                        "downgrade_to": ["m"],
                    }
                ]
            },
            "budgets[0].action",
            "fewer calls",
        ),
        (
            {"budgets": [{"id": "a", "window": "day", "limit": "5 USD", "alerts": [0]}]},
            "budgets[0].alerts[0]",
            "",
        ),
        (
            {"budgets": [{"id": "a", "window": "day", "limit": "5 USD", "colour": "red"}]},
            "budgets[0]",
            "Additional properties",
        ),
        (
            {
                "budgets": [
                    {"id": "a", "window": "day", "limit": "1 USD"},
                    {"id": "a", "window": "day", "limit": "2 USD"},
                ]
            },
            "budgets[1].id",
            "duplicate budget id 'a' (also budgets[0])",
        ),
        ({"timezone": "Mars/Olympus", "budgets": []}, "timezone", "unknown time zone"),
        ({"store": {"type": "redis"}, "budgets": []}, "store", "'url' is a required property"),
        ({"store": {"type": "redis", "url": "redis://x", "timeout": 0}, "budgets": []}, "store.timeout", ""),
        ({"unpriced": "0.05 EUR", "budgets": []}, "unpriced", "is in EUR, the spend is in USD"),
        ({"unpriced": "free", "budgets": []}, "unpriced", ""),
        ({"rates": {"USD": 1}, "budgets": []}, "rates.USD", "is the spend currency itself"),
        (
            {
                "store": {"type": "redis", "url": "redis://x"},
                "budgets": [{"id": "a", "window": "day", "limit": "10000000 USD"}],
            },
            "budgets[0].limit",
            "exactly up to 9007199",
        ),
    ],
)
def test_malformed_policy_names_file_key_and_reason(data: object, key: str, reason: str) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_mapping(data, "budgets.yaml")
    assert isinstance(info.value, ValueError)
    assert info.value.file == "budgets.yaml"
    assert info.value.key == key or (key == "<root>" and info.value.key == "")
    assert reason in info.value.reason
    assert str(info.value).startswith(f"budgets.yaml: {key}: ")


def test_unreadable_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("budgets:\n  - id: [\n")
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    assert info.value.key.startswith("line ") and "not valid YAML" in info.value.reason
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)


def test_rates_allow_a_foreign_currency_budget() -> None:
    policy = policy_from_mapping(
        {"rates": {"EUR": "0.92"}, "budgets": [{"id": "a", "window": "day", "limit": "5 EUR"}]}
    )
    assert policy.rate("EUR") == Decimal("0.92") and policy.rate("USD") == 1 and policy.rate("GBP") is None


def test_calendar_periods_follow_the_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    day = Window.parse("day", berlin)
    # 23:30 UTC on 2026-03-28 is 00:30 on the 29th in Berlin (CET, +1).
    period = day.period(_ns("2026-03-28T23:30:00+00:00"))
    assert period.key == "2026-03-29"
    assert period.start_ns == _ns("2026-03-28T23:00:00+00:00")
    # The 29th is the DST switch: 23 hours long, it ends at 22:00 UTC.
    assert period.end_ns == _ns("2026-03-29T22:00:00+00:00")
    month = Window.parse("month", berlin).period(_ns("2026-12-31T23:30:00+00:00"))
    assert month.key == "2027-01"
    assert month.start_ns == _ns("2026-12-31T23:00:00+00:00")
    assert month.end_ns == _ns("2027-01-31T23:00:00+00:00")


def test_rolling_window_buckets() -> None:
    hour = Window.parse("1h", ZoneInfo("UTC"))
    assert hour.bucket_ns == 60 * 1_000_000_000
    at = _ns("2026-12-03T10:30:15+00:00")
    period = hour.period(at)
    assert period.bucket == at // hour.bucket_ns
    assert period.first_bucket == period.bucket - 60
    # The window covers the last 60 whole minutes plus the current one.
    assert period.start_ns == _ns("2026-12-03T09:30:00+00:00")
    assert period.end_ns == _ns("2026-12-03T10:31:00+00:00")
    assert datetime.fromtimestamp(period.start_ns / 1e9, UTC).minute == 30
