"""CostSpanProcessor: cost, tokens and attribution on every gen_ai and paid-HTTP span (SDK side).

The SDK freezes a span's attributes before any end hook runs, so cost (known only at the end)
cannot be set on the span itself. The processor wraps the processor that exports (logfire's
pattern): a copy of the span with the cost attributes goes to the wrapped processor. Behind a
``BatchSpanProcessor`` (directly, or among the processors ``install`` gathers) the copy is made
in that processor's export thread, by wrapping its exporter (:mod:`otel_cost._deferred`), so
``on_end`` only hands the span on; spans the sampler dropped are priced for the metrics by a
bounded background thread. Behind any other processor ``on_end`` does the work. Attribution
from baggage is set in ``on_start``, while the span is still mutable. Two ways in::

    provider.add_span_processor(CostSpanProcessor(BatchSpanProcessor(exporter)))
    otel_cost.install()   # every processor already on the (global) provider gets enriched spans

Supported SDK: opentelemetry-sdk >= 1.40, < 2 (tested with 1.45). ``install`` relies on the
SDK's ``TracerProvider._active_span_processor`` being a multi-span processor holding a
``_span_processors`` tuple, true for that whole range; it raises ``TypeError`` otherwise.

Under zero-code ``opentelemetry-instrument``, set ``OTEL_COST_ENABLED=true``: the
``opentelemetry_post_instrument`` entry point calls :func:`install` after the SDK is configured.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from opentelemetry import baggage, trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, SynchronousMultiSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_cost import semconv as sc
from otel_cost._deferred import Backlog, DeferredRoute, EnrichingExporter, Rollups, plan_routes
from otel_cost._enrich import MIRRORS, Catalog, Priced, cost_attributes, price_http, price_llm, redacted_urls
from otel_cost._enrich import with_attributes as _with_attributes
from otel_cost._sampling import RecordAllSampler
from otel_cost.attribution import (
    ATTRIBUTE_PREFIX,
    DEFAULT_CONFIG,
    AttributionConfig,
    from_baggage,
    resolve_attribution,
)
from otel_cost.metrics import DEFAULT_DIMENSION_KEYS, CostMetrics
from otel_cost.record import CostRecord, error_type_of
from otel_cost.usage import is_orchestration, read_call

__all__ = ("ENV_ENABLED", "ENV_RAISE_ERRORS", "CostSpanProcessor", "RecordAllSampler", "install")

_logger = logging.getLogger(__name__)

ENV_ENABLED = "OTEL_COST_ENABLED"
ENV_RAISE_ERRORS = "OTEL_COST_RAISE_ERRORS"
_WARNED_CAP = 1_000
_EXIT_FLUSH_MILLIS = 10_000  # the flush at process exit, before the meter provider's last export
_ZERO = Decimal(0)
_NO_ATTRS: Mapping[str, object] = {}


def _attributes(span: ReadableSpan) -> Mapping[str, object]:
    """The span's attributes as a plain dict, read-only. Lookups through the SDK's read-only view
    of its ``BoundedAttributes`` cost several times a dict's, and the processor makes dozens per
    span, so it reads the underlying dict (SDK internals, stable over the supported range; frozen
    once the span has ended; the public view is the fallback). Never mutated here."""
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if isinstance(inner, dict):
        return inner  # pyright: ignore[reportUnknownVariableType]
    return dict(span.attributes) if span.attributes else {}


def _parent_sampled(span: ReadableSpan) -> bool:
    """The span's parent is local and sampled: it reaches the export threads."""
    parent = span.parent
    return parent is not None and not parent.is_remote and parent.trace_flags.sampled


def _raise_errors() -> bool:
    flag = os.environ.get(ENV_RAISE_ERRORS, "").strip().lower()
    if flag:
        return flag in ("1", "true", "yes")
    return "pytest" in sys.modules  # like logfire: tests never hide internal errors


