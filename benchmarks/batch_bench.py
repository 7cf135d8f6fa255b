"""Benchmark of `povsim batch` on the county: throughput, parallel efficiency, Dask overhead, disk.

One batch = the four strategies x ``--runs / 4`` seeds of ``scenarios/county.toml`` over ten
years (default 128 runs, the size of the flagship experiment), run end to end through :func:`sim.batch.runner.run_batch` — backend start-up,
streaming to Parquet and shutdown included, as a user would see it — with

* ``in-process``: 1 worker, no pool, one kernel thread (the reference: one core);
* ``threads``: 1 worker whose compiled kernels run on every core (``--threads`` default);
* ``processes``: a local process pool of ``--workers`` (default 2) workers;
* ``dask``: a Dask LocalCluster of ``--workers`` worker processes on loopback.

Reported per backend (median, min and max over ``--repeats``, backends interleaved repeat by
repeat so that drift on a shared machine hits them alike): wall seconds, runs per second, time
to the first finished run (start-up + one run), the steady rate after it (what a long batch
approaches), and the median run's own wall time inside its worker. Derived: parallel efficiency
= (runs/s of the pool / runs/s in-process) / workers, overall and after start-up; Dask overhead
= Dask wall - process-pool wall on the same batch; the Dask cluster's start-up + shutdown alone.
Disk: bytes per run of the results folder (timeseries only, the default), and of the households
parts when ``outputs.households = true`` (measured on two runs). Also checks that all backends
produced identical timeseries. On a shared machine, read the load averages recorded with the
figures: other work on the cores lowers the parallel figures first.

    .venv/bin/python benchmarks/batch_bench.py [--runs 128] [--workers 2] [--repeats 2]

Writes benchmarks/results/batch.json (atomically) and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sim
from sim.batch.backends import make_backend
from sim.batch.execution import RunContext
from sim.batch.experiments import load_experiment
from sim.batch.results import write_json_atomic
from sim.batch.runner import run_batch
from sim.batch.session import provenance

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "scenarios" / "county.toml"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "batch.json"
STRATEGIES = ["status_quo", "transfusion", "blood_making", "precision"]

EXPERIMENT = """\
[experiment]
name = "batch_bench"
scenario = {scenario}
years = 10

[levers]
strategy = {strategies}

[sampling]
seed = 20251129
replications = {replications}

