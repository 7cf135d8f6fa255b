"""The validation runs: the county under each strategy and seed, with the per-year household
measures the checks need that the yearly table does not hold (assets, off-farm work, debt)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import Scenario
from sim.model.codes import Work

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SCENARIO = ROOT / "scenarios" / "county.toml"
HINDCAST_SCENARIO = ROOT / "scenarios" / "county_hindcast.toml"
DEFAULT_EXPERIMENT = ROOT / "experiments" / "transfusion_vs_blood_making.toml"
DEFAULT_OUT = ROOT / "docs" / "validation.md"
DEFAULT_SEEDS = (1, 2, 3)
# the hindcast's counts are small (a few returns a year by 2018): the calibration report's seeds
HINDCAST_SEEDS = (1, 2, 3, 4, 5)
STRATEGIES = ("status_quo", "transfusion", "blood_making", "precision")
PROGRAMME = ("transfusion", "blood_making", "precision")
YEARS = 10
# the most poverty microcredit lends a household without collateral (扶贫小额信贷, 2014): a debt
# above it is more than any one lender would give a poor household
DEBT_CAP = 50_000.0
OFF_FARM = (int(Work.LOCAL), int(Work.ENTERPRISE), int(Work.MIGRANT))


@dataclass
class Run:
    """One run: its yearly table and the household measures recorded each year."""

    strategy: str
    seed: int
    ts: pd.DataFrame
    assets: list[np.ndarray]  # productive assets by household, year 0..years
    offfarm: list[np.ndarray]  # working-age members working off the farm, by household and year
    working: list[np.ndarray]  # working-age members, by household and year
    debt_over_income: list[float]  # share of year-0-registered households owing > a year's income
    debt_over_cap: list[float]  # share of year-0-registered households owing > DEBT_CAP yuan
    admission: list[float]  # share of persons with a hospital episode in the year
    reg0: np.ndarray
    transfer_recipients: np.ndarray  # households that received programme transfers
    threshold: float
    trap: bool


@dataclass
class RunSet:
    runs: list[Run]
    seeds: tuple[int, ...]
    years: int
    unspent: str
    overrides: dict[str, Any] = field(default_factory=dict)
    scenario: Any = None  # the scenario the runs were made from (the trap check reads its rule)
    hindcast: list[Run] = field(default_factory=list)  # county_hindcast.toml under precision

    def of(self, strategy: str) -> list[Run]:
        return [r for r in self.runs if r.strategy == strategy]


def experiment_overrides(path: str | Path = DEFAULT_EXPERIMENT) -> dict[str, Any]:
    """The flagship experiment's single-valued levers (budget, programme years, unspent rule):
    the validation runs use the same settings. A missing file gives no overrides."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    out = {}
    for key, values in data.get("levers", {}).items():
        if key != "strategy" and isinstance(values, list) and len(values) == 1:
            out[key] = values[0]
    return out


def _household_counts(model) -> tuple[np.ndarray, np.ndarray]:
    p = model.persons
    lo, hi = model.working_age
    age_ok = (p.age >= lo) & (p.age <= hi)
    off = age_ok & np.isin(p.work, OFF_FARM)
    n = model.hh.n
    working = np.bincount(p.hh[age_ok], minlength=n)
    offfarm = np.bincount(p.hh[off], minlength=n)
    return offfarm, working


def _debt_share(model, reg0: np.ndarray) -> float:
    hh = model.hh
    if not reg0.any():
        return float("nan")
    over = hh.debt[reg0] > np.maximum(hh.net_income[reg0], 1.0)
    return float(over.mean())


def _debt_over_cap(model, reg0: np.ndarray) -> float:
    return float((model.hh.debt[reg0] > DEBT_CAP).mean()) if reg0.any() else float("nan")


def _recipients(hh) -> np.ndarray:
    got = np.zeros(hh.n, dtype=bool)
    for name in ("cash_transfer_first", "dibao_first"):
        col = getattr(hh, name, None)
        if col is not None:
            got |= col >= 0
    return got


def run_one(scenario: Scenario, strategy: str, seed: int, years: int = YEARS) -> Run:
    """Step one run, recording the household measures every year."""
    from sim.model import PovertyModel

    model = PovertyModel(scenario, strategy=strategy, seed=seed, years=years, agents=False)
    reg0 = model.hh.registered_year == 0
    assets, off, work, debt, capped, adm = [], [], [], [], [], []

    def record():
        assets.append(model.hh.assets.copy())
        o, w = _household_counts(model)
        off.append(o)
        work.append(w)
        debt.append(_debt_share(model, reg0))
        capped.append(_debt_over_cap(model, reg0))
        adm.append(float(model.persons.acute.mean()) if model.persons.n else float("nan"))

    record()
    for _ in range(years):
        model.step()
        record()
    a = scenario.economy.assets
    return Run(
        strategy,
        seed,
        model.timeseries(),
        assets,
        off,
        work,
        debt,
        capped,
        adm,
        reg0,
        _recipients(model.hh),
        float(a.threshold),
        bool(a.trap),
    )


def collect(scenario: Scenario, strategies=STRATEGIES, seeds=DEFAULT_SEEDS, years=YEARS) -> RunSet:
    runs = [run_one(scenario, s, seed, years) for s in strategies for seed in seeds]
    unspent, overrides = str(scenario.budget.unspent), scenario._overrides
    return RunSet(runs, tuple(seeds), years, unspent, overrides, scenario)


def collect_hindcast(scenario: Scenario, seeds=DEFAULT_SEEDS) -> list[Run]:
    """The hindcast (the policy actually followed, to the declare year) under precision."""
    return [run_one(scenario, "precision", seed, scenario.meta.years) for seed in seeds]