class CostSpanProcessor(SpanProcessor):
    """Prices every billable span and forwards an enriched copy to ``next_processor``.

    Args:
        next_processor: the processor that exports (``BatchSpanProcessor(exporter)``), or ``None``
            when only metrics are wanted.
        catalog: a :class:`~otel_cost.pricing.PriceCatalog`; ``default_catalog()`` when ``None``.
        attribution_config: which baggage, span and resource attributes become ``cost.attribution.*``.
        meter_provider: when given, cost metrics are recorded here for every priced span, sampled
            or not (pair with a ``RECORD_ONLY`` sampler so totals are exact at any sampling rate).
            The processor then flushes itself at process exit, before that provider's last
            export; when shutting down by hand, shut the tracer provider down first.
        mirrors: any of ``logfire``, ``openlit``, ``openinference``: copies of the cost under those
            tools' attribute names.
        estimate_tokens: count tokens locally (tiktoken) when a gen_ai span has content but no usage.
        rollup: write ``cost.rollup.amount`` on agent/workflow and local root spans.
        defer: when ``next_processor`` is (or, as ``install`` builds it, holds) a
            ``BatchSpanProcessor``, enrich sampled spans in its export thread instead of ``on_end``
            (the BSP's exporter is wrapped, see :mod:`otel_cost._deferred`); ``False`` keeps all
            of the work in ``on_end``.
        dimension_keys, high_cardinality_keys, cardinality_cap: metric dimensions (see ``CostMetrics``).

    Hooks never raise into the application: internal errors are logged (and re-raised under
    pytest, or when ``OTEL_COST_RAISE_ERRORS=true``); bad span values price as ``unpriced`` with a
    reason, with one log warning per cause. A bad argument raises ``ValueError`` here.
    """

    def __init__(
        self,
        next_processor: SpanProcessor | None = None,
        *,
        catalog: Catalog | None = None,
        attribution_config: AttributionConfig | None = None,
        meter_provider: MeterProvider | None = None,
        mirrors: Iterable[str] = (),
        estimate_tokens: bool = True,
        rollup: bool = True,
        dimension_keys: Iterable[str] = DEFAULT_DIMENSION_KEYS,
        high_cardinality_keys: Iterable[str] = (),
        cardinality_cap: int = 1000,
        defer: bool = True,
    ) -> None:
        self._mirrors = tuple(mirrors)
        unknown = set(self._mirrors) - MIRRORS
        if unknown:
            raise ValueError(f"unknown mirrors {sorted(unknown)}; choose from {sorted(MIRRORS)}")
        self._next = next_processor
        if catalog is None:
            from otel_cost.pricing import default_catalog

            catalog = default_catalog()
        self._catalog: Catalog = catalog
        self._config = attribution_config or DEFAULT_CONFIG
        self._metrics = (
            CostMetrics(
                meter_provider,
                dimension_keys=dimension_keys,
                high_cardinality_keys=high_cardinality_keys,
                cardinality_cap=cardinality_cap,
            )
            if meter_provider is not None
            else None
        )
        self._estimate = estimate_tokens
        self._rollup_enabled = rollup
        self._rollups = Rollups()  # spans enriched on the application thread
        self._warned: set[tuple[str, str | None, str | None]] = set()
        self._resource_cache: tuple[Resource, dict[str, str]] | None = None
        self._defer = defer
        self._plan_key: object = None
        self._plan: _Plan | None = None
        self._plan_lock = threading.Lock()
        self._primary: EnrichingExporter | None = None  # the export thread that records metrics
        self._queue_full_warned = False
        # Unsampled spans, when everything sampled goes to export threads: priced off this thread.
        self._backlog = Backlog(self._enrich_unsampled, self._record_many_unsampled)
        try:
            self._current_plan()  # wrap a BSP's exporter now, so the wiring is visible at once
        except Exception as exc:
            self._internal_error("__init__", exc)
        # Sampled spans are measured when a BSP exports them, unsampled ones by the backlog: both
        # can still be pending at exit. atexit runs last-registered first, and ``meter_provider``
        # (with its own exit hook, the SDK's default) was made before this processor, so this
        # flush runs before the meter provider's last export, whatever order the providers
        # were made in. Held weakly: the hook does not keep a discarded processor alive.
        self._exit_hook: Callable[[], None] | None = None
        if self._metrics is not None:
            self._exit_hook = _flush_at_exit(weakref.ref(self))
            atexit.register(self._exit_hook)

    @property
    def next_processor(self) -> SpanProcessor | None:
        """The wrapped processor enriched spans go to."""
        return self._next

    # -- hooks -------------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Copy attribution from baggage onto the (still mutable) span, then forward."""
        try:
            entries = baggage.get_all(parent_context)
            if entries and span.is_recording():
                for key, value in from_baggage(entries, self._config).items():
                    name = ATTRIBUTE_PREFIX + key
                    if span.attributes is None or name not in span.attributes:
                        span.set_attribute(name, value)
        except Exception as exc:
            self._internal_error("on_start", exc)
        if self._next is not None:
            self._next.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        if self._next is not None:
            self._next._on_ending(span)  # pyright: ignore[reportPrivateUsage]

    def on_end(self, span: ReadableSpan) -> None:
        """Price the span, record metrics, and forward an enriched copy (the span itself on error).

        A sampled span bound for a ``BatchSpanProcessor`` is handed on as it is and priced in
        that processor's export thread; everything else is priced here."""
        plan = None
        try:
            plan = self._current_plan()
        except Exception as exc:
            self._internal_error("on_end", exc)
        if plan is not None:
            self._on_end_planned(span, *plan)
            return
        forward = span
        try:
            forward = self._enrich(span, self._rollups)
        except Exception as exc:
            self._internal_error("on_end", exc)
        if self._next is not None:
            self._next.on_end(forward)

    def _on_end_planned(
        self, span: ReadableSpan, deferred: tuple[DeferredRoute, ...], others: tuple[SpanProcessor, ...]
    ) -> None:
        handed: list[DeferredRoute] = []
        forward = span
        try:
            context = span.context
            sampled = context is not None and context.trace_flags.sampled
            skipped: list[Rollups] = []  # export threads that will not see this span
            to_primary = False
            for route in deferred:
                # Checked and handed over in one locked step (``offer``), so two application
                # threads cannot both take a BSP's last free slot and evict an unpriced span.
                if sampled and route.offer(span):
                    handed.append(route)
                    to_primary = to_primary or route.wrapper is self._primary
                elif sampled:
                    skipped.append(route.wrapper.rollups)
                    self._warn_queue_full()
                elif _parent_sampled(span):
                    # Unsampled: its cost matters to that stream only when its parent is exported
                    # there; an entry under a parent that never reaches it would never settle.
                    skipped.append(route.wrapper.rollups)
            if others:
                # Metrics once per span: here unless the metrics-recording export thread gets it.
                forward = self._enrich(span, self._rollups, not to_primary, skipped)
            elif to_primary:
                if skipped and self._rollup_enabled:
                    # Another BSP could not take it: settle it in that stream, for its parent there
                    # (metrics come from the primary's export thread).
                    self._enrich(span, skipped[0], False, skipped[1:], copy=False)
            elif self._priced_here(span) and (sampled or not self._backlog.submit(span, skipped)):
                # A sampled span no BSP could take (settled in the first skipped BSP's stream, where
                # its parent is exported), or an unsampled one the backlog has no room for.
                if not sampled:
                    self._enrich(span, self._backlog.rollups, True, skipped, copy=False)
                elif skipped:
                    self._enrich(span, skipped[0], True, skipped[1:], copy=False)
                else:
                    self._enrich(span, self._rollups, True, copy=False)
        except Exception as exc:
            self._internal_error("on_end", exc)
            # On an internal error every processor still gets the span, and none gets it twice.
            for route in deferred:
                if route not in handed:
                    route.processor.on_end(span)
        for processor in others:
            processor.on_end(forward)

    def _enrich_unsampled(self, span: ReadableSpan, also: Sequence[Rollups], batch: list[_Measured]) -> None:
        self._enrich(span, self._backlog.rollups, batch, also, copy=False)

    def _record_many_unsampled(self, batch: list[_Measured]) -> None:
        if self._metrics is not None:
            self._metrics.record_many(batch, sampled=False)

    def _priced_here(self, span: ReadableSpan) -> bool:
        """A span no export thread prices still counts in metrics and in its parent's rollup."""
        if self._metrics is not None:
            return True
        parent = span.parent
        return self._rollup_enabled and parent is not None and not parent.is_remote

    def _current_plan(self) -> _Plan | None:
        """Where spans go: BSPs that enrich in their export thread, and processors that get an
        enriched copy from ``on_end``; ``None`` when nothing is deferred. Recomputed when
        processors are added behind ``install``."""
        nxt = self._next
        if not self._defer or nxt is None:
            return None
        key: object = nxt
        if isinstance(nxt, SynchronousMultiSpanProcessor):
            key = nxt._span_processors  # pyright: ignore[reportPrivateUsage]
        if key is self._plan_key:
            return self._plan
        with self._plan_lock:
            if key is not self._plan_key:
                processors: tuple[SpanProcessor, ...] = key if isinstance(key, tuple) else (nxt,)  # pyright: ignore[reportUnknownVariableType]
                deferred, others, self._primary = plan_routes(
                    processors, self._enrich, owner=self, record_many=self._record_many, primary=self._primary
                )
                self._plan = (deferred, others) if deferred else None
                self._plan_key = key
        return self._plan

    def _warn_queue_full(self) -> None:
        if not self._queue_full_warned:
            self._queue_full_warned = True
            _logger.warning(
                "otel-cost: a BatchSpanProcessor queue is full (or shut down); spans it cannot take "
                "are not exported by it, and are priced on the application thread for the metrics "
                "and their parents' cost.rollup.amount (metrics stay exact)"
            )

    def shutdown(self) -> None:
        """Price the unsampled spans still queued, then shut the wrapped processor down (a
        ``BatchSpanProcessor`` exports, and so prices, what it holds, then shuts its exporter)."""
        try:
            if self._exit_hook is not None:
                atexit.unregister(self._exit_hook)
                self._exit_hook = None
            self._backlog.stop()
        except Exception as exc:
            self._internal_error("shutdown", exc)
        if self._next is not None:
            self._next.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Price the unsampled spans still queued, then flush the wrapped processor with the time
        left. False when ``timeout_millis`` ran out first (the wrapped processor is then not
        flushed) or when the wrapped processor's flush fails."""
        deadline = time.monotonic() + timeout_millis / 1000
        try:
            if not self._backlog.drain(deadline):
                return False
        except Exception as exc:
            self._internal_error("force_flush", exc)
        if self._next is None:
            return True
        left = int((deadline - time.monotonic()) * 1000)
        return left > 0 and self._next.force_flush(left)

    # -- enrichment ----------------------------------------------------------------------------

    def _enrich(
        self,
        span: ReadableSpan,
        rollups: Rollups,
        metrics: list[_Measured] | bool = True,
        also: Sequence[Rollups] = (),
        copy: bool = True,
    ) -> ReadableSpan:
        """The enriched copy of ``span``. ``rollups``: the pending sums of the stream it is in;
        ``metrics``: record now (True), not at all (False) or append to a batch (a list);
        ``also``: other streams its cost must reach (its parent may be enriched there);
        ``copy``: False for a span no exporter will get: priced for metrics and rollups only,
        no attributes built, ``span`` itself returned."""
        attrs = _attributes(span)
        facts = read_call(attrs, span.kind == SpanKind.CLIENT)
        extra: dict[str, AttributeValue] = {}
        own = _ZERO
        if facts is not None and not facts.already_priced:
            who = resolve_attribution(attrs, _NO_ATTRS, None, self._config)
            for key, value in self._resource_attribution(span.resource).items():
                who.setdefault(key, value)
            at_ns = span.start_time
            if facts.kind == "llm":
                priced: Priced | None = price_llm(
                    facts, attrs, self._catalog, at_ns=at_ns, attribution=who, estimate=self._estimate
                )
            else:
                if copy:
                    extra.update(redacted_urls(attrs))
                priced = price_http(facts, self._catalog, at_ns, who)
            if priced is not None:
                result = priced.result
                if not result.priced or result.status == sc.COST_STATUS_VALUE_PARTIAL:
                    self._warn_once(result.reason or "unknown", facts.provider, facts.model)
                if copy:
                    extra.update(cost_attributes(facts, priced, attrs, self._mirrors))
                    for key, value in who.items():
                        name = ATTRIBUTE_PREFIX + key
                        if name not in attrs:
                            extra[name] = value
                if result.priced:
                    own = result.amount
                if self._metrics is not None and metrics is not False:
                    self._record_metrics(
                        metrics if isinstance(metrics, list) else None,
                        span=span,
                        kind=facts.kind,
                        provider=(result.provider or facts.provider)
                        if facts.kind == "llm"
                        else result.provider,
                        model=facts.model if facts.kind == "llm" else result.model,
                        operation=facts.operation,
                        priced=priced,
                        who=who,
                    )
        elif facts is not None:
            amount = attrs.get(sc.COST_AMOUNT)  # priced upstream: still counts toward rollups
            if isinstance(amount, (int, float)) and not isinstance(amount, bool):
                own = Decimal(str(amount))
        if self._rollup_enabled:
            self._rollup(span, attrs, own, extra, rollups=rollups, also=also)
        return _with_attributes(span, extra, attrs) if extra and copy else span

    def _resource_attribution(self, resource: Resource) -> Mapping[str, str]:
        """Attribution from resource attributes, computed once per resource (one per provider)."""
        cached = self._resource_cache
        if cached is not None and cached[0] is resource:
            return cached[1]
        keys = resolve_attribution(_NO_ATTRS, resource.attributes, None, self._config)
        self._resource_cache = (resource, keys)
        return keys

    def _rollup(
        self,
        span: ReadableSpan,
        attrs: Mapping[str, object],
        own: Decimal,
        extra: dict[str, AttributeValue],
        *,
        rollups: Rollups,
        also: Sequence[Rollups],
    ) -> None:
        context = span.context
        if context is None or (not own and not rollups.pending):
            return  # nothing to add and nothing pending (most spans): skip the lock
        parent = span.parent
        local_parent = parent is not None and not parent.is_remote
        parent_id = parent.span_id if local_parent and parent is not None else None
        below = rollups.settle(context.span_id, own, parent_id)
        total = own + below if below is not None else own
        if parent_id is not None and total:
            for other in also:
                other.add(parent_id, total)
        if below is not None and (not local_parent or is_orchestration(attrs)):
            extra[sc.COST_ROLLUP_AMOUNT] = float(below)

    def _record_many(self, batch: list[_Measured]) -> None:
        if self._metrics is not None:
            self._metrics.record_many(batch)

    def _record_metrics(
        self,
        batch: list[_Measured] | None,
        *,
        span: ReadableSpan,
        kind: str,
        provider: str | None,
        model: str | None,
        operation: str | None,
        priced: Priced,
        who: Mapping[str, str],
    ) -> None:
        context = span.context
        assert self._metrics is not None and context is not None
        start, end = span.start_time or 0, span.end_time or 0
        service = span.resource.attributes.get(sc.SERVICE_NAME)
        failed = span.status.status_code == StatusCode.ERROR
        record = CostRecord(
            trace_id=context.trace_id.to_bytes(16, "big"),
            span_id=context.span_id.to_bytes(8, "big"),
            start_time_ns=start,
            end_time_ns=end,
            kind="llm" if kind == "llm" else "http",
            result=priced.result,
            service_name=str(service) if service else "unknown_service",
            provider=provider,
            model=model,
            operation=operation,
            usage=priced.usage,
            attribution=dict(who),
            usage_estimated=priced.estimated,
            error=failed,
            error_type=error_type_of((span.attributes or {}).get(sc.ERROR_TYPE)) if failed else None,
        )
        duration = (end - start) / 1e9 if end >= start > 0 else None
        if batch is not None:
            batch.append((record, duration))  # recorded with the batch (sampled spans only)
        else:
            self._metrics.record(record, duration, sampled=context.trace_flags.sampled)

    def _warn_once(self, reason: str, provider: str | None, model: str | None) -> None:
        key = (reason, provider, model)
        if key in self._warned or len(self._warned) >= _WARNED_CAP:
            return
        self._warned.add(key)
        _logger.warning(
            "otel-cost: call not (fully) priced: reason=%s provider=%s model=%s", reason, provider, model
        )

    def _internal_error(self, hook: str, exc: Exception) -> None:
        if _raise_errors():
            raise exc
        _logger.exception("otel-cost: internal error in CostSpanProcessor.%s; span forwarded unchanged", hook)


