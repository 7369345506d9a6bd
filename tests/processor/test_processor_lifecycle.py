"""The processor's life around the spans: force_flush within its timeout, the flush at process
exit before the meter provider's last export, what one processor keeps between providers, and
the attribution the application set on a span, which baggage must not overwrite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from otel_cost import CostSpanProcessor, RecordAllSampler, attribution
from otel_cost import semconv as sc
from otel_cost.attribution import ATTRIBUTE_PREFIX
from otel_cost.pricing import PriceCatalog
from tests.processor.processor_support import metric_points

# acme-chat (tests/processor/catalog.yaml): $1 per million input tokens, $2 per million output.
ACME = {sc.GEN_AI_PROVIDER_NAME: "acme", sc.GEN_AI_REQUEST_MODEL: "acme-chat"}


def test_force_flush_keeps_to_its_timeout_with_a_long_backlog(
    catalog: PriceCatalog, providers: list[TracerProvider]
) -> None:
    """200 unsampled calls wait in the backlog (its thread held back, as between two wakes under
    load) and each takes 5 ms to price: a catalog wrapper sleeps, standing in for slow work such
    as counting the tokens of long prompts. ``force_flush(timeout_millis=50)`` must return False
    at about 50 ms, not after the whole second; a later flush prices the rest, none is lost."""
    reader = InMemoryMetricReader()
    processor = CostSpanProcessor(
        BatchSpanProcessor(InMemorySpanExporter()),
        catalog=catalog,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    price_tokens = catalog.price_tokens

    def slow(*args: object, **kwargs: object) -> object:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.005)
        return price_tokens(*args, **kwargs)  # type: ignore[arg-type]

    processor._catalog = type("Slow", (), {"price_tokens": staticmethod(slow)})()  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue]
    backlog = processor._backlog  # pyright: ignore[reportPrivateUsage]
    backlog._delay_s = 3600  # pyright: ignore[reportPrivateUsage]
    backlog._wake_at = 10**9  # pyright: ignore[reportPrivateUsage]
    provider = TracerProvider(sampler=RecordAllSampler(TraceIdRatioBased(0.0)))
    provider.add_span_processor(processor)
    providers.append(provider)
    tracer = provider.get_tracer("t")
    for _ in range(200):
        with tracer.start_as_current_span("chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}):
            pass
    started = time.monotonic()
    flushed = processor.force_flush(timeout_millis=50)
    elapsed = time.monotonic() - started
    assert flushed is False
    assert elapsed < 0.5  # 50 ms and the span being priced then; 1 s if the timeout is ignored
    assert 0 < len(backlog._queue) < 200  # pyright: ignore[reportPrivateUsage]
    assert processor.force_flush() is True
    assert sum(metric_points(reader, sc.METRIC_COST_CALLS)) == 200
    # 200 calls x 1000 input tokens x $1 per million (acme-chat, tests/processor/catalog.yaml)
    assert sum(metric_points(reader, sc.METRIC_COST_SPEND)) == pytest.approx(0.2, rel=1e-12)


_EXIT_SCRIPT = textwrap.dedent(
    """
    import sys
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from otel_cost import CostSpanProcessor, RecordAllSampler
    from otel_cost.pricing import load_catalog

    class ByName(Sampler):
        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, *args):
            sampled = name == "sampled"
            return SamplingResult(Decision.RECORD_AND_SAMPLE if sampled else Decision.DROP, attributes)

        def get_description(self):
            return "ByName"

    def lines(data):
        out = []
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name in ("cost.spend", "cost.calls"):
                        out.append(f"{m.name} {sum(p.value for p in m.data.data_points)}\\n")
        return "".join(out)

    tracer_provider = TracerProvider(sampler=RecordAllSampler(ByName()))  # exit hook: first
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(out=sys.stdout, formatter=lines), export_interval_millis=600_000
    )
    meter_provider = MeterProvider(metric_readers=[reader])  # exit hook: second, so it runs first
    catalog = load_catalog([sys.argv[1]], include_defaults=False)
    bsp = BatchSpanProcessor(InMemorySpanExporter())
    tracer_provider.add_span_processor(CostSpanProcessor(bsp, catalog=catalog, meter_provider=meter_provider))
    tracer = tracer_provider.get_tracer("t")
    model = {"gen_ai.provider.name": "acme", "gen_ai.request.model": "acme-chat"}
    for name, tokens in (("sampled", 1000), ("unsampled", 2000)):
        with tracer.start_as_current_span(name, attributes={**model, "gen_ai.usage.input_tokens": tokens}):
            pass
    """
)


def test_spans_still_queued_at_exit_reach_the_last_metric_export(tmp_path: Path) -> None:
    """A script that makes its TracerProvider before its MeterProvider (as the SDK's auto
    configuration does) and exits right after two calls: one sampled, still queued in the BSP
    (5 s schedule delay), one unsampled, in the backlog. Both providers shut down in their own
    exit hooks, the meter provider's first; the cost processor's flush must run before it, so
    the exit-time export (the SDK's console exporter, on stdout) holds both calls. A subprocess,
    since only a real interpreter exit runs the exit hooks."""
    script = tmp_path / "exit_app.py"
    script.write_text(_EXIT_SCRIPT)
    catalog_file = Path(__file__).with_name("catalog.yaml")
    done = subprocess.run(
        [sys.executable, str(script), str(catalog_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    exported = dict(line.split() for line in done.stdout.splitlines())
    assert exported["cost.calls"] == "2"
    # acme-chat, $1 per million input tokens: 1000 + 2000 tokens = $0.003
    assert float(exported["cost.spend"]) == pytest.approx(0.003, rel=1e-12)


def test_baggage_does_not_overwrite_attribution_the_application_set_on_the_span(
    catalog: PriceCatalog, providers: list[TracerProvider]
) -> None:
    """Precedence (docs/processor.md "Attribution", otel_cost/attribution.py): a
    ``cost.attribution.<key>`` already on the span beats baggage; baggage still fills the keys
    the span lacks. On the exported span and on the metric's dimension alike."""
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(
        CostSpanProcessor(
            SimpleSpanProcessor(exporter),
            catalog=catalog,
            meter_provider=MeterProvider(metric_readers=[reader]),
        )
    )
    providers.append(provider)
    own = {**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, ATTRIBUTE_PREFIX + "project": "checkout"}
    with (
        attribution(project="from-baggage", tenant="acme-corp"),
        provider.get_tracer("t").start_as_current_span("chat", attributes=own),
    ):
        pass
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes or {}
    assert attrs[ATTRIBUTE_PREFIX + "project"] == "checkout"
    assert attrs[ATTRIBUTE_PREFIX + "tenant"] == "acme-corp"
    data = reader.get_metrics_data()
    assert data is not None
    (point,) = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == sc.METRIC_COST_CALLS
        for p in m.data.data_points  # type: ignore[union-attr]
    ]
    assert point.attributes is not None
    assert point.attributes[ATTRIBUTE_PREFIX + "project"] == "checkout"


def test_one_processor_on_two_providers_attributes_each_to_its_own_resource(catalog: PriceCatalog) -> None:
    """The resource's attribution is computed once per resource and cached; a second provider (a
    second resource) must get its own, not the first one's."""
    exporter = InMemorySpanExporter()
    processor = CostSpanProcessor(SimpleSpanProcessor(exporter), catalog=catalog)
    for environment in ("prod", "staging"):
        provider = TracerProvider(
            resource=Resource.create({sc.DEPLOYMENT_ENVIRONMENT_NAME: environment}), shutdown_on_exit=False
        )
        provider.add_span_processor(processor)
        attributes = {**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
        with provider.get_tracer("t").start_as_current_span(f"chat-{environment}", attributes=attributes):
            pass
    processor.shutdown()
    environments = {
        s.name: (s.attributes or {})[ATTRIBUTE_PREFIX + "environment"] for s in exporter.get_finished_spans()
    }
    assert environments == {"chat-prod": "prod", "chat-staging": "staging"}
