"""Benchmark: the yearly step and the setup against a plain Mesa 3 model of the same size.

What is measured (wall-clock, ``time.perf_counter``; median, min and max over the repeats, a new
seed each repeat, the model and the reference interleaved repeat by repeat):

* scales: the county (``scenarios/county.toml``, 40,000 households) and the county scaled to
  10,000 and 100,000 households (every count scaled: households and people, the register and its
  categories, villages and poor villages, enterprise capacities and jobs), and the Ankang
  scenario (625,000 households) when ``scenarios/ankang.toml`` exists; strategy ``status_quo``.
  For each: setup (building ``sim.PovertyModel`` from the loaded scenario, with and without the
  Mesa ``Household`` agents), the ten years (``model.run()``), the cost per household-year (step
  time / (households x years)), and the reference, the Boltzmann wealth model
  (``benchmarks/boltzmann.py``) with one plain ``mesa.Agent`` per household, ten steps: its cost
  per agent-step. The ratio of the two is the figure to compare (goal <= 0.1 at every size,
  <= 0.05 from 100,000 households on).
* the floor of a year at each scale: one vectorised pass that reads every household and person
  array once (a sum each) and draws a year's random numbers with ``sim.model.rng`` (five uniforms per
  person, three per household, a normal for one person in seven: about what the step computes).
  The step should cost at most 10 floors.
* setup at 600,000 households (the county x 15), with the agents: goal <= 10 µs a household.
* cold and warm start, each in a fresh process: the imports, loading the county, building it
  (with agents) and its ten years; cold with an empty numba cache (compilation of the kernels
  included, as on the first run on a machine), warm with the cache that run left.
* ``povsim run scenarios/ankang.toml --strategy precision`` in a fresh process, as a user runs
  it (imports, setup, ten years, writing the outputs): wall time and peak RSS, once with an empty
  numba cache (compilation included) and twice warm. Goal: under 20 s and 3 GB.
* the county batch figures of ``benchmarks/batch_bench.py`` (``make bench`` runs it first and
  this script reads ``benchmarks/results/batch.json``): parallel efficiency at 2 workers, goal
  >= 85%.
* every built-in strategy on the county (``benchmarks/strategies.py``, run first by ``make bench``,
  read from ``benchmarks/results/strategies.json``): µs per household-year and ms a year by
  phase; goals: precision (the headline) within 1.3x status_quo, and its policy phase no more
  costly than the costliest compiled phase.
* memory of one county run: the peak RSS (VmHWM) of a fresh child process that only builds and
  runs the model, less its RSS after the imports; the ``tracemalloc`` peak of building and running
  it here; and, for the record, this whole process's ``ru_maxrss``.
* the machine: platform, CPU, versions, load average, date, commit.

Why ratios: absolute timings on a shared two-core machine drift by tens of per cent from one
minute to the next. The ratio to a reference measured in the same process, interleaved repeat by
repeat with the model, cancels most of that drift, so it is the figure to compare across commits
and machines; the absolute figures are context.

    .venv/bin/python benchmarks/bench.py [--out benchmarks/results/latest.json] [--repeats 5]
    .venv/bin/python benchmarks/bench.py --quick      # one repeat, small scales only

Writes the JSON and a Markdown table next to it (same name, ``.md``), and prints the table.
"""

from __future__ import annotations

import argparse
import copy
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
import tomllib
import tracemalloc
from pathlib import Path

import mesa
import numba
import numpy as np
from boltzmann import BoltzmannModel