[outputs]
households = {households}
"""


def write_experiment(folder: Path, runs: int, households: bool = False) -> Path:
    reps = max(1, runs // len(STRATEGIES))
    text = EXPERIMENT.format(
        scenario=json.dumps(str(COUNTY)),
        strategies=json.dumps(STRATEGIES),
        replications=reps,
        households=str(households).lower(),
    )
    path = folder / f"bench_{runs}_{'hh' if households else 'ts'}.toml"
    path.write_text(text)
    return path


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_batch(design, out: Path, **kw) -> dict:
    first = []
    t0 = time.perf_counter()

    def hook(outcome, summary):
        if not first:
            first.append(time.perf_counter() - t0)

    summary = run_batch(design, out, quiet=True, force=True, on_run=hook, **kw)
    wall = time.perf_counter() - t0
    assert summary.ok == design.total, summary
    res = sim.load_results(out)
    return {
        "wall_s": wall,
        "runs_per_s": design.total / wall,
        "first_result_s": first[0],
        # after the first result: start-up excluded, the rate a long batch approaches
        "steady_runs_per_s": (design.total - 1) / (wall - first[0]),
        "median_run_s": float(res.runs["wall_seconds"].median()),
        "bytes": folder_bytes(out),
        "timeseries": res.timeseries,
    }


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run(runs: int, workers: int, repeats: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="povsim-batch-bench-"))
    try:
        design = load_experiment(write_experiment(tmp, runs))
        backends = {
            # the reference for parallel efficiency: one worker on one core
            "in-process": {"workers": 1, "threads": 1},
            # one process whose kernels use every core (threads instead of workers)
            "threads": {"workers": 1},
            "processes": {"workers": workers},
            "dask": {"workers": workers, "scheduler": "local"},
        }
        load_before = os.getloadavg()
        sim.PovertyModel(COUNTY, seed=1, agents=False).run(1)  # warm caches in this process
        samples: dict[str, list[dict]] = {k: [] for k in backends}
        for _ in range(repeats):
            for name, kw in backends.items():
                samples[name].append(one_batch(design, tmp / name, **kw))
        identical = all(
            s["timeseries"].equals(samples["in-process"][0]["timeseries"])
            for v in samples.values()
            for s in v
        )
        # Dask cluster start-up and shutdown alone
        ctx = RunContext(design.scenario_data, str(design.scenario_path), False)
        dask_start = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            make_backend(ctx, workers, "local").close()
            dask_start.append(time.perf_counter() - t0)
        # households kept: two runs in-process
        hh_design = load_experiment(write_experiment(tmp, 2, households=True))
        hh_out = tmp / "households"
        run_batch(hh_design, hh_out, workers=1, quiet=True)
        hh_bytes = folder_bytes(hh_out / "households") / hh_design.total
        load_after = os.getloadavg()

        def summary(name: str) -> dict:
            s = samples[name]
            return {
                "wall_s": stats([x["wall_s"] for x in s]),
                "runs_per_s": stats([x["runs_per_s"] for x in s]),
                "first_result_s": stats([x["first_result_s"] for x in s]),
                "steady_runs_per_s": stats([x["steady_runs_per_s"] for x in s]),
                "median_run_s": stats([x["median_run_s"] for x in s]),
            }

        by = {name: summary(name) for name in backends}
        rate1 = by["in-process"]["runs_per_s"]["median"]
        rate_p = by["processes"]["runs_per_s"]["median"]
        steady1 = by["in-process"]["steady_runs_per_s"]["median"]
        steady_p = by["processes"]["steady_runs_per_s"]["median"]
        wall_p = by["processes"]["wall_s"]["median"]
        wall_d = by["dask"]["wall_s"]["median"]
        bytes_per_run = samples["in-process"][0]["bytes"] / design.total
        return {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "load_average_before": load_before,
                "load_average_after": load_after,
            },
            "versions": provenance(),
            "batch": {
                "scenario": "scenarios/county.toml",
                "runs": design.total,
                "strategies": STRATEGIES,
                "years": 10,
                "workers": workers,
                "repeats": repeats,
            },
            "backends": by,
            "parallel_efficiency": rate_p / rate1 / workers,
            "speedup": rate_p / rate1,
            "parallel_efficiency_steady": steady_p / steady1 / workers,
            "dask_overhead_s": wall_d - wall_p,
            "dask_overhead_per_run_s": (wall_d - wall_p) / design.total,
            "dask_cluster_start_and_close_s": stats(dask_start),
            "disk_bytes_per_run": bytes_per_run,
            "households_bytes_per_run": hh_bytes,
            "identical_timeseries_across_backends": identical,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(r: dict) -> str:
    lines = [
        f"county batch: {r['batch']['runs']} runs x 10 years, {r['batch']['workers']} workers, "
        f"{r['batch']['repeats']} repeat(s); {r['machine']['cpus']} CPUs, load "
        f"{r['machine']['load_average_before'][0]:.2f} before, "
        f"{r['machine']['load_average_after'][0]:.2f} after",
        f"{'backend':<12} {'wall s':>8} {'runs/s':>8} {'steady':>8} {'first run s':>12} "
        f"{'run s':>7}",
    ]
    for name, b in r["backends"].items():
        lines.append(
            f"{name:<12} {b['wall_s']['median']:>8.2f} {b['runs_per_s']['median']:>8.2f} "
            f"{b['steady_runs_per_s']['median']:>8.2f} {b['first_result_s']['median']:>12.2f} "
            f"{b['median_run_s']['median']:>7.2f}"
        )
    lines += [
        f"speed-up {r['speedup']:.2f}x, parallel efficiency {r['parallel_efficiency']:.0%} "
        f"({r['parallel_efficiency_steady']:.0%} after start-up)",
        f"Dask overhead vs processes: {r['dask_overhead_s']:+.2f} s on the batch "
        f"({r['dask_overhead_per_run_s']:+.3f} s/run); cluster start+close "
        f"{r['dask_cluster_start_and_close_s']['median']:.2f} s",
        f"disk: {r['disk_bytes_per_run'] / 1024:.1f} KiB/run (timeseries), households "
        f"{r['households_bytes_per_run'] / 2**20:.2f} MiB/run when kept",
        f"identical timeseries across backends: {r['identical_timeseries_across_backends']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=128, help="runs per batch (multiple of 4)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args(argv)
    result = run(a.runs, a.workers, a.repeats)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(a.out, result)
    print(table(result))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
