"""A study from start to end: prepare it from an experiment file, run its batch (resumable), and
analyse and write its indices under RESULTS/sensitivity/."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.files import write_csv
from sim.analysis.sensitivity.design import (
    DEFAULT_LEVELS,
    AnalysisError,
    Factor,
    Plan,
    derived_seed,
    factor_from_distribution,
    lever_factor,
    make_plan,
)
from sim.analysis.sensitivity.indices import (
    FLOOR_COLUMNS,
    INDEX_COLUMNS,
    MAIN_INDEX,
    NOISE_COLUMNS,
    Analysis,
    analyse,
)
from sim.analysis.sensitivity.outcomes import (
    OutcomeSpec,
    default_outcomes,
    outcome_matrices,
    resolve_outcomes,
)
from sim.analysis.sensitivity.output import plot_study
from sim.batch.design import STRATEGY, Design
from sim.batch.experiments import load_experiment
from sim.config import ConfigError, build_scenario

SENSITIVITY = "sensitivity"
FIGURES = "figures"


# ---------------------------------------------------------------------------------------------
# A study: the experiment, its factors and outcomes, the SALib plan and the batch that runs it


@dataclass
class Study:
    design: Design  # the experiment as loaded (its own LHS plan is not used)
    plan: Plan
    strategies: list[str]
    fixed: dict[str, Any]  # levers held at one value
    outcomes: list[OutcomeSpec]
    horizon: int
    batch: Design  # the adapter the batch runner runs: one sample per design-matrix row
    notes: list[str] = field(default_factory=list)

    @property
    def replications(self) -> int:
        return len(self.batch.seeds)

    def default_out(self) -> Path:
        return Path("results") / f"{self.design.name}-{self.plan.method}"

    def describe(self) -> dict:
        """The study's identity, written to design.json and checked on --resume."""
        p = self.plan
        return {
            "method": p.method,
            "samples": p.n,
            "levels": p.levels if p.method == "morris" else None,
            "inputs": p.inputs,
            "points": p.points,
            "salib_seed": p.seed,
            "master_seed": self.design.spec.sampling.seed,
            "experiment": str(self.design.path),
            "experiment_sha256": self.design.sha256,
            "factors": [
                {
                    "name": f.name,
                    "low": f.low,
                    "high": f.high,
                    "kind": f.kind,
                    "values": list(f.values),
                    "source": f.source,
                }
                for f in p.factors
            ],
            "strategies": self.strategies,
            "fixed_levers": self.fixed,
            "seeds": self.batch.seeds,
            "outcomes": [o.name for o in self.outcomes],
            "total_runs": self.batch.total,
        }


