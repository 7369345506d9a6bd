"""attribution(): W3C baggage in, cost.attribution.* keys out, with documented precedence."""

from __future__ import annotations

import pytest
from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator

from otel_cost import semconv as sc
from otel_cost.attribution import AttributionConfig, attribution, resolve_attribution


def test_context_manager_sets_prefixed_baggage_and_restores() -> None:
    assert baggage.get_all() == {}
    with attribution(project="search", cost_center="cc-42", user="u-1"):
        assert dict(baggage.get_all()) == {
            "cost.project": "search",
            "cost.cost_center": "cc-42",
            "cost.user": "u-1",
        }
        with attribution(project="ranking", tenant="acme"):
            entries = baggage.get_all()
            assert entries["cost.project"] == "ranking"
            assert entries["cost.user"] == "u-1"
            assert entries["cost.tenant"] == "acme"
        assert baggage.get_all()["cost.project"] == "search"
    assert baggage.get_all() == {}


def test_baggage_crosses_the_w3c_propagator() -> None:
    carrier: dict[str, str] = {}
    with attribution(project="search engine", user="u/1"):
        W3CBaggagePropagator().inject(carrier)
    ctx = W3CBaggagePropagator().extract(carrier)
    assert resolve_attribution({}, {}, baggage.get_all(ctx)) == {"project": "search engine", "user": "u/1"}


@pytest.mark.parametrize("kwargs", [{"Project": "x"}, {"cost-center": "x"}, {"project": 3}])
def test_bad_keys_or_values_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError), attribution(**kwargs):  # type: ignore[arg-type]
        pass


def test_precedence_span_cost_attrs_then_baggage_then_span_then_resource() -> None:
    span = {
        f"{sc.COST_ATTRIBUTION}.project": "from-span-cost",
        sc.USER_ID: "span-user",
        sc.GEN_AI_CONVERSATION_ID: "conv-9",
        sc.GEN_AI_AGENT_NAME: "planner",
    }
    resource = {
        sc.SERVICE_NAME: "checkout",
        sc.DEPLOYMENT_ENVIRONMENT_NAME: "prod",
        sc.DEPLOYMENT_ENVIRONMENT: "old",
    }
    bag = {"cost.project": "from-baggage", "cost.user": "bag-user", "unrelated": "x"}
    assert resolve_attribution(span, resource, bag) == {
        "project": "from-span-cost",
        "user": "bag-user",
        "session": "conv-9",
        "agent": "planner",
        "service": "checkout",
        "environment": "prod",
    }
    # Without baggage (the receiver's view) the span attribute user.id is used.
    assert resolve_attribution(span, resource)["user"] == "span-user"


def test_plain_user_and_session_baggage_by_default() -> None:
    assert resolve_attribution({}, {}, {"user.id": "u-7", "session.id": "s-1"}) == {
        "user": "u-7",
        "session": "s-1",
    }


def test_custom_config() -> None:
    config = AttributionConfig(
        baggage={"team": "project"},
        baggage_prefix=None,
        span_attributes={"app.tenant": "tenant"},
        resource_attributes={"k8s.namespace.name": "environment"},
    )
    out = resolve_attribution(
        {"app.tenant": "acme", sc.USER_ID: "ignored"},
        {"k8s.namespace.name": "staging", sc.SERVICE_NAME: "ignored"},
        {"team": "search", "cost.project": "ignored"},
        config,
    )
    assert out == {"project": "search", "tenant": "acme", "environment": "staging"}
    with pytest.raises(ValueError, match="attribution key"):
        AttributionConfig(span_attributes={"x": "Bad-Key"})


def test_values_are_trimmed_and_cut() -> None:
    out = resolve_attribution({sc.USER_ID: "  " + "u" * 300 + " "}, {sc.SERVICE_NAME: ""})
    assert out == {"user": "u" * 256}