import sim
from sim.config import build_scenario
from sim.model import rng

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "county.toml"
ANKANG = ROOT / "scenarios" / "ankang.toml"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"
STRATEGY = "status_quo"
BOLTZMANN_STEPS = 10
GOAL_RATIO = 0.1  # issue 2: cost per household-year <= 1/10 of a Boltzmann agent-step
GOAL_RATIO_LARGE = 0.05  # issue 8: <= 1/20 from LARGE households on
LARGE = 100_000
GOAL_FLOOR = 10.0  # a year within 10 floors
GOAL_SETUP_US = 10.0  # setup per household at SETUP_HOUSEHOLDS
SETUP_HOUSEHOLDS = 600_000
GOAL_COUNTY_WALL_S = 1.0
GOAL_ANKANG_WALL_S = 20.0  # issue 8: `povsim run scenarios/ankang.toml`, setup included
GOAL_ANKANG_RSS_GB = 3.0
ANKANG_STRATEGY = "precision"  # a strategy that spends: every instrument runs (and compiles)
GOAL_BATCH_EFFICIENCY = 0.85  # issue 8: county batch at 2 workers
BATCH_JSON = ROOT / "benchmarks" / "results" / "batch.json"  # written by batch_bench.py
STRATEGIES_JSON = ROOT / "benchmarks" / "results" / "strategies.json"  # by strategies.py
BASE_SEED = 20150101


# ---- scenarios ---------------------------------------------------------------------------------
def scaled_county(households: int):
    """The county with every count scaled to ``households``: population, the register and its
    categories, villages, poor villages, enterprise capacities and jobs."""
    data = tomllib.loads(SCENARIO.read_text(encoding="utf-8"))
    factor = households / data["population"]["households"]
    if factor == 1:
        return build_scenario(data, str(SCENARIO))
    d = copy.deepcopy(data)

    def scale(x: int) -> int:
        return max(1, int(round(x * factor)))

    pop, villages = d["population"], d["villages"]
    pop["households"], pop["people"] = households, scale(pop["people"])
    reg = pop["registered"]
    for cat in reg["categories"].values():
        for key in ("households", "people"):
            if cat.get(key):
                cat[key] = scale(cat[key])
    reg["households"] = sum(c["households"] for c in reg["categories"].values())
    reg["people"] = scale(reg["people"])
    villages["count"], villages["poor"] = scale(villages["count"]), scale(villages["poor"])
    for e in d.get("enterprises", []):
        e["capacity"], e["jobs"] = scale(e["capacity"]), scale(e["jobs"])
    d["meta"]["name"] = f"county-x{factor:g}"  # a folder name: no spaces
    return build_scenario(d, f"{SCENARIO} x{factor:g}")


def scales(quick: bool) -> list[tuple[str, object, int]]:
    """(name, scenario, repeats) for each size measured."""
    out = [("10k", scaled_county(10_000), 5), ("county 40k", sim.load_scenario(SCENARIO), 5)]
    if not quick:
        out.append(("100k", scaled_county(100_000), 3))
        if ANKANG.exists():
            out.append(("Ankang", sim.load_scenario(ANKANG), 2))
    return out


