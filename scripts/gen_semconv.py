"""Generate otel_cost/semconv.py and docs/semconv.md from the registry in semconv/registry/.

Usage: python scripts/gen_semconv.py [--check]

With --check nothing is written; the exit status is 1 when a generated file is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "semconv" / "registry"
PY_OUT = ROOT / "otel_cost" / "semconv.py"
MD_OUT = ROOT / "docs" / "semconv.md"


def _const(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def load_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted(REGISTRY.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for group in doc.get("groups", []):
            group["_file"] = path.name
            groups.append(group)
    return groups


def _type_name(attr: dict[str, Any]) -> str:
    t = attr.get("type", "")
    if isinstance(t, dict):
        return "enum"
    return str(t)


def render_py(groups: list[dict[str, Any]]) -> str:
    lines = [
        '"""Attribute and metric names used by otel-cost.',
        "",
        "DO NOT EDIT: generated from semconv/registry/ by scripts/gen_semconv.py.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    seen: dict[str, str] = {}

    def emit(const: str, value: str, comment: str) -> None:
        if const in seen:
            if seen[const] != value:
                raise SystemExit(f"constant {const} defined twice with different values")
            return
        seen[const] = value
        lines.append(f"{const} = {value!r}")
        if comment:
            lines[-1] += f"  # {comment}"

    for group in groups:
        if group.get("type") != "attribute_group":
            continue
        lines.append("")
        lines.append(f"# {group['id']} ({group['_file']})")
        for attr in group.get("attributes", []):
            if "id" in attr:
                name = attr["id"]
                kind = _type_name(attr)
                comment = "template: append '.<key>'" if kind.startswith("template") else ""
                emit(_const(name), name, comment)
                if kind == "enum":
                    for member in attr["type"]["members"]:
                        emit(_const(f"{name}_VALUE_{member['id']}"), member["value"], "")
            else:
                # A group may prefix its constants where two conventions spell one name apart
                # only by '.' vs '_' (OpenLLMetry's gen_ai.usage.cache_read_input_tokens).
                prefix = group.get("x-const-prefix", "")
                emit(prefix + _const(attr["ref"]), attr["ref"], "upstream")
    lines.append("")
    lines.append("# metrics")
    for group in groups:
        if group.get("type") == "metric":
            emit("METRIC_" + _const(group["metric_name"]), group["metric_name"], group["instrument"])
    return "\n".join(lines) + "\n"


def render_md(groups: list[dict[str, Any]]) -> str:
    out = [
        "# otel-cost semantic conventions",
        "",
        "Generated from [`semconv/registry/`](../semconv/registry) by `scripts/gen_semconv.py`; do not edit.",
        "",
    ]
    for group in groups:
        if group.get("type") == "attribute_group" and any("id" in a for a in group.get("attributes", [])):
            out += [f"## {group.get('display_name', group['id'])}", "", group.get("brief", "").strip(), ""]
            out += ["| Attribute | Type | Description | Examples |", "|---|---|---|---|"]
            for attr in group["attributes"]:
                examples = ", ".join(f"`{e}`" for e in attr.get("examples", []))
                kind = _type_name(attr)
                if kind == "enum":
                    kind = "enum: " + ", ".join(f"`{m['value']}`" for m in attr["type"]["members"])
                brief = " ".join(str(attr.get("brief", "")).split())
                out.append(f"| `{attr['id']}` | {kind} | {brief} | {examples} |")
            out.append("")
    templates = {
        a["id"]
        for g in groups
        for a in g.get("attributes", [])
        if "id" in a and _type_name(a).startswith("template")
    }

    def metric_attr(ref: str) -> str:
        # A template attribute on a metric means its configured keys (cost.attribution.project, ...).
        return f"`{ref}.<key>`" if ref in templates else f"`{ref}`"

    out += ["## Metrics", "", "| Metric | Instrument | Unit | Description | Attributes |"]
    out.append("|---|---|---|---|---|")
    for group in groups:
        if group.get("type") == "metric":
            attrs = ", ".join(metric_attr(a["ref"]) for a in group.get("attributes", []))
            brief = " ".join(str(group.get("brief", "")).split())
            name, instrument, unit = group["metric_name"], group["instrument"], group["unit"]
            out.append(f"| `{name}` | {instrument} | `{unit}` | {brief} | {attrs} |")
    out += ["", "## Upstream attributes read", ""]
    for group in groups:
        refs = [a["ref"] for a in group.get("attributes", []) if "ref" in a]
        if group.get("type") == "attribute_group" and refs:
            title = group.get("brief", group["id"]).rstrip(".")
            out.append(f"- **{title}**: " + ", ".join(f"`{r}`" for r in refs))
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    groups = load_groups()
    outputs = {PY_OUT: render_py(groups), MD_OUT: render_md(groups)}
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python scripts/gen_semconv.py", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(outputs[p])
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
