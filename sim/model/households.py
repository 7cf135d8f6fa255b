"""Household and person state as a struct of numpy arrays, and the Household agent as a live view.

The yearly phases work on whole arrays (docs/architecture.md). Mesa users still get agents: a
``Household`` reads and writes its row, so ``model.agents.select(...)``, ``hh.income`` and
``hh.skill = 1.2`` work and stay consistent with the arrays.
"""

from __future__ import annotations

import gc
import itertools
import weakref
from collections import deque

import numpy as np
import pandas as pd
from mesa import Agent
from mesa.agent import AgentSet

from sim.model.codes import CATEGORY_NAMES, INSTRUMENTS, STATUS_NAMES, TRIGGER_NAMES, Stage

INCOME_COMPONENTS = ("farm", "livestock", "wage", "migrant", "business", "property", "transfers")
SPENDING_COMPONENTS = ("medical", "schooling", "debt_service")

# name: (dtype, description). Money is float64 yuan; counts, flags and codes are narrow.
HOUSEHOLD_FIELDS: dict[str, tuple[str, str]] = {
    "village": ("int32", "village index (resettlement sites come after the villages)"),
    "home_village": ("int32", "village at year 0"),
    "size": ("int16", "persons in the household"),
    "land": ("float64", "cultivated land, mu"),
    "land_let": ("float64", "land let out for good (left behind by relocation), mu"),
    "assets": ("float64", "productive assets, yuan"),
    "dividend": (
        "float64",
        "yearly dividend of a programme-funded asset share (资产收益), yuan/year",
    ),
    "dividend_from": ("int16", "first year the asset share pays its dividend"),
    "dividend_until": ("int16", "last year the asset share pays (its life, or its failure)"),
    "savings": ("float64", "liquid savings, yuan"),
    "debt": ("float64", "outstanding debt, yuan"),
    "credit_limit": ("float64", "informal credit limit this year (economy.credit), yuan"),
    "arrears": ("float64", "interest left unpaid this year, added to debt, yuan"),
    "unpaid_bills": ("float64", "medical and school bills left unpaid this year, yuan"),
    "deprived": ("bool", "consumption below the floor this year because the credit limit bound"),
    "productivity": ("float64", "latent farm and business productivity (multiplier)"),
    "house_safe": ("bool", "house is safe (a 三保障 condition)"),
    "insured": ("bool", "enrolled in rural medical insurance"),
    "frail": ("bool", "higher illness incidence (registered at year 0)"),
    "registered": ("bool", "ever on the register (建档立卡)"),
    "registered_year": (
        "int16",
        "year first registered (-1 never; -2 before the base year, exited by it: register.exited_before)",
    ),
    "status": ("int8", "0 never registered, 1 poor, 2 exited, 3 returned"),
    "causes": ("int16", "causes of poverty, bit flags (sim.model.codes.Cause)"),
    "primary_cause": ("int16", "primary cause (one Cause flag, 0 none)"),
    "category": ("int8", "primary measure, -1 none (sim.model.codes.Category)"),
    "recorded_category": (
        "int8",
        "category on the register's record, which targeting reads (乱归类 moves it), -1 none",
    ),
    "recorded_causes": ("int16", "causes on the register's record, which targeting reads"),
    "listed": ("int8", "times listed on the register: 0 never registered, 1, 2 a duplicate (重报)"),
    "duplicate_cost": ("float64", "programme money paid to the duplicate listing, yuan"),
    "enterprise": ("int32", "linked enterprise index, -1 none"),
    "link_year": ("int16", "year linked to the enterprise, -1 none"),
    "enterprise_lost_year": ("int16", "year the linked enterprise failed, -1 never"),
    "relocated_year": ("int16", "year relocated, -1 never"),
    "exit_year": ("int16", "year of the last exit, -1 never"),
    "first_exit_year": ("int16", "year of the first exit, -1 never"),
    "return_year": ("int16", "year of the last return, -1 never"),
    "first_return_year": ("int16", "year of the first return after the first exit, -1 never"),
    "returns": ("int16", "number of returns to poverty"),
    "return_trigger": ("int8", "trigger of the last return (sim.model.codes.Trigger)"),
    "dibao": ("bool", "on the standing rural dibao (minimum income guarantee)"),
    "at_risk": ("bool", "flagged by monitoring this year (防返贫监测)"),
    "measured_pc": (
        "float64",
        "income per person as officials measure it this year (income_pc with measurement error)",
    ),
    "years_above": ("int16", "consecutive years measured_pc was at or above the exit line"),
    "guaranteed": (
        "bool",
        "三保障 met this year (safe house, insured, no compulsory dropout); registered households",
    ),
    "fall_trigger": (
        "int8",
        "exited and below the line: trigger of the year it fell (a re-registration's), 0 none",
    ),
    "paper_exit": (
        "bool",
        "the last exit was on paper (income below the line or 三保障 unmet) and the household "
        "has not been out in fact since",
    ),
    "line_ratio_sum": ("float64", "sum over years of disposable income per person / line"),
    "sq_gap_sum": ("float64", "sum over years of the squared poverty gap (disposable income)"),
    "labour_units": ("float64", "able-bodied labour weighted by health, this year"),
    "inc_farm": ("float64", "gross farm output value, yuan/year"),
    "inc_livestock": ("float64", "net livestock income, yuan/year"),
    "inc_wage": ("float64", "local and enterprise wage income, yuan/year"),
    "inc_migrant": ("float64", "migrant income reaching the household, yuan/year"),
    "inc_business": ("float64", "diversified business and contract income, yuan/year"),
    "inc_property": ("float64", "rent, interest and asset dividends, yuan/year"),
    "inc_transfers": ("float64", "standing and programme transfers, yuan/year"),
    "inc_transfers_programme": ("float64", "of which programme transfers, yuan/year"),
    "inc_dibao_standing": (
        "float64",
        "of which standing dibao top-up (not programme money), yuan/year",
    ),
    "cost_production": ("float64", "farm production costs, yuan/year"),
    "sp_medical": ("float64", "out-of-pocket medical cost after insurance and aid, yuan/year"),
    "sp_schooling": ("float64", "schooling cost after aid, yuan/year"),
    "sp_debt_service": ("float64", "interest paid on debt, yuan/year"),
    "sp_consumption": ("float64", "consumption, yuan/year"),
    "medical_cost": ("float64", "medical cost before insurance, yuan/year"),
    "loss_illness": ("float64", "income lost to illness (cost + work lost), yuan/year"),
    "loss_disaster": ("float64", "farm output and assets lost to disasters, yuan/year"),
    "loss_enterprise": ("float64", "contract income lost to enterprise failure, yuan/year"),
    "loss_market": ("float64", "farm and contract income lost to low prices, yuan/year"),
    "net_income": ("float64", "net income before rigid spending, yuan/year"),
    "income": ("float64", "net income after rigid spending, yuan/year"),
    "income_pc": ("float64", "income per person, yuan/person/year (compared with the line)"),
    "prev_income_pc": ("float64", "income_pc of the previous year"),
    "prev_transfers_programme": ("float64", "programme transfers of the previous year"),
    "waiting": ("bool", "eligible for an instrument this year but not served (budget)"),
    "waiting_years": ("int16", "years in which the household waited for an instrument"),
    "dibao_programme": ("bool", "enrolled on dibao by the programme this year"),
    "job_access": ("float64", "multiplier on the chance of local work (relocation follow-up)"),
    "loan": ("float64", "outstanding poverty microcredit principal, yuan"),
    "loan_years_left": ("int8", "years left on the microcredit loan"),
    "loan_defaulted": ("bool", "defaulted on a microcredit loan (no new loans)"),
    "loan_extensions": ("int8", "times the current microcredit loan was extended (展期)"),
}