# ---- measurements ------------------------------------------------------------------------------
def timed(fn, *args, **kwargs):
    """(result, seconds) of one call, after a full collection so earlier garbage is not billed."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def model_repeat(scenario, seed: int) -> dict:
    """Setup with and without agents, and the ten years of each."""
    model, setup = timed(sim.PovertyModel, scenario, strategy=STRATEGY, seed=seed)
    _, step = timed(model.run)
    info = {"households": model.hh.n, "persons": model.persons.n, "years": model.year}
    del model
    model, setup_bare = timed(
        sim.PovertyModel, scenario, strategy=STRATEGY, seed=seed, agents=False
    )
    _, step_bare = timed(model.run)
    floor = floor_year(model)
    del model
    return info | {
        "setup_s": setup,
        "step_s": step,
        "wall_s": setup + step,
        "setup_no_agents_s": setup_bare,
        "step_no_agents_s": step_bare,
        "floor_year_s": floor,
    }


def floor_year(model, repeats: int = 3) -> float:
    """One vectorised pass over a year's data: every household and person array read once (a
    sum each) and a year's random numbers drawn (sim.model.rng); the fastest of ``repeats``."""
    hh, p = model.hh, model.persons
    keys = model.streams.keys("bench", model.year).array(tuple(f"draw{i}" for i in range(9)))
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        total = 0.0
        for table in (hh, p):
            for name in table.FIELDS:
                total += getattr(table, name).sum()
        for k in keys[:5]:
            total += rng.uniforms(k, p.n).sum()
        for k in keys[5:8]:
            total += rng.uniforms(k, hh.n).sum()
        total += rng.normals(keys[8], p.n // 7).sum()
        best = min(best, time.perf_counter() - t0)
    return best


def boltzmann_repeat(n: int, seed: int) -> dict:
    model, setup = timed(BoltzmannModel, n, seed=seed)
    _, step = timed(model.run, BOLTZMANN_STEPS)
    if model.total_wealth() != n or model.steps != BOLTZMANN_STEPS:
        raise RuntimeError("Boltzmann reference: wealth not conserved or steps missing")
    return {"setup_s": setup, "step_s": step}


def warm_up(scenario) -> None:
    """Import-time and first-call costs (lazy imports, loading the compiled kernels) are not what
    the in-process figures measure; the cold and warm start figures do."""
    sim.PovertyModel(scenario, strategy=STRATEGY, seed=1, agents=False).run(1)
    BoltzmannModel(1000, seed=1).run(1)


def measure_scale(name: str, scenario, repeats: int) -> dict:
    seeds = [BASE_SEED + i for i in range(repeats)]
    runs, boltz = [], []
    for seed in seeds:
        runs.append(model_repeat(scenario, seed))
        boltz.append(boltzmann_repeat(runs[-1]["households"], seed))
    n_hh, years = runs[0]["households"], runs[0]["years"]
    col = {k: [r[k] for r in runs] for k in runs[0]}
    cost_hy = [s / (n_hh * years) for s in col["step_no_agents_s"]]
    cost_as = [r["step_s"] / (n_hh * BOLTZMANN_STEPS) for r in boltz]
    c_hy, c_as = stats(cost_hy, 1e6), stats(cost_as, 1e6)
    ratio = c_hy["median"] / c_as["median"]
    goal = GOAL_RATIO_LARGE if n_hh >= LARGE else GOAL_RATIO
    per_year = [s / years for s in col["step_no_agents_s"]]
    floor = stats(col["floor_year_s"])
    return {
        "name": name,
        "households": n_hh,
        "persons": runs[0]["persons"],
        "years": years,
        "repeats": repeats,
        "seeds": seeds,
        "setup_s": stats(col["setup_s"]),
        "setup_no_agents_s": stats(col["setup_no_agents_s"]),
        "setup_per_household_us": stats([s / n_hh for s in col["setup_s"]], 1e6),
        "step_s": stats(col["step_s"]),
        "step_no_agents_s": stats(col["step_no_agents_s"]),
        "wall_s": stats(col["wall_s"]),
        "cost_per_household_year_us": c_hy,
        "boltzmann": {
            "agents": n_hh,
            "steps": BOLTZMANN_STEPS,
            "setup_s": stats([r["setup_s"] for r in boltz]),
            "step_s": stats([r["step_s"] for r in boltz]),
            "cost_per_agent_step_us": c_as,
            "setup_per_agent_us": stats([r["setup_s"] / n_hh for r in boltz], 1e6),
        },
        "ratio": ratio,
        "ratio_paired": stats([a / b for a, b in zip(cost_hy, cost_as, strict=True)]),
        "goal_ratio": goal,
        "meets_goal_ratio": ratio <= goal,
        "floor_year_s": floor,
        "step_year_s": stats(per_year),
        "step_over_floor": statistics.median(per_year) / floor["median"],
        "agent_creation_per_household_us": (
            statistics.median(col["setup_s"]) - statistics.median(col["setup_no_agents_s"])
        )
        / n_hh
        * 1e6,
    }


def setup_large(repeats: int) -> dict:
    scenario = scaled_county(SETUP_HOUSEHOLDS)
    with_agents, without = [], []
    for i in range(repeats):
        model, t = timed(sim.PovertyModel, scenario, strategy=STRATEGY, seed=BASE_SEED + i)
        del model
        with_agents.append(t)
        model, t = timed(
            sim.PovertyModel, scenario, strategy=STRATEGY, seed=BASE_SEED + i, agents=False
        )
        del model
        without.append(t)
    n = scenario.population.households
    per = stats([t / n for t in with_agents], 1e6)
    return {
        "households": n,
        "persons": scenario.population.people,
        "repeats": repeats,
        "setup_s": stats(with_agents),
        "setup_no_agents_s": stats(without),
        "setup_per_household_us": per,
        "setup_no_agents_per_household_us": stats([t / n for t in without], 1e6),
        "goal_us": GOAL_SETUP_US,
        "meets_goal": per["median"] <= GOAL_SETUP_US,
    }


START_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import sim
t1 = time.perf_counter()
scenario = sim.load_scenario(sys.argv[1])
t2 = time.perf_counter()
model = sim.PovertyModel(scenario, strategy=sys.argv[2], seed=1)
t3 = time.perf_counter()
model.run()
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "setup_s": t3 - t2,
                  "run_s": t4 - t3, "total_s": t4 - t0, "model_s": t4 - t2}))
