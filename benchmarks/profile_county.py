"""Profile the county ten-year run with cProfile: setup and steps apart, top functions of each.

    .venv/bin/python benchmarks/profile_county.py [--top 15] [--seed 1] [--no-agents] [--dump DIR]

Prints, for the setup (``sim.PovertyModel(scenario, ...)``, the scenario already loaded) and for
the steps (``model.run()``), the top functions by cumulative and by total (own) time. ``--dump``
also writes ``setup.prof`` and ``steps.prof`` for snakeviz or ``python -m pstats``. cProfile
roughly doubles the cost of Python-level calls, so the shares matter, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

import sim

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "county.toml"


def report(prof: cProfile.Profile, title: str, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.strip_dirs()
    out.write(f"\n===== {title}: total {stats.total_tt:.3f} s (profiled) =====\n")
    for key in ("cumulative", "tottime"):
        out.write(f"\n--- top {top} by {key} ---\n")
        stats.sort_stats(key).print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--strategy", default="status_quo")
    p.add_argument("--no-agents", action="store_true", help="build with agents=False")
    p.add_argument("--dump", type=Path, help="folder for setup.prof and steps.prof")
    a = p.parse_args(argv)

    scenario = sim.load_scenario(SCENARIO)
    sim.PovertyModel(scenario, strategy=a.strategy, seed=a.seed, agents=False).run(1)  # warm-up

    setup = cProfile.Profile()
    setup.enable()
    model = sim.PovertyModel(scenario, strategy=a.strategy, seed=a.seed, agents=not a.no_agents)
    setup.disable()
    steps = cProfile.Profile()
    steps.enable()
    model.run()
    steps.disable()

    print(report(setup, "setup", a.top))
    print(report(steps, f"steps ({model.year} years)", a.top))
    if a.dump:
        a.dump.mkdir(parents=True, exist_ok=True)
        setup.dump_stats(a.dump / "setup.prof")
        steps.dump_stats(a.dump / "steps.prof")
    return 0


if __name__ == "__main__":
    sys.exit(main())
