"""`python -m bench [--large] [--only TEXT]`: run every bench/bench_*.py, print the ratios and the
engine requests per operation; exit status 1 when an operation makes more engine requests than
its budget. The engine: `COUCHDB_URL` (a server admin in `COUCHDB_USER`/`COUCHDB_PASSWORD`)
when set, else an embedded PouchDB Server."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .harness import Result, running_stack

BENCH_DIR = Path(__file__).resolve().parent


# The interactions module loads 100,000 records into `records` for its paging figure: it runs
# last, so that the modules after it would not write into a database many times the size of
# the plain one their engine side writes into.
LAST = ("bench_interactions",)


def modules(only: str | None) -> list[str]:
    names = sorted((p.stem for p in BENCH_DIR.glob("bench_*.py")), key=lambda n: (n in LAST, n))
    return [n for n in names if not only or only in n]


async def run_all(args: argparse.Namespace) -> tuple[list[Result], str]:
    results: list[Result] = []
    async with running_stack(args.large) as (env, engine):
        print(f"engine: {engine}", file=sys.stderr, flush=True)
        for name in modules(args.only):
            module = importlib.import_module(f"bench.{name}")
            await env.settled()  # what a module left running (an index, say) is not the next one's
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results.extend(await module.run(env))
    return results, engine


def report(results: list[Result], engine: str) -> str:
    timings = [r for r in results if not r.budget]
    budgets = [r for r in results if r.budget]
    lines = [
        f"engine: {engine}",
        f"{'benchmark':50} {'service':>10} {'engine':>10} {'unit':>6} {'ratio':>6} {'target':>8}"
        f"      {'CPU µs/record':>13}",
    ]
    for r in timings:
        target = (">= " if r.higher_is_better else "<= ") + f"{r.target:g}"
        verdict = "ok" if r.passed else "MISSED"
        cpu = f"{r.cpu_us_per_record:13.0f}" if r.cpu_us_per_record is not None else " " * 13
        lines.append(
            f"{r.name:50} {r.service:10.1f} {r.engine:10.1f} {r.unit:>6} {r.ratio:6.2f} "
            f"{target:>8} {verdict:6} {cpu}" + (f"  ({r.note})" if r.note else "")
        )
    if budgets:
        lines += ["", f"{'engine requests per operation':50} {'made':>6} {'budget':>6}"]
        for r in budgets:
            verdict = "ok" if r.passed else "OVER BUDGET"
            lines.append(f"{r.name:50} {r.service:6.0f} {r.engine:6.0f} {verdict:11} ({r.note})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--large", action="store_true", help="1,000,000 interactions for paging")
    parser.add_argument("--only", help="run only the bench modules whose name contains this")
    args = parser.parse_args()
    results, engine = asyncio.run(run_all(args))
    print(report(results, engine))
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(
        {"engine": engine,
         "results": [{**asdict(r), "ratio": r.ratio, "passed": r.passed} for r in results]},
        indent=2))
    return 1 if any(r.budget and not r.passed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
