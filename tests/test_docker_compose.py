"""examples/docker-compose.yaml is consistent with the files and ports it wires together.

Docker cannot run here, so the stack is checked as text: every file a service mounts or builds
from exists, the services reach each other on the names and ports their configs use, Prometheus
keeps exemplars, Grafana gets the provisioning and dashboards where the provisioning says, and
the otel-cost command parses as `otel-cost` parses it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_cost.cli import build_parser
from otel_cost.receiver.config import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COMPOSE = EXAMPLES / "docker-compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """container path -> host path, for bind mounts (named volumes are skipped)."""
    out: dict[str, Path] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            out[target] = (EXAMPLES / source).resolve()
    return out


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_every_mounted_or_built_file_exists(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"otel-collector", "otel-cost", "tempo", "prometheus", "grafana"}
    for name, service in compose["services"].items():
        for target, source in _mounts(service).items():
            assert source.exists(), f"{name}: mounts missing {source} at {target}"
        build = service.get("build")
        if build:
            context = (EXAMPLES / build["context"]).resolve()
            dockerfile = context / build["dockerfile"]
            assert dockerfile.is_file(), f"{name}: no Dockerfile {dockerfile}"
            for line in dockerfile.read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (context / src).exists(), f"{name}: Dockerfile copies missing {src}"


def test_collector_sends_to_otel_cost(compose: dict[str, Any]) -> None:
    collector = compose["services"]["otel-collector"]
    config_path = _mounts(collector)["/etc/otelcol-contrib/config.yaml"]
    assert config_path.name == "gateway.yaml"
    endpoint = _load(config_path)["exporters"]["otlp/otel-cost"]["endpoint"]
    assert endpoint == "otel-cost:4317"
    assert "--config=/etc/otelcol-contrib/config.yaml" in collector["command"]


def test_otel_cost_command_parses_and_forwards_to_tempo(compose: dict[str, Any]) -> None:
    service = compose["services"]["otel-cost"]
    args = build_parser().parse_args(service["command"])
    assert args.command == "serve"
    config = load_config({k: getattr(args, k, None) for k in vars(args)}, environ={})
    assert config.forward_traces == "grpc://tempo:4317"
    assert config.grpc_endpoint is not None and config.grpc_endpoint.port == 4317
    assert config.prometheus_endpoint is not None and config.prometheus_endpoint.port == 9464
    # No per-user or per-session metric labels by default (a series per user); the ledger has them.
    assert config.high_cardinality_keys == ()
    assert not {"user", "session"} & set(config.dimension_keys)
    tempo = _load(_mounts(compose["services"]["tempo"])["/etc/tempo.yaml"])
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
    # The header's traffic command parses too.
    header = COMPOSE.read_text()
    demo = re.search(r"run --rm otel-cost (demo [^\n]+)", header)
    assert demo is not None
    demo_args = build_parser().parse_args(demo.group(1).split())
    assert demo_args.send_to == "otel-collector:4317"


def test_prometheus_scrapes_otel_cost_with_exemplars(compose: dict[str, Any]) -> None:
    service = compose["services"]["prometheus"]
    assert "--enable-feature=exemplar-storage" in service["command"]
    config = _load(_mounts(service)["/etc/prometheus/prometheus.yml"])
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert "otel-cost:9464" in targets


def test_grafana_is_provisioned_and_linked(compose: dict[str, Any]) -> None:
    service = compose["services"]["grafana"]
    mounts = _mounts(service)
    provisioning = mounts["/etc/grafana/provisioning"]
    datasources = _load(provisioning / "datasources" / "otel-cost.yaml")["datasources"]
    urls = {ds["uid"]: ds["url"] for ds in datasources}
    tempo_port = _load(_mounts(compose["services"]["tempo"])["/etc/tempo.yaml"])["server"]["http_listen_port"]
    assert urls == {"prometheus": "http://prometheus:9090", "tempo": f"http://tempo:{tempo_port}"}
    provider = _load(provisioning / "dashboards" / "otel-cost.yaml")["providers"][0]
    dashboards_dir = mounts[provider["options"]["path"]]
    assert sorted(p.name for p in dashboards_dir.glob("*.json")), "no dashboards where provisioning looks"
