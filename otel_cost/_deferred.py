"""Enrichment moved off the application thread, into a ``BatchSpanProcessor``'s export thread.

A ``BatchSpanProcessor`` (BSP) queues ended spans and exports them in batches from its own
worker thread. When :class:`~otel_cost.processor.CostSpanProcessor` wraps one, it replaces the
BSP's exporter by an :class:`EnrichingExporter` that prices each span of a batch and exports the
enriched copies; ``on_end`` on the application thread only hands the span to the BSP. The BSP
exports spans in the order they ended (its queue is FIFO and one export runs at a time), so a
child is always enriched before its parent, across batch boundaries too, and the parent's
``cost.rollup.amount`` is complete.

SDK internals used (the same over opentelemetry-sdk 1.40 .. 1.45): ``BatchSpanProcessor.
_batch_processor`` holding ``_exporter``, ``_queue`` (a bounded ``deque``) and ``_shutdown``.
When that shape is not found the processor enriches in ``on_end`` as for any other processor.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_logger = logging.getLogger("otel_cost.processor")
_ZERO = Decimal(0)
_ROLLUP_CAP = 100_000  # open rollup sums kept at most per stream (parents that never end in it)


def renew_lock_after_fork(owner: object, name: str) -> None:
    """Give ``owner`` a new ``threading.Lock`` at attribute ``name`` in a forked child: a fork
    while another thread held the lock would leave it held forever there. The hook holds
    ``owner`` weakly (it needs a ``__weakref__`` slot)."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(owner)

    def _after_in_child() -> None:
        if (alive := ref()) is not None:
            setattr(alive, name, threading.Lock())

    os.register_at_fork(after_in_child=_after_in_child)


class Rollups:
    """Cost of descendants waiting for their parent to end: parent span id -> sum. One per stream
    of spans that is enriched in end order (the application thread's, or one export thread's)."""

    __slots__ = ("__weakref__", "lock", "pending")

    def __init__(self) -> None:
        self.pending: dict[int, Decimal] = {}
        self.lock = threading.Lock()
        renew_lock_after_fork(self, "lock")

    def settle(self, span_id: int, own: Decimal, parent_id: int | None) -> Decimal | None:
        """A span ended: take the sum of its descendants (``None`` if none came) and add its own
        cost plus that sum to its parent's (``parent_id``: ``None`` when not local)."""
        with self.lock:
            below = self.pending.pop(span_id, None)
            total = own + below if below is not None else own
            if parent_id is not None and total:
                self._add(parent_id, total)
        return below

    def add(self, parent_id: int, amount: Decimal) -> None:
        """Add ``amount`` to the pending sum of ``parent_id``."""
        with self.lock:
            self._add(parent_id, amount)

    def _add(self, parent_id: int, amount: Decimal) -> None:
        pending = self.pending
        if parent_id not in pending and len(pending) >= _ROLLUP_CAP:
            pending.pop(next(iter(pending)))  # a parent that never ended in this stream: forget it
        pending[parent_id] = pending.get(parent_id, _ZERO) + amount


Enrich = Callable[[ReadableSpan, Rollups, "list[Any] | bool"], ReadableSpan]
"""``enrich(span, rollups, metrics) -> enriched copy`` (the span itself when nothing changes).
``metrics``: False to record none, or a list the span's metric records are appended to."""


