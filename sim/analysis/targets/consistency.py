"""Is the plan consistent? Targets that contradict each other or test nothing, more exits than
registered households, implausible household sizes (speech 1's data problems): warnings, not
errors."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from sim.analysis.targets.spec import AFTER_PHASE_OUT, Target
from sim.model.outputs import OUTCOMES

PLAUSIBLE_SIZE = (1.5, 6.0)  # people per household outside this range is suspicious (speech 1)

# Metrics that never decrease from one year to the next (for the cross-year contradiction check).
CUMULATIVE = {name for name, o in OUTCOMES.items() if o.cumulative}
# Household counts of exits, compared with the registered households of the scenario.
EXIT_METRICS = {
    "exits",
    "exited_cumulative",
    "ever_exited",
    "exited_now",
    "sustained_exits",
    "exits_total",
}


# ---------------------------------------------------------------------------------------------
# Plan consistency


@dataclass(frozen=True)
class Issue:
    """One inconsistency in the plan: which check, which target(s), what is wrong."""

    check: str
    message: str
    target: str = ""
    severity: str = "warning"


def _overlap(a: Target, b: Target) -> bool:
    if a.strategies is None or b.strategies is None:
        return True
    return bool(set(a.strategies) & set(b.strategies))


def _empty(low: float, low_closed: bool, high: float, high_closed: bool) -> bool:
    return low > high or (low == high and not (low_closed and high_closed))


def _intersect(a: tuple, b: tuple) -> tuple[float, bool, float, bool]:
    """Intersection of two intervals given as (low, low_closed, high, high_closed)."""
    (la, lac, ha, hac), (lb, lbc, hb, hbc) = a, b
    lo, loc = (la, lac) if la > lb else (lb, lbc) if lb > la else (la, lac and lbc)
    hi, hic = (ha, hac) if ha < hb else (hb, hbc) if hb < ha else (ha, hac and hbc)
    return lo, loc, hi, hic


def _always_holds(t: Target) -> bool:
    lo, hi, v = t.info.low, t.info.high, t.value
    return (
        (t.op == "<=" and v >= hi)
        or (t.op == "<" and v > hi)
        or (t.op == ">=" and v <= lo)
        or (t.op == ">" and v < lo)
    )


def check_plan(
    targets: Sequence[Target],
    scenario=None,
    batch_strategies: Iterable[str] | None = None,
    phase_out_years: dict[str, set[int]] | None = None,
) -> list[Issue]:
    """Targets against each other and against the scenario; each problem once, as a warning.

    ``phase_out_years`` maps strategy → the phase-out years its runs use (for the after-phase-out
    metrics); ``batch_strategies`` the strategies that ran.
    """
    issues: list[Issue] = []
    ts = list(targets)
    # targets that cannot both hold (same metric, same year, overlapping strategies)
    for i, a in enumerate(ts):
        for b in ts[i + 1 :]:
            if a.metric != b.metric or not _overlap(a, b):
                continue
            if a.year == b.year:
                if _empty(*_intersect(a.interval(), b.interval())):
                    issues.append(
                        Issue(
                            "contradiction",
                            f"{a.name} ({a.label}) and {b.name} ({b.label}) cannot both hold",
                            f"{a.name}, {b.name}",
                        )
                    )
            elif a.metric in CUMULATIVE:
                early, late = (a, b) if a.year < b.year else (b, a)
                el, elc, _, _ = early.interval()
                _, _, lh, lhc = late.interval()
                if _empty(el, elc, lh, lhc):
                    issues.append(
                        Issue(
                            "contradiction",
                            f"{early.name} ({early.label}) and {late.name} ({late.label}) cannot "
                            f"both hold: {a.metric} never decreases from one year to the next",
                            f"{early.name}, {late.name}",
                        )
                    )
    for t in ts:
        info = t.info
        if _always_holds(t):
            bounds = f"{info.low:g}..{info.high:g}" if info.high < math.inf else f">= {info.low:g}"
            issues.append(
                Issue(
                    "always holds",
                    f"{t.name} ({t.label}) holds whatever happens: {t.metric} is {info.unit} "
                    f"({bounds}); it tests nothing",
                    t.name,
                )
            )
        if batch_strategies is not None and t.strategies is not None:
            missing = [s for s in t.strategies if s not in set(batch_strategies)]
            if missing:
                issues.append(
                    Issue(
                        "strategy not in batch",
                        f"{t.name}: strategy {', '.join(missing)} did not run in this batch; "
                        "the target is evaluated for the others only",
                        t.name,
                    )
                )
        if t.metric in AFTER_PHASE_OUT and phase_out_years:
            for s, years in sorted(phase_out_years.items()):
                if t.applies_to(s) and any(t.year <= y for y in years):
                    issues.append(
                        Issue(
                            "before phase-out",
                            f"{t.name}: year {t.year} is not after the phase-out year "
                            f"{max(years)} of {s}; {t.metric} is undefined there and counts "
                            "as missed",
                            t.name,
                        )
                    )
    if scenario is not None:
        issues.extend(_scenario_target_issues(ts, scenario))
        issues.extend(check_scenario(scenario))
    return issues


def _scenario_target_issues(targets: Sequence[Target], scenario) -> list[Issue]:
    pop = scenario.population
    registered = pop.registered.households
    out: list[Issue] = []
    for t in targets:
        if t.upper:
            continue
        info = t.info
        if t.metric in EXIT_METRICS and t.value > registered:
            out.append(
                Issue(
                    "exits above registered",
                    f"{t.name} ({t.label}) asks for more exits than the {registered:,} "
                    "households registered at the start; only households registered later "
                    "(newly poor) or exiting twice could make up the difference",
                    t.name,
                )
            )
        elif info.kind == "column" and info.unit == "households" and t.value > pop.households:
            out.append(
                Issue(
                    "above population",
                    f"{t.name} ({t.label}) can never hold: the scenario has {pop.households:,} "
                    "households",
                    t.name,
                )
            )
        elif info.kind == "column" and info.unit == "persons" and t.value > pop.people:
            out.append(
                Issue(
                    "above population",
                    f"{t.name} ({t.label}) can never hold: the scenario has {pop.people:,} people",
                    t.name,
                )
            )
    return out


def check_scenario(scenario) -> list[Issue]:
    """The scenario's own numbers, the way speech 1 worries about them: people per household.

    Category households adding up to the registered total is enforced by scenario validation;
    here a size outside 1.5-6 people per household points to a miscount (a village reported
    twice, households moved between categories without their people).
    """
    lo, hi = PLAUSIBLE_SIZE
    pop = scenario.population
    reg = pop.registered
    out: list[Issue] = []

    def size(where: str, people: int, households: int) -> None:
        if households <= 0 or people <= 0:
            return
        s = people / households
        if not lo <= s <= hi:
            out.append(
                Issue(
                    "household size",
                    f"scenario {where}: {people:,} people in {households:,} households is "
                    f"{s:.2f} people per household, outside the plausible {lo:g}-{hi:g}",
                )
            )

    size("population", pop.people, pop.households)
    size("population.registered", reg.people, reg.households)
    size(
        "non-registered households",
        pop.people - reg.people,
        pop.households - reg.households,
    )
    for cat in ("industry", "relocation", "medical", "education", "dibao"):
        c = getattr(reg.categories, cat)
        size(f"population.registered.categories.{cat}", c.people, c.households)
    total = sum(getattr(reg.categories, c).households for c in type(reg.categories).model_fields)
    if total != reg.households:  # pragma: no cover - scenario validation refuses this
        out.append(
            Issue(
                "categories",
                f"scenario: category households sum to {total:,} but registered households are "
                f"{reg.households:,}",
            )
        )
    return out


def issues_frame(issues: Sequence[Issue]) -> pd.DataFrame:
    return pd.DataFrame(
        [(i.severity, i.check, i.target, i.message) for i in issues],
        columns=["severity", "check", "target", "message"],
    )
