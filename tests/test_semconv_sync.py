"""The semconv registry is the single source of attribute and metric names.

Three guarantees: the generated files (`otel_cost/semconv.py`, `docs/semconv.md`) match what
`scripts/gen_semconv.py` renders from `semconv/registry/`; the registry holds the essentials of
the OpenTelemetry semantic-conventions YAML model; and package code spells no registered name as
a string literal (it uses the constants).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "semconv" / "registry"
PACKAGE = REPO / "otel_cost"

# Values the semantic-conventions model (semconv schema "registry" files) allows.
ATTRIBUTE_TYPES = {
    "string",
    "int",
    "double",
    "boolean",
    "string[]",
    "int[]",
    "double[]",
    "boolean[]",
    "any",
}
TEMPLATE_TYPES = {f"template[{t}]" for t in ATTRIBUTE_TYPES - {"any"}}
GROUP_TYPES = {"attribute_group", "metric", "span", "event", "resource", "entity"}
STABILITIES = {"development", "experimental", "alpha", "beta", "release_candidate", "stable", "deprecated"}
INSTRUMENTS = {"counter", "updowncounter", "gauge", "histogram"}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_semconv", REPO / "scripts" / "gen_semconv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()


@pytest.fixture(scope="module")
def groups() -> list[dict[str, Any]]:
    return GEN.load_groups()


def test_generated_python_is_in_sync(groups: list[dict[str, Any]]) -> None:
    expected = GEN.render_py(groups)
    actual = (PACKAGE / "semconv.py").read_text()
    assert actual == expected, "otel_cost/semconv.py is stale: run python scripts/gen_semconv.py"


def test_generated_docs_are_in_sync(groups: list[dict[str, Any]]) -> None:
    expected = GEN.render_md(groups)
    actual = (REPO / "docs" / "semconv.md").read_text()
    assert actual == expected, "docs/semconv.md is stale: run python scripts/gen_semconv.py"


def test_check_mode_reports_in_sync() -> None:
    assert GEN.main(["--check"]) == 0


def test_generated_python_is_importable_and_matches_registry(groups: list[dict[str, Any]]) -> None:
    from otel_cost import semconv

    names = _registered_names(groups)
    values = {v for k, v in vars(semconv).items() if k.isupper() and isinstance(v, str)}
    missing = names - values
    assert not missing, f"registered names without a constant: {sorted(missing)}"


def _problems(groups: list[dict[str, Any]]) -> list[str]:
    """Every way the registry departs from the semconv YAML model's essentials."""
    problems: list[str] = []
    defined: dict[str, str] = {}
    referable: set[str] = set()
    group_ids: set[str] = set()
    for group in groups:
        where = f"{group.get('_file')}:{group.get('id', '<no id>')}"
        for key in ("id", "type", "brief"):
            if not group.get(key):
                problems.append(f"{where}: group has no {key}")
        if group.get("id") in group_ids:
            problems.append(f"{where}: duplicate group id")
        group_ids.add(group.get("id", ""))
        if group.get("type") not in GROUP_TYPES:
            problems.append(f"{where}: unknown group type {group.get('type')!r}")
        if group.get("type") == "metric":
            for key in ("metric_name", "instrument", "unit", "stability"):
                if not group.get(key):
                    problems.append(f"{where}: metric has no {key}")
            if group.get("instrument") not in INSTRUMENTS:
                problems.append(f"{where}: unknown instrument {group.get('instrument')!r}")
        for attr in group.get("attributes", []):
            if "ref" in attr:
                if group.get("type") != "metric":
                    referable.add(attr["ref"])
                if "id" in attr:
                    problems.append(f"{where}: attribute has both id and ref")
                continue
            aid = attr.get("id", "<no id>")
            for key in ("id", "type", "brief", "stability"):
                if key not in attr:
                    problems.append(f"{where}: attribute {aid} has no {key} (and no ref)")
            if aid in defined:
                problems.append(f"{where}: attribute {aid} already defined in {defined[aid]}")
            defined[aid] = where
            referable.add(aid)
            if attr.get("stability") not in STABILITIES:
                problems.append(f"{where}: attribute {aid} has unknown stability {attr.get('stability')!r}")
            kind = attr.get("type")
            if isinstance(kind, dict):
                members = kind.get("members") or []
                if not members:
                    problems.append(f"{where}: enum {aid} has no members")
                for member in members:
                    if "id" not in member or "value" not in member:
                        problems.append(f"{where}: enum {aid} member without id/value: {member}")
            elif kind not in ATTRIBUTE_TYPES | TEMPLATE_TYPES:
                problems.append(f"{where}: attribute {aid} has unknown type {kind!r}")
    for group in groups:
        if group.get("type") != "metric":
            continue
        for attr in group.get("attributes", []):
            ref = attr.get("ref")
            if ref is None:
                problems.append(f"{group['id']}: metric attributes must be refs, got {attr}")
            elif ref not in referable:
                problems.append(f"{group['id']}: attribute ref {ref} resolves to nothing in the registry")
    return problems


