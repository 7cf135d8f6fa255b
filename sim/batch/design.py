"""What an experiment runs: its file's tables, the run specs (lever combination x uncertainty
sample x replication seed, each with a stable hash) and the Latin hypercube samples."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from sim.batch.distributions import Distribution, Values
from sim.config import (
    Strict,
)
from sim.config.files import check_name

STRATEGY = "strategy"  # the lever that picks the strategy: a special path, not a scenario field

# ---------------------------------------------------------------------------------------------
# Schema


class ExperimentMeta(Strict):
    name: Annotated[str, AfterValidator(check_name)]
    scenario: str
    years: Annotated[int, Field(ge=1, le=100)] | None = None
    description: str = ""


class Sampling(Strict):
    method: Literal["lhs", "sobol", "factorial"] = "lhs"
    samples: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seeds: Annotated[list[Annotated[int, Field(ge=0, lt=2**63)]], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _check(self) -> Sampling:
        if self.seeds is not None:
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError("seeds must be distinct")
            if self.replications is not None and self.replications != len(self.seeds):
                raise ValueError(
                    f"replications = {self.replications} but {len(self.seeds)} seeds are listed; "
                    "give one of the two, or make them agree"
                )
        if self.method == "sobol" and self.samples & (self.samples - 1):
            lo = 1 << (self.samples.bit_length() - 1)
            raise ValueError(
                f"sobol needs a power of two samples to keep its balance, got {self.samples}; "
                f"use {lo} or {lo * 2}"
            )
        return self

    @property
    def n_replications(self) -> int:
        if self.seeds is not None:
            return len(self.seeds)
        return 1 if self.replications is None else self.replications


class Outputs(Strict):
    households: bool = False
    flush_every: Annotated[int, Field(ge=1, le=100_000)] = 25


class ExperimentFile(Strict):
    experiment: ExperimentMeta
    levers: dict[str, Any] = Field(default_factory=dict)
    uncertainties: dict[str, Any] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    sampling: Sampling
    outputs: Outputs = Field(default_factory=Outputs)
    strategies: dict[str, dict[str, Any]] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The design


@dataclass(frozen=True)
class RunSpec:
    """One run: a lever combination, an uncertainty sample and a replication seed."""

    index: int
    run_id: str
    lever_index: int
    sample: int
    replication: int
    seed: int
    strategy: str
    levers: dict[str, Any]  # path → value, including ``strategy``
    uncertainties: dict[str, Any]  # path → sampled value
    overrides: dict[str, Any]  # everything applied to the scenario: constants, levers, samples


@dataclass
class Design:
    """A validated experiment: its file, its scenario (read once) and its run plan."""

    path: Path
    text: str
    sha256: str
    spec: ExperimentFile
    scenario_path: Path
    scenario_sha256: str
    scenario_data: dict
    base_overrides: dict[str, Any]
    levers: dict[str, list[Any]]
    uncertainties: dict[str, Distribution]
    lever_combos: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    seeds: list[int]
    _runs: list[RunSpec] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.experiment.name

    @property
    def total(self) -> int:
        return len(self.lever_combos) * len(self.samples) * len(self.seeds)

    def runs(self) -> list[RunSpec]:
        """Every run, in a fixed order: lever combination, then sample, then replication."""
        if self._runs is None:
            self._runs = list(_make_runs(self))
        return self._runs


def run_hash(strategy: str, seed: int, overrides: dict[str, Any]) -> str:
    """Short, stable hash of what a run computes (so an id never names two different runs)."""
    text = json.dumps(
        {"strategy": strategy, "seed": seed, "overrides": overrides},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _make_runs(design: Design):
    width = max(5, len(str(design.total - 1)))
    index = 0
    for li, combo in enumerate(design.lever_combos):
        strategy = str(combo.get(STRATEGY, "status_quo"))
        lever_over = {k: v for k, v in combo.items() if k != STRATEGY}
        for si, sample in enumerate(design.samples):
            overrides = {**design.base_overrides, **lever_over, **sample}
            for ri, seed in enumerate(design.seeds):
                run_id = f"{index:0{width}d}-{run_hash(strategy, seed, overrides)}"
                yield RunSpec(
                    index=index,
                    run_id=run_id,
                    lever_index=li,
                    sample=si,
                    replication=ri,
                    seed=seed,
                    strategy=strategy,
                    levers=dict(combo),
                    uncertainties=dict(sample),
                    overrides=overrides,
                )
                index += 1


def replication_seeds(master_seed: int, n: int) -> list[int]:
    """``n`` run seeds from the master seed (SeedSequence); the first k never change with n."""
    words = np.random.SeedSequence(master_seed, spawn_key=(1,)).generate_state(n, np.uint64)
    return [int(w >> np.uint64(1)) for w in words]  # 63 bits: fits int64 columns


def sample_uncertainties(
    uncertainties: dict[str, Distribution],
    method: str,
    n: int,
    master_seed: int,
    integer_paths: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Uncertainty samples: unit-cube points (LHS / Sobol' / factorial) through inverse CDFs."""
    names = list(uncertainties)
    if not names:
        return [{}]
    dists = [uncertainties[k] for k in names]
    if method == "factorial":
        mid = (np.arange(n) + 0.5) / n  # continuous distributions: n levels at mid-quantiles
        axes = [d.values if isinstance(d, Values) else list(d.ppf(mid)) for d in dists]
        columns = [list(col) for col in zip(*itertools.product(*axes), strict=True)]
    else:
        from scipy.stats import qmc

        rng = np.random.default_rng(np.random.SeedSequence(master_seed, spawn_key=(0,)))
        if method == "lhs":
            engine = qmc.LatinHypercube(d=len(names), scramble=True, rng=rng)
        else:
            engine = qmc.Sobol(d=len(names), scramble=True, rng=rng)
        unit = engine.random(n)
        columns = [
            d.pick(unit[:, j]) if isinstance(d, Values) else list(d.ppf(unit[:, j]))
            for j, d in enumerate(dists)
        ]
    out = []
    for row in zip(*columns, strict=True):
        sample = {}
        for name, value in zip(names, row, strict=True):
            sample[name] = _plain(value, name in integer_paths)
        out.append(sample)
    return out


def _plain(value: Any, integer: bool = False) -> Any:
    """numpy scalars → Python values (JSON-able, hash-stable); integer fields rounded."""
    if isinstance(value, np.generic):
        value = value.item()
    if integer and isinstance(value, float):
        return int(round(value))
    return value
