"""Enrichment in a BatchSpanProcessor's export thread: where the work runs, rollups across batches,
metrics counted once, a full queue, install() with several processors, shutdown order."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from otel_cost import CostSpanProcessor, RecordAllSampler, install
from otel_cost import semconv as sc
from otel_cost._deferred import Backlog, EnrichingExporter
from otel_cost.pricing import PriceCatalog
from tests.processor.processor_support import metric_points

# acme-chat (tests/processor/catalog.yaml): $1 per million input tokens, $2 per million output.
ACME = {sc.GEN_AI_PROVIDER_NAME: "acme", sc.GEN_AI_REQUEST_MODEL: "acme-chat"}


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def _pricing_threads(processor: CostSpanProcessor, catalog: PriceCatalog) -> list[str]:
    """The names of the threads that price a call from now on (appended as they price): the
    processor's catalog is wrapped so each ``price_tokens`` call notes its thread, then prices."""
    threads: list[str] = []
    price_tokens = catalog.price_tokens

    def spy(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return price_tokens(*args, **kwargs)  # type: ignore[arg-type]

    processor._catalog = type("Spy", (), {"price_tokens": staticmethod(spy)})()  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue]
    return threads


def _pipeline(
    catalog: PriceCatalog,
    reader: InMemoryMetricReader,
    providers: list[TracerProvider],
    *,
    sampler: Sampler | None = None,
    **bsp_options: int,
) -> tuple[TracerProvider, InMemorySpanExporter, BatchSpanProcessor, CostSpanProcessor]:
    exporter = InMemorySpanExporter()
    bsp = BatchSpanProcessor(exporter, **bsp_options)  # type: ignore[arg-type]
    processor = CostSpanProcessor(bsp, catalog=catalog, meter_provider=MeterProvider(metric_readers=[reader]))
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(processor)
    providers.append(provider)
    return provider, exporter, bsp, processor


def test_priced_in_the_export_thread_not_on_end(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider]
) -> None:
    provider, exporter, bsp, processor = _pipeline(catalog, reader, providers, schedule_delay_millis=60_000)
    assert isinstance(bsp.span_exporter, EnrichingExporter)  # wired at construction
    threads = _pricing_threads(processor, catalog)
    with provider.get_tracer("t").start_as_current_span(
        "chat", kind=SpanKind.CLIENT, attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
    ):
        pass
    assert threads == []  # on_end only handed the span on
    assert metric_points(reader, sc.METRIC_COST_CALLS) == []
    provider.force_flush()  # the BSP exports (here, in this thread), which prices
    assert threads == [threading.current_thread().name]
    (span,) = bsp.span_exporter.get_finished_spans()  # type: ignore[attr-defined]  # reaches the real exporter
    assert (span.attributes or {})[sc.COST_AMOUNT] == 0.001  # 1000 x $1/M
    assert exporter.get_finished_spans() == (span,)
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [1]
    # Without a flush, the BSP's own worker thread prices when its schedule comes.
    threads.clear()
    provider2, exporter2, _, processor2 = _pipeline(
        catalog, InMemoryMetricReader(), providers, schedule_delay_millis=20
    )
    processor2._catalog = processor._catalog  # pyright: ignore[reportPrivateUsage]
    with provider2.get_tracer("t").start_as_current_span(
        "chat-2", kind=SpanKind.CLIENT, attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1}
    ):
        pass
    for _ in range(500):
        if exporter2.get_finished_spans():
            break
        threading.Event().wait(0.01)
    assert threads == ["OtelBatchSpanRecordProcessor"]