# which programme instruments a household received: first year, last year, total cost (yuan)
for _inst in INSTRUMENTS:
    HOUSEHOLD_FIELDS[f"{_inst}_first"] = ("int16", f"first year {_inst} was received, -1 never")
    HOUSEHOLD_FIELDS[f"{_inst}_last"] = ("int16", f"last year {_inst} was received, -1 never")
    HOUSEHOLD_FIELDS[f"{_inst}_cost"] = (
        "float64",
        f"programme cost of {_inst} for this household, yuan",
    )

PERSON_FIELDS: dict[str, tuple[str, str]] = {
    "hh": ("int32", "household index"),
    "age": ("int16", "age in years"),
    "female": ("bool", "sex"),
    "health": ("int8", "0 healthy, 1 chronic illness, 2 disability"),
    "acute": ("bool", "hospital episode this year"),
    "stage": ("int8", "schooling stage (sim.model.codes.Stage)"),
    "edu_years": ("int8", "years of schooling completed"),
    "base_skill": ("float64", "innate skill before schooling (multiplier)"),
    "skill": ("float64", "skill of a working person (1 = average rural worker)"),
    "work": ("int8", "work this year (sim.model.codes.Work)"),
    "local_year": (
        "int16",
        "year of the draw behind the person's local-work chance (renewed at random)",
    ),
    "work_propensity": ("float64", "persistent latent draw (standard normal) behind work choices"),
    "ent_job": ("bool", "holds a job in the household's linked enterprise"),
    "dropped_out": ("bool", "left compulsory school early"),
    "placed": (
        "bool",
        "on an organised placement in migrant work (劳务输出) until the worker comes back",
    ),
}


