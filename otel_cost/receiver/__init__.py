"""``otel-cost serve``: an OTLP receiver that prices, aggregates, records and forwards spans.

Modules, in the order data flows through them:

- ``config``: settings (flag -> ``OTEL_COST_*`` env -> YAML file -> default);
- ``grpc_server``, ``http_server``: OTLP/gRPC and OTLP/HTTP ingestion by the spec;
- ``spans``: validate, read, price and enrich spans on the protobuf messages;
- ``pipeline``: bounded queue, group commit to the ledger, metrics for new records only;
- ``forward``: enriched traces to Tempo or a Collector, bounded queue with retries;
- ``prometheus``: scrape endpoint with exemplars from the OTel metrics SDK;
- ``app``: one receiver process wired together, with graceful shutdown.
"""

from __future__ import annotations

from otel_cost.receiver.config import ConfigError, ReceiverConfig, load_config

__all__ = ("ConfigError", "ReceiverConfig", "load_config")
