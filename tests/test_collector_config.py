"""The otelcol-contrib configs in collector-config/ are well formed.

otelcol-contrib itself cannot be installed here (not in Debian; the only PyPI wheel carrying a
binary is a test build without the otlp receiver, the loadbalancing exporter or any connector),
so `otelcol-contrib validate` cannot run. Instead this test checks what `validate` would catch
structurally: every pipeline names only defined components of the right kind, connectors join an
exporting pipeline to a receiving one of a type they support, every component type is one
otelcol-contrib ships, and the settings our docs rely on (sum connector, loadbalancing) have the
shape of those components' config schemas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "collector-config"
CONFIGS = ("gateway.yaml", "scale-out.yaml", "collector-only.yaml")

# Component types of otelcol-contrib (core + contrib) that configs here may use. Old and new
# spellings both: releases since 0.144 renamed otlp -> otlp_grpc, otlphttp -> otlp_http,
# loadbalancing -> load_balancing and keep the old names as aliases.
KNOWN_TYPES: dict[str, set[str]] = {
    "receivers": {"otlp", "prometheus", "hostmetrics", "filelog", "jaeger", "zipkin", "kafka"},
    "processors": {
        "batch",
        "memory_limiter",
        "attributes",
        "resource",
        "resourcedetection",
        "transform",
        "filter",
        "tail_sampling",
        "probabilistic_sampler",
        "k8sattributes",
        "groupbytrace",
    },
    "exporters": {
        "otlp",
        "otlp_grpc",
        "otlphttp",
        "otlp_http",
        "loadbalancing",
        "load_balancing",
        "prometheus",
        "prometheusremotewrite",
        "debug",
        "file",
        "kafka",
    },
    "connectors": {"sum", "count", "spanmetrics", "servicegraph", "forward", "routing", "signaltometrics"},
    "extensions": {"health_check", "pprof", "zpages", "bearertokenauth", "basicauth", "file_storage"},
}
PIPELINE_TYPES = {"traces", "metrics", "logs"}
# (exporting pipeline type, receiving pipeline type) pairs each connector supports.
CONNECTOR_PAIRS: dict[str, set[tuple[str, str]]] = {
    "sum": {("traces", "metrics"), ("metrics", "metrics"), ("logs", "metrics")},
    "count": {("traces", "metrics"), ("metrics", "metrics"), ("logs", "metrics")},
    "spanmetrics": {("traces", "metrics")},
    "servicegraph": {("traces", "metrics")},
    "signaltometrics": {("traces", "metrics"), ("metrics", "metrics"), ("logs", "metrics")},
    "forward": {(t, t) for t in PIPELINE_TYPES},
    "routing": {(t, t) for t in PIPELINE_TYPES},
}
SUM_TELEMETRY_KEYS = {"spans", "spanevents", "datapoints", "metrics", "logs"}
SUM_METRIC_KEYS = {"source_attribute", "conditions", "attributes", "description"}


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def config_problems(config: dict[str, Any]) -> list[str]:
    """What otelcol-contrib's config validation would reject, structurally."""
    problems: list[str] = []
    defined = {kind: set((config.get(kind) or {}).keys()) for kind in KNOWN_TYPES}
    for kind, ids in defined.items():
        for cid in ids:
            if _type(cid) not in KNOWN_TYPES[kind]:
                problems.append(f"{kind}: unknown component type {_type(cid)!r} ({cid})")
    service = config.get("service") or {}
    for ext in service.get("extensions", []):
        if ext not in defined["extensions"]:
            problems.append(f"service.extensions: {ext} is not defined")
    pipelines: dict[str, dict[str, list[str]]] = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service.pipelines: none defined")
    used: set[tuple[str, str]] = set()
    connector_ends: dict[str, dict[str, set[str]]] = {
        c: {"exporter": set(), "receiver": set()} for c in defined["connectors"]
    }
    for name, pipeline in pipelines.items():
        ptype = _type(name)
        if ptype not in PIPELINE_TYPES:
            problems.append(f"pipeline {name}: unknown pipeline type {ptype!r}")
        for role in ("receivers", "processors", "exporters"):
            for cid in pipeline.get(role, []):
                if role in ("receivers", "exporters") and cid in defined["connectors"]:
                    connector_ends[cid]["receiver" if role == "receivers" else "exporter"].add(ptype)
                    used.add(("connectors", cid))
                elif cid in defined[role]:
                    used.add((role, cid))
                else:
                    problems.append(f"pipeline {name}: {role} entry {cid} is not defined")
        for role in ("receivers", "exporters"):
            if not pipeline.get(role):
                problems.append(f"pipeline {name}: no {role}")
    for cid, ends in connector_ends.items():
        if not ends["exporter"] or not ends["receiver"]:
            problems.append(f"connector {cid} must be an exporter in one pipeline and a receiver in another")
            continue
        supported = CONNECTOR_PAIRS.get(_type(cid), set())
        for pair in ((e, r) for e in ends["exporter"] for r in ends["receiver"]):
            if pair not in supported:
                problems.append(f"connector {cid} does not connect {pair[0]} to {pair[1]}")
    for kind in ("receivers", "processors", "exporters"):
        for cid in defined[kind] - {c for k, c in used if k == kind}:
            problems.append(f"{kind}: {cid} is defined but used in no pipeline")
    problems += _sum_connector_problems(config)
    problems += _loadbalancing_problems(config)
    return problems