"""


def cold_and_warm() -> dict:
    """The county in a fresh process, first with an empty numba cache (the kernels compile),
    then again with the cache that run left."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="povsim-numba-cache-") as cache:
        env = os.environ | {"NUMBA_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            res = subprocess.run(
                [sys.executable, "-c", START_PROBE, str(SCENARIO), STRATEGY],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env=env,
            )
            out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    out["compile_s"] = out["cold"]["model_s"] - out["warm"]["model_s"]
    return out


ANKANG_PROBE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from sim.cli import main
code = main(sys.argv[1:])
status = Path("/proc/self/status").read_text().splitlines()
hwm = next(int(x.split()[1]) * 1024 for x in status if x.startswith("VmHWM"))
print(json.dumps({"exit": code, "in_process_s": time.perf_counter() - t0, "peak_rss_bytes": hwm}))
"""


def ankang_command(warm_repeats: int = 2) -> dict | None:
    """``povsim run scenarios/ankang.toml --strategy precision`` as a user runs it, in a fresh
    process (interpreter start, imports, setup, ten years, writing its outputs): once with an
    empty numba cache (the kernels compile), then ``warm_repeats`` times with the cache that run
    left. Wall time from outside the process; peak RSS (VmHWM) from inside."""
    if not ANKANG.exists():
        return None
    sc = sim.load_scenario(ANKANG)
    runs = {"cold": [], "warm": []}
    with (
        tempfile.TemporaryDirectory(prefix="povsim-numba-cache-") as cache,
        tempfile.TemporaryDirectory(prefix="povsim-ankang-") as out,
    ):
        env = os.environ | {"NUMBA_CACHE_DIR": cache}
        argv = ["run", str(ANKANG), "--strategy", ANKANG_STRATEGY, "--quiet", "--force"]
        for label in ["cold"] + ["warm"] * warm_repeats:
            gc.collect()
            t0 = time.perf_counter()
            res = subprocess.run(
                [sys.executable, "-c", ANKANG_PROBE, *argv, "--out", out],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env=env,
            )
            wall = time.perf_counter() - t0
            probe = json.loads(res.stdout.strip().splitlines()[-1])
            if probe["exit"] != 0:
                raise RuntimeError(f"povsim run {ANKANG} failed: {res.stderr[-2000:]}")
            runs[label].append(probe | {"wall_s": wall})
    return {
        "households": sc.population.households,
        "persons": sc.population.people,
        "strategy": ANKANG_STRATEGY,
        "cold": runs["cold"][0],
        "warm": {
            "repeats": warm_repeats,
            "wall_s": stats([r["wall_s"] for r in runs["warm"]]),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs["warm"]),
        },
    }


def batch_figures(path: Path = BATCH_JSON) -> dict | None:
    """Figures another benchmark wrote (``make bench`` runs ``batch_bench.py`` and
    ``strategies.py`` first)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
        "numba": numba.__version__,
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


