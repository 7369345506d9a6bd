"""Settings: flag, then OTEL_COST_* env var, then the --config file, then the default; bad values
fail at start naming where they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.commands.serve import _as_text  # pyright: ignore[reportPrivateUsage]
from otel_cost.receiver.config import (
    SETTINGS,
    ConfigError,
    Endpoint,
    ReceiverConfig,
    env_name,
    load_config,
    parse_endpoint,
)
from tests.receiver.harness import self_signed


def test_zero_config_defaults():
    config = load_config({}, environ={})
    assert config == ReceiverConfig()
    assert config.grpc_endpoint == Endpoint("0.0.0.0", 4317)
    assert config.http_endpoint == Endpoint("0.0.0.0", 4318)
    assert config.prometheus_endpoint == Endpoint("0.0.0.0", 9464)
    assert config.ledger == "otel-cost-ledger.sqlite"
    assert config.workers == 1


def test_precedence_flag_env_file_default(tmp_path: Path):
    file = tmp_path / "otel-cost.yaml"
    file.write_text(
        "grpc-endpoint: 127.0.0.1:1111\nhttp_endpoint: 127.0.0.1:2222\nledger: from-file.sqlite\n"
        "dimension-keys: [project, tenant]\nforward-traces: null\n"
    )
    env = {"OTEL_COST_HTTP_ENDPOINT": "127.0.0.1:3333", "OTEL_COST_LEDGER": "from-env.sqlite"}
    config = load_config({"ledger": "from-flag.sqlite"}, config_file=str(file), environ=env)
    assert config.ledger == "from-flag.sqlite"  # flag beats env and file
    assert config.http_endpoint == Endpoint("127.0.0.1", 3333)  # env beats file
    assert config.grpc_endpoint == Endpoint("127.0.0.1", 1111)  # file beats default
    assert config.dimension_keys == ("project", "tenant")
    assert config.forward_traces is None
    assert config.prometheus_endpoint == Endpoint("0.0.0.0", 9464)  # default
    # The file can also come from OTEL_COST_CONFIG.
    assert load_config({}, environ={"OTEL_COST_CONFIG": str(file)}).ledger == "from-file.sqlite"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grpc-endpoint: nowhere\n", "key 'grpc-endpoint': expected HOST:PORT, got 'nowhere'"),
        ("workers: 0\n", "key 'workers': must be >= 1, got 0"),
        ("forward-traces: ftp://x\n", "key 'forward-traces': expected an http(s):// or grpc(s):// URL"),
        ("grpc-endpont: 1.2.3.4:5\n", "key 'grpc-endpont': unknown setting"),
        ("- a list\n", "expected a mapping of settings"),
        ("ledger: [unclosed\n", "not valid YAML"),
        (
            "span-attribution: {app.team: Team}\n",
            "key 'span-attribution': attribution key 'Team' (for 'app.team')",
        ),
        (
            "resource-attribution: team.name\n",
            "key 'resource-attribution': expected ATTRIBUTE=KEY, got 'team.name'",
        ),
        ("estimate-tokens: maybe\n", "key 'estimate-tokens': expected true or false, got 'maybe'"),
        ("ledger: {a: b}\n", "key 'ledger': expected a scalar or a list, got a mapping"),
        (
            "span-attribution: {yes: tenant}\n",
            "key 'span-attribution': entry True: 'tenant': attribute names",
        ),
        ("span-attribution: {app.n: 3}\n", "key 'span-attribution': entry 'app.n': 3: attribute names"),
    ],
)
def test_bad_config_file_names_file_key_and_reason(tmp_path: Path, text: str, message: str):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as failure:
        load_config({}, config_file=str(file), environ={})
    assert str(failure.value).startswith(f"{file}: ")
    assert message in str(failure.value)


def test_bad_env_and_flag_values_name_their_source():
    with pytest.raises(ConfigError, match=r"^OTEL_COST_WORKERS: invalid literal"):
        load_config({}, environ={"OTEL_COST_WORKERS": "many"})
    with pytest.raises(ConfigError, match=r"^--prometheus-endpoint: port 70000 is out of range"):
        load_config({"prometheus_endpoint": "0.0.0.0:70000"}, environ={})
    with pytest.raises(ConfigError, match="tls-cert and tls-key must be given together"):
        load_config({"tls_cert": __file__}, environ={})
    with pytest.raises(ConfigError, match="catalog: no such file"):
        load_config({"catalog": "/nonexistent/catalog.yaml"}, environ={})


def test_endpoints_parse_ipv6_and_off():
    assert parse_endpoint("[::1]:4317") == Endpoint("::1", 4317)
    assert str(Endpoint("::1", 4317)) == "[::1]:4317"
    assert parse_endpoint(":4318") == Endpoint("0.0.0.0", 4318)
    assert parse_endpoint("off") is None


def test_cli_reports_config_errors_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    file = tmp_path / "bad.yaml"
    file.write_text("queue-size: -3\n")
    assert main(["serve", "--config", str(file)]) == 2
    err = capsys.readouterr().err
    assert f"configuration error: {file}: key 'queue-size': must be >= 1, got -3" in err


def test_attribution_mappings_read_as_yaml_mapping_list_or_text(tmp_path: Path):
    file = tmp_path / "otel-cost.yaml"
    file.write_text(
        "span-attribution: {app.tenant_id: tenant, app.customer: user}\n"
        "resource-attribution: [team.name=cost_center]\n"
        "estimate-tokens: false\n"
    )
    config = load_config({}, config_file=str(file), environ={})
    assert config.span_attribution == (("app.tenant_id", "tenant"), ("app.customer", "user"))
    assert config.resource_attribution == (("team.name", "cost_center"),)
    assert config.estimate_tokens is False
    env = {"OTEL_COST_SPAN_ATTRIBUTION": " app.org = org , ", "OTEL_COST_ESTIMATE_TOKENS": "TRUE"}
    config = load_config({}, config_file=str(file), environ=env)
    assert config.span_attribution == (("app.org", "org"),)
    assert config.estimate_tokens is True
    with pytest.raises(ConfigError, match=r"^--span-attribution: attribute 'a' is mapped twice"):
        load_config({"span_attribution": "a=x,a=y"}, environ={})


def test_workers_get_every_setting_back_unchanged(tmp_path: Path):
    """The supervisor hands each worker the resolved settings as OTEL_COST_* text: every setting,
    set away from its default, must read back as the same value."""
    cert, key = self_signed(tmp_path)
    config = load_config(
        {
            "grpc_endpoint": "[::1]:1111",
            "http_endpoint": "off",
            "prometheus_endpoint": "127.0.0.1:3333",
            "ledger": "postgresql://u@h/db",
            "forward_traces": "grpcs://tempo:4317",
            "metrics_endpoint": "http://collector:4318",
            "metrics_interval_s": "7",
            "catalog": __file__,
            "workers": "3",
            "auth_token": "t0ken",
            "tls_cert": str(cert),
            "tls_key": str(key),
            "queue_size": "5",
            "max_body_bytes": "1000",
            "retry_after_s": "4",
            "dimension_keys": "project,team",
            "high_cardinality_keys": "user",
            "cardinality_cap": "9",
            "span_attribution": "app.tenant_id=tenant,app.customer=user",
            "resource_attribution": "team.name=cost_center",
            "estimate_tokens": "off",
        },
        environ={},
    )
    default = ReceiverConfig()
    assert [name for name in SETTINGS if getattr(config, name) == getattr(default, name)] == []
    env = {env_name(name): _as_text(getattr(config, name)) for name in SETTINGS}
    assert load_config({}, environ=env) == config


def test_off_and_empty_clear_list_and_mapping_settings(tmp_path: Path):
    file = tmp_path / "otel-cost.yaml"
    # A bare off is YAML 1.1's False: it must still mean off, for endpoints too.
    file.write_text("span-attribution:\nhigh-cardinality-keys:\ndimension-keys: off\nhttp-endpoint: off\n")
    config = load_config({"resource_attribution": "none"}, config_file=str(file), environ={})
    assert (config.span_attribution, config.resource_attribution) == ((), ())
    assert (config.high_cardinality_keys, config.dimension_keys) == ((), ())
    assert config.http_endpoint is None


def test_a_bad_tls_pair_fails_the_config_naming_both_settings(tmp_path: Path):
    """Not a port problem: before, a bad PEM surfaced as '--http-endpoint: cannot listen ...'."""
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate\n")
    env = {"OTEL_COST_TLS_KEY": str(bad)}
    with pytest.raises(ConfigError) as failure:
        load_config({"tls_cert": str(bad)}, environ=env)
    assert str(failure.value).startswith(
        f"--tls-cert, OTEL_COST_TLS_KEY: not a PEM certificate and its private key ({bad}, {bad}): "
    )


def test_workers_metrics_ports_must_fit_below_65536():
    with pytest.raises(
        ConfigError, match=r"^--prometheus-endpoint: worker 2 would serve /metrics on port 65536"
    ):
        load_config({"prometheus_endpoint": "127.0.0.1:65534", "workers": "3"}, environ={})
    assert load_config({"prometheus_endpoint": "127.0.0.1:65533", "workers": "3"}, environ={}).workers == 3
