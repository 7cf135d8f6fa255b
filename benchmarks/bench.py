"""Benchmark: the county ten-year run against a plain Mesa 3 model of the same size.

What is measured (wall-clock, ``time.perf_counter``; median, min and max over the repeats, a new
seed each repeat):

* county (``scenarios/county.toml``, strategy ``status_quo``): loading the scenario TOML; building
  ``sim.PovertyModel`` from the loaded scenario with and without the Mesa ``Household`` agents
  (``agents=False``); ``model.run()`` over the ten years; setup + steps as the run's wall time; and
  the cost per household-year, step time / (households x years).
* reference: the Boltzmann wealth model (``benchmarks/boltzmann.py``), one plain ``mesa.Agent`` per
  household of the county, ten steps: setup and cost per agent-step.
* ratios: county cost per household-year / Boltzmann cost per agent-step (goal <= 0.1), and the
  cost of creating the household agents, (setup with agents - setup without) per household.
* memory of one county run: the peak RSS (VmHWM) of a fresh child process that only builds and runs
  the model, less its RSS after the imports; the ``tracemalloc`` peak of building and running it
  here; and, for the record, this whole process's ``ru_maxrss``.
* the machine: platform, CPU, versions, load average, date, commit.

Why one run: absolute timings on a shared two-core machine drift by tens of per cent from one
minute to the next. The ratio to a reference measured in the same process, interleaved repeat by
repeat with the model, cancels most of that drift, so it is the figure to compare across commits
and machines; the absolute figures are context.

    .venv/bin/python benchmarks/bench.py [--out benchmarks/results/latest.json] [--repeats 5]
    .venv/bin/python benchmarks/bench.py --quick      # one repeat, a smoke test

Writes the JSON and a Markdown table next to it (same name, ``.md``), and prints the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import mesa
import numpy as np
from boltzmann import BoltzmannModel

import sim

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "county.toml"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"
STRATEGY = "status_quo"
BOLTZMANN_STEPS = 10
GOAL_RATIO = 0.1
BASE_SEED = 20150101


# ---- measurements ------------------------------------------------------------------------------
def timed(fn, *args, **kwargs):
    """(result, seconds) of one call, after a full collection so earlier garbage is not billed."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def county_repeat(scenario, seed: int) -> dict:
    """One county repeat: setup with and without agents, and the ten years of each."""
    model, setup = timed(sim.PovertyModel, scenario, strategy=STRATEGY, seed=seed)
    _, step = timed(model.run)
    info = {"households": model.hh.n, "persons": model.persons.n, "years": model.year}
    del model
    model, setup_bare = timed(
        sim.PovertyModel, scenario, strategy=STRATEGY, seed=seed, agents=False
    )
    _, step_bare = timed(model.run)
    del model
    return info | {
        "setup_s": setup,
        "step_s": step,
        "wall_s": setup + step,
        "setup_no_agents_s": setup_bare,
        "step_no_agents_s": step_bare,
    }


def boltzmann_repeat(n: int, seed: int) -> dict:
    model, setup = timed(BoltzmannModel, n, seed=seed)
    _, step = timed(model.run, BOLTZMANN_STEPS)
    if model.total_wealth() != n or model.steps != BOLTZMANN_STEPS:
        raise RuntimeError("Boltzmann reference: wealth not conserved or steps missing")
    return {"setup_s": setup, "step_s": step}


def warm_up(scenario) -> None:
    """Import-time and first-call costs (lazy imports, caches) are not what is measured."""
    sim.PovertyModel(scenario, strategy=STRATEGY, seed=1, agents=False).run(1)
    BoltzmannModel(1000, seed=1).run(1)