class Table:
    """A struct of arrays with a fixed set of named columns."""

    FIELDS: dict[str, tuple[str, str]] = {}

    def __init__(self, n: int, **columns: np.ndarray):
        self.n = int(n)
        for name, (dtype, _) in self.FIELDS.items():
            if name in columns:
                arr = np.array(columns.pop(name), dtype=dtype)  # always a copy: no aliasing
                if arr.shape != (self.n,):
                    raise ValueError(f"{name}: expected shape ({self.n},), got {arr.shape}")
            else:
                arr = np.zeros(self.n, dtype=dtype)
            setattr(self, name, arr)
        if columns:
            raise ValueError(f"unknown columns: {sorted(columns)}")

    def frame(self) -> pd.DataFrame:
        # one copy per column, kept as its own block: consolidating 100+ columns into 2-D
        # blocks would copy everything again (0.8 s at 625,000 households)
        return pd.DataFrame({name: getattr(self, name).copy() for name in self.FIELDS}, copy=False)

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self.FIELDS)


class HouseholdTable(Table):
    FIELDS = HOUSEHOLD_FIELDS


class PersonTable(Table):
    FIELDS = PERSON_FIELDS


class VillageTable(Table):
    FIELDS = {
        "remoteness": ("float64", "0 = by a town, 1 = far from markets"),
        "disaster_risk": ("float64", "yearly disaster probability"),
        "infrastructure": ("float64", "roads, water, power, index 0-1"),
        "land_productivity": ("float64", "relative land productivity"),
        "poor": ("bool", "registered poor village (贫困村)"),
        "site": ("bool", "resettlement site near a town"),
        "hit": ("bool", "disaster this year"),
    }