def test_rollup_is_complete_across_batch_boundaries(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider]
) -> None:
    """Batches of 2 spans: the agent's 5 calls and the agent itself land in 3 batches, in end order."""
    provider, exporter, _, processor = _pipeline(
        catalog, reader, providers, max_export_batch_size=2, schedule_delay_millis=60_000
    )
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("agent", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}):
            for i in range(5):
                with tracer.start_as_current_span(
                    f"call-{i}", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000 * (i + 1)}
                ):
                    pass
        with tracer.start_as_current_span("call-5", attributes={**ACME, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500}):
            pass
    provider.force_flush()
    spans = {s.name: s.attributes or {} for s in exporter.get_finished_spans()}
    # agent: (1+2+3+4+5) x 1000 input tokens x $1/M = $0.015; root adds call-5: 500 x $2/M = $0.001.
    assert spans["agent"][sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.015, rel=1e-12)
    assert spans["root"][sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.016, rel=1e-12)
    assert processor._primary is not None  # pyright: ignore[reportPrivateUsage]
    assert processor._primary.rollups.pending == {}  # pyright: ignore[reportPrivateUsage]


class _ByName(Sampler):
    """Samples spans whose name is in ``names`` and drops the rest as RECORD_ONLY, whatever the
    parent decided (a sampler that does not follow the parent, to mix decisions in one trace)."""

    def __init__(self, *names: str) -> None:
        self._names = names

    def should_sample(  # noqa: PLR0917 - the SDK's Sampler signature
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        decision = Decision.RECORD_AND_SAMPLE if name in self._names else Decision.RECORD_ONLY
        return SamplingResult(decision, attributes)

    def get_description(self) -> str:
        return "ByName"


def test_unsampled_children_count_in_a_sampled_parents_rollup_and_metrics_once(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider]
) -> None:
    """The unsampled call is priced on the application thread (metrics) and its cost still reaches
    the sampled agent's rollup, enriched in the export thread; each call is counted once."""
    provider, exporter, _, _ = _pipeline(catalog, reader, providers, sampler=_ByName("agent", "sampled-call"))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("agent", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}):
        for name, tokens in (("dropped-call", 2000), ("sampled-call", 1000)):
            attributes = {**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: tokens}
            with tracer.start_as_current_span(name, attributes=attributes):
                pass
    provider.force_flush()
    spans = {s.name: s.attributes or {} for s in exporter.get_finished_spans()}
    assert set(spans) == {"agent", "sampled-call"}
    assert spans["agent"][sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.003, rel=1e-12)  # $0.002 + $0.001
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [2]
    (spend,) = metric_points(reader, sc.METRIC_COST_SPEND)
    assert Decimal(str(spend)) == Decimal("0.003")


