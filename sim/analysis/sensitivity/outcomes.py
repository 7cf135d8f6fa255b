"""The outcomes a study analyses (levels, or paired differences to a reference strategy) and
their values per design point."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.outcomes import paired_differences, parse_outcome, run_outcomes
from sim.config import ConfigError

# ---------------------------------------------------------------------------------------------
# Outcomes: METRIC@YEAR or derived, per strategy, or a paired difference between two strategies


@dataclass(frozen=True)
class OutcomeSpec:
    """``name`` as written in indices.csv: ``OUTCOME`` (one strategy), ``STRATEGY:OUTCOME``, or
    ``diff:A-B:OUTCOME`` (A minus B, paired on sample and replication)."""

    name: str
    base: str
    strategy: str
    minus: str | None = None


_DIFF = re.compile(r"^diff:(?P<pair>[^:]+):(?P<base>.+)$")


def resolve_outcomes(
    requested: Sequence[str], strategies: Sequence[str], horizon: int
) -> list[OutcomeSpec]:
    """Outcome names → specs; an unqualified outcome expands to one per strategy."""
    multi = len(strategies) > 1
    specs: list[OutcomeSpec] = []
    problems: list[str] = []
    for raw in requested:
        name = raw.strip()
        m = _DIFF.match(name)
        strategy, minus, base = None, None, name
        if m:
            base = m["base"]
            pairs = [
                (a, b) for a in strategies for b in strategies if a != b and f"{a}-{b}" == m["pair"]
            ]
            if not pairs:
                problems.append(
                    f"--outcome {name}: diff:A-B:OUTCOME needs two of the experiment's strategies "
                    f"({', '.join(strategies)}), e.g. diff:{strategies[0]}-"
                    f"{strategies[-1]}:poverty_rate@{horizon}"
                )
                continue
            strategy, minus = pairs[0]
        elif ":" in name:
            strategy, base = name.split(":", 1)
            if strategy not in strategies:
                problems.append(
                    f"--outcome {name}: {strategy!r} is not a strategy of the experiment "
                    f"({', '.join(strategies)})"
                )
                continue
        try:
            _, year = parse_outcome(base)
        except ValueError as exc:
            problems.append(f"--outcome {name}: {exc}")
            continue
        if year is not None and year > horizon:
            problems.append(f"--outcome {name}: year {year} is beyond the horizon ({horizon})")
            continue
        if minus is not None:
            specs.append(OutcomeSpec(name, base, strategy, minus))
        elif strategy is not None:
            specs.append(OutcomeSpec(name, base, strategy))
        elif multi:
            specs.extend(OutcomeSpec(f"{s}:{base}", base, s) for s in strategies)
        else:
            specs.append(OutcomeSpec(base, base, strategies[0]))
    if problems:
        raise ConfigError(problems)
    seen: dict[str, OutcomeSpec] = {}
    for s in specs:
        seen.setdefault(s.name, s)
    return list(seen.values())


def default_outcomes(strategies: Sequence[str], horizon: int) -> list[str]:
    """The poverty rate at the horizon, and its difference between the first two strategies."""
    out = [f"poverty_rate@{horizon}"]
    if len(strategies) > 1:
        out.append(f"diff:{strategies[0]}-{strategies[1]}:poverty_rate@{horizon}")
    return out


def outcome_matrices(
    results, specs: Sequence[OutcomeSpec], points: int, replications: int
) -> dict[str, np.ndarray]:
    """``Y[point, replication]`` per outcome from a batch's runs (NaN where a run failed)."""
    bases = sorted({s.base for s in specs})
    frame = run_outcomes(results, bases)
    out = {}
    for s in specs:
        if s.minus is None:
            part = frame[frame["strategy"] == s.strategy]
            column = s.base
        else:
            paired = paired_differences(frame, s.base, reference=s.minus, by=[])
            part = paired[paired["strategy"] == s.strategy]
            column = f"{s.base}_diff"
        wide = part.pivot_table(
            index="sample", columns="replication", values=column, aggfunc="first", dropna=False
        )
        wide = wide.reindex(index=range(points), columns=range(replications))
        out[s.name] = wide.to_numpy(dtype=float)
    return out