def household_frame(
    hh: HouseholdTable,
    persons: PersonTable,
    year: int,
    working_age: tuple[int, int] = (16, 64),
    extra: dict[str, np.ndarray] | None = None,
    first: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Current state, one row per household, with readable labels for the codes, ``first``
    columns (a value or an array) before and ``extra`` columns after. Built in one go: inserting
    columns one by one into a frame this wide fragments it."""
    ages = persons.age
    working = (ages >= working_age[0]) & (ages <= working_age[1])

    def members(flags: np.ndarray) -> np.ndarray:
        return np.bincount(persons.hh, weights=flags, minlength=hh.n).astype("int16")

    columns = dict(first or {})
    columns |= {"household": np.arange(hh.n), "year": np.full(hh.n, year)}
    columns |= {name: getattr(hh, name).copy() for name in hh.FIELDS}
    columns["status_name"] = pd.Categorical.from_codes(hh.status, list(STATUS_NAMES.values()))
    columns["category_name"] = pd.Series(hh.category).map(CATEGORY_NAMES)
    columns["return_trigger_name"] = pd.Series(hh.return_trigger).map(TRIGGER_NAMES)
    columns["members_working_age"] = members(working)
    columns["members_elderly"] = members(ages > working_age[1])
    columns["students"] = members(persons.stage >= Stage.COMPULSORY)
    columns |= extra or {}
    return pd.DataFrame(columns, copy=False)


class Household(Agent):
    """A live view of one row of the household table.

    Reading an attribute reads the array; assigning writes it. ``skill`` is the mean skill of the
    household's working-age members; assigning it sets each of them.
    """

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)

    @classmethod
    def create_views(cls, model, n: int) -> list[Household]:
        """One agent per row 0..n-1, registered with ``model`` as ``Agent.__init__`` does.

        Each agent gets the next ``unique_id`` and joins ``model.agents`` and
        ``model.agents_by_type[Household]``, but in bulk: ``Agent.__init__`` registers agents one
        at a time (two weak-set inserts and a debug log line each, ~5 µs), which made creating
        the views most of the county's setup. The agents are the same as ``Household(model, row)``
        would make (tests/test_model.py checks it); a Mesa without the internals used here gets
        the one-at-a-time path.
        """
        registry = (model.__dict__.get("_agents"), getattr(model, "_all_agents", None))
        if not isinstance(registry[0], dict) or not hasattr(registry[1], "_agents"):
            return [cls(model, row) for row in range(n)]
        first = next(Agent._ids[model])
        Agent._ids[model] = itertools.count(first + n)  # the ids taken here are not reused
        collecting = gc.isenabled()
        gc.disable()  # n new objects would trigger many full collections, all in vain
        try:
            # the attributes Agent.__init__ sets, plus the row; built by C-level iteration
            agents = list(map(object.__new__, itertools.repeat(cls, n)))
            names = itertools.repeat(("model", "unique_id", "pos", "row"))
            values = zip(
                itertools.repeat(model), range(first, first + n), itertools.repeat(None), range(n)
            )
            dicts = map(dict, map(zip, names, values))
            deque(map(object.__setattr__, agents, itertools.repeat("__dict__"), dicts), maxlen=0)
            model._agents.update(dict.fromkeys(agents))
            by_type = model.agents_by_type.get(cls)
            if by_type is None:
                by_type = model.agents_by_type[cls] = AgentSet([], random=model.random)
            for agent_set in (by_type, model._all_agents):
                # what WeakKeyDictionary.__setitem__ does for each key, done in bulk
                refs = agent_set._agents
                refs.data.update(
                    zip(
                        map(weakref.ref, agents, itertools.repeat(refs._remove)),
                        itertools.repeat(None),
                    )
                )
        finally:
            if collecting:
                gc.enable()
        return agents

    # generic row access -----------------------------------------------------------------------
    def __getattr__(self, name: str):
        # only called when normal lookup fails: fall through to the household arrays
        if name in HOUSEHOLD_FIELDS:
            return getattr(self.model.hh, name)[self.row].item()
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in HOUSEHOLD_FIELDS and name not in ("row",):
            getattr(self.model.hh, name)[self.row] = value
        else:
            object.__setattr__(self, name, value)

    # convenient derived views ----------------------------------------------------------------
    @property
    def members(self) -> np.ndarray:
        """Indices of this household's persons in the person table."""
        m = self.model
        start, stop = m.person_start[self.row], m.person_start[self.row + 1]
        return np.arange(start, stop)  # persons are stored household by household

    @property
    def poor(self) -> bool:
        return bool(self.model.hh.income_pc[self.row] < self.model.poverty_line)

    @property
    def skill(self) -> float:
        p = self.model.persons
        idx = self.members
        lo, hi = self.model.working_age
        w = idx[(p.age[idx] >= lo) & (p.age[idx] <= hi)]
        return float(p.skill[w].mean()) if len(w) else 0.0

    @skill.setter
    def skill(self, value: float) -> None:
        p = self.model.persons
        idx = self.members
        lo, hi = self.model.working_age
        p.skill[idx[(p.age[idx] >= lo) & (p.age[idx] <= hi)]] = value

    def __repr__(self) -> str:
        return (
            f"<Household {self.row}: size {self.size}, income_pc {self.income_pc:.0f}, "
            f"status {STATUS_NAMES[self.status]}>"
        )
