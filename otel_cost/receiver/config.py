"""Receiver settings: command-line flag, then ``OTEL_COST_*`` env var, then config file, then default.

Every setting has one name used three ways: the flag ``--grpc-endpoint``, the env var
``OTEL_COST_GRPC_ENDPOINT`` and the YAML key ``grpc-endpoint`` (``grpc_endpoint`` is accepted
too). A bad value fails at start with where it came from (flag, env var, or file and key) and
why: a receiver that silently ignores a setting is worse than one that does not start.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from otel_cost.attribution import check_key

ENV_PREFIX = "OTEL_COST_"
DISABLED = ("", "off", "none", "disabled")


class ConfigError(ValueError):
    """A setting is invalid; the message names its source, key and the reason."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A listening address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(value: str) -> Endpoint | None:
    """``HOST:PORT`` (``[::1]:4317`` for IPv6) -> Endpoint; ``off``/empty -> None (disabled)."""
    text = value.strip()
    if text.lower() in DISABLED:
        return None
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    host = host.strip("[]") or "0.0.0.0"
    return Endpoint(host, port)


def _parse_url(value: str) -> str | None:
    text = value.strip()
    if text.lower() in DISABLED:
        return None
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https", "grpc", "grpcs") or not parts.netloc:
        raise ValueError(f"expected an http(s):// or grpc(s):// URL, got {value!r}")
    return text


def _parse_optional(value: str) -> str | None:
    text = value.strip()
    return None if text.lower() in DISABLED else text


def _positive_int(value: str) -> int:
    number = int(str(value).strip())
    if number < 1:
        raise ValueError(f"must be >= 1, got {number}")
    return number


def _key_list(value: str) -> tuple[str, ...]:
    if str(value).strip().lower() in DISABLED:
        return ()
    return tuple(k.strip() for k in str(value).split(",") if k.strip())


def _attribute_map(value: str) -> tuple[tuple[str, str], ...]:
    """``name=key,name=key`` (attribute name -> attribution key), in the order given; ``off``: none."""
    if str(value).strip().lower() in DISABLED:
        return ()
    pairs: list[tuple[str, str]] = []
    for item in str(value).split(","):
        if not item.strip():
            continue
        name, sep, key = (part.strip() for part in item.partition("="))
        if not sep or not name:
            raise ValueError(f"expected ATTRIBUTE=KEY, got {item.strip()!r}")
        check_key(key, name)
        if any(name == seen for seen, _ in pairs):
            raise ValueError(f"attribute {name!r} is mapped twice")
        pairs.append((name, key))
    return tuple(pairs)


def _bool(value: str) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """Everything ``otel-cost serve`` can be told. Defaults give a working receiver."""

    grpc_endpoint: Endpoint | None = field(default=Endpoint("0.0.0.0", 4317))
    """OTLP/gRPC listen address; ``off`` disables it."""
    http_endpoint: Endpoint | None = field(default=Endpoint("0.0.0.0", 4318))
    """OTLP/HTTP listen address (``POST /v1/traces``, ``GET /health``); ``off`` disables it."""
    prometheus_endpoint: Endpoint | None = field(default=Endpoint("0.0.0.0", 9464))
    """Prometheus scrape address (``/metrics``, OpenMetrics with exemplars); ``off`` disables it.
    With ``workers > 1``, worker *i* listens on port + *i*."""
    ledger: str = "otel-cost-ledger.sqlite"
    """Ledger path or URL (``sqlite:///path``, ``postgresql://...``)."""
    forward_traces: str | None = None
    """Forward enriched traces here (http(s):// OTLP/HTTP protobuf, grpc(s):// OTLP/gRPC)."""
    metrics_endpoint: str | None = None
    """Also push metrics over OTLP to this URL (http(s):// or grpc(s)://)."""
    metrics_interval_s: int = 10
    """Seconds between OTLP metric pushes."""
    catalog: str | None = None
    """Extra pricing catalog file (YAML) on top of the embedded catalog."""
    workers: int = 1
    """Processes sharing the listening ports with SO_REUSEPORT."""
    auth_token: str | None = None
    """When set, both OTLP ports require ``Authorization: Bearer <token>``."""
    tls_cert: str | None = None
    """PEM certificate for TLS on both OTLP ports (with ``tls-key``)."""
    tls_key: str | None = None
    """PEM private key for TLS on both OTLP ports."""
    queue_size: int = 64
    """Export requests waiting for the ledger before the receiver answers with backpressure."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest request body, after decompression (HTTP 413 / gRPC RESOURCE_EXHAUSTED above)."""
    retry_after_s: int = 1
    """The ``Retry-After`` / RetryInfo delay sent with backpressure answers."""
    dimension_keys: tuple[str, ...] = ("project", "cost_center", "tenant", "environment", "agent")
    """Attribution keys used as metric dimensions (low cardinality)."""
    high_cardinality_keys: tuple[str, ...] = ()
    """Attribution keys such as user or session, only as configured, capped."""
    cardinality_cap: int = 1000
    """Distinct values per high-cardinality key before values go to an overflow series."""
    span_attribution: tuple[tuple[str, str], ...] = ()
    """Span attributes that name an attribution key (``app.tenant_id=tenant``), read before the
    built-in ones (``user.id``, ``enduser.id``, ``session.id``, ``gen_ai.conversation.id``,
    ``gen_ai.agent.name``)."""
    resource_attribution: tuple[tuple[str, str], ...] = ()
    """Resource attributes that name an attribution key (``team.name=cost_center``), read before
    the built-in ones (``service.name``, ``deployment.environment[.name]``)."""
    estimate_tokens: bool = True
    """Count tokens locally (tiktoken) for a gen_ai span that carries its content but no usage."""


