"""PovertyModel: one step is one year, its phases in the fixed order of docs/ODD.md §3."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.config import Scenario, load_scenario
from sim.model import demography, economy, identification, register, shocks, social_assistance
from sim.model.changes import Changes
from sim.model.effects import Effects, Ledger, StrategyLike
from sim.model.enterprises import Enterprise, build_enterprises
from sim.model.households import Household, household_frame
from sim.model.metrics import collect
from sim.model.outputs import COLUMNS
from sim.model.population import link_initial, synthesize
from sim.model.rng import Streams, fresh_seed
from sim.model.year import YearState

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "county.toml"

# the plugin point: the package that resolves strategy names (documented in sim/model/__init__.py)
STRATEGY_PROVIDER = "sim.policies"
# the plugin point for a scenario with a roster: the module whose ``population(scenario, rng)``
# builds the households from the county's register (docs/roster.md)
ROSTER_PROVIDER = "sim.roster.population"


def populate(scenario: Scenario, rng: np.random.Generator):
    """The year-0 villages, households and persons: synthesized, or from the scenario's roster."""
    if scenario.roster is None:
        return synthesize(scenario, rng)
    return importlib.import_module(ROSTER_PROVIDER).population(scenario, rng)


def resolve_strategy(strategy: str | StrategyLike, scenario: Scenario) -> StrategyLike:
    """A strategy object for the model: an object with the :class:`StrategyLike` protocol is
    used as it is (bound to the scenario if it has ``bind``); a name is looked up, late, in
    ``STRATEGY_PROVIDER``'s ``get_strategy(name, scenario)``: the model never imports the
    policies, they plug in."""
    if isinstance(strategy, str):
        provider = importlib.import_module(STRATEGY_PROVIDER)
        return provider.get_strategy(strategy, scenario)
    bind = getattr(strategy, "bind", None)
    bound = bind(scenario) if callable(bind) else strategy
    if not isinstance(bound, StrategyLike):
        raise TypeError(
            f"strategy: expected a name or an object with budget, params, in_programme and "
            f"apply; got {type(strategy).__name__}"
        )
    return bound


