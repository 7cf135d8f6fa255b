"""A county year under this checkout against another commit, alternating, in one time window.

Absolute timings on a shared machine drift from one hour to the next, so two versions are only
comparable when measured side by side. This script checks the other commit out into a temporary
git worktree, compiles its kernels once, then alternates: a few county runs in a fresh process of
each version, ``--rounds`` times, and prints each side's median setup and year.

    python benchmarks/year_ab.py REV [--strategy status_quo] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# runs in the version under test (its own `sim` first on the path); prints "setup_ms year_ms"
PROBE = """
import statistics, sys, time
import sim
sc = sim.load_scenario("scenarios/county.toml")
sim.PovertyModel(sc, strategy=sys.argv[1], seed=1, agents=False).run(2)
setup, year = [], []
for r in range(int(sys.argv[2])):
    t = time.perf_counter()
    m = sim.PovertyModel(sc, strategy=sys.argv[1], seed=10 + r, agents=False)
    t1 = time.perf_counter()
    m.run()
    setup.append(t1 - t)
    year.append((time.perf_counter() - t1) / m.years)
print(statistics.median(setup) * 1e3, statistics.median(year) * 1e3)
"""


def measure(tree: Path, strategy: str, runs: int) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, strategy, str(runs)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    setup, year = map(float, out.stdout.split())
    return setup, year


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the commit to compare with, e.g. HEAD~5")
    ap.add_argument("--strategy", default="status_quo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=7, help="county runs per process")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="povsim-ab-") as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(other), args.rev], cwd=ROOT, check=True
        )
        try:
            measure(other, args.strategy, 1)  # compiles the other version's kernels once
            sides: dict[str, list[tuple[float, float]]] = {"this": [], args.rev: []}
            for _ in range(args.rounds):
                sides["this"].append(measure(ROOT, args.strategy, args.runs))
                sides[args.rev].append(measure(other, args.strategy, args.runs))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False
            )
    for name, rows in sides.items():
        setup = statistics.median(r[0] for r in rows)
        year = statistics.median(r[1] for r in rows)
        years = ", ".join(f"{r[1]:.2f}" for r in rows)
        print(f"{name:>12}: {args.strategy} setup {setup:.1f} ms, year {year:.2f} ms ({years})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