def goals(r: dict) -> list[dict]:
    """Each goal with its measured value and whether it is met."""
    county = next(s for s in r["scales"] if s["name"].startswith("county"))
    out = [
        {
            "goal": "county ten years + setup, warm (s)",
            "limit": GOAL_COUNTY_WALL_S,
            "value": county["wall_s"]["median"],
        },
        {
            "goal": "county ten years + setup, cold start incl. compilation (s)",
            "limit": GOAL_COUNTY_WALL_S,
            "value": r["start"]["cold"]["model_s"] if r.get("start") else None,
        },
    ]
    for s in r["scales"]:
        out.append(
            {
                "goal": f"household-year / Boltzmann agent-step, {s['name']}",
                "limit": s["goal_ratio"],
                "value": s["ratio"],
            }
        )
    for s in r["scales"]:
        out.append(
            {
                "goal": f"year / floor, {s['name']}",
                "limit": GOAL_FLOOR,
                "value": s["step_over_floor"],
            }
        )
    if r.get("setup_large"):
        out.append(
            {
                "goal": f"setup per household at {SETUP_HOUSEHOLDS:,} (µs)",
                "limit": GOAL_SETUP_US,
                "value": r["setup_large"]["setup_per_household_us"]["median"],
            }
        )
    ak = r.get("ankang_command")
    if ak:
        out += [
            {
                "goal": "`povsim run` Ankang, cold start incl. compilation (s)",
                "limit": GOAL_ANKANG_WALL_S,
                "value": ak["cold"]["wall_s"],
            },
            {
                "goal": "`povsim run` Ankang, warm (s)",
                "limit": GOAL_ANKANG_WALL_S,
                "value": ak["warm"]["wall_s"]["median"],
            },
            {
                "goal": "`povsim run` Ankang, peak memory (GB)",
                "limit": GOAL_ANKANG_RSS_GB,
                "value": max(ak["cold"]["peak_rss_bytes"], ak["warm"]["peak_rss_bytes"]) / 1e9,
            },
        ]
    b = r.get("batch")
    if b:
        out.append(
            {
                "goal": f"county batch ({b['batch']['runs']} runs) parallel efficiency, "
                f"{b['batch']['workers']} workers",
                "limit": GOAL_BATCH_EFFICIENCY,
                "value": b["parallel_efficiency"],
                "at_least": True,
            }
        )
    st = r.get("strategies")
    if st:
        head = st["strategies"][st["headline"]]
        out += [
            {
                "goal": f"{st['headline']} year / status_quo year (county)",
                "limit": st["goal_ratio"],
                "value": head["ratio_to_status_quo"],
            },
            {
                "goal": f"{st['headline']} policy phase / costliest compiled phase "
                f"({head['costliest_compiled_phase']})",
                "limit": 1.0,
                "value": head["policy_ms_per_year"] / head["costliest_compiled_ms_per_year"],
            },
        ]
    for g in out:
        at_least = g.setdefault("at_least", False)
        if g["value"] is None:
            g["met"] = None
        else:
            g["met"] = bool(g["value"] >= g["limit"] if at_least else g["value"] <= g["limit"])
    return out


