"""CostSpanProcessor on a real SDK pipeline: what exporters receive."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from processor_support import Setup  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import attribution
from otel_cost import semconv as sc
from otel_cost.estimate import count_tokens, encoding_for
from otel_cost.processor import CostSpanProcessor

ACME = {
    sc.GEN_AI_PROVIDER_NAME: "acme",
    sc.GEN_AI_REQUEST_MODEL: "acme-chat",
    sc.GEN_AI_OPERATION_NAME: "chat",
}


def _llm(setup: Setup, name: str, **attrs: object) -> None:
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes={**ACME, **attrs}):  # type: ignore[arg-type]
        pass


def test_priced_span_carries_cost_attributes(setup: Setup) -> None:
    # 1000 input (400 cached) + 500 output of acme-chat: 600 x $1/M + 400 x $0.50/M + 500 x $2/M
    # = 0.0006 + 0.0002 + 0.001 = $0.0018
    _llm(
        setup,
        "chat",
        **{
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 400,
        },
    )
    attrs = setup.spans()["chat"].attributes or {}
    assert attrs[sc.COST_AMOUNT] == 0.0018
    assert attrs[sc.COST_CURRENCY] == "USD"
    assert attrs[sc.COST_STATUS] == "priced"
    assert attrs[sc.COST_SOURCE] == "local"
    assert attrs[f"{sc.COST_BREAKDOWN}.input"] == 0.0006
    assert attrs[f"{sc.COST_BREAKDOWN}.cache_read"] == 0.0002
    assert attrs[f"{sc.COST_BREAKDOWN}.output"] == 0.001
    assert str(attrs[sc.COST_PRICE_REF]).startswith("acme/acme-chat@")
    assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == 0.0018
    assert attrs[sc.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert attrs[sc.GEN_AI_USAGE_COST_SOURCE] == "local"
    assert attrs[f"{sc.COST_ATTRIBUTION}.service"] == "svc"
    assert attrs[f"{sc.COST_ATTRIBUTION}.environment"] == "test"
    assert sc.COST_REASON not in attrs
    assert sc.OPERATION_COST not in attrs  # mirrors are opt-in


def test_mirrors(make_setup: Callable[..., Setup]) -> None:
    setup = make_setup(mirrors=("logfire", "openlit", "openinference"))
    _llm(setup, "chat", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500})
    attrs = setup.spans()["chat"].attributes or {}
    # 1000 x $1/M + 500 x $2/M = 0.001 + 0.001
    assert attrs[sc.OPERATION_COST] == 0.002
    assert attrs[sc.GEN_AI_USAGE_COST] == 0.002
    assert attrs[sc.LLM_COST_TOTAL] == 0.002
    assert attrs[sc.LLM_COST_PROMPT] == 0.001
    assert attrs[sc.LLM_COST_COMPLETION] == 0.001
    with pytest.raises(ValueError, match="unknown mirrors"):
        CostSpanProcessor(None, mirrors=("langsmith",))


def test_other_conventions_get_current_token_names(setup: Setup) -> None:
    """OpenInference span: tokens also written under the current gen_ai.usage.* names."""
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span(
        "llm",
        attributes={
            sc.OPENINFERENCE_SPAN_KIND: "LLM",
            sc.LLM_MODEL_NAME: "acme-chat",
            sc.LLM_PROVIDER: "acme",
            sc.LLM_TOKEN_COUNT_PROMPT: 2000,
            sc.LLM_TOKEN_COUNT_COMPLETION: 100,
            sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 1000,
        },
    ):
        pass
    attrs = setup.spans()["llm"].attributes or {}
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 2000
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 100
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1000
    # 1000 x $1/M + 1000 x $0.50/M + 100 x $2/M = 0.001 + 0.0005 + 0.0002
    assert attrs[sc.COST_AMOUNT] == pytest.approx(0.0017, rel=1e-12)


def test_original_span_is_untouched(setup: Setup) -> None:
    """Exporters get an enriched copy that keeps everything of the span but its added attributes
    (events, links, kind, status, times, ids); the SDK's own span keeps its frozen attributes."""
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span("linked") as other:
        pass
    with tracer.start_as_current_span(
        "chat",
        kind=SpanKind.CLIENT,
        attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1},
        links=[Link(other.get_span_context(), {"why": "retry"})],
    ) as span:
        span.add_event("gen_ai.choice", {"index": 0})
        span.set_status(Status(StatusCode.ERROR, "rate limited"))
    assert isinstance(span, ReadableSpan)
    assert sc.COST_AMOUNT not in (span.attributes or {})
    exported = setup.spans()["chat"]
    assert (exported.attributes or {})[sc.COST_AMOUNT] > 0
    assert exported.context == span.context
    assert exported.parent == span.parent
    assert exported.kind is SpanKind.CLIENT
    assert (exported.status.status_code, exported.status.description) == (StatusCode.ERROR, "rate limited")
    assert [(e.name, dict(e.attributes or {})) for e in exported.events] == [("gen_ai.choice", {"index": 0})]
    assert [(lk.context, dict(lk.attributes or {})) for lk in exported.links] == [
        (other.get_span_context(), {"why": "retry"})
    ]
    assert exported.start_time == span.start_time and exported.end_time == span.end_time
    assert exported.resource is span.resource
    assert exported.instrumentation_scope == span.instrumentation_scope


