"""A study from start to end: prepare it from an experiment file, run its batch (resumable), and
analyse and write its indices under RESULTS/sensitivity/ (outcomes add up over resumes; every
file is written atomically)."""

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

from sim.analysis.sensitivity.design import (
    DEFAULT_LEVELS,
    MORRIS_OPTIMISE_MAX,
    AnalysisError,
    Factor,
    Plan,
    derived_seed,
    design_problems,
    factor_from_distribution,
    lever_factor,
    make_plan,
    size_problems,
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
from sim.analysis.sensitivity.output import render_figures
from sim.batch.experiments import STRATEGY, Design, load_experiment
from sim.batch.limits import MAX_RUNS
from sim.config import ConfigError, build_scenario
from sim.config.files import BadInput, read_json_object, write_bytes_atomic

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
    levels: int | None = DEFAULT_LEVELS,
    inputs: str = "range",
    max_runs: int | None = MAX_RUNS,
) -> Study:
    """Read the experiment, choose the factors, draw the SALib design and wrap it as a batch.

    ``samples`` defaults to the experiment's ``sampling.samples`` (Morris trajectories, or
    Sobol' base samples). ``factors`` picks a subset; an uncertainty left out keeps the
    scenario's value, a lever left out its first value. The options, the outcomes and the
    number of runs (at most ``max_runs``; None: no limit) are checked by arithmetic before
    anything is sampled: every problem is raised at once as :class:`ConfigError`.
    """
    design = experiment if isinstance(experiment, Design) else load_experiment(experiment)
    levels = DEFAULT_LEVELS if levels is None else levels
    notes: list[str] = []
    candidates, fixed = _candidate_factors(design, include_levers, notes)
    chosen = _choose_factors(design, candidates, factors, fixed, notes) if factors else candidates
    if include_levers and not any(f.source == "lever" for f in candidates):
        notes.append("--include-levers: the experiment has no numeric lever with several values")
    if samples is not None:
        n, what = samples, f"--samples {samples}"
    else:
        n = design.spec.sampling.samples
        what = f"--samples (default: the experiment's sampling.samples = {n})"
    strategies = [str(s) for s in design.levers.get(STRATEGY, ["status_quo"])]
    problems: list[str] = []
    if not chosen:
        problems.append(
            f"{design.path}: no factors to vary (the experiment has no uncertainties"
            f"{'' if include_levers else ' and --include-levers was not given'})"
        )
    problems += design_problems(method, n, levels, inputs, what)
    if not problems:
        problems += size_problems(
            method, n, len(chosen), len(strategies), len(design.seeds), max_runs, what
        )
    horizon, specs, outcome_problems = _study_outcomes(design, outcomes, strategies)
    problems += outcome_problems
    if problems:
        raise ConfigError(problems)
    if method == "morris" and n > MORRIS_OPTIMISE_MAX:
        notes.append(
            f"{n} Morris trajectories: drawn at random (SALib's selection of the most spread "
            f"trajectories is used up to {MORRIS_OPTIMISE_MAX}; beyond that it takes hours)"
        )
    plan = make_plan(
        chosen, method, n, derived_seed(design.spec.sampling.seed, "sample"), levels, inputs
    )
    batch = batch_design(design, plan, strategies, fixed)
    _check_points(batch, plan)
    return Study(design, plan, strategies, fixed, specs, horizon, batch, notes)


def _candidate_factors(
    design: Design, include_levers: bool, notes: list[str]
) -> tuple[list[Factor], dict[str, Any]]:
    """The experiment's factors (its uncertainties, and with ``include_levers`` its numeric
    levers of several values) and the levers held at their first value; ``notes`` gets a line
    for every input that is not varied."""
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
    return candidates, fixed