def prepare_study(
    experiment: str | Path | Design,
    method: str,
    samples: int | None = None,
    outcomes: Sequence[str] | None = None,
    include_levers: bool = False,
    factors: Sequence[str] | None = None,
    levels: int = DEFAULT_LEVELS,
    inputs: str = "range",
) -> Study:
    """Read the experiment, choose the factors, draw the SALib design and wrap it as a batch.

    ``samples`` defaults to the experiment's ``sampling.samples`` (Morris trajectories, or
    Sobol' base samples). ``factors`` picks a subset; an uncertainty left out keeps the
    scenario's value, a lever left out its first value.
    """
    design = experiment if isinstance(experiment, Design) else load_experiment(experiment)
    notes: list[str] = []
    candidates: list[Factor] = []
    for path, dist in design.uncertainties.items():
        f = factor_from_distribution(path, dist)
        if f is None:
            notes.append(f"{path}: a single listed value, not varied")
        else:
            candidates.append(f)
    fixed: dict[str, Any] = {}
    for path, values in design.levers.items():
        if path == STRATEGY:
            continue
        f = lever_factor(path, values) if include_levers else None
        if f is not None:
            candidates.append(f)
            continue
        fixed[path] = values[0]
        if len(values) > 1:
            why = "" if include_levers else " (--include-levers varies numeric levers)"
            notes.append(f"lever {path}: held at its first value {values[0]!r}{why}")
    chosen = candidates
    if factors:
        known = {f.name: f for f in candidates}
        unknown = [n for n in factors if n not in known]
        if unknown:
            raise ConfigError(
                [
                    f"--factors {n}: not a factor of {design.path}; allowed: {', '.join(known)}"
                    for n in unknown
                ]
            )
        chosen = [known[n] for n in dict.fromkeys(factors)]
        for f in candidates:
            if f.name in factors:
                continue
            if f.source == "lever":
                fixed[f.name] = design.levers[f.name][0]
                notes.append(f"lever {f.name}: held at its first value {fixed[f.name]!r}")
            else:
                notes.append(f"{f.name}: not varied (the scenario's own value)")

    n = samples if samples is not None else design.spec.sampling.samples
    plan = make_plan(
        chosen, method, n, derived_seed(design.spec.sampling.seed, "sample"), levels, inputs
    )
    strategies = [str(s) for s in design.levers.get(STRATEGY, ["status_quo"])]
    reference = build_scenario(
        design.scenario_data, str(design.scenario_path), design.base_overrides
    )
    horizon = int(reference.meta.years)
    specs = resolve_outcomes(outcomes or default_outcomes(strategies, horizon), strategies, horizon)
    batch = batch_design(design, plan, strategies, fixed)
    _check_points(batch, plan)
    return Study(design, plan, strategies, fixed, specs, horizon, batch, notes)


def batch_design(
    design: Design, plan: Plan, strategies: Sequence[str], fixed: dict[str, Any]
) -> Design:
    """The thin adapter to the batch runner: the experiment's design with its LHS samples
    replaced by the SALib rows and its levers by the strategies (other levers held fixed).
    Same scenario data, constants, horizon and replication seeds."""
    levers: dict[str, list[Any]] = {}
    if STRATEGY in design.levers:
        levers[STRATEGY] = list(strategies)
    levers.update({p: [v] for p, v in fixed.items()})
    combos = [{**({STRATEGY: s} if STRATEGY in levers else {}), **fixed} for s in strategies]
    sampling = design.spec.sampling.model_copy(update={"method": plan.method, "samples": plan.n})
    spec = design.spec.model_copy(update={"sampling": sampling})
    return dataclasses.replace(
        design,
        spec=spec,
        levers=levers,
        uncertainties={f.name: f.dist for f in plan.factors},
        lever_combos=combos,
        samples=[dict(r) for r in plan.rows],
        _runs=None,
    )