def test_registry_follows_the_semconv_model(groups: list[dict[str, Any]]) -> None:
    assert groups, "no groups found in semconv/registry/"
    assert _problems(groups) == []


def test_registry_check_catches_a_broken_registry() -> None:
    """The validator itself must fail on the defects it claims to catch."""
    broken = [
        {
            "_file": "x.yaml",
            "id": "g",
            "type": "attribute_group",
            "brief": "b",
            "attributes": [{"id": "a.b"}],
        },
        {
            "_file": "x.yaml",
            "id": "m",
            "type": "metric",
            "brief": "b",
            "metric_name": "m.x",
            "stability": "development",
            "instrument": "counter",
            "attributes": [{"ref": "no.such.attribute"}],
        },
    ]
    problems = _problems(broken)
    assert any("a.b has no type" in p for p in problems)
    assert any("a.b has no brief" in p for p in problems)
    assert any("m: metric has no unit" in p for p in problems)
    assert any("no.such.attribute resolves to nothing" in p for p in problems)


def test_registry_text_has_no_unquoted_hash() -> None:
    """In a plain YAML scalar ' #' starts a comment and silently cuts the text (it once cut a brief)."""
    offenders = []
    for path in sorted(REGISTRY.glob("*.yaml")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = re.match(r"\s*(?:-\s+)?(brief|note|display_name):\s+(.*)$", line)
            if m and m.group(2)[:1] not in {'"', "'", ">", "|"} and " #" in m.group(2):
                offenders.append(f"{path.name}:{lineno}")
    assert offenders == []


def _registered_names(groups: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for group in groups:
        if group.get("type") == "metric":
            names.add(group["metric_name"])
        for attr in group.get("attributes", []):
            name = attr.get("id") or attr.get("ref")
            if name and group.get("type") != "metric":
                names.add(name)
    return names


def _template_prefixes(groups: list[dict[str, Any]]) -> set[str]:
    return {
        attr["id"] + "."
        for group in groups
        for attr in group.get("attributes", [])
        if "id" in attr and str(attr.get("type", "")).startswith("template[")
    }


def _literal_offenders(source: str, names: set[str], prefixes: set[str]) -> list[tuple[int, str]]:
    """(line, literal) for each string constant that spells a registered name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if value in names or any(value.startswith(p) and len(value) > len(p) for p in prefixes):
                found.append((node.lineno, value))
    return sorted(found)


def test_literal_scan_flags_a_registered_name(groups: list[dict[str, Any]]) -> None:
    names, prefixes = _registered_names(groups), _template_prefixes(groups)
    source = 'x = "cost.amount"\ny = {"cost.attribution.project": 1}\n"""a docstring about cost.amount"""\n'
    expected = [(1, "cost.amount"), (2, "cost.attribution.project")]
    assert _literal_offenders(source, names, prefixes) == expected


def test_package_code_uses_constants_not_literals(groups: list[dict[str, Any]]) -> None:
    names, prefixes = _registered_names(groups), _template_prefixes(groups)
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "semconv.py":
            continue
        for lineno, value in _literal_offenders(path.read_text(), names, prefixes):
            offenders.append(f"{path.relative_to(REPO)}:{lineno}: {value!r}")
    assert offenders == [], "use the constants in otel_cost.semconv instead of:\n" + "\n".join(offenders)
