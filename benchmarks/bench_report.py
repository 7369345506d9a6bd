"""Report speed on a large SQLite ledger (acceptance: a report over 1M+ rows in < 10 s).

Generates a ledger of ``--rows`` calls through the real ``Ledger.append`` (so it is hash-chained and
verifies), in batches of ``--batch`` records: 30 days, 6 models, 40 projects (10% of calls
unattributed), 500 users, 3 services. The file is kept and reused while its row count matches.
Then times, as the CLI runs them (in process, output to a buffer), medians of ``--repeat`` runs:

- ``report --by project --rules`` (allocation of the unattributed pool, proportional);
- ``report --by model,day``;
- ``report --by project,user --format csv``;
- ``report --by project --format focus``;
- ``report --by project,model --format html``;
- ``ledger verify`` (once; re-hashes every row).

    python benchmarks/bench_report.py [--rows 1000000] [--path /tmp/otel-cost-bench.db] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from otel_cost.cli import main  # noqa: E402
from otel_cost.ledger import open_ledger  # noqa: E402
from otel_cost.pricing.types import CostResult, TokenUsage  # noqa: E402
from otel_cost.record import CostRecord  # noqa: E402

DAY0_NS = 1_761_955_200 * 10**9  # 2025-11-01T00:00:00Z
MODELS = (
    ("openai", "gpt-4o", Decimal("0.0000025"), Decimal("0.00001")),
    ("openai", "gpt-4o-mini", Decimal("0.00000015"), Decimal("0.0000006")),
    ("openai", "o3", Decimal("0.000002"), Decimal("0.000008")),
    ("anthropic", "claude-sonnet-4-5", Decimal("0.000003"), Decimal("0.000015")),
    ("anthropic", "claude-haiku-4-5", Decimal("0.000001"), Decimal("0.000005")),
    ("google", "gemini-2.5-flash", Decimal("0.0000003"), Decimal("0.0000025")),
)
SERVICES = ("checkout", "search-api", "support-bot")
RULES = "key: project\npools:\n  - match: unattributed\n    method: proportional\n"


def _record(i: int, days: int) -> CostRecord:
    provider, model, in_price, out_price = MODELS[i % len(MODELS)]
    input_tokens = 200 + (i * 7919) % 3000
    output_tokens = 50 + (i * 104729) % 800
    amount = input_tokens * in_price + output_tokens * out_price
    start = DAY0_NS + (i * 86_400 * 10**9 * days) // 1_000_003 % (days * 86_400 * 10**9)
    attribution = {"user": f"u{i % 500}"}
    if i % 10:
        attribution["project"] = f"p{i % 40:02d}"
    return CostRecord(
        trace_id=(i // 4 + 1).to_bytes(16, "big"),
        span_id=(i + 1).to_bytes(8, "big"),
        start_time_ns=start,
        end_time_ns=start + 800_000_000,
        kind="llm",
        result=CostResult(
            status="priced",
            amount=amount,
            breakdown={"input": input_tokens * in_price, "output": output_tokens * out_price},
            price_ref=f"{provider}:{model}@bench",
            provider=provider,
            model=model,
        ),
        service_name=SERVICES[i % len(SERVICES)],
        provider=provider,
        model=model,
        operation="chat",
        usage=TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens),
        attribution=attribution,
    )


def generate(path: Path, rows: int, batch: int, days: int = 30) -> float:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
    ledger = open_ledger(str(path))
    started = time.perf_counter()
    for lo in range(0, rows, batch):
        ledger.append([_record(i, days) for i in range(lo, min(rows, lo + batch))])
        print(f"\r  generated {min(rows, lo + batch):,}/{rows:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    ledger.close()
    return time.perf_counter() - started


def _time(argv: list[str], repeat: int) -> tuple[float, int]:
    samples: list[float] = []
    size = 0
    for _ in range(repeat):
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        samples.append(time.perf_counter() - started)
        if code != 0:
            raise SystemExit(f"{argv} exited {code}")
        size = len(out.getvalue())
    return statistics.median(samples), size


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--path", default=str(Path(tempfile.gettempdir()) / "otel-cost-bench-ledger.db"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.path)
    existing = 0
    if path.exists():
        with open_ledger(str(path)) as ledger:
            existing = ledger.count()
    if existing != args.rows:
        print(f"generating {args.rows:,} calls into {path} ...", file=sys.stderr)
        seconds = generate(path, args.rows, args.batch)
        print(f"generate: {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s through Ledger.append)")
    else:
        print(f"reusing {path} ({existing:,} calls)")
    rules = Path(tempfile.gettempdir()) / "otel-cost-bench-rules.yaml"
    rules.write_text(RULES)
    base = ["report", "--ledger", str(path), "--from", "2025-11-01", "--to", "2025-11-30"]
    cases = {
        "by project + rules (table)": [*base, "--by", "project", "--rules", str(rules)],
        "by model,day (table)": [*base, "--by", "model,day"],
        "by project,user (csv)": [*base, "--by", "project,user", "--format", "csv"],
        "by project (focus)": [*base, "--by", "project", "--format", "focus"],
        "by project,model (html)": [*base, "--by", "project,model", "--format", "html"],
    }
    print(f"rows: {args.rows:,}; median of {args.repeat} runs")
    for name, case in cases.items():
        seconds, size = _time(case, args.repeat)
        print(f"  report {name:<28} {seconds:6.2f} s  ({size:,} bytes)")
    if not args.skip_verify:
        seconds, _ = _time(["ledger", "verify", "--ledger", str(path)], 1)
        print(f"  ledger verify (1 run)              {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
