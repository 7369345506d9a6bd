"""From a decoded export request to an acknowledgement: price, commit, count, forward.

Servers call ``Pipeline.export(request)`` from their handler threads. The spans are priced in
the caller's thread; the records then wait in a bounded queue for the one committer thread,
which appends everything queued so far to the ledger in one durable commit (group commit),
counts in the metrics only the records the ledger reports as new (so a span re-sent after a
lost response is counted once, across restarts too), hands the enriched request to the
forwarder, and only then wakes the handler: an acknowledged span is always in the ledger.

A full queue makes ``export`` raise ``Overloaded`` at once, before any work, and the servers
answer with the OTLP backpressure signals (gRPC UNAVAILABLE with RetryInfo, HTTP 503 with
``Retry-After``); a failed commit raises ``CommitFailed``, answered the same way, so the client
retries and nothing is lost.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_cost.receiver.spans import ProcessedRequest, SpanPipeline
from otel_cost.record import CostRecord

_log = logging.getLogger(__name__)


class LedgerLike(Protocol):
    """The part of ``otel_cost.ledger.Ledger`` the receiver uses."""

    def append(self, records: Sequence[CostRecord]) -> list[CostRecord]: ...

    def close(self) -> None: ...


class MetricsLike(Protocol):
    """The part of ``otel_cost.metrics.CostMetrics`` the receiver uses."""

    def record_many(self, calls: Iterable[tuple[CostRecord, float | None]]) -> None: ...


Forward = Callable[[bytes], None]
"""Takes a serialised, enriched ``ExportTraceServiceRequest``; must not block."""


class Overloaded(Exception):
    """The queue is full: the client should retry later (retryable)."""


class CommitFailed(Exception):
    """The ledger commit failed: nothing of the request was acknowledged (retryable)."""


class ShuttingDown(Exception):
    """The receiver is draining and takes no new requests (retryable)."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The partial-success part of an OTLP response."""

    rejected_spans: int
    error_message: str


class _Job:
    __slots__ = ("done", "error", "payload", "records")

    def __init__(self, records: list[CostRecord], payload: bytes | None) -> None:
        self.records = records
        self.payload = payload
        self.done = threading.Event()
        self.error: BaseException | None = None


_STOP = object()


class Pipeline:
    """The shared span pipeline behind every server of one receiver process."""

    def __init__(
        self,
        spans: SpanPipeline,
        ledger: LedgerLike,
        metrics: MetricsLike | None,
        *,
        forward: Forward | None = None,
        queue_size: int = 64,
        max_batch_records: int = 20_000,
        commit_timeout_s: float = 30.0,
    ) -> None:
        self._spans = spans
        self._ledger = ledger
        self._metrics = metrics
        self._forward = forward
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=queue_size)
        self._max_batch = max_batch_records
        self._timeout = commit_timeout_s
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="otel-cost-committer", daemon=True)
        self._thread.start()

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the committer."""
        return self._queue.qsize()

    @property
    def accepting(self) -> bool:
        """False once shutdown has begun."""
        return not self._closing

    def export(self, request: ExportTraceServiceRequest) -> ExportResult:
        """Process one decoded export request; return after its records are committed.

        Raises ``Overloaded``, ``ShuttingDown`` or ``CommitFailed`` (all retryable: nothing of
        the request was acknowledged). Malformed spans are not an error: they are dropped and
        reported in the result, and the rest of the request is kept.
        """
        if self._closing:
            raise ShuttingDown("the receiver is shutting down")
        if self._queue.full():
            raise Overloaded("the receiver's queue is full")
        processed: ProcessedRequest = self._spans.process(request, enrich=self._forward is not None)
        result = ExportResult(processed.rejected_spans, processed.error_message)
        payload = request.SerializeToString() if self._forward is not None and processed.spans else None
        if not processed.records:
            if payload is not None:
                self._forward_safely(payload)
            return result
        job = _Job(processed.records, payload)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Overloaded("the receiver's queue is full") from None
        if not job.done.wait(self._timeout):
            # The commit may still land; the client's retry is then deduplicated by the ledger.
            raise CommitFailed("the ledger commit did not finish in time")
        if isinstance(job.error, ShuttingDown):
            raise job.error
        if job.error is not None:
            raise CommitFailed(f"ledger commit failed: {job.error}") from job.error
        return result

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Job)
            jobs = [first]
            count = len(first.records)
            stop = False
            while count < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                assert isinstance(more, _Job)
                jobs.append(more)
                count += len(more.records)
            self._commit(jobs)
            if stop:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        records = [r for job in jobs for r in job.records]
        try:
            new = self._ledger.append(records)
        except Exception as exc:
            _log.exception("ledger append of %d records failed", len(records))
            for job in jobs:
                job.error = exc
                job.done.set()
            return
        if self._metrics is not None and new:
            try:
                self._metrics.record_many(
                    (rec, (rec.end_time_ns - rec.start_time_ns) / 1e9 if rec.end_time_ns else None)
                    for rec in new
                )
            except Exception:
                _log.exception("recording metrics failed")
        for job in jobs:
            if job.payload is not None:
                self._forward_safely(job.payload)
            job.done.set()

    def _forward_safely(self, payload: bytes) -> None:
        # The records are committed (or there are none): a failing forward must neither kill the
        # committer thread (every later export would wait for it in vain) nor fail the export.
        if self._forward is None:
            return
        try:
            self._forward(payload)
        except Exception:
            _log.exception("forwarding an enriched request failed; the request is not forwarded")

    def begin_shutdown(self) -> None:
        """Refuse new requests (``ShuttingDown``); queued ones are still committed."""
        self._closing = True

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop taking requests, commit everything queued, stop the committer thread."""
        self._closing = True
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        # A request that slipped in after the stop marker: refuse it now (the client retries)
        # rather than let it wait for a commit that will not come.
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, _Job):
                job.error = ShuttingDown("the receiver is shutting down")
                job.done.set()