def test_baggage_attribution_copied_at_start(setup: Setup) -> None:
    tracer = setup.provider.get_tracer("test")
    with (
        attribution(project="search", cost_center="cc-42", user="u-1"),
        tracer.start_as_current_span("outer"),
    ):
        _llm(setup, "chat", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 10, sc.USER_ID: "span-user"})
    spans = setup.spans()
    chat = spans["chat"].attributes or {}
    assert chat[f"{sc.COST_ATTRIBUTION}.project"] == "search"
    assert chat[f"{sc.COST_ATTRIBUTION}.cost_center"] == "cc-42"
    assert chat[f"{sc.COST_ATTRIBUTION}.user"] == "u-1"  # baggage outranks the span's user.id
    # Non-billable spans get the attribution too (it was set while they were mutable), no cost.
    outer = spans["outer"].attributes or {}
    assert outer[f"{sc.COST_ATTRIBUTION}.project"] == "search"
    assert sc.COST_AMOUNT not in outer


def test_rollup_on_agent_and_root_never_spend(setup: Setup) -> None:
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("agent", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}):
            _llm(setup, "call-1", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 1000})  # $0.001
            with tracer.start_as_current_span("tool", attributes={sc.GEN_AI_OPERATION_NAME: "execute_tool"}):
                _llm(setup, "call-2", **{sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1000})  # $0.002
        _llm(setup, "call-3", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 500})  # $0.0005
    spans = setup.spans()
    agent, root, tool = (spans[n].attributes or {} for n in ("agent", "root", "tool"))
    assert agent[sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.003, rel=1e-12)
    assert root[sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.0035, rel=1e-12)
    assert sc.COST_ROLLUP_AMOUNT in tool  # tool spans are orchestration spans too
    for attrs in (agent, root, tool):
        assert sc.COST_AMOUNT not in attrs
    # Summing cost.amount over the trace counts each call once.
    total = sum(float((s.attributes or {}).get(sc.COST_AMOUNT, 0.0)) for s in spans.values())  # type: ignore[arg-type]
    assert total == pytest.approx(0.0035, rel=1e-12)
    assert all(pending == {} for pending in setup.pending_rollups())


def test_provider_reported_cost_used_as_is(setup: Setup) -> None:
    _llm(
        setup,
        "chat",
        **{
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
            sc.GEN_AI_USAGE_COST_AMOUNT: 0.0123,
            sc.GEN_AI_USAGE_COST_SOURCE: "provider",
        },
    )
    attrs = setup.spans()["chat"].attributes or {}
    assert attrs[sc.COST_AMOUNT] == 0.0123
    assert attrs[sc.COST_SOURCE] == "provider"
    assert sc.COST_PRICE_REF not in attrs


def test_token_fallback_tiktoken_for_openai_models(setup: Setup) -> None:
    """gpt-4o counts with o200k_base. Prompt, by OpenAI's chat accounting (openai-cookbook "How to
    count tokens with tiktoken"): 3 per message + "user" (1) + "Hello, world!" (4: "Hello", ",",
    " world", "!") + 3 priming the reply = 11. Output "Hi there" = 2 ("Hi", " there").
    11 x $2.50/M + 2 x $10/M = 0.0000275 + 0.00002 = $0.0000475."""
    if encoding_for("gpt-4o") is None or count_tokens("x", "gpt-4o") is None:  # pragma: no cover
        pytest.fail("gpt-4o must map to a tiktoken encoding")
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span(
        "stream",
        attributes={
            sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Hello, world!"}]}]
            ),
            sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Hi there"}]}]
            ),
        },
    ):
        pass
    attrs = setup.spans()["stream"].attributes or {}
    assert attrs[sc.COST_USAGE_ESTIMATED] is True
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 11
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.COST_AMOUNT] == pytest.approx(0.0000475, rel=1e-12)


