"""``otel-cost serve``: the OTLP receiver (see ``docs/receiver.md``).

Every flag is also an ``OTEL_COST_*`` env var and a key of the ``--config`` YAML file;
precedence: flag, env var, file, default. With no configuration at all it listens on the
standard OTLP ports (4317 gRPC, 4318 HTTP), serves Prometheus on 9464 and writes the ledger to
``./otel-cost-ledger.sqlite``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Any

from otel_cost import semconv
from otel_cost.receiver.config import SETTINGS, ConfigError, ReceiverConfig, env_name, flag_name, load_config

_log = logging.getLogger("otel_cost.serve")

_WORKER_ENV = "OTEL_COST_WORKER_INDEX"
"""Set by the supervising process on each worker it starts (``--workers N``)."""

_HELP = {
    "grpc_endpoint": "OTLP/gRPC listen address HOST:PORT (default 0.0.0.0:4317; 'off' disables)",
    "http_endpoint": "OTLP/HTTP listen address HOST:PORT (default 0.0.0.0:4318; 'off' disables)",
    "prometheus_endpoint": "Prometheus /metrics address HOST:PORT (default 0.0.0.0:9464; 'off' disables)",
    "ledger": "ledger path or URL (default ./otel-cost-ledger.sqlite; sqlite:///PATH, postgresql://...)",
    "forward_traces": "forward enriched traces to this URL (http(s):// OTLP/HTTP, grpc(s):// OTLP/gRPC)",
    "metrics_endpoint": "also push metrics over OTLP to this URL (http(s):// or grpc(s)://)",
    "metrics_interval_s": "seconds between OTLP metric pushes (default 10)",
    "catalog": "pricing catalog file (YAML) layered on the embedded catalog",
    "workers": "worker processes sharing the ports with SO_REUSEPORT (default 1)",
    "auth_token": "require 'Authorization: Bearer TOKEN' on both OTLP ports",
    "tls_cert": "PEM certificate: serve both OTLP ports over TLS (with --tls-key)",
    "tls_key": "PEM private key for --tls-cert",
    "queue_size": "export requests waiting for the ledger before backpressure (default 64)",
    "max_body_bytes": "largest request body, also after decompression (default 16 MiB)",
    "retry_after_s": "Retry-After / RetryInfo delay in backpressure answers (default 1)",
    "dimension_keys": "comma-separated attribution keys used as metric dimensions",
    "high_cardinality_keys": "comma-separated attribution keys (user, session) allowed as capped dimensions",
    "cardinality_cap": "distinct values per high-cardinality key before the overflow series (default 1000)",
    "span_attribution": "span attributes naming attribution keys, ATTR=KEY,... (e.g. app.tenant_id=tenant)",
    "resource_attribution": "resource attributes naming attribution keys, ATTR=KEY,... (team=cost_center)",
    "estimate_tokens": "count tokens locally when a gen_ai span has content but no usage (default true)",
}


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the OTLP receiver: price spans, export cost metrics, write the ledger, forward traces",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name in SETTINGS:
        parser.add_argument(
            flag_name(name),
            dest=name,
            default=None,
            metavar="VALUE",
            help=f"{_HELP[name]} [{env_name(name)}]",
        )
    parser.add_argument(
        "--config", default=None, metavar="FILE", help="YAML file with the same keys [OTEL_COST_CONFIG]"
    )
    parser.add_argument(
        "--log-level", default=os.environ.get("OTEL_COST_LOG_LEVEL", "INFO"), help=argparse.SUPPRESS
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``otel-cost serve``."""
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    flags = {name: getattr(args, name) for name in SETTINGS}
    try:
        config = load_config(flags, config_file=args.config)
    except ConfigError as exc:
        print(f"otel-cost serve: configuration error: {exc}", file=sys.stderr)
        return 2
    worker = os.environ.get(_WORKER_ENV)
    if config.workers > 1 and worker is None:
        return _supervise(config)
    return _serve(config, int(worker) if worker else 0)


def _serve(config: ReceiverConfig, worker_index: int) -> int:
    from otel_cost.receiver.app import Receiver

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        _log.info("signal %d: draining and shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    receiver = Receiver(config, worker_index=worker_index)
    try:
        ports = receiver.start()
    except Exception as exc:
        print(f"otel-cost serve: cannot start: {exc}", file=sys.stderr)
        receiver.stop(1.0)
        return 1
    # The catalog, the metrics SDK and the servers live as long as the process: keep the cyclic
    # GC from scanning them again on every full collection (~6% of the CPU per span under load).
    gc.collect()
    gc.freeze()
    ready = {
        "event": "listening",
        "pid": os.getpid(),
        "worker": worker_index,
        semconv.SERVICE_INSTANCE_ID: receiver.instance_id,
        "grpc": ports.grpc,
        "http": ports.http,
        "prometheus": ports.prometheus,
    }
    print(json.dumps(ready), flush=True)
    while not stop.wait(0.5):
        pass
    receiver.stop()
    _log.info("stopped")
    return 0


def _die_with_parent() -> None:
    """In the worker, before exec: get SIGTERM (and drain) if the supervisor dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _as_text(value: object) -> str:
    """A resolved setting as the text its parser reads back (how workers get their settings)."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(f"{v[0]}={v[1]}" if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


def _supervise(config: ReceiverConfig) -> int:
    """Start ``config.workers`` worker processes on the same ports; stop them on a signal."""
    for name in ("grpc_endpoint", "http_endpoint"):
        endpoint = getattr(config, name)
        if endpoint is not None and endpoint.port == 0:
            print(f"otel-cost serve: --workers needs a fixed port for {flag_name(name)}", file=sys.stderr)
            return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Workers get the resolved settings as env vars (not argv: a token stays out of `ps`).
    settings = {env_name(name): _as_text(getattr(config, name)) for name in SETTINGS}
    children: list[subprocess.Popen[bytes]] = []
    for index in range(config.workers):
        env = {**os.environ, **settings, _WORKER_ENV: str(index)}
        env.pop("OTEL_COST_CONFIG", None)
        # The supervisor runs no threads, so preexec_fn is safe here.
        command = [sys.executable, "-m", "otel_cost", "serve"]
        children.append(subprocess.Popen(command, env=env, preexec_fn=_die_with_parent))  # noqa: PLW1509
    status = 0
    while not stop.is_set():
        if any(child.poll() is not None for child in children):
            _log.error("a worker exited unexpectedly; stopping the others")
            status = 1
            break
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
    return status
