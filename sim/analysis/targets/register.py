"""Register targets and the plan: did the batch run under the targets file's plan, and what did a
register target cost in paper exits before its year and returns after it?

A register target (the active register empty by 2020) can be met on paper: under the plan's
pressure officials count households that are not out (paper exits, docs/ODD.md §7.15), and the
ones found below the line later come back (returns). "不要提过头指标,要留有余地": the verdict
alone does not show that cost, so it is reported beside it, in the runs that met the target and
in those that did not.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd

from sim.analysis.targets.consistency import Issue
from sim.analysis.targets.spec import Plan, Target

PLAN_PREFIX = "register.plan"
COST_COLUMNS = [
    "paper_exits_met",
    "paper_exits_missed",
    "later_returns_met",
    "later_returns_missed",
]


# ---------------------------------------------------------------------------------------------
# The plan each run ran under


def _experiment_constants(results) -> dict:
    """The experiment's ``[constants]`` on the plan (dotted paths), from the manifest's copy."""
    text = ((getattr(results, "manifest", None) or {}).get("experiment") or {}).get("text") or ""
    try:
        constants = tomllib.loads(text).get("constants") or {} if text else {}
    except tomllib.TOMLDecodeError:
        return {}
    flat: dict = {}

    def walk(node, prefix):
        for k, v in node.items():
            path = f"{prefix}{k}"
            if isinstance(v, dict):
                walk(v, path + ".")
            elif path.startswith(PLAN_PREFIX):
                flat[path] = v

    walk(constants, "")
    return flat


def _cell(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    return v.item() if isinstance(v, np.generic) else v


def run_plans(results, runs: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """Each run's plan as it ran (index run_id; columns exits: the yearly exits at the plan's
    speed, declare_year, speed): the batch's scenario with the experiment's constants and the
    run's levers and uncertainties on ``register.plan.*``. (None, reason) if the scenario
    cannot be read."""
    from sim.analysis.targets.file import load_batch_scenario
    from sim.config import ConfigError, load_scenario

    scenario, why = load_batch_scenario(results)
    if scenario is None:
        return None, why
    path = results.manifest["scenario"]["path"]
    constants = _experiment_constants(results)
    varied = [c for c in runs.columns if c.startswith(PLAN_PREFIX)]
    rows, cache = [], {}
    for r in runs[["run_id", *varied]].itertuples(index=False):
        over = {**constants, **{c: _cell(v) for c, v in zip(varied, r[1:], strict=True)}}
        key = repr(sorted(over.items()))
        if key not in cache:
            try:
                plan = load_scenario(path, over).register.plan if over else scenario.register.plan
            except ConfigError as exc:
                return None, f"{path} with {over}: {exc.problems[0]}"
            cache[key] = (tuple(plan.schedule()), int(plan.declare_year), float(plan.speed))
        rows.append((r[0], *cache[key]))
    frame = pd.DataFrame(rows, columns=["run_id", "exits", "declare_year", "speed"])
    return frame.set_index("run_id"), ""


def _trimmed(exits) -> tuple[int, ...]:
    exits = list(exits)
    while exits and exits[-1] == 0:
        exits.pop()
    return tuple(exits)


def check_batch_plan(plan: Plan, results, runs: pd.DataFrame) -> tuple[list[str], list[Issue]]:
    """Whether the batch ran under the targets file's plan: a line for the report and, when some
    or all runs ran another plan, a warning naming the plans they ran."""
    head = f"plan       {plan.label} (the targets file's [plan])"
    plans, why = run_plans(results, runs)
    if plans is None:
        msg = f"the plan was not checked against the batch: {why}"
        return [head, f"           {msg}"], [Issue("plan", msg)]
    want = _trimmed(plan.exits)
    same = plans["exits"].map(lambda e: _trimmed(e) == want) & (
        plans["declare_year"] == plan.declare_year
    )
    n, k = len(plans), int(same.sum())
    others = plans[~same].groupby(["exits", "declare_year", "speed"], sort=False).size()
    ran = "; ".join(
        f"{Plan(e, d).label}{'' if s == 1 else f' (speed {s:g})'}: {c} runs"
        for (e, d, s), c in others.items()
    )
    if k == n:
        return [head, f"           the batch ran under it (all {n} runs)"], []
    if k == 0:
        msg = f"the batch did not run under the targets file's plan ({plan.label}); it ran {ran}"
    else:
        msg = (
            f"{k} of {n} runs ran under the targets file's plan ({plan.label}); the others "
            f"ran {ran}"
        )
    return [head, f"           {msg}"], [Issue("plan", msg)]


# ---------------------------------------------------------------------------------------------
# What a register target cost


def register_costs(ts: pd.DataFrame, target: Target) -> pd.DataFrame | None:
    """Per run (index run_id): paper exits in years 1..the target's year and register returns
    after it (NaN when the batch ends at the target's year); None if the batch lacks them."""
    if not {"paper_exits", "register_returns"} <= set(ts.columns):
        return None
    y = target.year
    before = ts[(ts["year"] >= 1) & (ts["year"] <= y)].groupby("run_id")["paper_exits"].sum()
    after = ts[ts["year"] > y].groupby("run_id")["register_returns"].sum()
    ids = pd.Index(sorted(ts["run_id"].unique()), name="run_id")
    out = pd.DataFrame(
        {"paper": before.reindex(ids).fillna(0.0), "later": after.reindex(ids)}, index=ids
    )
    if not (ts["year"] > y).any():
        out["later"] = np.nan
    else:
        out["later"] = out["later"].fillna(0.0)
    return out.astype(float)


def cost_cells(costs: pd.DataFrame | None, met: np.ndarray, ids) -> dict:
    """Mean paper exits and later returns per run in the runs that met the target and in those
    that did not (NaN for an empty group, or when ``costs`` is None)."""
    cells = dict.fromkeys(COST_COLUMNS, math.nan)
    if costs is None:
        return cells
    c = costs.reindex(ids)
    for group, mask in (("met", met), ("missed", ~met)):
        if mask.any():
            cells[f"paper_exits_{group}"] = float(c["paper"].to_numpy()[mask].mean())
            later = c["later"].to_numpy()[mask]
            cells[f"later_returns_{group}"] = (
                float(later.mean()) if not np.isnan(later).all() else math.nan
            )
    return cells


def cost_lines(sub: pd.DataFrame, target: Target, horizon: int, width: int) -> list[str]:
    """The text under a register target: paper exits before its year and returns after it."""
    after = (
        f"register returns in years {target.year + 1}..{horizon}"
        if target.year < horizon
        else "no years after it in this batch"
    )
    lines = [
        f"  register cost, mean per run: paper exits in years 1..{target.year} / {after}",
        "  "
        + "strategy".ljust(width)
        + "  "
        + "met: paper / returns (runs)".rjust(34)
        + "  "
        + "missed: paper / returns (runs)".rjust(34),
    ]

    def cell(paper, later, runs) -> str:
        if runs == 0:
            return "no runs"
        ret = "-" if isinstance(later, float) and math.isnan(later) else f"{later:,.0f}"
        return f"{paper:,.0f} / {ret} ({runs})"

    for r in sub.itertuples(index=False):
        met_cell = cell(r.paper_exits_met, r.later_returns_met, int(r.met))
        missed_cell = cell(r.paper_exits_missed, r.later_returns_missed, int(r.runs - r.met))
        lines.append(
            "  "
            + str(r.strategy).ljust(width)
            + "  "
            + met_cell.rjust(34)
            + "  "
            + missed_cell.rjust(34)
        )
    return lines