def _choose_factors(
    design: Design,
    candidates: list[Factor],
    factors: Sequence[str],
    fixed: dict[str, Any],
    notes: list[str],
) -> list[Factor]:
    """The ``--factors`` subset of the candidates (an unknown name is a :class:`ConfigError`);
    a lever left out is added to ``fixed`` at its first value, and ``notes`` says so."""
    known = {f.name: f for f in candidates}
    unknown = [n for n in factors if n not in known]
    if unknown:
        allowed = ", ".join(known) or "none (the experiment has no uncertainties to vary)"
        raise ConfigError(
            [f"--factors {n}: not a factor of {design.path}; allowed: {allowed}" for n in unknown]
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
    return chosen


def _study_outcomes(
    design: Design, outcomes: Sequence[str] | None, strategies: list[str]
) -> tuple[int, list[OutcomeSpec], list[str]]:
    """The horizon (the experiment's scenario built once) and the outcome specs (default: the
    poverty rate at the horizon and its first paired difference), or what is wrong with them."""
    reference = build_scenario(
        design.scenario_data, str(design.scenario_path), design.base_overrides
    )
    horizon = int(reference.meta.years)
    try:
        specs = resolve_outcomes(
            outcomes or default_outcomes(strategies, horizon), strategies, horizon
        )
    except ConfigError as exc:
        return horizon, [], exc.problems
    return horizon, specs, []


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


# ---------------------------------------------------------------------------------------------
# Running and writing


@dataclass
class StudyRun:
    out: Path
    summary: Any  # sim.batch.runner.BatchSummary
    analysis: Analysis | None
    seconds: float


def sensitivity_dir(out: str | Path) -> Path:
    return Path(out) / SENSITIVITY


STUDY_KEYS = ("method", "samples", "levels", "inputs", "salib_seed", "factors", "strategies")


def earlier_design(out: Path) -> dict | None:
    """``OUT/sensitivity/design.json`` of an earlier analysis in ``out``, or None."""
    path = sensitivity_dir(out) / "design.json"
    if not (path.exists() or path.is_symlink()):
        return None
    return read_json_object(path, "sensitivity design record")  # BadInput if unreadable


def check_resume_study(study: Study, out: Path) -> list[str]:
    """A resumed study must be the same study (the batch runner checks the run plan too)."""
    try:
        before = earlier_design(out)
    except BadInput as exc:
        return [f"{p}; use --force to start over, or another --out" for p in exc.problems]
    if before is None:
        return []
    now = json.loads(json.dumps(study.describe(), default=str))
    changed = [k for k in STUDY_KEYS if before.get(k) != now.get(k)]
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
    finished = not (summary.interrupted or summary.aborted)
    if finished or not force:  # an unfinished --force may have left the earlier study in out
        _write_design(study, out, summary)
    analysis = analyse_study(study, out) if finished else None
    return StudyRun(out, summary, analysis, time.perf_counter() - t0)


def _design_record(study: Study, out: Path, summary=None, analysed: Sequence[str] = ()) -> dict:
    """design.json: the study's identity and its outcomes: those analysed earlier in ``out``
    (by the same study) followed by ``analysed``; the requested ones if none was yet."""
    info = study.describe()
    info["notes"] = study.notes
    try:
        before = earlier_design(out) or {}
    except BadInput:
        before = {}
    now = json.loads(json.dumps(info, default=str))
    if before and all(before.get(k) == now.get(k) for k in STUDY_KEYS):
        earlier = [o for o in before.get("outcomes", []) if isinstance(o, str)]
        info["outcomes"] = list(dict.fromkeys([*earlier, *analysed]))
    elif analysed:
        info["outcomes"] = list(analysed)
    if summary is not None:
        info["batch"] = {"ok": summary.ok, "failed": summary.failed, "pending": summary.pending}
    elif "batch" in before:
        info["batch"] = before["batch"]
    return info


def _write_design(study: Study, out: Path, summary) -> None:
    folder = sensitivity_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    info = _design_record(study, out, summary)
    _write_if_changed(folder / "design.json", json.dumps(info, indent=1, default=str) + "\n")
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
    _write_if_changed(folder / "factors.csv", factors.to_csv(index=False))


def _write_if_changed(path: Path, text: str) -> None:
    """Atomically, and not at all when the file already says this (a resume keeps mtimes)."""
    data = text.encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            return
    except OSError:
        pass
    write_bytes_atomic(path, data)


def analyse_study(study: Study, out: str | Path, figures: bool = True) -> Analysis:
    """Indices, noise and figures of the study's outcomes from the batch in ``out``, written to
    ``out/sensitivity``.

    Outcomes **add up**: rows and figures of outcomes analysed earlier in ``out`` (by the same
    study) are kept; an outcome analysed again replaces its own rows and figure. Everything is
    computed (figures rendered) before the first file is replaced, and every file is written to
    a temporary sibling and renamed, so an interrupted analysis leaves the earlier files whole.
    The returned :class:`Analysis` holds this call's outcomes only.
    """
    from sim.batch.results import load_results

    out = Path(out)
    problems = check_resume_study(study, out)
    if problems:
        raise ConfigError(problems)
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
    rendered = render_figures(analysis, plan) if figures else {}
    analysed = set(indices["outcome"])
    files = {
        "indices.csv": _merge_rows(indices, folder / "indices.csv", analysed),
        "noise.csv": _merge_rows(noise, folder / "noise.csv", analysed),
        "noise_factors.csv": _merge_rows(floors, folder / "noise_factors.csv", analysed),
        "samples.csv": _merge_samples(samples, folder / "samples.csv", plan),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in files.items():
        _write_csv(df, folder / name)
    if rendered:
        (folder / FIGURES).mkdir(exist_ok=True)
    for name, png in rendered.items():
        path = folder / FIGURES / name
        write_bytes_atomic(path, png)
        analysis.figures.append(path)
    info = _design_record(study, out, analysed=list(dict.fromkeys(indices["outcome"])))
    _write_if_changed(folder / "design.json", json.dumps(info, indent=1, default=str) + "\n")
    return analysis


def _read_earlier(path: Path) -> pd.DataFrame | None:
    """An earlier output table, or None (missing, or not a table povsim could have written)."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return None


def _merge_rows(new: pd.DataFrame, path: Path, analysed: set[str]) -> pd.DataFrame:
    """The earlier rows of outcomes not analysed now, then the new rows."""
    old = _read_earlier(path)
    if old is None or "outcome" not in old.columns or list(old.columns) != list(new.columns):
        return new
    kept = old[~old["outcome"].isin(analysed)]
    if kept.empty:
        return new
    if new.empty:
        return kept.reset_index(drop=True)
    return pd.concat([kept, new], ignore_index=True)


def _merge_samples(new: pd.DataFrame, path: Path, plan: Plan) -> pd.DataFrame:
    """The design points with the seed means of every outcome analysed so far."""
    old = _read_earlier(path)
    if old is None or "point" not in old.columns or len(old) != len(new):
        return new
    if not (old["point"].to_numpy() == new["point"].to_numpy()).all():
        return new
    design = {"point", "trajectory", *(f.name for f in plan.factors)}
    earlier = [c for c in old.columns if c not in design and c not in new.columns]
    if not earlier:
        return new
    return pd.concat([new, old[earlier].reset_index(drop=True)], axis=1)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    write_bytes_atomic(path, df.to_csv(index=False).encode())