class _Gate(InMemorySpanExporter):
    """Blocks in its first export until released, so the BSP's queue fills up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(10)
        return super().export(spans)


def test_full_queue_spans_priced_on_end_and_metrics_stay_exact(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider]
) -> None:
    """The BSP would evict its oldest (not yet priced) span to queue a new one; instead the new
    one is not queued and is priced on the application thread: every call is counted."""
    exporter = _Gate()
    bsp = BatchSpanProcessor(
        exporter, max_queue_size=4, max_export_batch_size=1, schedule_delay_millis=60_000
    )
    provider = TracerProvider()
    provider.add_span_processor(
        CostSpanProcessor(bsp, catalog=catalog, meter_provider=MeterProvider(metric_readers=[reader]))
    )
    providers.append(provider)
    tracer = provider.get_tracer("t")

    def call(i: int) -> None:
        attributes = {**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
        with tracer.start_as_current_span(f"call-{i}", attributes=attributes):
            pass

    call(0)
    assert exporter.entered.wait(10)  # the worker holds call-0 in the blocked export
    for i in range(1, 10):
        call(i)  # 1-4 fill the queue; 5-9 cannot be queued
    exporter.release.set()
    provider.force_flush()
    exported = sorted(s.name for s in exporter.get_finished_spans())
    assert exported == [f"call-{i}" for i in range(5)]
    assert all((s.attributes or {})[sc.COST_AMOUNT] == 0.001 for s in exporter.get_finished_spans())
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [10]
    (spend,) = metric_points(reader, sc.METRIC_COST_SPEND)
    assert spend == pytest.approx(0.01, rel=1e-12)  # 10 x 1000 x $1/M


@pytest.mark.parametrize("routes", [1, 2], ids=["one-bsp", "two-bsps-installed"])
def test_full_queue_under_concurrent_threads_never_evicts_an_unpriced_span(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider], routes: int
) -> None:
    """Application threads racing for a BSP's last free slot: the check and the hand-over are one
    step, so no BSP evicts a queued, not yet priced span and every call is counted once; with
    two BSPs (``install``), a span one of them cannot take is priced for the metrics elsewhere.
    A stress test: the GIL's switch interval is shortened so the threads interleave between check
    and append; without the lock in ``DeferredRoute.offer`` it failed about one run in five here
    (one BSP), and with two BSPs while they checked apart from the hand-over, 4 runs in 15."""
    gates = [_Gate() for _ in range(routes)]
    bsps = [
        BatchSpanProcessor(gate, max_queue_size=4, max_export_batch_size=1, schedule_delay_millis=60_000)
        for gate in gates
    ]
    provider = TracerProvider()
    meter_provider = MeterProvider(metric_readers=[reader])
    if routes == 1:
        processor = CostSpanProcessor(bsps[0], catalog=catalog, meter_provider=meter_provider)
        provider.add_span_processor(processor)
    else:
        for bsp in bsps:
            provider.add_span_processor(bsp)
        install(provider, catalog=catalog, meter_provider=meter_provider)
    providers.append(provider)
    tracer = provider.get_tracer("t")
    attributes = {**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}

    with tracer.start_as_current_span("call-first", attributes=attributes):
        pass
    for gate in gates:
        assert gate.entered.wait(10)  # each worker holds the first call in its blocked export
    threads, per_thread = 8, 200
    start = threading.Barrier(threads)

    def calls() -> None:
        start.wait()
        for i in range(per_thread):
            with tracer.start_as_current_span(f"call-{i}", attributes=attributes):
                pass

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=calls) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    finally:
        sys.setswitchinterval(interval)
    for gate in gates:
        gate.release.set()
    provider.force_flush()
    total = 1 + threads * per_thread
    for gate in gates:
        assert len(gate.get_finished_spans()) == 5  # the blocked one and a full queue of 4
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [total]
    (spend,) = metric_points(reader, sc.METRIC_COST_SPEND)
    assert spend == pytest.approx(total * 0.001, rel=1e-12)  # each call: 1000 x $1/M = $0.001


def test_install_with_two_batch_processors_and_a_simple_one(
    catalog: PriceCatalog, reader: InMemoryMetricReader
) -> None:
    """Each exporter gets enriched spans; metrics count the call once; a BSP added after install
    is wired too."""
    provider = TracerProvider()
    batch_a, batch_b, simple, later = (InMemorySpanExporter() for _ in range(4))
    bsp_a, bsp_b = BatchSpanProcessor(batch_a), BatchSpanProcessor(batch_b)
    provider.add_span_processor(bsp_a)
    provider.add_span_processor(SimpleSpanProcessor(simple))
    provider.add_span_processor(bsp_b)
    install(provider, catalog=catalog, meter_provider=MeterProvider(metric_readers=[reader]))
    bsp_later = BatchSpanProcessor(later)
    provider.add_span_processor(bsp_later)
    with provider.get_tracer("t").start_as_current_span(
        "chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
    ):
        pass
    provider.force_flush()
    for bsp in (bsp_a, bsp_b, bsp_later):
        assert isinstance(bsp.span_exporter, EnrichingExporter)
    for exporter in (batch_a, batch_b, simple, later):
        (span,) = exporter.get_finished_spans()
        assert (span.attributes or {})[sc.COST_AMOUNT] == 0.001
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [1]
    provider.shutdown()


def test_shutdown_exports_pending_spans_enriched_then_shuts_the_exporter(
    catalog: PriceCatalog, reader: InMemoryMetricReader
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        CostSpanProcessor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000), catalog=catalog)
    )
    with provider.get_tracer("t").start_as_current_span(
        "chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
    ):
        pass
    provider.shutdown()
    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})[sc.COST_AMOUNT] == 0.001
    assert exporter._stopped  # pyright: ignore[reportPrivateUsage]  # shut down after the last export


def test_defer_false_prices_in_on_end(catalog: PriceCatalog, reader: InMemoryMetricReader) -> None:
    exporter = InMemorySpanExporter()
    bsp = BatchSpanProcessor(exporter, schedule_delay_millis=60_000)
    provider = TracerProvider()
    provider.add_span_processor(
        CostSpanProcessor(
            bsp, catalog=catalog, meter_provider=MeterProvider(metric_readers=[reader]), defer=False
        )
    )
    with provider.get_tracer("t").start_as_current_span(
        "chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
    ):
        pass
    assert not isinstance(bsp.span_exporter, EnrichingExporter)
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [1]  # before any export
    provider.shutdown()
    assert (exporter.get_finished_spans()[0].attributes or {})[sc.COST_AMOUNT] == 0.001


def test_unsampled_spans_priced_off_the_application_thread(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider]
) -> None:
    """Behind a BSP, a span the sampler drops (RECORD_ONLY) is priced for the metrics by the
    backlog thread (or by force_flush), not in on_end; a full backlog prices in on_end."""
    provider, exporter, _, processor = _pipeline(
        catalog, reader, providers, sampler=RecordAllSampler(TraceIdRatioBased(0.0))
    )
    threads = _pricing_threads(processor, catalog)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}):
        pass
    assert "MainThread" not in threads  # on_end queued it
    provider.force_flush()
    assert len(threads) == 1
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [1]
    processor._backlog._capacity = 0  # pyright: ignore[reportPrivateUsage]
    threads.clear()
    with tracer.start_as_current_span("chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}):
        pass
    assert threads == [threading.current_thread().name]  # no room: priced in on_end
    provider.force_flush()
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [2]
    (spend,) = metric_points(reader, sc.METRIC_COST_SPEND)
    assert spend == pytest.approx(0.002, rel=1e-12)  # 2 x 1000 x $1/M
    assert exporter.get_finished_spans() == ()


def test_a_span_submitted_as_the_backlog_stops_is_still_priced() -> None:
    """``stop`` landing between ``submit``'s stopped-check and its append (forced here by a
    queue whose append runs ``stop`` first): the span must be priced, not left in a queue no
    thread will drain. The span and rollups are placeholders: only ``enrich`` sees them."""
    priced: list[object] = []
    recorded: list[list[Any]] = []

    def enrich(span: object, also: object, batch: list[Any]) -> None:
        priced.append(span)
        batch.append(span)

    backlog = Backlog(enrich, recorded.append)

    class StopFirst(deque[Any]):
        def append(self, item: Any) -> None:
            backlog.stop()
            super().append(item)

    backlog._queue = StopFirst()  # pyright: ignore[reportPrivateUsage]
    span = cast(ReadableSpan, object())
    assert backlog.submit(span, ()) is True
    assert priced == [span]
    assert recorded == [[span]]
    assert not backlog._queue  # pyright: ignore[reportPrivateUsage]
    assert backlog.submit(span, ()) is False  # stopped: the caller prices it


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_locks_held_at_a_fork_are_new_in_the_child(catalog: PriceCatalog) -> None:
    """A fork while another thread holds the route's hand-over lock or the rollups' lock (held
    here by this thread, which the child does not have): the child's ``on_end`` must not block."""
    bsp = BatchSpanProcessor(InMemorySpanExporter())
    processor = CostSpanProcessor(bsp, catalog=catalog)
    plan = processor._current_plan()  # pyright: ignore[reportPrivateUsage]
    assert plan is not None
    (route,), _ = plan
    held = [route._lock, processor._rollups.lock]  # pyright: ignore[reportPrivateUsage]
    for lock in held:
        lock.acquire()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
            pid = os.fork()
        if pid == 0:  # the child: exit at once, 0 only if both locks can be taken
            free = route._lock.acquire(timeout=2) and processor._rollups.lock.acquire(timeout=2)  # pyright: ignore[reportPrivateUsage]
            os._exit(0 if free else 1)
    finally:
        for lock in held:
            lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    bsp.shutdown()


