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

One record the ledger cannot store must not fail the others: when a group commit fails with an
error that is not a ledger outage (``_is_outage``), each request is committed alone, so the
others are acknowledged; a request that still fails with a data error (``_is_data_error``, e.g. a
value a column cannot hold) is split until the records that cannot be stored are found, and those
are rejected in the request's partial success (not retryable: they would fail forever) while the
rest of it is stored. Any other error leaves only that request's ``CommitFailed`` (retryable).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
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
    """The part of ``otel_cost.receiver.metric_table.MetricTable`` the pipeline uses."""

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


_ISOLATION_APPENDS = 64
"""Appends one request may take to find the records the ledger cannot store (one bad record among
20,000 takes about 30); past it, a part that still fails is rejected whole, so a request full of
bad records cannot hold the committer for minutes."""


class _Job:
    __slots__ = ("done", "error", "payload", "records", "rejected", "rejected_message")

    def __init__(self, records: list[CostRecord], payload: bytes | None) -> None:
        self.records = records
        self.payload = payload
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.rejected = 0
        """Records the ledger cannot store, reported in the request's partial success."""
        self.rejected_message = ""

    def reject(self, records: Sequence[CostRecord], exc: BaseException) -> None:
        self.rejected += len(records)
        if not self.rejected_message:
            first = records[0]
            self.rejected_message = (
                f"the ledger cannot store span {first.span_id.hex()} of trace {first.trace_id.hex()}"
                f"{f' (and {len(records) - 1} more)' if len(records) > 1 else ''}:"
                f" {type(exc).__name__}: {exc}"
            )


def _is_outage(exc: BaseException) -> bool:
    """The ledger itself is unusable (connection lost, disk full, locked, I/O error): retrying
    request by request would only hammer it. DB-API ``OperationalError``/``InterfaceError`` by name,
    so psycopg's are recognised without importing it."""
    if isinstance(exc, (OSError, MemoryError)) or type(exc) is sqlite3.DatabaseError:  # corrupt file
        return True
    return any(cls.__name__ in ("OperationalError", "InterfaceError") for cls in type(exc).__mro__)


def _is_data_error(exc: BaseException) -> bool:
    """A value of the records cannot be stored (a number too large for its column, text a driver
    refuses): committing the same records again fails again, so they are rejected, not retried.
    Other errors stay retryable: losing records to a misread outage would be worse."""
    if isinstance(exc, (ArithmeticError, ValueError, TypeError)):  # OverflowError, UnicodeError
        return True
    return any(cls.__name__ == "DataError" for cls in type(exc).__mro__)  # PEP 249, psycopg


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
        reported in the result, and the rest of the request is kept; so are the records of spans
        the ledger cannot store (a data error, see the module docstring).
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
        if job.rejected:
            result = ExportResult(
                result.rejected_spans + job.rejected, result.error_message or job.rejected_message
            )
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
        except Exception as exc:  # one bad record must not fail the others' requests
            if _is_outage(exc):
                _log.exception("ledger append of %d records failed", len(records))
                for job in jobs:
                    job.error = exc
                    job.done.set()
                return
            _log.warning(
                "ledger append of %d records from %d requests failed (%s: %s); committing each alone",
                len(records),
                len(jobs),
                type(exc).__name__,
                exc,
            )
            new: list[CostRecord] = []
            for job in jobs:
                try:
                    self._append_alone(job, job.records, new, [_ISOLATION_APPENDS])
                except Exception as job_exc:
                    _log.exception("ledger append of a request's %d records failed", len(job.records))
                    job.error = job_exc
        if self._metrics is not None and new:
            try:
                self._metrics.record_many(
                    (rec, (rec.end_time_ns - rec.start_time_ns) / 1e9 if rec.end_time_ns else None)
                    for rec in new
                )
            except Exception:
                _log.exception("recording metrics failed")
        for job in jobs:
            if job.error is None and job.payload is not None:
                # Rejected records' spans are forwarded with the rest: they are valid trace data,
                # only the ledger cannot hold them.
                self._forward_safely(job.payload)
            job.done.set()

    def _append_alone(
        self, job: _Job, records: list[CostRecord], new: list[CostRecord], budget: list[int]
    ) -> None:
        """Append ``records`` of ``job`` (the new ones go to ``new``); on a data error, split them
        in halves until the records that cannot be stored are found and rejected (``budget``:
        appends left). Raises any other error (the job then fails, retryably; the parts already
        stored are deduplicated when the client retries)."""
        budget[0] -= 1
        try:
            new.extend(self._ledger.append(records))
            return
        except Exception as exc:
            if not _is_data_error(exc):
                raise
            if len(records) == 1 or budget[0] <= 0:
                name = type(exc).__name__
                _log.warning("rejecting %d records the ledger cannot store (%s: %s)", len(records), name, exc)
                job.reject(records, exc)
                return
        half = len(records) // 2
        self._append_alone(job, records[:half], new, budget)
        self._append_alone(job, records[half:], new, budget)

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