class EnrichingExporter(SpanExporter):
    """Enriches every span of a batch, then hands the batch to the real exporter.

    Runs in the BSP's export thread. An internal error on one span is logged and that span is
    exported unchanged: nothing is lost, nothing raises into the BSP. Attributes it does not
    have are looked up on the real exporter (``bsp.span_exporter.get_finished_spans()`` keeps
    working for an ``InMemorySpanExporter``).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        enrich: Enrich,
        *,
        owner: object,
        record_many: Callable[[list[Any]], None] | None,
    ) -> None:
        self.exporter = exporter
        self.owner = owner
        self.rollups = Rollups()
        self._enrich = enrich
        self._record_many = record_many

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Enrich ``spans`` in order, then export them with the real exporter."""
        enrich, rollups = self._enrich, self.rollups
        metrics: list[Any] | bool = [] if self._record_many is not None else False
        out: list[ReadableSpan] = []
        for span in spans:
            try:
                out.append(enrich(span, rollups, metrics))
            except Exception:
                _logger.exception("otel-cost: internal error in the export thread; span exported unchanged")
                out.append(span)
        if metrics and self._record_many is not None:
            try:  # one call per batch: counters are summed per series first
                self._record_many(metrics)  # pyright: ignore[reportArgumentType]
            except Exception:
                _logger.exception("otel-cost: internal error recording a batch's cost metrics")
        return self.exporter.export(out)

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        """Shut the real exporter down (passing the timeout on when it takes one)."""
        if "timeout_millis" in inspect.getfullargspec(self.exporter.shutdown).args:
            self.exporter.shutdown(timeout_millis=timeout_millis)  # pyright: ignore[reportCallIssue]
        else:
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the real exporter."""
        return self.exporter.force_flush(timeout_millis)

    def __getattr__(self, name: str) -> object:
        if name == "exporter":  # not set yet (a half-built instance): no recursion
            raise AttributeError(name)
        return getattr(self.exporter, name)


class DeferredRoute:
    """One BSP whose exporter enriches: ``on_end`` hands it the raw span when it will queue it."""

    __slots__ = ("__weakref__", "_batch", "_lock", "_queue", "processor", "wrapper")

    def __init__(
        self, processor: SpanProcessor, batch: object, queue: deque[object], wrapper: EnrichingExporter
    ) -> None:
        self.processor = processor
        self.wrapper = wrapper
        self._batch = batch
        self._queue = queue
        self._lock = threading.Lock()  # taken on every sampled on_end: renewed in a forked child
        renew_lock_after_fork(self, "_lock")

    def accepts(self) -> bool:
        """False when the BSP would drop a span (shut down) or evict its oldest one (queue full).
        A check only: hand spans over with :meth:`offer`, which checks under the route's lock."""
        return len(self._queue) < (self._queue.maxlen or 0) and not getattr(self._batch, "_shutdown", True)

    def offer(self, span: ReadableSpan) -> bool:
        """Hand ``span`` to the BSP unless it would drop it (shut down) or evict its oldest, not yet
        priced span (queue full); the check and the hand-over are one step, so two application
        threads cannot both take the last free slot. True when handed over."""
        with self._lock:
            if not self.accepts():
                return False
            self.processor.on_end(span)
            return True


def defer_through(
    processor: SpanProcessor,
    enrich: Enrich,
    *,
    owner: object,
    record_many: Callable[[list[Any]], None] | None,
) -> DeferredRoute | None:
    """Wrap ``processor``'s exporter when it is a BSP of the known shape; ``None`` otherwise (or
    when another owner already wraps it). ``record_many``: records a batch's metrics (``None``:
    this export thread records none)."""
    if not isinstance(processor, BatchSpanProcessor):
        return None
    batch = getattr(processor, "_batch_processor", None)
    exporter = getattr(batch, "_exporter", None)
    queue = getattr(batch, "_queue", None)
    if exporter is None or not isinstance(queue, deque) or queue.maxlen is None:
        return None
    if isinstance(exporter, EnrichingExporter):
        if exporter.owner is not owner:
            return None
        wrapper = exporter
    else:
        wrapper = EnrichingExporter(exporter, enrich, owner=owner, record_many=record_many)  # pyright: ignore[reportUnknownArgumentType]
        setattr(batch, "_exporter", wrapper)  # noqa: B010 - SDK internals, see the module docstring
    return DeferredRoute(processor, batch, queue, wrapper)  # pyright: ignore[reportUnknownArgumentType]


