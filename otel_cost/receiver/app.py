"""One receiver process: wires config -> engine -> pipeline -> servers, and shuts down cleanly.

``Receiver(config).start()`` opens the ledger, builds the metric tables (read by the Prometheus
endpoint at each scrape, optionally pushed over OTLP), starts the forwarder and the gRPC, HTTP and Prometheus
servers. ``stop()`` is the graceful shutdown: stop accepting, let in-flight requests finish,
commit everything queued, flush the forwarder and the metrics, close the ledger.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIServer

from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import SERVICE_VERSION, Resource

from otel_cost import __version__, semconv
from otel_cost.attribution import DEFAULT_CONFIG, AttributionConfig
from otel_cost.metrics import SeriesLabels
from otel_cost.receiver.config import Endpoint, ReceiverConfig, flag_name
from otel_cost.receiver.forward import Forwarder, sender_for
from otel_cost.receiver.grpc_server import start_grpc_server
from otel_cost.receiver.http_server import OtlpHttpServer, start_http_server
from otel_cost.receiver.metric_push import MetricPush
from otel_cost.receiver.metric_table import MetricTable
from otel_cost.receiver.pipeline import LedgerLike, Pipeline
from otel_cost.receiver.prometheus import start_prometheus_server
from otel_cost.receiver.spans import SpanPipeline

if TYPE_CHECKING:
    import grpc

    from otel_cost.pricing import PriceCatalog

_log = logging.getLogger(__name__)


def load_catalog_for(config: ReceiverConfig) -> PriceCatalog:
    """The embedded catalog, with ``config.catalog`` layered on top when given."""
    from otel_cost import pricing

    if config.catalog:
        return pricing.load_catalog([config.catalog])
    return pricing.default_catalog()


def _otlp_metric_exporter(url: str) -> MetricExporter:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme in ("grpc", "grpcs"):
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter

        target = urllib.parse.urlsplit(url).netloc
        exporter: Any = GrpcExporter(endpoint=target, insecure=scheme == "grpc")
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter

        parts = urllib.parse.urlsplit(url)
        if parts.path in ("", "/"):
            url = urllib.parse.urlunsplit(parts._replace(path="/v1/metrics"))
        exporter = HttpExporter(endpoint=url)
    return exporter  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class BoundPorts:
    """The ports actually bound (they differ from the config when it asked for port 0)."""

    grpc: int | None
    http: int | None
    prometheus: int | None


class Receiver:
    """A running receiver process (one worker)."""

    def __init__(
        self,
        config: ReceiverConfig,
        *,
        worker_index: int = 0,
        ledger: LedgerLike | None = None,
        catalog: PriceCatalog | None = None,
    ) -> None:
        self.config = config
        self.worker_index = worker_index
        self.instance_id = str(uuid.uuid4())
        self._ledger = ledger
        self._catalog = catalog
        self._grpc: grpc.Server | None = None
        self._http: OtlpHttpServer | None = None
        self._prometheus: WSGIServer | None = None
        self._forwarder: Forwarder | None = None
        self._metric_push: MetricPush | None = None
        self.metrics: MetricTable | None = None
        self.pipeline: Pipeline | None = None
        self.ports = BoundPorts(None, None, None)

    def start(self) -> BoundPorts:
        """Open everything and start serving; raises on a bad ledger URL or a port in use."""
        config = self.config
        if self._ledger is None:
            from otel_cost.ledger import open_ledger

            self._ledger = open_ledger(config.ledger)
        catalog = self._catalog or load_catalog_for(config)
        resource = Resource.create(
            {
                semconv.SERVICE_NAME: "otel-cost",
                SERVICE_VERSION: __version__,  # not in our registry: the SDK's resource constant
                semconv.SERVICE_INSTANCE_ID: self.instance_id,
            }
        )
        labels = SeriesLabels(
            dimension_keys=config.dimension_keys,
            high_cardinality_keys=config.high_cardinality_keys,
            cardinality_cap=config.cardinality_cap,
        )
        metrics = self.metrics = MetricTable(labels, resource=resource, scope_version=__version__)
        if config.metrics_endpoint:
            exporter = _otlp_metric_exporter(config.metrics_endpoint)
            self._metric_push = MetricPush(exporter, metrics.collect, config.metrics_interval_s)
        if config.forward_traces:
            self._forwarder = Forwarder(sender_for(config.forward_traces))
        self.pipeline = Pipeline(
            SpanPipeline(catalog, attribution=attribution_config(config), estimate=config.estimate_tokens),
            self._ledger,
            metrics,
            forward=self._forwarder.submit if self._forwarder else None,
            queue_size=config.queue_size,
        )
        reuse = config.workers > 1
        grpc_port = http_port = prom_port = None
        if config.grpc_endpoint is not None:
            with _listening("grpc_endpoint", config.grpc_endpoint):
                self._grpc, grpc_port = start_grpc_server(
                    self.pipeline,
                    config.grpc_endpoint,
                    auth_token=config.auth_token,
                    tls_cert=config.tls_cert,
                    tls_key=config.tls_key,
                    reuse_port=reuse,
                    max_message_bytes=config.max_body_bytes,
                    retry_after_s=config.retry_after_s,
                    # More handler threads than queue slots: a full queue, not a busy thread pool,
                    # is what pushes back (grpcio would queue the calls silently instead).
                    threads=config.queue_size + 8,
                )
        if config.http_endpoint is not None:
            with _listening("http_endpoint", config.http_endpoint):
                self._http, http_port = start_http_server(
                    self.pipeline,
                    config.http_endpoint,
                    auth_token=config.auth_token,
                    tls_cert=config.tls_cert,
                    tls_key=config.tls_key,
                    reuse_port=reuse,
                    max_body_bytes=config.max_body_bytes,
                    retry_after_s=config.retry_after_s,
                    # As many requests at once as the gRPC server has handler threads.
                    max_in_flight=config.queue_size + 8,
                )
        if config.prometheus_endpoint is not None:
            endpoint = config.prometheus_endpoint
            port = endpoint.port + self.worker_index if endpoint.port else 0
            with _listening("prometheus_endpoint", Endpoint(endpoint.host, port), self.worker_index):
                self._prometheus, prom_port = start_prometheus_server(metrics.collect, endpoint.host, port)
        self.ports = BoundPorts(grpc_port, http_port, prom_port)
        _log.info(
            "otel-cost receiver %s (pid %d, worker %d) listening: grpc=%s http=%s prometheus=%s ledger=%s",
            self.instance_id,
            os.getpid(),
            self.worker_index,
            grpc_port,
            http_port,
            prom_port,
            config.ledger,
        )
        return self.ports

    def stop(self, grace_s: float = 10.0) -> None:
        """Graceful shutdown: refuse new work, finish in-flight requests, drain, flush, close."""
        if self.pipeline is not None:
            self.pipeline.begin_shutdown()
        if self._grpc is not None:
            self._grpc.stop(grace_s).wait(grace_s)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self.pipeline is not None:
            self.pipeline.close(grace_s)
        if self._forwarder is not None:
            self._forwarder.close(grace_s)
        if self._metric_push is not None:
            self._metric_push.close(grace_s)
        if self._prometheus is not None:
            self._prometheus.shutdown()
            self._prometheus.server_close()
        if self._ledger is not None:
            self._ledger.close()


@contextmanager
def _listening(setting: str, endpoint: Endpoint, worker_index: int = 0) -> Iterator[None]:
    """Name the setting and address when a server cannot bind ("address in use" says neither)."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        where = f" (worker {worker_index}: the configured port + {worker_index})" if worker_index else ""
        raise RuntimeError(f"{flag_name(setting)}: cannot listen on {endpoint}{where}: {exc}") from exc


def attribution_config(config: ReceiverConfig) -> AttributionConfig:
    """The built-in attribution sources with the configured attributes read first (first present wins)."""
    if not config.span_attribution and not config.resource_attribution:
        return DEFAULT_CONFIG

    def first(configured: tuple[tuple[str, str], ...], built_in: Mapping[str, str]) -> dict[str, str]:
        merged = dict(configured)
        for name, key in built_in.items():
            merged.setdefault(name, key)
        return merged

    return AttributionConfig(
        baggage=DEFAULT_CONFIG.baggage,
        baggage_prefix=DEFAULT_CONFIG.baggage_prefix,
        span_attributes=first(config.span_attribution, DEFAULT_CONFIG.span_attributes),
        resource_attributes=first(config.resource_attribution, DEFAULT_CONFIG.resource_attributes),
    )