_PARSERS: dict[str, Callable[[str], Any]] = {
    "grpc_endpoint": parse_endpoint,
    "http_endpoint": parse_endpoint,
    "prometheus_endpoint": parse_endpoint,
    "ledger": str.strip,
    "forward_traces": _parse_url,
    "metrics_endpoint": _parse_url,
    "metrics_interval_s": _positive_int,
    "catalog": _parse_optional,
    "workers": _positive_int,
    "auth_token": _parse_optional,
    "tls_cert": _parse_optional,
    "tls_key": _parse_optional,
    "queue_size": _positive_int,
    "max_body_bytes": _positive_int,
    "retry_after_s": _positive_int,
    "dimension_keys": _key_list,
    "high_cardinality_keys": _key_list,
    "cardinality_cap": _positive_int,
    "span_attribution": _attribute_map,
    "resource_attribution": _attribute_map,
    "estimate_tokens": _bool,
}
_MAPPINGS = frozenset({"span_attribution", "resource_attribution"})
"""Settings a config file may also write as a YAML mapping (``{app.tenant_id: tenant}``)."""
SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(ReceiverConfig))
"""Setting names (attribute spelling); the flag is ``--`` + the name with ``-`` for ``_``."""


def flag_name(setting: str) -> str:
    return "--" + setting.replace("_", "-")


def env_name(setting: str) -> str:
    return ENV_PREFIX + setting.upper()


def _from_file(path: str) -> dict[str, object]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    out: dict[str, object] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in _PARSERS:
            known = ", ".join(s.replace("_", "-") for s in SETTINGS)
            raise ConfigError(f"{path}: key {key!r}: unknown setting (known: {known})")
        if isinstance(value, dict) and name in _MAPPINGS:
            for k, v in value.items():  # pyright: ignore[reportUnknownVariableType]
                if not isinstance(k, str) or not isinstance(v, str):
                    raise ConfigError(
                        f"{path}: key {key!r}: entry {k!r}: {v!r}: attribute names and attribution keys "
                        "must be strings (quote YAML words such as yes, no, on, off)"
                    )
            raw: object = ",".join(f"{k}={v}" for k, v in value.items())  # pyright: ignore[reportUnknownVariableType]
        elif isinstance(value, dict):
            raise ConfigError(f"{path}: key {key!r}: expected a scalar or a list, got a mapping")
        elif isinstance(value, bool):
            raw = "true" if value else "off"  # YAML 1.1 reads a bare off/no/false as False
        else:
            raw = ",".join(str(v) for v in value) if isinstance(value, list) else value
        out[name] = "off" if raw is None else raw
    return out


def load_config(
    flags: Mapping[str, object | None],
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ReceiverConfig:
    """Resolve every setting: flag (non-None in ``flags``), env var, config file, default.

    ``config_file`` (or ``OTEL_COST_CONFIG``) names the YAML file. Raises ``ConfigError``.
    """
    env = os.environ if environ is None else environ
    path = config_file or env.get(ENV_PREFIX + "CONFIG") or None
    from_file = _from_file(path) if path else {}
    values: dict[str, Any] = {}
    sources = {name: flag_name(name) for name in SETTINGS}
    for name in SETTINGS:
        parse = _PARSERS[name]
        flag_value = flags.get(name)
        if flag_value is not None:
            source, raw = flag_name(name), flag_value
        elif env_name(name) in env:
            source, raw = env_name(name), env[env_name(name)]
        elif name in from_file:
            source, raw = f"{path}: key {name.replace('_', '-')!r}", from_file[name]
        else:
            continue
        try:
            values[name] = parse(str(raw))
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
        sources[name] = source
    config = ReceiverConfig(**values)
    _check(config, sources)
    return config


def _check(config: ReceiverConfig, sources: Mapping[str, str]) -> None:
    """What no single setting's parser can see: pairs, files, ports derived from two settings."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("tls-cert and tls-key must be given together")
    for name in ("tls_cert", "tls_key", "catalog"):
        value = getattr(config, name)
        if value is not None and not Path(value).is_file():
            raise ConfigError(f"{name.replace('_', '-')}: no such file: {value}")
    if config.tls_cert is not None and config.tls_key is not None:
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(config.tls_cert, config.tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{sources['tls_cert']}, {sources['tls_key']}: not a PEM certificate and its private key "
                f"({config.tls_cert}, {config.tls_key}): {exc}"
            ) from exc
    prometheus = config.prometheus_endpoint
    if prometheus is not None and prometheus.port and prometheus.port + config.workers - 1 > 65535:
        raise ConfigError(
            f"{sources['prometheus_endpoint']}: worker {config.workers - 1} would serve /metrics on port "
            f"{prometheus.port + config.workers - 1} (the port + its index), above 65535"
        )