def test_token_fallback_approximation_for_other_vendors(setup: Setup) -> None:
    """acme-chat has no public tokenizer: chars/4 rounded up. OpenLLMetry's indexed keys:
    prompt 17 chars -> 5 tokens; completion 8 chars -> 2. 5 x $1/M + 2 x $2/M = $0.000009."""
    _llm(
        setup,
        "chat",
        **{"gen_ai.prompt.0.content": "What is 2 plus 2?", "gen_ai.completion.0.content": "It is 4."},
    )
    attrs = setup.spans()["chat"].attributes or {}
    assert attrs[sc.COST_USAGE_ESTIMATED] is True
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.COST_AMOUNT] == pytest.approx(0.000009, rel=1e-12)


@pytest.mark.parametrize(
    ("attrs", "reason"),
    [
        ({sc.GEN_AI_USAGE_INPUT_TOKENS: -5}, "invalid_usage"),
        ({sc.GEN_AI_USAGE_INPUT_TOKENS: "lots"}, "invalid_usage"),
        ({sc.GEN_AI_USAGE_OUTPUT_TOKENS: 10**12}, "invalid_usage"),
        ({}, "no_usage"),
        (
            {
                sc.GEN_AI_PROVIDER_NAME: "",
                sc.GEN_AI_REQUEST_MODEL: "unknown-model-x",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 5,
            },
            "unknown_model",
        ),
    ],
)
def test_bad_values_unpriced_with_reason_and_one_warning(
    setup: Setup, caplog: pytest.LogCaptureFixture, attrs: dict[str, object], reason: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_cost.processor"):
        for i in range(3):
            _llm(setup, f"chat-{i}", **attrs)
    for span in setup.spans().values():
        out = span.attributes or {}
        assert out[sc.COST_STATUS] == "unpriced"
        assert out[sc.COST_REASON] == reason
        assert sc.COST_AMOUNT not in out
    warnings = [r for r in caplog.records if r.name == "otel_cost.processor"]
    assert len(warnings) == 1
    assert reason in warnings[0].getMessage()


def test_already_priced_span_passes_unchanged(setup: Setup) -> None:
    _llm(setup, "chat", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, sc.COST_AMOUNT: 9.0, sc.COST_STATUS: "priced"})
    attrs = setup.spans()["chat"].attributes or {}
    assert attrs[sc.COST_AMOUNT] == 9.0
    assert sc.COST_PRICE_REF not in attrs


def test_spans_priced_upstream_count_in_the_rollup_llm_and_http_alike(setup: Setup) -> None:
    """A span that already carries cost.amount (priced upstream, or by the application) is not
    priced again, but its cost is a descendant's cost all the same, whatever its kind."""
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span("agent", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}):
        _llm(setup, "chat", **{sc.COST_AMOUNT: 0.5, sc.COST_STATUS: "priced"})
        with tracer.start_as_current_span(
            "GET",
            kind=SpanKind.CLIENT,
            attributes={
                sc.HTTP_REQUEST_METHOD: "GET",
                sc.URL_FULL: "https://maps.example/geocode",
                sc.COST_AMOUNT: 0.25,
                sc.COST_STATUS: "priced",
            },
        ):
            pass
    spans = setup.spans()
    assert (spans["GET"].attributes or {})[sc.COST_AMOUNT] == 0.25  # kept as set upstream
    # $0.50 (the LLM call) + $0.25 (the HTTP call), both as priced upstream
    assert (spans["agent"].attributes or {})[sc.COST_ROLLUP_AMOUNT] == 0.75
    assert all(pending == {} for pending in setup.pending_rollups())


@pytest.mark.parametrize(
    ("units", "reason"),
    [
        (-3, "invalid_usage"),
        ("three", "invalid_usage"),
        (2.5, "invalid_usage"),
        (10**10, "invalid_usage"),
        (None, "missing_units"),
    ],
)
def test_bad_units_on_a_per_unit_api_are_invalid_not_missing(
    setup: Setup, units: object, reason: str
) -> None:
    """cost.units present but not a count (negative, non-numeric, fractional, absurd) is a bad
    value, ``invalid_usage``; only a span without it is ``missing_units``."""
    attrs: dict[str, object] = {sc.HTTP_METHOD: "POST", sc.HTTP_URL: "https://ocr.example/pages"}
    if units is not None:
        attrs[sc.COST_UNITS] = units
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes=attrs):  # type: ignore[arg-type]
        pass
    out = setup.spans()["POST"].attributes or {}
    assert (out[sc.COST_STATUS], out[sc.COST_REASON]) == ("unpriced", reason)
    assert sc.COST_AMOUNT not in out