def _sum_connector_problems(config: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for cid, body in (config.get("connectors") or {}).items():
        if _type(cid) != "sum":
            continue
        for telemetry, metrics in (body or {}).items():
            if telemetry not in SUM_TELEMETRY_KEYS:
                problems.append(f"{cid}: unknown telemetry type {telemetry!r}")
                continue
            for metric, spec in metrics.items():
                if not spec.get("source_attribute"):
                    problems.append(f"{cid}.{telemetry}.{metric}: source_attribute is required")
                if set(spec) - SUM_METRIC_KEYS:
                    problems.append(
                        f"{cid}.{telemetry}.{metric}: unknown keys {sorted(set(spec) - SUM_METRIC_KEYS)}"
                    )
                attrs = spec.get("attributes") or []
                # The connector skips items missing an attribute without default_value, and adds
                # the value once per listed attribute: see the comment in collector-only.yaml.
                if len(attrs) > 1:
                    problems.append(f"{cid}.{telemetry}.{metric}: more than one attribute multiplies the sum")
                for attr in attrs:
                    if "key" not in attr or "default_value" not in attr:
                        problems.append(f"{cid}.{telemetry}.{metric}: attribute needs key and default_value")
    return problems


def _loadbalancing_problems(config: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for cid, raw in (config.get("exporters") or {}).items():
        if _type(cid) not in {"loadbalancing", "load_balancing"}:
            continue
        body: dict[str, Any] = raw or {}
        if body.get("routing_key", "traceID") not in {"traceID", "service", "resource", "metric", "streamID"}:
            problems.append(f"{cid}: unknown routing_key {body.get('routing_key')!r}")
        resolvers = set((body.get("resolver") or {}).keys())
        if len(resolvers) != 1 or not resolvers <= {"static", "dns", "k8s", "aws_cloud_map"}:
            problems.append(f"{cid}: exactly one resolver (static, dns, k8s, aws_cloud_map), got {resolvers}")
        if "otlp" not in (body.get("protocol") or {}):
            problems.append(f"{cid}: protocol.otlp is required")
        static = (body.get("resolver") or {}).get("static")
        if static is not None and not static.get("hostnames"):
            problems.append(f"{cid}: static resolver without hostnames")
    return problems


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / name).read_text())


@pytest.mark.parametrize("name", CONFIGS)
def test_config_is_structurally_valid(name: str) -> None:
    assert config_problems(_load(name)) == []


@pytest.mark.parametrize("name", CONFIGS)
def test_config_is_documented(name: str) -> None:
    readme = (CONFIG_DIR / "README.md").read_text()
    assert f"`{name}`" in readme


def test_gateway_sends_traces_to_otel_cost_only() -> None:
    """Tempo gets traces from otel-cost (enriched); the Collector must not send them there too."""
    config = _load("gateway.yaml")
    exporters = config["service"]["pipelines"]["traces"]["exporters"]
    assert exporters == ["otlp/otel-cost"]
    assert config["exporters"]["otlp/otel-cost"]["endpoint"] == "otel-cost:4317"


def test_scale_out_routes_by_trace_id() -> None:
    config = _load("scale-out.yaml")
    lb = config["exporters"]["loadbalancing"]
    assert lb["routing_key"] == "traceID"
    assert len(lb["resolver"]["static"]["hostnames"]) >= 2
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing"]


def test_collector_only_sums_cost_amount_without_otel_cost() -> None:
    config = _load("collector-only.yaml")
    sums = config["connectors"]["sum"]["spans"]
    assert {spec["source_attribute"] for spec in sums.values()} == {"cost.amount"}
    exporters = [e for p in config["service"]["pipelines"].values() for e in p["exporters"]]
    assert not any("otel-cost" in e for e in exporters)


def test_checker_catches_broken_configs() -> None:
    """The checker must reject what otelcol-contrib would reject."""
    broken = {
        "receivers": {"otlp": {}},
        "exporters": {"otlp/x": {}, "nosuch": {}},
        "connectors": {"sum": {"spans": {"m": {"source_attribute": "a", "attributes": [{"key": "k"}]}}}},
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp/x", "sum"]},
                "logs": {"receivers": ["otlp"], "exporters": ["otlp/x"]},
            }
        },
    }
    problems = config_problems(broken)
    assert "exporters: unknown component type 'nosuch' (nosuch)" in problems
    assert "pipeline traces: processors entry batch is not defined" in problems
    assert "connector sum must be an exporter in one pipeline and a receiver in another" in problems
    assert "sum.spans.m: attribute needs key and default_value" in problems
    assert "exporters: nosuch is defined but used in no pipeline" in problems
    broken["service"]["pipelines"]["logs/sum"] = {"receivers": ["sum"], "exporters": ["otlp/x"]}
    assert "connector sum does not connect traces to logs" in config_problems(broken)


def test_connector_attributes_are_registered_names() -> None:
    """The attribute keys the connectors read are names otel-cost writes or reads (semconv registry)."""
    from otel_cost import semconv

    names = {v for k, v in vars(semconv).items() if k.isupper() and isinstance(v, str)}
    config = _load("collector-only.yaml")
    keys: list[str] = []
    for connector in config["connectors"].values():
        for spec in connector["spans"].values():
            keys += [spec["source_attribute"]] if "source_attribute" in spec else []
            keys += [attr["key"] for attr in spec.get("attributes", [])]
    assert keys
    for key in keys:
        template = key.startswith(semconv.COST_ATTRIBUTION + ".")
        assert key in names or template, f"{key} is not in the semconv registry"