class PovertyModel(mesa.Model):
    """Rural households under a poverty-alleviation strategy, one step per year.

    Args:
        scenario: a :class:`sim.config.Scenario`, or a path to a scenario TOML file.
        strategy: a strategy name (see ``povsim strategies``) or a strategy object
            (:class:`sim.model.effects.StrategyLike`, e.g. a ``sim.policies.Strategy``).
        seed: the run's seed; every random stream is spawned from it. ``None`` draws one and
            records it in ``model.seed``.
        years: horizon; defaults to the scenario's ``meta.years``.
        overrides: dotted-path overrides applied when ``scenario`` is a path.
        agents: create a Mesa ``Household`` agent per household (live views); ``False`` skips it
            for batch runs that never look at agents.

    ``mesa.batch_run`` works (docs/batch.md), with Mesa 3.3's step-count quirk: it steps while
    ``model.steps <= max_steps`` and reports DataCollector entries ``0 .. steps - 1``, so the
    last year computed is never reported. Year 0 is collected at construction and entry s is
    year s: for years 0..H pass ``years=H + 1, max_steps=H`` and read the ``year`` column. Pass
    seeds explicitly (``"seed": [...]``); ``iterations`` does not give distinct replicates.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        strategy: str | StrategyLike = "status_quo",
        seed: int | None = None,
        years: int | None = None,
        overrides: dict[str, Any] | None = None,
        agents: bool = True,
        **kwargs: Any,
    ):
        if seed is None:
            seed = fresh_seed()
        super().__init__(seed=seed, **kwargs)
        if scenario is None:
            scenario = DEFAULT_SCENARIO
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, overrides)
        self.seed = int(seed)
        self.scenario = scenario
        self.strategy = resolve_strategy(strategy, scenario)
        self.years = int(years if years is not None else scenario.meta.years)
        self.year = 0
        self.streams = Streams(self.seed)

        self.villages, self.hh, self.persons = populate(
            scenario, self.streams.get("population.households")
        )
        n_v = scenario.villages.count
        self.ent, self.enterprise_names, self.industry_names = build_enterprises(
            scenario, n_v, self.streams.get("population.enterprises")
        )
        link_initial(scenario, self.hh, self.ent, self.streams.get("population.links"))
        self.industry_volatility = np.array(
            [scenario.industries[i].volatility for i in self.industry_names]
        )
        self.log_prices = np.zeros(1 + len(self.industry_names))
        self.crop_price = 1.0
        self.industry_price = np.ones(len(self.industry_names))
        self.illness_norm = None

        lab = scenario.population.labour
        self.working_age = (lab.working_age_min, lab.working_age_max)
        # the persons of household h are rows person_start[h]:person_start[h + 1]; the compiled
        # phases (sim/model/kernels.py) rely on it
        self.person_start = np.concatenate([[0], np.cumsum(self.hh.size, dtype=np.int64)])
        first = self.persons.hh[self.person_start[:-1]] if self.persons.n else self.persons.hh
        if not (
            (np.diff(self.persons.hh) >= 0).all()
            and np.array_equal(first, np.arange(self.hh.n))
            and self.person_start[-1] == self.persons.n
        ):
            raise ValueError("persons must be stored household by household, in household order")

        self.effects = Effects(self.hh.n)
        self.changes = Changes(self)
        self.ledger = Ledger(self.strategy.budget, scenario.budget.unspent == "carry_over")
        n = self.hh.n
        self.yr = YearState.zeros(n)
        self.economy_scratch = economy.Scratch()
        self.cumulative: dict[str, float] = {}
        self.initial_registered = int(self.hh.registered.sum())
        identification.open_register(self)  # the year-0 record and its errors (§7.6)
        self.rows: list[dict] = []

        if agents:
            Household.create_views(self, self.hh.n)
        for i, name in enumerate(self.enterprise_names):
            Enterprise(self, i, name)

        self.datacollector = mesa.DataCollector(
            model_reporters={c: (lambda m, c=c: m.rows[-1][c]) for c in COLUMNS}
        )
        self._year_zero()

    # ---- helpers ---------------------------------------------------------------------------------
    def line(self, year: int) -> float:
        return self.scenario.poverty_line(max(int(year), 0))

    @property
    def poverty_line(self) -> float:
        return self.line(self.year)

    def _record(self, events) -> None:
        self.rows.append(collect(self, events))
        self.datacollector.collect(self)

    # ---- the year ----------------------------------------------------------------------------------
    def _year_zero(self) -> None:
        """The registration year: state and incomes before any programme; no transitions."""
        keys = self.streams.keys
        shocks.illness(self, keys("illness", 0))
        shocks.markets(self, keys("market", 0))
        self.ledger.open_year(0, funded=False)
        economy.labour_and_income(self, keys("labour", 0))
        self.hh.prev_income_pc[:] = self.hh.income_pc  # the registration-year observation
        register.open_exited_before(self, keys("register", 0))  # the exits of 2014-2015
        identification.flag_monitoring(self, self.line(0))
        identification.update_status(self)  # 三保障 at registration (no event can happen)
        register.observe(self, keys("register", 0))  # the registration year's observation
        self._record(None)

    def step(self) -> None:
        hh, keys = self.hh, self.streams.keys
        self.year += 1
        y = self.year
        hh.prev_income_pc[:] = hh.income_pc
        hh.prev_transfers_programme[:] = hh.inc_transfers_programme
        # 1 demography
        demography.step(self, keys("demography", y))
        # 2 shocks
        shocks.illness(self, keys("illness", y))
        shocks.disasters(self, keys("disaster", y))
        shocks.markets(self, keys("market", y))
        shocks.enterprises(self, keys("enterprise", y))
        # 3 identification
        identification.identify(self, keys("targeting", y))
        social_assistance.link_dibao(self, keys("assistance", y))  # 3b the dibao linkage
        # 4 policies
        self.ledger.open_year(y, self.strategy.in_programme(y), self.strategy.year_budget(y))
        self.effects.reset()
        self.changes.new_year()
        self.strategy.apply(self)
        self.changes.close_year()
        # 5 labour and income
        economy.labour_and_income(self, keys("labour", y))
        # 6 assets
        economy.assets(self, keys("assets", y))
        # 7 status: the income layer (new poor, falls), then the register (returns, exits)
        events = identification.update_status(self)
        register.update(self, keys("register", y), events)
        # 8 metrics
        self._record(events)
        if self.year >= self.years:
            self.running = False

    def release(self) -> None:
        """Let the model be garbage-collected.

        Mesa 3.3 keeps a class-level reference to every model that created an agent
        (``mesa.Agent._ids``; mesa issue 3179, fixed upstream later), so a process that runs
        many models in turn (a batch worker) grows by the size of each one. Call this when done.
        """
        mesa.Agent._ids.pop(self, None)

    def run(self, years: int | None = None) -> PovertyModel:
        """Step through the horizon (or ``years`` more steps)."""
        n = self.years - self.year if years is None else int(years)
        for _ in range(max(n, 0)):
            self.step()
        return self

    # ---- results ---------------------------------------------------------------------------------
    def timeseries(self) -> pd.DataFrame:
        """One row per year 0..current year; columns documented in docs/outputs.md."""
        return pd.DataFrame(self.rows, columns=list(COLUMNS))

    def summary(self) -> dict:
        """Whole-run figures beside the timeseries (``povsim run`` writes them to run.json): the
        chronic/transient decomposition of income poverty and the county exit test."""
        passed = [r["calendar_year"] for r in self.rows if r["county_exit_test"]]
        declared = self.scenario.register.plan.declare_year
        return {
            "poverty_decomposition": register.chronic_transient(self),
            "county_exit_year": passed[0] if passed else None,
            "declared_exit_year": declared or None,
        }

    def households(self, first: dict[str, object] | None = None) -> pd.DataFrame:
        """One row per household, current state; ``first``: columns to put in front (a value or
        an array each), e.g. ``{"run_id": ...}``."""
        names = np.array(self.enterprise_names + [""], dtype=object)
        return household_frame(
            self.hh,
            self.persons,
            self.year,
            self.working_age,
            extra={"enterprise_name": names[self.hh.enterprise]},
            first=first,
        )
