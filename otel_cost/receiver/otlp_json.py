"""OTLP/JSON request bodies -> ``ExportTraceServiceRequest``, one malformed span rejected alone.

OTLP/JSON (opentelemetry-proto ``docs/specification.md``, "JSON Protobuf Encoding") is
protobuf's JSON mapping with three changes: trace and span ids are hex, not base64; enums are
integers; unknown fields are ignored. protobuf's ``ParseDict`` reads the whole request or
nothing, so one span with a bad field (a string where a number goes, an attribute value that
is not an ``AnyValue``) would fail the batch. When the whole request does not parse, it is
read again piece by piece: a span that does not parse is left out and counted as rejected (the
client gets a partial success); a resource or scope that does not parse takes its own spans
with it. Only a body whose shape is not a request at all (not an object, ``resourceSpans`` not
a list) is a 400.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

__all__ = ("BadRequest", "DecodedJson", "decode_json")

_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
_RESOURCE_SPANS = ("resourceSpans", "resource_spans")
_SCOPE_SPANS = ("scopeSpans", "scope_spans")


class BadRequest(Exception):
    """The body cannot be read or decoded."""


@dataclass(frozen=True, slots=True)
class DecodedJson:
    """A request with the spans that parsed, and how many did not (with the first reason)."""

    request: ExportTraceServiceRequest
    rejected_spans: int = 0
    error_message: str = ""


def decode_json(body: bytes) -> DecodedJson:
    """OTLP/JSON -> request: hex ids, integer enums, unknown fields ignored (spec); spans that
    do not parse are counted in ``rejected_spans``. Raises :class:`BadRequest` for a body that
    is not JSON or not shaped like a request."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("body is not a JSON object")
    for rs in _dicts(data, _RESOURCE_SPANS):
        for ss in _dicts(rs, _SCOPE_SPANS):
            for span in _dicts(ss, ("spans",)):
                _fix_ids(span)
                for link in _dicts(span, ("links",)):
                    _fix_ids(link)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except json_format.ParseError:
        return _decode_by_span(data)
    return DecodedJson(request)


def _decode_by_span(data: dict[str, Any]) -> DecodedJson:
    """The slow path: parse each resource, scope and span apart, keeping what parses."""
    resource_spans = _field(data, _RESOURCE_SPANS)
    if resource_spans is not None and not isinstance(resource_spans, list):
        raise BadRequest("not an OTLP/JSON ExportTraceServiceRequest: resourceSpans is not a list")
    request = ExportTraceServiceRequest()
    rejected = 0
    first_error = ""

    def reject(count: int, where: str, exc: Exception) -> None:
        nonlocal rejected, first_error
        rejected += count
        if not first_error and count:
            first_error = f"{where}: {exc}"

    for r, rs in enumerate(resource_spans or []):
        if not isinstance(rs, dict):
            raise BadRequest(f"resourceSpans[{r}] is not an object")
        scope_spans = _field(rs, _SCOPE_SPANS)
        if scope_spans is not None and not isinstance(scope_spans, list):
            raise BadRequest(f"resourceSpans[{r}].scopeSpans is not a list")
        head = ResourceSpans()
        try:
            json_format.ParseDict(_without(rs, _SCOPE_SPANS), head, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            reject(_span_count(scope_spans), f"resourceSpans[{r}] (all its spans rejected)", exc)
            continue
        out_rs = request.resource_spans.add()
        out_rs.CopyFrom(head)
        for s, ss in enumerate(scope_spans or []):
            where = f"resourceSpans[{r}].scopeSpans[{s}]"
            if not isinstance(ss, dict):
                raise BadRequest(f"{where} is not an object")
            spans = ss.get("spans")
            if spans is not None and not isinstance(spans, list):
                raise BadRequest(f"{where}.spans is not a list")
            scope = ScopeSpans()
            try:
                json_format.ParseDict(_without(ss, ("spans",)), scope, ignore_unknown_fields=True)
            except json_format.ParseError as exc:
                reject(len(spans or []), f"{where} (all its spans rejected)", exc)
                continue
            out_ss = out_rs.scope_spans.add()
            out_ss.CopyFrom(scope)
            for n, raw in enumerate(spans or []):
                span = Span()
                try:
                    if not isinstance(raw, dict):
                        raise json_format.ParseError("span is not an object")
                    json_format.ParseDict(raw, span, ignore_unknown_fields=True)
                except json_format.ParseError as exc:
                    reject(1, f"{where}.spans[{n}]", exc)
                    continue
                out_ss.spans.append(span)
    message = f"{rejected} span(s) could not be parsed; first: {first_error}" if rejected else ""
    return DecodedJson(request, rejected, message)


def _field(obj: dict[str, Any], keys: tuple[str, ...]) -> object:
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def _without(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


def _span_count(scope_spans: object) -> int:
    """Spans under a resource whose own fields do not parse (each is rejected with it)."""
    if not isinstance(scope_spans, list):
        return 0
    return sum(
        len(ss["spans"]) for ss in scope_spans if isinstance(ss, dict) and isinstance(ss.get("spans"), list)
    )


def _dicts(obj: object, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(obj, dict):
        return []
    value = _field(obj, keys)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _hex_to_b64(value: object) -> object:
    # OTLP/JSON carries ids as hex; protobuf's JSON mapping expects base64. An id that is not
    # valid hex becomes empty bytes, so that span alone is rejected (partial success).
    if not isinstance(value, str):
        return value
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    return base64.b64encode(raw).decode("ascii")


def _fix_ids(obj: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        if key in obj:
            obj[key] = _hex_to_b64(obj[key])
