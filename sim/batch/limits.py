"""Bounded work: estimate a batch (runs, memory, hours) or a single run before anything runs,
and refuse (exit 2, with the estimate and how to proceed) what would not finish or not fit.

The estimates are arithmetic on the experiment's and scenario's numbers; nothing is sampled or
built, so an experiment of 10^11 runs is refused in milliseconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

# Memory of one model, measured on scenarios/county.toml (40,000 households, 133,000 people,
# 10 years) by building and running PovertyModel(agents=False) on one kernel thread in a fresh
# process and reading the growth of its peak RSS (ru_maxrss), for households/people =
# 40,000/133,000 (47 MB), 40,000/200,000 (59 MB), 160,000/532,000 (182 MB) and 160,000/800,000
# (227 MB): about 600 bytes a household plus 170 a person. The constants below are about 1.7x
# those, for the run's output frames and allocator slack.
BYTES_PER_HOUSEHOLD = 1_000
BYTES_PER_PERSON = 300
# A worker process before its first run: Python, numpy, pandas, numba and the compiled kernels
# (peak RSS 320 MB measured after one tiny run in a fresh interpreter).
WORKER_BASE_BYTES = 350 * 1024**2
# Time: the same county runs took 0.54-0.87 microseconds per household-year (build + run, one
# kernel thread). Twice the slowest, for slower machines and busy cores:
SECONDS_PER_HOUSEHOLD_YEAR = 2e-6
SECONDS_PER_RUN = 0.05  # fixed cost of a run (scenario build, result transfer)

MAX_RUNS = 100_000  # --max-runs default
MAX_HOURS = 48.0  # --max-hours default


@dataclass(frozen=True)
class RunSize:
    """The largest run of a batch (or the one run of ``povsim run``)."""

    households: int
    people: int
    years: int

    @property
    def bytes(self) -> int:
        return self.households * BYTES_PER_HOUSEHOLD + self.people * BYTES_PER_PERSON

    @property
    def seconds(self) -> float:
        return self.households * self.years * SECONDS_PER_HOUSEHOLD_YEAR + SECONDS_PER_RUN


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def gib(n: float) -> str:
    return f"{n / 1024**3:,.1f} GiB"


def hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h" if seconds >= 360 else f"{seconds / 60:,.1f} min"


def check_runs(total: int, breakdown: str, where: str, max_runs: int = MAX_RUNS) -> list[str]:
    """The run count against ``--max-runs``."""
    if total <= max_runs:
        return []
    return [
        f"{where}: the design has {total:,} runs ({breakdown}), more than --max-runs "
        f"{max_runs:,}; use fewer lever values, samples or replications, or split it into "
        "several experiment files (or raise --max-runs if you mean it)"
    ]


def check_batch(
    total: int,
    size: RunSize,
    workers: int,
    where: str,
    *,
    max_hours: float = MAX_HOURS,
    local: bool = True,
    chunk: int = 25,
    households_kept: bool = False,
) -> list[str]:
    """Memory (``local``: every worker holds one model at a time, on this machine) and time of
    a batch, before any run. Each problem gives the estimate and the way out."""
    problems = []
    per_run = size.bytes
    if local:
        need = workers * (WORKER_BASE_BYTES + per_run)
        if households_kept:  # the parent holds a chunk of household frames before writing it
            need += chunk * size.households * 120
        have = available_memory()
        if have is not None and need > have:
            fit = max(0, have // (WORKER_BASE_BYTES + per_run))
            how = f"use --workers {fit}" if fit >= 1 else "use a smaller scenario (households)"
            problems.append(
                f"{where}: needs about {gib(need)} of memory ({workers} worker(s) x "
                f"{gib(WORKER_BASE_BYTES + per_run)} for runs of {size.households:,} households "
                f"and {size.people:,} people) but {gib(have)} is available; {how}"
            )
    seconds = total * size.seconds / max(workers, 1)
    if seconds > max_hours * 3600:
        problems.append(
            f"{where}: {total:,} runs of {size.households:,} households x {size.years} years "
            f"would take about {hours(seconds)} on {workers} worker(s) (estimate at "
            f"{SECONDS_PER_HOUSEHOLD_YEAR * 1e6:g} us per household-year), more than "
            f"--max-hours {max_hours:g}; use fewer runs or more --workers, or raise --max-hours"
        )
    return problems


def check_run_memory(scenario, workers: int = 1, where: str | None = None) -> list[str]:
    """Problems with the memory of one run of ``scenario`` (a :class:`sim.config.Scenario`) on
    this machine, before anything is built: ``povsim run`` calls it, so that a scenario of
    2·10^9 households is refused up front instead of dying inside numpy."""
    size = scenario_size(scenario)
    need = workers * size.bytes
    have = available_memory()
    label = where or "scenario"
    if have is not None and need > have:
        return [
            f"{label}: population.households = {size.households:,} and population.people = "
            f"{size.people:,} need about {gib(need)} of memory, but {gib(have)} is available; "
            "use a smaller population"
        ]
    return []


def scenario_size(scenario) -> RunSize:
    return RunSize(
        households=int(scenario.population.households),
        people=int(scenario.population.people),
        years=int(scenario.meta.years),
    )


def design_size(design) -> RunSize:
    """The largest run of an experiment: the reference scenario, with the largest value any
    lever or uncertainty gives to the population or the horizon."""
    from sim.config import build_scenario

    ref = scenario_size(
        build_scenario(design.scenario_data, str(design.scenario_path), design.base_overrides)
    )
    fields = {
        "population.households": ref.households,
        "population.people": ref.people,
        "meta.years": ref.years,
    }
    for path in fields:
        values = list(design.levers.get(path, []))
        dist = design.uncertainties.get(path)
        if dist is not None:
            values += [v for v in dist.bounds() if isinstance(v, int | float)]
        for v in values:
            if isinstance(v, int | float) and math.isfinite(v):
                fields[path] = max(fields[path], int(math.ceil(v)))
    return RunSize(
        fields["population.households"], fields["population.people"], fields["meta.years"]
    )


def default_workers() -> int:
    return os.cpu_count() or 1