def test_unsampled_traces_leave_no_rollup_in_the_export_thread(
    catalog: PriceCatalog,
    reader: InMemoryMetricReader,
    providers: list[TracerProvider],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unsampled call under an unsampled parent: neither ever reaches the BSP, so its cost must
    not wait there under that parent (it would never settle, and at the cap it would push out a
    sampled agent's pending sum). The cap is lowered to 100 so 200 such traces would reach it."""
    monkeypatch.setattr("otel_cost._deferred._ROLLUP_CAP", 100)
    provider, exporter, _, processor = _pipeline(
        catalog, reader, providers, sampler=_ByName("agent", "sampled-call")
    )
    tracer = provider.get_tracer("t")
    agent = tracer.start_span("agent", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"})
    with tracer.start_as_current_span(
        "sampled-call",
        context=trace.set_span_in_context(agent),
        attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000},
    ):
        pass
    provider.force_flush()  # the call is exported: its $0.001 waits for the agent in the BSP stream
    call = {**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}
    for _ in range(200):
        with tracer.start_as_current_span("workflow"), tracer.start_as_current_span("chat", attributes=call):
            pass
    agent.end()
    provider.force_flush()
    primary = processor._primary  # pyright: ignore[reportPrivateUsage]
    assert primary is not None
    assert primary.rollups.pending == {}
    spans = {s.name: s.attributes or {} for s in exporter.get_finished_spans()}
    assert spans["agent"][sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.001, rel=1e-12)  # 1000 x $1/M
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [201]  # every call still counted once


def test_a_span_one_of_two_bsps_cannot_take_still_reaches_its_parents_rollup_there(
    catalog: PriceCatalog, reader: InMemoryMetricReader, providers: list[TracerProvider]
) -> None:
    """install() with two BSPs; B's queue is full when the call ends, so only A (which records
    the metrics) exports it. B still exports the agent, whose rollup must include the call."""
    gate = _Gate()
    batch_a = InMemorySpanExporter()
    provider = TracerProvider()
    providers.append(provider)
    provider.add_span_processor(BatchSpanProcessor(batch_a, schedule_delay_millis=60_000))
    bsp_b = BatchSpanProcessor(gate, max_queue_size=1, max_export_batch_size=1, schedule_delay_millis=60_000)
    provider.add_span_processor(bsp_b)
    install(provider, catalog=catalog, meter_provider=MeterProvider(metric_readers=[reader]))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("filler-1"):
        pass
    assert gate.entered.wait(10)  # B's worker holds filler-1 in the blocked export
    with tracer.start_as_current_span("filler-2"):
        pass  # B's one-span queue is full
    with tracer.start_as_current_span("agent", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}):
        with tracer.start_as_current_span("chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}):
            pass  # only A takes it
        gate.release.set()
        assert bsp_b.force_flush()  # B's queue is empty again: it takes the agent
    provider.force_flush()
    a_spans = {s.name: s.attributes or {} for s in batch_a.get_finished_spans()}
    b_spans = {s.name: s.attributes or {} for s in gate.get_finished_spans()}
    assert set(b_spans) == {"filler-1", "filler-2", "agent"}
    # chat: 1000 input tokens x $1/M (acme-chat, tests/processor/catalog.yaml) = $0.001
    assert a_spans["agent"][sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.001, rel=1e-12)
    assert b_spans["agent"][sc.COST_ROLLUP_AMOUNT] == pytest.approx(0.001, rel=1e-12)
    assert metric_points(reader, sc.METRIC_COST_CALLS) == [1]  # counted once, by A's export thread
    wrapper = bsp_b.span_exporter
    assert isinstance(wrapper, EnrichingExporter)
    assert wrapper.rollups.pending == {}
