"""OTLP/JSON decoding (otel_cost/receiver/otlp_json.py): what is kept, what is counted as
rejected, and what is a 400. Pure functions on request bodies; the HTTP round trip is in
test_receiver_servers.py."""

from __future__ import annotations

import json

import pytest

from otel_cost.receiver.otlp_json import BadRequest, decode_json


def _span(n: int, **changes: object) -> dict[str, object]:
    return {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "name": f"s{n}", **changes}


def _body(*resource_spans: object) -> bytes:
    return json.dumps({"resourceSpans": list(resource_spans)}).encode()


def test_a_good_request_parses_in_one_piece():
    decoded = decode_json(_body({"scopeSpans": [{"spans": [_span(1), _span(2, kind=3)]}]}))
    assert decoded.rejected_spans == 0
    assert decoded.error_message == ""
    spans = decoded.request.resource_spans[0].scope_spans[0].spans
    assert [s.name for s in spans] == ["s1", "s2"]
    assert spans[0].trace_id == bytes.fromhex(f"{1:032x}")


def test_bad_spans_are_counted_and_the_rest_kept_in_place():
    late = _span(2, endTimeUnixNano="soon")
    decoded = decode_json(
        _body(
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]},
                "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
                "scopeSpans": [
                    {"scope": {"name": "one"}, "spans": [_span(1), late, _span(3)]},
                    {"scope": {"name": "two"}, "spans": [_span(4, droppedAttributesCount=-1), "not a span"]},
                ],
            }
        )
    )
    assert decoded.rejected_spans == 3
    assert decoded.error_message.startswith(
        "3 span(s) could not be parsed; first: resourceSpans[0].scopeSpans[0].spans[1]"
    )
    rs = decoded.request.resource_spans[0]
    assert rs.resource.attributes[0].value.string_value == "a"
    assert rs.schema_url == "https://opentelemetry.io/schemas/1.26.0"
    assert [ss.scope.name for ss in rs.scope_spans] == ["one", "two"]
    assert [s.name for s in rs.scope_spans[0].spans] == ["s1", "s3"]
    assert list(rs.scope_spans[1].spans) == []


def test_a_resource_or_scope_that_does_not_parse_takes_its_spans():
    decoded = decode_json(
        _body(
            {"resource": {"droppedAttributesCount": "lots"}, "scopeSpans": [{"spans": [_span(1), _span(2)]}]},
            {"scopeSpans": [{"scope": {"name": 7}, "spans": [_span(3)]}, {"spans": [_span(4)]}]},
        )
    )
    assert decoded.rejected_spans == 3
    assert "resourceSpans[0] (all its spans rejected)" in decoded.error_message
    kept = [s.name for rs in decoded.request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert kept == ["s4"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"resourceSpans": {"scopeSpans": []}}', "resourceSpans is not a list"),
        (b'{"resourceSpans": [{"scopeSpans": 3}]}', "resourceSpans[0].scopeSpans is not a list"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}', "scopeSpans[0].spans is not a list"),
    ],
)
def test_a_body_not_shaped_like_a_request_is_a_bad_request(body: bytes, reason: str):
    with pytest.raises(BadRequest, match=reason.replace("[", r"\[").replace("]", r"\]")):
        decode_json(body)


def test_an_empty_request_is_a_request():
    assert decode_json(b"{}").request.resource_spans == []