_Plan = tuple[tuple[DeferredRoute, ...], tuple[SpanProcessor, ...]]


def _flush_at_exit(ref: weakref.ref[CostSpanProcessor]) -> Callable[[], None]:
    """An exit hook that flushes the processor (if still alive) within ``_EXIT_FLUSH_MILLIS``."""

    def flush() -> None:
        processor = ref()
        if processor is None:
            return
        try:
            if not processor.force_flush(_EXIT_FLUSH_MILLIS):
                _logger.warning("otel-cost: the flush at exit did not finish; some cost metrics may be lost")
        except Exception:  # at exit: log, never raise
            _logger.exception("otel-cost: internal error flushing at exit")

    return flush


_Measured = tuple[CostRecord, "float | None"]


def install(tracer_provider: trace.TracerProvider | None = None, **options: object) -> CostSpanProcessor:
    """Make every span processor on ``tracer_provider`` (the global one by default) get enriched spans.

    The processors already added are moved behind one :class:`CostSpanProcessor`; processors added
    later through ``add_span_processor`` join them, so they get enriched spans too. Idempotent:
    a second call returns the processor installed first. ``options`` are
    :class:`CostSpanProcessor` keyword arguments. Raises ``TypeError`` when the provider is not an
    SDK ``TracerProvider`` (for example the no-op proxy before any SDK is configured).
    """
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    active = getattr(provider, "_active_span_processor", None)
    current = getattr(active, "_span_processors", None)
    if active is None or not isinstance(current, tuple):
        raise TypeError(
            f"otel_cost.install needs an SDK TracerProvider (1.40 <= sdk < 2), got {type(provider).__name__}"
        )
    for processor in current:  # pyright: ignore[reportUnknownVariableType]
        if isinstance(processor, CostSpanProcessor):
            return processor
    inner = SynchronousMultiSpanProcessor()
    for processor in current:  # pyright: ignore[reportUnknownVariableType]
        inner.add_span_processor(processor)  # pyright: ignore[reportUnknownArgumentType]
    cost = CostSpanProcessor(inner, **options)  # pyright: ignore[reportArgumentType]
    lock = getattr(active, "_lock", None)
    if lock is not None:
        with lock:
            active._span_processors = (cost,)  # pyright: ignore[reportAttributeAccessIssue]
    else:
        active._span_processors = (cost,)  # pyright: ignore[reportAttributeAccessIssue]
    # Processors added after install go behind the cost processor as well.
    setattr(active, "add_span_processor", inner.add_span_processor)  # noqa: B010
    return cost


def _post_instrument() -> None:
    """``opentelemetry_post_instrument`` entry point: ``install()`` when ``OTEL_COST_ENABLED`` is true."""
    if os.environ.get(ENV_ENABLED, "").strip().lower() not in ("1", "true", "yes"):
        return
    try:
        install()
    except Exception:
        _logger.exception("otel-cost: install() under opentelemetry-instrument failed; spans are not priced")