def proc_status_bytes(*keys: str) -> dict[str, int]:
    """VmRSS / VmHWM of this process from /proc (Linux), in bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in keys:
            out[key] = int(value.split()[0]) * 1024
    return out


def memory_probe(seed: int) -> dict:
    """Run in a fresh child process: resident memory after the imports and over one county run.

    VmHWM (peak RSS of this process image) rather than ``ru_maxrss``: Linux carries the parent's
    ``ru_maxrss`` into a child across fork and exec, so it would report the benchmark's own peak.
    """
    base = proc_status_bytes("VmRSS", "VmHWM")
    model = sim.PovertyModel(sim.load_scenario(SCENARIO), strategy=STRATEGY, seed=seed)
    setup = proc_status_bytes("VmRSS")
    model.run()
    end = proc_status_bytes("VmRSS", "VmHWM")
    return {
        "rss_after_imports_bytes": base["VmRSS"],
        "peak_rss_imports_bytes": base["VmHWM"],
        "rss_after_setup_bytes": setup["VmRSS"],
        "rss_after_run_bytes": end["VmRSS"],
        "peak_rss_bytes": end["VmHWM"],
        "peak_rss_model_bytes": end["VmHWM"] - base["VmRSS"],
    }


def memory(scenario, seed: int) -> dict:
    child = subprocess.run(
        [sys.executable, __file__, "--memory-probe", "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    out = json.loads(child.stdout.strip().splitlines()[-1])
    gc.collect()
    tracemalloc.start()
    model = sim.PovertyModel(scenario, strategy=STRATEGY, seed=seed)
    out["tracemalloc_after_setup_bytes"] = tracemalloc.get_traced_memory()[0]
    model.run()
    out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["table_bytes"] = model.hh.nbytes() + model.persons.nbytes()
    del model
    return out


# ---- summaries ---------------------------------------------------------------------------------
def stats(values: list[float], scale: float = 1.0) -> dict:
    v = [x * scale for x in values]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "values": v}


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "povsim": sim.__version__,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def git(*args: str) -> str | None:
    try:
        res = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def run(repeats: int, quick: bool) -> dict:
    started = time.perf_counter()
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    seeds = [BASE_SEED + i for i in range(repeats)]

    loads = []
    for _ in range(repeats):
        scenario, t = timed(sim.load_scenario, SCENARIO)
        loads.append(t)
    warm_up(scenario)

    # interleaved, so that drift of the machine hits the model and the reference alike
    county, boltz = [], []
    for seed in seeds:
        county.append(county_repeat(scenario, seed))
        boltz.append(boltzmann_repeat(county[-1]["households"], seed))

    n_hh, years = county[0]["households"], county[0]["years"]
    col = {k: [r[k] for r in county] for k in county[0]}
    hh_years = n_hh * years
    agent_steps = n_hh * BOLTZMANN_STEPS
    cost_hy = [s / hh_years for s in col["step_s"]]
    cost_as = [r["step_s"] / agent_steps for r in boltz]
    setup = stats(col["setup_s"])
    setup_bare = stats(col["setup_no_agents_s"])
    b_setup = stats([r["setup_s"] for r in boltz])
    c_hy, c_as = stats(cost_hy, 1e6), stats(cost_as, 1e6)
    ratio = c_hy["median"] / c_as["median"]

    return {
        "schema": 1,
        "date": date,
        "machine": machine() | {"loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "settings": {
            "repeats": repeats,
            "quick": quick,
            "seeds": seeds,
            "scenario": str(SCENARIO.relative_to(ROOT)),
            "strategy": STRATEGY,
            "timer": "time.perf_counter, gc.collect() before each timed call, warm-up run first",
        },
        "county": {
            "households": n_hh,
            "persons": county[0]["persons"],
            "years": years,
            "scenario_load_s": stats(loads),
            "setup_s": setup,
            "setup_no_agents_s": setup_bare,
            "step_s": stats(col["step_s"]),
            "step_no_agents_s": stats(col["step_no_agents_s"]),
            "wall_s": stats(col["wall_s"]),
            "cost_per_household_year_us": c_hy,
        },
        "boltzmann": {
            "agents": n_hh,
            "steps": BOLTZMANN_STEPS,
            "setup_s": b_setup,
            "step_s": stats([r["step_s"] for r in boltz]),
            "cost_per_agent_step_us": c_as,
            "setup_per_agent_us": stats([r["setup_s"] / n_hh for r in boltz], 1e6),
        },
        "ratios": {
            "household_year_over_agent_step": ratio,
            "household_year_over_agent_step_paired": stats(
                [a / b for a, b in zip(cost_hy, cost_as, strict=True)]
            ),
            "goal": GOAL_RATIO,
            "meets_goal": ratio <= GOAL_RATIO,
            "agent_creation_per_household_us": (setup["median"] - setup_bare["median"])
            / n_hh
            * 1e6,
        },
        "memory": memory(scenario, seeds[0])
        | {
            "bench_process_ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            * 1024
        },
        "total_wall_s": time.perf_counter() - started,
    }


# ---- output ------------------------------------------------------------------------------------
def markdown(r: dict) -> str:
    m, c, b, q, mem = r["machine"], r["county"], r["boltzmann"], r["ratios"], r["memory"]
    commit = f"{m['commit']}{' (dirty)' if m['dirty'] else ''}" if m["commit"] else "unknown"
    mib = 1024 * 1024

    def row(label: str, s: dict, fmt: str = ".3f") -> str:
        return f"| {label} | {s['median']:{fmt}} | {s['min']:{fmt}} | {s['max']:{fmt}} |"

    paired = q["household_year_over_agent_step_paired"]
    verdict = "met" if q["meets_goal"] else "not met"
    lines = [
        f"# povsim benchmark — {r['date']}",
        "",
        f"- Machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; "
        f"load average {m['loadavg_before'][0]:.2f} before, {m['loadavg_after'][0]:.2f} after",
        f"- Python {m['python']}, numpy {m['numpy']}, mesa {m['mesa']}, povsim {m['povsim']} "
        f"at {commit}",
        f"- County: {c['households']:,} households, {c['persons']:,} persons, {c['years']} years, "
        f"strategy {r['settings']['strategy']}; reference: Boltzmann wealth model, "
        f"{b['agents']:,} agents, {b['steps']} steps",
        f"- {r['settings']['repeats']} repeat(s), interleaved, all in one process; "
        f"whole benchmark {r['total_wall_s']:.1f} s",
        "",
        "| Measure | Median | Min | Max |",
        "|---|---:|---:|---:|",
        row("Scenario load (s)", c["scenario_load_s"], ".4f"),
        row("County setup, with agents (s)", c["setup_s"]),
        row("County setup, `agents=False` (s)", c["setup_no_agents_s"]),
        row(f"County steps, {c['years']} years (s)", c["step_s"]),
        row("County steps, `agents=False` (s)", c["step_no_agents_s"]),
        row("County wall, setup + steps (s)", c["wall_s"]),
        row("**County cost per household-year (µs)**", c["cost_per_household_year_us"]),
        row("Boltzmann setup (s)", b["setup_s"]),
        row(f"Boltzmann steps, {b['steps']} (s)", b["step_s"]),
        row("**Boltzmann cost per agent-step (µs)**", b["cost_per_agent_step_us"]),
        f"| **Ratio household-year / agent-step** (goal ≤ {q['goal']}: {verdict}) | "
        f"{q['household_year_over_agent_step']:.3f} | {paired['min']:.3f} | {paired['max']:.3f} |",
        f"| Agent creation per household (µs) | {q['agent_creation_per_household_us']:.2f} | | |",
        row("Boltzmann setup per agent (µs)", b["setup_per_agent_us"], ".2f"),
        f"| Peak RSS of one county run, fresh process (MiB) | {mem['peak_rss_bytes'] / mib:.1f} | | |",
        f"| of which the model, over the imports (MiB) | "
        f"{mem['peak_rss_model_bytes'] / mib:.1f} | | |",
        f"| tracemalloc peak of one county run (MiB) | "
        f"{mem['tracemalloc_peak_bytes'] / mib:.1f} | | |",
        f"| Household + person arrays (MiB) | {mem['table_bytes'] / mib:.1f} | | |",
        "",
        "The ratio row's median is the ratio of the medians; min and max are of the per-repeat "
        "ratios. Costs are step time / (households × years) and / (agents × steps).",
    ]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.", suffix=f"{path.suffix}.tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="JSON output (default %(default)s)"
    )
    p.add_argument("--repeats", type=int, default=5, help="repeats per measure (default 5)")
    p.add_argument("--quick", action="store_true", help="one repeat, for smoke tests")
    p.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=BASE_SEED, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.memory_probe:
        print(json.dumps(memory_probe(a.seed)))
        return 0
    repeats = 1 if a.quick else a.repeats
    if repeats < 1:
        p.error("--repeats must be at least 1")

    result = run(repeats, a.quick)
    table = markdown(result)
    write_atomic(a.out, json.dumps(result, indent=2) + "\n")
    write_atomic(a.out.with_suffix(".md"), table)
    print(table, end="")
    print(f"\nwrote {a.out} and {a.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