def run(repeats: int | None, quick: bool) -> dict:
    started = time.perf_counter()
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    loads = []
    for _ in range(5):
        scenario, t = timed(sim.load_scenario, SCENARIO)
        loads.append(t)
    warm_up(scenario)
    results = []
    for name, sc, default_repeats in scales(quick):
        n = 1 if quick else (repeats or default_repeats)
        results.append(measure_scale(name, sc, n))
    r = {
        "schema": 2,
        "date": date,
        "settings": {
            "repeats": repeats,
            "quick": quick,
            "strategy": STRATEGY,
            "timer": "time.perf_counter, gc.collect() before each timed call, warm-up run first",
            "kernel_threads": sim.model.kernels.threads(),
        },
        "scenario_load_s": stats(loads),
        "scales": results,
        "setup_large": None if quick else setup_large(2),
        "start": None if quick else cold_and_warm(),
        "ankang_command": None if quick else ankang_command(),
        "batch": None if quick else batch_figures(),
        "strategies": None if quick else batch_figures(STRATEGIES_JSON),
        "memory": memory(scenario, BASE_SEED)
        | {
            "bench_process_ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            * 1024
        },
    }
    r["goals"] = goals(r)
    r["machine"] = machine() | {"loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    r["total_wall_s"] = time.perf_counter() - started
    return r


# ---- output ------------------------------------------------------------------------------------
def markdown(r: dict) -> str:
    m, mem = r["machine"], r["memory"]
    commit = f"{m['commit']}{' (dirty)' if m['dirty'] else ''}" if m["commit"] else "unknown"
    mib = 1024 * 1024

    def med(s: dict, fmt: str = ".3f") -> str:
        return f"{s['median']:{fmt}} ({s['min']:{fmt}}-{s['max']:{fmt}})"

    lines = [
        f"# povsim benchmark — {r['date']}",
        "",
        f"- Machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPUs; "
        f"load average {m['loadavg_before'][0]:.2f} before, {m['loadavg_after'][0]:.2f} after",
        f"- Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, mesa {m['mesa']}, "
        f"povsim {m['povsim']} at {commit}",
        f"- Strategy {r['settings']['strategy']}, ten years; reference: Boltzmann wealth model, "
        f"one agent per household, {BOLTZMANN_STEPS} steps, interleaved repeat by repeat; "
        f"whole benchmark {r['total_wall_s']:.0f} s",
        "- Figures: median (min-max) over the repeats; costs are step time / (households × "
        "years) and / (agents × steps); the ratio is the ratio of the medians",
        "",
        "## The yearly step",
        "",
        "| Scale | Households | Persons | Repeats | Setup, agents (s) | Ten years (s) "
        "| µs / household-year | Boltzmann µs / agent-step | Ratio (goal) | Year / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["scales"]:
        verdict = "met" if s["meets_goal_ratio"] else "not met"
        lines.append(
            f"| {s['name']} | {s['households']:,} | {s['persons']:,} | {s['repeats']} | "
            f"{med(s['setup_s'])} | {med(s['step_no_agents_s'])} | "
            f"{med(s['cost_per_household_year_us'])} | "
            f"{med(s['boltzmann']['cost_per_agent_step_us'])} | "
            f"**{s['ratio']:.3f}** (≤ {s['goal_ratio']}: {verdict}) | "
            f"{s['step_over_floor']:.1f} ({s['floor_year_s']['median'] * 1e3:.2f} ms floor) |"
        )
    county = next(s for s in r["scales"] if s["name"].startswith("county"))
    lines += [
        "",
        "## The county run",
        "",
        "| Measure | Median | Min | Max |",
        "|---|---:|---:|---:|",
    ]

    def row(label: str, s: dict, fmt: str = ".3f") -> str:
        return f"| {label} | {s['median']:{fmt}} | {s['min']:{fmt}} | {s['max']:{fmt}} |"

    lines += [
        row("Scenario load (s)", r["scenario_load_s"], ".4f"),
        row("Setup, with agents (s)", county["setup_s"]),
        row("Setup, `agents=False` (s)", county["setup_no_agents_s"]),
        row("Ten years (s)", county["step_s"]),
        row("Ten years, `agents=False` (s)", county["step_no_agents_s"]),
        row("**Setup + ten years (s)**", county["wall_s"]),
        f"| Agent creation per household (µs) | {county['agent_creation_per_household_us']:.2f} "
        "| | |",
    ]
    if r.get("start"):
        c, w = r["start"]["cold"], r["start"]["warm"]
        lines += [
            "",
            "## Cold and warm start (fresh process: imports, load, setup with agents, ten years)",
            "",
            "| Start | Imports (s) | Setup (s) | Ten years (s) | Setup + ten years (s) | Total (s) |",
            "|---|---:|---:|---:|---:|---:|",
            f"| cold (empty numba cache: kernels compile) | {c['import_s']:.2f} | "
            f"{c['setup_s']:.2f} | {c['run_s']:.2f} | {c['model_s']:.2f} | {c['total_s']:.2f} |",
            f"| warm (cached kernels) | {w['import_s']:.2f} | {w['setup_s']:.2f} | "
            f"{w['run_s']:.2f} | {w['model_s']:.2f} | {w['total_s']:.2f} |",
        ]
    ak = r.get("ankang_command")
    if ak:
        gb = 1e9
        lines += [
            "",
            f"## `povsim run scenarios/ankang.toml --strategy {ak['strategy']}` "
            f"({ak['households']:,} households, {ak['persons']:,} persons, ten years)",
            "",
            "A fresh process as a user starts it: interpreter, imports, setup, ten years, and "
            "writing `timeseries.csv`, `households.parquet` and `run.json`.",
            "",
            "| Start | Wall (s) | Peak RSS (GB) |",
            "|---|---:|---:|",
            f"| cold (empty numba cache: kernels compile) | {ak['cold']['wall_s']:.2f} | "
            f"{ak['cold']['peak_rss_bytes'] / gb:.2f} |",
            f"| warm (cached kernels), median of {ak['warm']['repeats']} | "
            f"{med(ak['warm']['wall_s'], '.2f')} | {ak['warm']['peak_rss_bytes'] / gb:.2f} |",
        ]
    b = r.get("batch")
    if b:
        lines += [
            "",
            f"## County batch ({b['batch']['runs']} runs × ten years, {b['batch']['workers']} "
            f"workers; `benchmarks/batch_bench.py`, {b['when']})",
            "",
            "| Backend | Wall (s) | Runs/s | Steady runs/s | First result (s) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, x in b["backends"].items():
            lines.append(
                f"| {name} | {x['wall_s']['median']:.2f} | {x['runs_per_s']['median']:.2f} | "
                f"{x['steady_runs_per_s']['median']:.2f} | {x['first_result_s']['median']:.2f} |"
            )
        lines += [
            "",
            f"Parallel efficiency (processes against one worker on one core): "
            f"**{b['parallel_efficiency']:.0%}** ({b['parallel_efficiency_steady']:.0%} after "
            f"start-up); identical timeseries across backends: "
            f"{b['identical_timeseries_across_backends']}.",
        ]
    if r.get("strategies"):
        from strategies import markdown as strategies_markdown

        lines += ["", "## Every built-in strategy (`benchmarks/strategies.py`)", ""]
        lines += strategies_markdown(r["strategies"]).splitlines()
    if r.get("setup_large"):
        big = r["setup_large"]
        lines += [
            "",
            f"Setup at {big['households']:,} households ({big['persons']:,} persons, the county "
            f"× 15): {med(big['setup_s'], '.2f')} s with agents, "
            f"**{big['setup_per_household_us']['median']:.2f} µs a household** "
            f"(goal ≤ {big['goal_us']:g}); {big['setup_no_agents_per_household_us']['median']:.2f}"
            " µs without agents.",
        ]
    lines += [
        "",
        "## Goals",
        "",
        "| Goal | Limit | Value | Met |",
        "|---|---:|---:|---|",
    ]
    for g in r["goals"]:
        value = "—" if g["value"] is None else f"{g['value']:.3f}"
        met = "—" if g["met"] is None else ("yes" if g["met"] else "**no**")
        limit = f"≥ {g['limit']:g}" if g.get("at_least") else f"≤ {g['limit']:g}"
        lines.append(f"| {g['goal']} | {limit} | {value} | {met} |")
    lines += [
        "",
        "## Memory (county)",
        "",
        f"- Peak RSS of one county run, fresh process: {mem['peak_rss_bytes'] / mib:.1f} MiB, of "
        f"which the model over the imports {mem['peak_rss_model_bytes'] / mib:.1f} MiB",
        f"- tracemalloc peak of one county run: {mem['tracemalloc_peak_bytes'] / mib:.1f} MiB; "
        f"household + person arrays {mem['table_bytes'] / mib:.1f} MiB",
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
    p.add_argument(
        "--repeats", type=int, help="repeats per scale (default 5 up to the county, fewer above)"
    )
    p.add_argument("--quick", action="store_true", help="one repeat, small scales, a smoke test")
    p.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=BASE_SEED, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.memory_probe:
        print(json.dumps(memory_probe(a.seed)))
        return 0
    if a.repeats is not None and a.repeats < 1:
        p.error("--repeats must be at least 1")

    result = run(a.repeats, a.quick)
    table = markdown(result)
    write_atomic(a.out, json.dumps(result, indent=2) + "\n")
    write_atomic(a.out.with_suffix(".md"), table)
    print(table, end="")
    print(f"\nwrote {a.out} and {a.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
