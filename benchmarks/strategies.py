"""What a year costs under each built-in strategy, and where it goes, phase by phase.

status_quo spends nothing, so its year is the cheapest; a strategy that allocates money adds
the policy phase (``Strategy.apply``: queues, eligibility, instruments) and the work the
instruments cause. The goals: precision's year within 1.3 times status_quo's, and the policy phase
no more costly than the costliest compiled phase. Runs are interleaved (strategy by strategy,
repeat by repeat) so that a noisy machine affects them alike; medians are reported.

    python benchmarks/strategies.py [--repeats 5] [--scenario scenarios/county.toml]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import sim
from sim.model import demography, economy, identification, shocks

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ("status_quo", "transfusion", "blood_making", "precision")
HEADLINE = "precision"
GOAL_RATIO = 1.3

# the phases of PovertyModel.step, as the module functions it calls
PHASES = {
    "demography": (demography, "step"),
    "illness": (shocks, "illness"),
    "disasters": (shocks, "disasters"),
    "markets": (shocks, "markets"),
    "enterprises": (shocks, "enterprises"),
    "identification": (identification, "identify"),
    "labour_and_income": (economy, "labour_and_income"),
    "assets": (economy, "assets"),
    "status": (identification, "update_status"),
}


class PhaseClock:
    """Wraps the phase functions (and the strategy's apply) to add up their wall time."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._saved = []

    def _wrap(self, name, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t

        return timed

    def __enter__(self):
        for name, (module, attr) in PHASES.items():
            fn = getattr(module, attr)
            self._saved.append((module, attr, fn))
            setattr(module, attr, self._wrap(name, fn))
        return self

    def watch_policy(self, model) -> None:
        model.strategy.apply = self._wrap("policy", model.strategy.apply)
        model._record = self._wrap("metrics", model._record)

    def __exit__(self, *exc):
        for module, attr, fn in self._saved:
            setattr(module, attr, fn)


def one_run(scenario, strategy: str, seed: int) -> dict:
    model = sim.PovertyModel(scenario, strategy=strategy, seed=seed, agents=False)
    with PhaseClock() as clock:
        clock.watch_policy(model)
        t = time.perf_counter()
        model.run()
        wall = time.perf_counter() - t
    years = model.years
    return {
        "us_per_household_year": wall / (years * model.hh.n) * 1e6,
        "ms_per_year": wall / years * 1e3,
        "phases_ms_per_year": {k: v / years * 1e3 for k, v in clock.seconds.items()},
    }


def measure(scenario_path: Path, repeats: int, overrides: dict | None = None) -> dict:
    scenario = sim.load_scenario(scenario_path, overrides)
    for s in STRATEGIES:  # compile and warm every instrument's code first
        sim.PovertyModel(scenario, strategy=s, seed=1, agents=False).run(2)
    runs: dict[str, list[dict]] = {s: [] for s in STRATEGIES}
    for r in range(repeats):
        for s in STRATEGIES:
            runs[s].append(one_run(scenario, s, seed=100 + r))
    out = {}
    for s, rs in runs.items():
        phases = {
            k: statistics.median(r["phases_ms_per_year"].get(k, 0.0) for r in rs)
            for k in rs[0]["phases_ms_per_year"]
        }
        out[s] = {
            "us_per_household_year": statistics.median(r["us_per_household_year"] for r in rs),
            "ms_per_year": statistics.median(r["ms_per_year"] for r in rs),
            "phases_ms_per_year": phases,
        }
    base = out["status_quo"]["us_per_household_year"]
    for s in out:
        out[s]["ratio_to_status_quo"] = out[s]["us_per_household_year"] / base
        ph = out[s]["phases_ms_per_year"]
        compiled = {k: v for k, v in ph.items() if k in PHASES}
        costliest = max(compiled, key=compiled.get)
        out[s]["policy_ms_per_year"] = ph.get("policy", 0.0)
        out[s]["costliest_compiled_phase"] = costliest
        out[s]["costliest_compiled_ms_per_year"] = compiled[costliest]
    return {
        "scenario": str(
            scenario_path.relative_to(ROOT) if scenario_path.is_relative_to(ROOT) else scenario_path
        ),
        "repeats": repeats,
        "strategies": out,
        "headline": HEADLINE,
        "goal_ratio": GOAL_RATIO,
    }


def markdown(r: dict) -> str:
    lines = [
        f"Scenario `{r['scenario']}`"
        + "".join(f", `{k} = {v}`" for k, v in r.get("overrides", {}).items())
        + f", ten years, medians of {r['repeats']} interleaved repeats.",
        "",
        "| strategy | µs per household-year | × status_quo | policy phase (ms/year) | costliest compiled phase (ms/year) |",
        "|---|---|---|---|---|",
    ]
    for s, v in r["strategies"].items():
        name = f"**{s}**" if s == r["headline"] else s
        lines.append(
            f"| {name} | {v['us_per_household_year']:.3f} | {v['ratio_to_status_quo']:.2f} | "
            f"{v['policy_ms_per_year']:.2f} | {v['costliest_compiled_phase']} "
            f"{v['costliest_compiled_ms_per_year']:.2f} |"
        )
    phases = sorted({k for v in r["strategies"].values() for k in v["phases_ms_per_year"]})
    lines += ["", "ms a year by phase:", "", "| phase | " + " | ".join(r["strategies"]) + " |"]
    lines.append("|---|" + "---|" * len(r["strategies"]))
    for k in phases:
        cells = [f"{v['phases_ms_per_year'].get(k, 0.0):.2f}" for v in r["strategies"].values()]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "county.toml"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override, e.g. programme.after_phase_out=cliff (the flagship's schedule)",
    )
    args = ap.parse_args(argv)
    overrides = dict(kv.split("=", 1) for kv in args.set)
    r = measure(Path(args.scenario).resolve(), args.repeats, overrides)
    r["overrides"] = overrides
    print(markdown(r))
    if args.out:
        Path(args.out).write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
