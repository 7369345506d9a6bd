"""RecordAllSampler: sample like a root sampler, but record (``RECORD_ONLY``) what it drops."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes


class RecordAllSampler(Sampler):
    """Samples like ``root`` but records what it drops (``RECORD_ONLY``), keeping the attributes
    the span was started with, so the processor prices every call while exporters get only the
    sampled ones.

    Use it instead of the SDK's ``AlwaysRecordSampler``: the SDK's samplers return no attributes
    with a ``DROP`` decision, so a span that ``AlwaysRecordSampler`` turns into ``RECORD_ONLY``
    loses every attribute passed to ``start_span`` (opentelemetry-sdk 1.45), such as the
    ``gen_ai.request.model`` instrumentations set there; such calls could not be priced.
    """

    def __init__(self, root: Sampler) -> None:
        self._root = root

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
        """The root's decision, with ``DROP`` turned into ``RECORD_ONLY`` with the start attributes."""
        result = self._root.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision is Decision.DROP:
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        """``RecordAllSampler{<root>}``."""
        return f"RecordAllSampler{{{self._root.get_description()}}}"
