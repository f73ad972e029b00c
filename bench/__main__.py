"""`python -m bench [--large] [--only TEXT]`: run every bench/bench_*.py, print the ratios."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

import aiohttp

from .harness import BenchEnv, Result, running_stack

BENCH_DIR = Path(__file__).resolve().parent


def modules(only: str | None) -> list[str]:
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    return [n for n in names if not only or only in n]


async def run_all(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    with running_stack() as (engine_url, user, password, service_url, pid):
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            env = BenchEnv(
                engine_url=engine_url,
                admin_headers={"Authorization": aiohttp.encode_basic_auth(user, password)},
                service_url=service_url,
                db_prefix="bench_",
                large=args.large,
                http=http,
                service_pid=pid,
                engine_user=user,
                engine_password=password,
            )
            for name in modules(args.only):
                module = importlib.import_module(f"bench.{name}")
                print(f"running {name} ...", file=sys.stderr, flush=True)
                results.extend(await module.run(env))
    return results


def report(results: list[Result]) -> str:
    lines = [
        f"{'benchmark':58} {'service':>12} {'engine':>12} {'unit':>6} {'ratio':>6} {'target':>8}",
    ]
    for r in results:
        target = (">= " if r.higher_is_better else "<= ") + f"{r.target:g}"
        verdict = "ok" if r.passed else "MISSED"
        lines.append(
            f"{r.name:58} {r.service:12.1f} {r.engine:12.1f} {r.unit:>6} {r.ratio:6.2f} "
            f"{target:>8} {verdict}" + (f"  ({r.note})" if r.note else "")
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--large", action="store_true", help="1,000,000 interactions for paging")
    parser.add_argument("--only", help="run only the bench modules whose name contains this")
    args = parser.parse_args()
    results = asyncio.run(run_all(args))
    print(report(results))
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps([{**asdict(r), "ratio": r.ratio, "passed": r.passed} for r in results], indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