def _check_points(batch: Design, plan: Plan, limit: int = 5) -> None:
    """Every distinct design point must build a valid scenario before anything runs."""
    source = str(batch.scenario_path)
    fixed = {k: v for k, v in batch.lever_combos[0].items() if k != STRATEGY}
    seen, problems = set(), []
    for i, row in enumerate(plan.rows):
        key = json.dumps(row, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        try:
            build_scenario(batch.scenario_data, source, {**batch.base_overrides, **fixed, **row})
        except ConfigError as exc:
            point = ", ".join(f"{k} = {v!r}" for k, v in row.items())
            problems.append(f"{batch.path}: design point {i} ({point}): {'; '.join(exc.problems)}")
    if problems:
        more = [f"... and {len(problems) - limit} more"] if len(problems) > limit else []
        raise ConfigError(problems[:limit] + more)


@dataclass
class StudyRun:
    out: Path
    summary: Any  # sim.batch.session.BatchSummary
    analysis: Analysis | None
    seconds: float


def sensitivity_dir(out: str | Path) -> Path:
    return Path(out) / SENSITIVITY


def check_resume_study(study: Study, out: Path) -> list[str]:
    """A resumed study must be the same study (the batch runner checks the run plan too)."""
    path = sensitivity_dir(out) / "design.json"
    if not path.is_file():
        return []
    before = json.loads(path.read_text())
    now = json.loads(json.dumps(study.describe(), default=str))
    keys = ("method", "samples", "levels", "inputs", "salib_seed", "factors", "strategies")
    changed = [k for k in keys if before.get(k) != now.get(k)]
    if changed:
        return [
            f"--out {out}: holds a different sensitivity study ({', '.join(changed)} differ); "
            "use --force to start over, or another --out"
        ]
    return []


def run_study(
    study: Study,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    flush_every: int | None = None,
    on_run: Callable | None = None,
    dask_processes: bool = True,
) -> StudyRun:
    """Run (or finish) the study's batch, then analyse it and write ``OUT/sensitivity/``.

    Nothing is analysed if the batch was interrupted or aborted: resume it first.
    """
    from sim.batch.runner import run_batch

    t0 = time.perf_counter()
    out = Path(out) if out is not None else study.default_out()
    if resume and not force:
        problems = check_resume_study(study, out)
        if problems:
            raise ConfigError(problems)
    summary = run_batch(
        study.batch,
        out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        force=force,
        quiet=quiet,
        flush_every=flush_every,
        on_run=on_run,
        dask_processes=dask_processes,
    )
    _write_design(study, out, summary)
    analysis = None
    if not (summary.interrupted or summary.aborted):
        analysis = analyse_study(study, out)
    return StudyRun(out, summary, analysis, time.perf_counter() - t0)


def _write_design(study: Study, out: Path, summary) -> None:
    from sim.batch.results import write_json_atomic

    folder = sensitivity_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    info = study.describe()
    info["notes"] = study.notes
    info["batch"] = {"ok": summary.ok, "failed": summary.failed, "pending": summary.pending}
    write_json_atomic(folder / "design.json", info)
    factors = pd.DataFrame(
        {
            "factor": [f.name for f in study.plan.factors],
            "source": [f.source for f in study.plan.factors],
            "low": [f.low for f in study.plan.factors],
            "high": [f.high for f in study.plan.factors],
            "kind": [f.kind for f in study.plan.factors],
            "range": [f.describe() for f in study.plan.factors],
        }
    )
    factors.to_csv(folder / "factors.csv", index=False)


def analyse_study(study: Study, out: str | Path, figures: bool = True) -> Analysis:
    """Indices, noise and figures from the batch in ``out``; written to ``out/sensitivity``."""
    from sim.batch.results import load_results

    out = Path(out)
    results = load_results(out)
    plan = study.plan
    Ys = outcome_matrices(results, study.outcomes, plan.points, study.replications)
    seed = derived_seed(study.design.spec.sampling.seed, "bootstrap")
    frames, noise_rows, floor_rows, skipped = [], [], [], {}
    samples = pd.DataFrame(plan.rows)
    samples.insert(0, "point", range(plan.points))
    if plan.method == "morris":
        samples.insert(1, "trajectory", np.arange(plan.points) // (len(plan.factors) + 1))
    for spec in study.outcomes:
        Y = Ys[spec.name]
        try:
            df, noise = analyse(plan, Y, spec.name, seed=seed)
        except AnalysisError as exc:
            skipped[spec.name] = str(exc)
            continue
        floors = noise.pop("factor_floors")
        frames.append(df)
        noise_rows.append(noise)
        floor_rows.extend(
            (spec.name, f.name, plan.method, MAIN_INDEX[plan.method], float(v))
            for f, v in zip(plan.factors, floors, strict=True)
        )
        with np.errstate(invalid="ignore"):
            samples[spec.name] = np.nanmean(Y, axis=1)
    indices = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=INDEX_COLUMNS)
    )
    noise = pd.DataFrame(noise_rows, columns=NOISE_COLUMNS)
    floors = pd.DataFrame(floor_rows, columns=FLOOR_COLUMNS)
    analysis = Analysis(indices, noise, samples, floors, skipped)
    folder = sensitivity_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(indices, folder / "indices.csv")
    write_csv(noise, folder / "noise.csv")
    write_csv(floors, folder / "noise_factors.csv")
    write_csv(samples, folder / "samples.csv")
    if figures:
        analysis.figures = plot_study(analysis, plan, folder / FIGURES)
    return analysis