class Backlog:
    """Spans no exporter will get (not sampled), priced for metrics and rollups on a daemon thread,
    in the order they ended. Bounded: ``submit`` returns False when full and the caller prices the
    span itself, so metrics stay exact. ``drain`` prices what is queued in the calling thread
    (``force_flush``); ``stop`` drains and ends the thread (``shutdown``)."""

    def __init__(
        self,
        enrich: Callable[[ReadableSpan, Sequence[Rollups], list[Any]], object],
        record_many: Callable[[list[Any]], None],
        *,
        capacity: int = 2048,
        wake_at: int = 512,
        delay_s: float = 0.2,
    ) -> None:
        self.rollups = Rollups()
        self._enrich = enrich
        self._record_many = record_many
        self._capacity = capacity
        self._wake_at = wake_at
        self._delay_s = delay_s
        self._queue: deque[tuple[ReadableSpan, Sequence[Rollups]]] = deque()
        self._work_lock = threading.Lock()  # one drain at a time: spans are priced in end order
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, span: ReadableSpan, also: Sequence[Rollups]) -> bool:
        """Queue ``span``; False when the backlog is full or stopped (then price it yourself)."""
        queue = self._queue
        if len(queue) >= self._capacity or self._stopped:
            return False
        if self._thread is None or self._pid != os.getpid():
            self._start()
        queue.append((span, also))
        if self._stopped:
            # ``stop`` ran between the check above and the append: its drain may have missed
            # this span, and no thread is left to price it, so price it here.
            self.drain()
        elif len(queue) >= self._wake_at and not self._wake.is_set():
            self._wake.set()
        return True

    def drain(self, deadline: float | None = None) -> bool:
        """Price everything queued, in this thread; metrics are recorded a batch at a time.
        ``deadline``: a ``time.monotonic()`` value to stop at (waiting for another drain
        included); False when it came first and spans are left (the backlog thread, or the
        next ``drain``, prices them)."""
        queue, enrich = self._queue, self._enrich
        lock = self._work_lock
        if deadline is None:
            lock.acquire()
        elif not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            return False
        try:
            while queue:
                batch: list[Any] = []
                for _ in range(min(len(queue), 512)):
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    span, also = queue.popleft()
                    try:
                        enrich(span, also, batch)
                    except Exception:
                        _logger.exception("otel-cost: internal error pricing an unsampled span; not counted")
                if batch:
                    try:
                        self._record_many(batch)
                    except Exception:
                        _logger.exception("otel-cost: internal error recording unsampled spans' metrics")
                if deadline is not None and queue and time.monotonic() >= deadline:
                    return False
        finally:
            lock.release()
        return True

    def stop(self, timeout_s: float = 30.0) -> None:
        """Price what is queued and end the thread; later spans are priced by the caller."""
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self.drain()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            if self._pid and self._pid != os.getpid():  # forked: the parent's queue is not ours
                self._queue.clear()
                self._work_lock = threading.Lock()
                self._wake = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="OtelCostBacklog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._delay_s)
            self._wake.clear()
            self.drain()


def plan_routes(
    processors: Sequence[SpanProcessor],
    enrich: Enrich,
    *,
    owner: object,
    record_many: Callable[[list[Any]], None],
    primary: EnrichingExporter | None,
) -> tuple[tuple[DeferredRoute, ...], tuple[SpanProcessor, ...], EnrichingExporter | None]:
    """Split ``processors`` into BSPs that enrich in their export thread (wrapped here) and the
    others, which need enriched copies from ``on_end``. The first wrapped BSP (``primary``, kept
    across calls) is the one whose export thread records metrics."""
    deferred: list[DeferredRoute] = []
    others: list[SpanProcessor] = []
    for processor in processors:
        records = record_many if primary is None else None
        route = defer_through(processor, enrich, owner=owner, record_many=records)
        if route is None:
            others.append(processor)
            continue
        if primary is None:
            primary = route.wrapper
        deferred.append(route)
    return tuple(deferred), tuple(others), primary
