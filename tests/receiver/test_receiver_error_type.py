"""Spend on failed calls: a span with status ERROR is counted under the semconv ``error.type``
(its own value, else ``_OTHER``) on the receiver's cost metrics, as Prometheus scrapes them.

Prices: gpt-4o (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M input, $10.00 /
1M output; 1000 input + 200 output tokens = 0.0025 + 0.0020 = 0.0045 USD a call.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_cost import semconv as sc
from otel_cost.record import ERROR_TYPE_OTHER
from tests.receiver.otlp_builders import chat_attrs, grpc_export, request, running_receiver, span

# The Prometheus exporter turns `error.type` into the label `error_type`.
_SPEND = re.compile(r"^cost_spend_USD_total\{(?P<labels>[^}]*)\} (?P<value>\S+)")


def _failed(n: int, error_type: str | None) -> Span:
    attrs = chat_attrs()
    if error_type is not None:
        attrs[sc.ERROR_TYPE] = error_type
    out = span(n, attrs)
    out.status.CopyFrom(Status(code=Status.StatusCode.STATUS_CODE_ERROR, message="stream interrupted"))
    return out


def test_failed_calls_spend_by_error_type_in_prometheus(tmp_path: Path) -> None:
    with running_receiver(tmp_path) as (receiver, _):
        spans = [
            span(1, chat_attrs()),
            _failed(2, "openai.APIConnectionError"),
            _failed(3, None),
            span(4, {**chat_attrs(), sc.ERROR_TYPE: "ignored"}),  # status UNSET: a successful call
        ]
        grpc_export(receiver.ports.grpc, request(spans))
        with urllib.request.urlopen(f"http://127.0.0.1:{receiver.ports.prometheus}/metrics", timeout=5) as r:
            text = r.read().decode()
    spend: dict[str | None, float] = {}
    for line in text.splitlines():
        match = _SPEND.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
            key = labels.get("error_type")
            spend[key] = spend.get(key, 0.0) + float(match["value"])
    # 0.0045 USD a call: two successful calls (no label), one of each failed kind.
    assert spend == {None: 0.009, "openai.APIConnectionError": 0.0045, ERROR_TYPE_OTHER: 0.0045}
    calls = [line for line in text.splitlines() if line.startswith("cost_calls_total{")]
    assert sum('error_type="' in line for line in calls) == 2