def test_http_spans_priced_by_api_rules_and_redacted(setup: Setup) -> None:
    tracer = setup.provider.get_tracer("test")
    with tracer.start_as_current_span(
        "GET",
        kind=SpanKind.CLIENT,
        attributes={
            sc.HTTP_REQUEST_METHOD: "GET",
            sc.URL_FULL: "https://bob:hunter2@api.search.example/v1/search?q=otel&api_key=sk-123&token=t",
            sc.SERVER_ADDRESS: "api.search.example",
        },
    ):
        pass
    with tracer.start_as_current_span(
        "POST",
        kind=SpanKind.CLIENT,
        attributes={sc.HTTP_METHOD: "POST", sc.HTTP_URL: "https://ocr.example/pages", sc.COST_UNITS: 3},
    ):
        pass
    with tracer.start_as_current_span(
        "GET free",
        kind=SpanKind.CLIENT,
        attributes={sc.HTTP_REQUEST_METHOD: "GET", sc.URL_FULL: "https://free.example/"},
    ):
        pass
    with tracer.start_as_current_span(
        "server",
        kind=SpanKind.SERVER,
        attributes={sc.HTTP_REQUEST_METHOD: "GET", sc.URL_FULL: "https://api.search.example/v1/search"},
    ):
        pass
    spans = setup.spans()
    search = spans["GET"].attributes or {}
    assert search[sc.COST_AMOUNT] == 0.005  # $0.005 a call
    assert search[f"{sc.COST_BREAKDOWN}.call"] == 0.005
    assert sc.GEN_AI_USAGE_COST_AMOUNT not in search  # gen_ai.* cost only on gen_ai spans
    url = str(search[sc.URL_FULL])
    assert "hunter2" not in url and "bob" not in url and "sk-123" not in url
    assert (
        url == "https://REDACTED:REDACTED@api.search.example/v1/search?q=otel&api_key=REDACTED&token=REDACTED"
    )
    assert (spans["POST"].attributes or {})[sc.COST_AMOUNT] == pytest.approx(0.03)  # 3 pages x $0.01
    assert sc.COST_STATUS not in (spans["GET free"].attributes or {})  # not a paid API
    assert sc.COST_STATUS not in (spans["server"].attributes or {})  # server spans are not calls


def test_internal_error_is_logged_and_span_forwarded(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, export_mode: str
) -> None:
    """Outside tests (OTEL_COST_RAISE_ERRORS unset and no pytest) an internal error is logged and
    the span still reaches the exporter unchanged; under pytest it is raised from on_end so bugs
    show. In a BatchSpanProcessor's export thread it is always logged: raising there would lose
    the whole batch, and no user code is on that stack."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(setup.processor, "_catalog", type("C", (), {"price_tokens": broken})())
    monkeypatch.setenv("OTEL_COST_RAISE_ERRORS", "false")
    with caplog.at_level(logging.ERROR):
        _llm(setup, "chat", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 10})
        spans = setup.spans()
    assert "internal error" in caplog.text
    assert sc.COST_STATUS not in (spans["chat"].attributes or {})
    assert set(spans) == {"chat"}
    monkeypatch.setenv("OTEL_COST_RAISE_ERRORS", "true")
    if export_mode == "simple":
        with pytest.raises(RuntimeError, match="boom"):
            setup.processor.on_end(spans["chat"])
    else:
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            _llm(setup, "chat-2", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 10})
            assert sc.COST_STATUS not in (setup.spans()["chat-2"].attributes or {})
        assert "internal error in the export thread" in caplog.text


def test_metrics_recorded_with_attribution_dimensions(setup: Setup) -> None:
    with attribution(project="search"):
        _llm(setup, "chat", **{sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500})
    data = setup.metrics()
    assert data is not None
    spend = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == sc.METRIC_COST_SPEND
        for p in m.data.data_points  # type: ignore[union-attr]
    ]
    assert len(spend) == 1
    assert spend[0].value == pytest.approx(0.002)  # type: ignore[union-attr]
    dims = dict(spend[0].attributes or {})
    assert dims[f"{sc.COST_ATTRIBUTION}.project"] == "search"
    assert dims[sc.SERVICE_NAME] == "svc"
    assert dims[sc.GEN_AI_REQUEST_MODEL] == "acme-chat"
    assert Decimal(str(spend[0].value)) == Decimal("0.002")  # type: ignore[union-attr]
