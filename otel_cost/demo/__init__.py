"""The offline demo behind ``otel-cost demo``: an agent, a tool, a paid API and the whole
otel-cost path (processor, OTLP, receiver, ledger, metrics), with recorded provider responses
replayed on loopback. See :mod:`otel_cost.demo.run`."""

from __future__ import annotations

from otel_cost.demo.run import DemoResult, run_demo

__all__ = ("DemoResult", "run_demo")
