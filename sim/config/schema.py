"""The scenario schema: types and bounds of every field (values and their sources live in
``sim/config/parameters/defaults.toml``). Strict: ``years = true`` or ``enabled = "yes"`` are
mistakes, not numbers or booleans; no inf or nan.
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_validator,
)

from sim.config.files import check_name
from sim.config.identification import CATEGORIES, Identification  # noqa: F401 (re-exported)
from sim.config.parameters import default_values, instrument_names
from sim.config.programme import Programme
from sim.config.register import Register
from sim.config.types import (  # noqa: F401 (re-exported)
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    Prob,
    Range,
    Strict,
    YearOrNever,
)

# ---------------------------------------------------------------------------------------------
# Field types: sim.config.types (re-exported here, where instruments import them from)


def _range_ok(v: list[float], lo: float = -math.inf, hi: float = math.inf) -> list[float]:
    if v[0] > v[1]:
        raise ValueError(f"must be [min, max] with min <= max, got {v}")
    if v[0] < lo or v[1] > hi:
        raise ValueError(f"values must lie in [{lo}, {hi}], got {v}")
    return v


# ---------------------------------------------------------------------------------------------
# Scenario schema (values come from sim/config/parameters/defaults.toml; here only types and bounds)


class Meta(Strict):
    name: Annotated[str, AfterValidator(check_name)]
    base_year: Annotated[int, Field(ge=1949, le=2100)]
    years: Annotated[int, Field(ge=1, le=100)]


class Category(Strict):
    households: NonNegInt
    people: NonNegInt
    size_weight: PosFloat


class Categories(Strict):
    industry: Category
    relocation: Category
    medical: Category
    education: Category
    dibao: Category


class Registered(Strict):
    households: NonNegInt
    people: NonNegInt
    categories: Categories


class Labour(Strict):
    working_age_min: Annotated[int, Field(ge=10, le=30)]
    working_age_max: Annotated[int, Field(ge=40, le=80)]
    elderly_farm_age_max: Annotated[int, Field(ge=40, le=100)]
    elderly_labour_weight: Prob
    chronic_labour_weight: Prob
    no_labour_share_dibao: Prob
    no_labour_share_medical: Prob
    no_labour_share_other: Prob
    no_labour_elderly_share: Prob


class Age(Strict):
    band_edges: list[Annotated[int, Field(ge=0, le=120)]]
    shares_registered: list[Prob]
    shares_other: list[Prob]
    shares_dibao: list[Prob]

    @model_validator(mode="after")
    def _bands(self) -> Age:
        e = self.band_edges
        if len(e) < 2 or any(b <= a for a, b in zip(e, e[1:], strict=False)):
            raise ValueError("band_edges must be at least two strictly increasing ages")
        for name in ("shares_registered", "shares_other", "shares_dibao"):
            s = getattr(self, name)
            if len(s) != len(e) - 1:
                raise ValueError(f"{name} needs {len(e) - 1} shares (one per band), got {len(s)}")
            if abs(sum(s) - 1.0) > 1e-6:
                raise ValueError(f"{name} must sum to 1, got {sum(s):.6g}")
        return self


class Health(Strict):
    chronic_registered: Prob
    chronic_other: Prob
    disability_registered: Prob
    disability_other: Prob
    capacity_secondary_cause: Prob
    illness_secondary_cause: Prob
    chronic_age_reference: PosFloat
    chronic_age_factor: Annotated[Range, AfterValidator(lambda v: _range_ok(v, 0.0))]


class Schooling(Strict):
    compulsory_enrolment: Prob
    high_school_enrolment: Prob
    university_enrolment: Prob
    poverty_barrier: Prob
    dropout_poor: Prob
    years_primary_skill: NonNegFloat
    university_skill: NonNegFloat
    adult_years: Annotated[list[NonNegFloat], Field(min_length=2, max_length=2)]
    adult_years_sd: NonNegFloat
    adult_years_decline_from: Annotated[int, Field(ge=0, le=120)]
    adult_years_decline: NonNegFloat
    adult_years_decline_max: NonNegFloat


class Wealth(Strict):
    land_log_mean: Annotated[float, Field(ge=-10.0, le=10.0)]
    land_sigma: NonNegFloat
    expected_income: Annotated[list[NonNegFloat], Field(min_length=2, max_length=2)]
    savings_log_mean: Annotated[float, Field(ge=-10.0, le=10.0)]
    savings_sigma: NonNegFloat
    debt_log_mean: Annotated[float, Field(ge=-10.0, le=10.0)]
    debt_sigma: NonNegFloat


class Causes(Strict):
    industry_lack_capital: Prob
    industry_lack_skill: Prob
    capacity_lack_capital: Prob
    disaster_risk_threshold: Prob
    remoteness_threshold: Prob

    @model_validator(mode="after")
    def _shares(self) -> Causes:
        total = self.industry_lack_capital + self.industry_lack_skill
        if total > 1.0:
            raise ValueError(
                f"industry_lack_capital + industry_lack_skill = {total:g}: shares of one group "
                "of households, at most 1"
            )
        return self


class Population(Strict):
    households: PosInt
    people: PosInt
    max_household_size: Annotated[int, Field(ge=1, le=30)]
    productivity_sigma: NonNegFloat
    productivity_registered: PosFloat
    work_propensity_other: Annotated[float, Field(ge=-5.0, le=5.0)]
    female_share: Prob
    relocation_village_share: Annotated[float, Field(gt=0.0, le=1.0)]
    relocation_disaster_weight: NonNegFloat
    registered: Registered
    labour: Labour
    age: Age
    health: Health
    schooling: Schooling
    wealth: Wealth
    causes: Causes


class Villages(Strict):
    count: PosInt
    poor: NonNegInt
    resettlement_sites: NonNegInt
    registered_in_poor_villages: Prob
    remoteness_poor: Annotated[list[PosFloat], Field(min_length=2, max_length=2)]
    remoteness_other: Annotated[list[PosFloat], Field(min_length=2, max_length=2)]
    disaster_risk_poor: Range
    disaster_risk_other: Range
    infrastructure_poor: Range
    infrastructure_other: Range
    land_productivity: Range

    @field_validator(
        "disaster_risk_poor", "disaster_risk_other", "infrastructure_poor", "infrastructure_other"
    )
    @classmethod
    def _unit_range(cls, v: list[float]) -> list[float]:
        return _range_ok(v, 0.0, 1.0)

    @field_validator("land_productivity")
    @classmethod
    def _pos_range(cls, v: list[float]) -> list[float]:
        return _range_ok(v, 0.0)

    @model_validator(mode="after")
    def _poor_le_count(self) -> Villages:
        if self.poor > self.count:
            raise ValueError(
                f"poor villages ({self.poor}) cannot exceed villages.count ({self.count})"
            )
        return self


class Assets(Strict):
    trap: bool
    threshold: NonNegFloat
    width: PosFloat
    return_low: Annotated[float, Field(ge=-1.0, le=2.0)]
    return_high: Annotated[float, Field(ge=-1.0, le=2.0)]
    return_flat: Annotated[float, Field(ge=-1.0, le=2.0)]
    livestock_share: Prob
    initial_registered: NonNegFloat
    initial_other: NonNegFloat
    sigma: NonNegFloat
    savings_months: NonNegFloat
    labour_floor: Prob
    reinvest_share: Prob
    capacity_per_labour: PosFloat


class Credit(Strict):
    income_multiple: NonNegFloat
    asset_share: Prob
    village_multiple: NonNegFloat
    min_consumption: Prob


class Skill(Strict):
    mean_registered: PosFloat
    mean_other: PosFloat
    sigma: NonNegFloat
    migrant_elasticity: NonNegFloat


class Economy(Strict):
    poverty_line: Annotated[list[PosFloat], Field(min_length=1)]
    line_growth: Annotated[float, Field(ge=-0.5, le=1.0)]
    wage_growth: Annotated[float, Field(ge=-0.5, le=1.0)]
    migrant_monthly_wage: NonNegFloat
    migrant_months: Annotated[float, Field(ge=0, le=12)]
    migrant_remit_share: Prob
    migrant_base_prob: Prob
    chronic_migration_factor: NonNegFloat
    max_work_chance: Prob
    migrant_age_max: Annotated[int, Field(ge=16, le=80)]
    labour_persistence: Prob
    local_persistence: Prob
    local_daily_wage: NonNegFloat
    local_max_days: Annotated[float, Field(ge=0, le=366)]
    local_job_prob: Prob
    local_remoteness_penalty: Prob
    local_infrastructure_weight: Prob
    local_skill_cap: PosFloat
    local_worker_farm_share: Prob
    land_per_person: NonNegFloat
    farm_gross_per_mu: NonNegFloat
    farm_cost_per_mu: NonNegFloat
    labour_per_mu: PosFloat
    farm_infrastructure_weight: Prob
    land_rent_per_mu: NonNegFloat
    rent_remoteness_discount: Prob
    ag_subsidy_per_mu: NonNegFloat
    pension_monthly: Annotated[list[NonNegFloat], Field(min_length=1)]
    pension_age: Annotated[int, Field(ge=0, le=120)]
    subsistence_per_person: NonNegFloat
    consumption_floor: Prob
    saving_rate: Prob
    investment_share: Prob
    savings_interest: Annotated[float, Field(ge=0, le=1)]
    asset_depreciation: Prob
    distress_sale_discount: Prob
    distress_sale_share: Prob
    house_renovation_cost: NonNegFloat
    unsafe_house_registered: Prob
    unsafe_house_other: Prob
    initial_debt_sick: NonNegFloat
    debt_interest: Annotated[float, Field(ge=0, le=1)]
    debt_repay_share: Prob
    assets: Assets
    skill: Skill
    credit: Credit


class Illness(Strict):
    enabled: bool
    incidence: Prob
    incidence_registered: Prob
    age_gradient: NonNegFloat
    chronic_onset: Prob
    chronic_recovery: Prob
    acute_cost_mean: NonNegFloat
    acute_cost_sigma: NonNegFloat
    chronic_cost: NonNegFloat
    acute_work_loss: Prob
    cost_growth: Annotated[float, Field(ge=-0.5, le=1.0)]


class Insurance(Strict):
    enabled: bool
    enrolment: Prob
    reimbursement: Prob
    outpatient_reimbursement: Prob
    catastrophic_share: Prob


class Disaster(Strict):
    enabled: bool
    risk_multiplier: NonNegFloat
    farm_loss: Prob
    asset_loss: Prob
    house_damage: Prob


class Market(Strict):
    volatility: NonNegFloat
    persistence: Annotated[float, Field(ge=0.0, lt=1.0)]


class EnterpriseShocks(Strict):
    failure_multiplier: NonNegFloat
    reentry_years: Annotated[int, Field(ge=1, le=100)]


class Shocks(Strict):
    illness: Illness
    insurance: Insurance
    disaster: Disaster
    market: Market
    enterprise: EnterpriseShocks


class Industry(Strict):
    lag: Annotated[int, Field(ge=0, le=30)]
    premium: Annotated[float, Field(ge=0.0, le=5.0)]
    volatility: NonNegFloat
    income_per_household: NonNegFloat
    failure_risk: Prob


class EnterpriseDefaults(Strict):
    initial_link_share: Prob
    job_wage: NonNegFloat


class EnterpriseSpec(Strict):
    """One leading enterprise or cooperative; unset fields inherit from its industry."""

    name: str
    industry: str
    capacity: NonNegInt = Field(description="households it can link")
    jobs: NonNegInt = 0
    premium: Annotated[float, Field(ge=0.0, le=5.0)] | None = None
    failure_risk: Prob | None = None
    lag: Annotated[int, Field(ge=0, le=30)] | None = None
    village: NonNegInt | None = None


class SocialSecurity(Strict):
    dibao_standard: Annotated[list[NonNegFloat], Field(min_length=1)]
    dibao_growth: Annotated[float, Field(ge=-0.5, le=1.0)]
    dibao_coverage: Prob
    dibao_coverage_other: Prob
    # the dibao linkage of the registered poor (sim.model.social_assistance); 0: never
    dibao_link_from: YearOrNever
    dibao_link_labour_max: Annotated[float, Field(ge=0.0, le=1.0)]
    dibao_link_take_up: Prob


class Budget(Strict):
    yearly: NonNegFloat
    unspent: Literal["return", "carry_over", "reallocate"]

    @field_validator("unspent", mode="before")
    @classmethod
    def _unspent(cls, value):
        if not isinstance(value, str) or value not in UNSPENT:
            choices = "; ".join(f"{k!r}: {v}" for k, v in UNSPENT.items())
            raise ValueError(
                f"got {value!r}; what happens to money an instrument cannot use: {choices}"
            )
        return value


# what ``budget.unspent`` can be: what happens to money an instrument cannot use in a year
UNSPENT = {
    "return": "it is returned at the end of the year",
    "carry_over": "it is added to next year's budget while the programme runs",
    "reallocate": "it goes to the strategy's other instruments that can use it, this year "
    "(comparisons at equal spending)",
}


class SchoolingCosts(Strict):
    compulsory_cost: NonNegFloat
    high_school_cost: NonNegFloat
    university_cost: NonNegFloat


def _section_model(name: str, leaves: dict[str, Any]) -> type[BaseModel]:
    """The config layer's check of one ``[instruments.NAME]`` table, derived from its defaults:
    the same keys (an unknown key is a typo), each value of its default's kind (a switch stays a
    switch, a number a finite number, a choice a string). Bounds and choices are the
    instrument's own parameter model's (``Instrument.params`` in sim.policies), checked right
    after this schema by ``sim.config.loading.instrument_problems``."""
    fields: dict[str, Any] = {}
    for key, value in leaves.items():
        if isinstance(value, bool):
            kind: Any = bool
        elif isinstance(value, int):
            kind = int | float  # an integer stays an integer (a count, a term in years)
        elif isinstance(value, float):
            kind = float  # strict float takes integers too
        elif isinstance(value, str):
            kind = str
        else:
            kind = type(value)
        fields[key] = (kind, ...)
    title = "".join(part.title() for part in name.split("_")) + "Section"
    return create_model(title, __base__=Strict, **fields)


def _instruments_model() -> type[BaseModel]:
    """The scenario's ``instruments`` section: one table per ``[instruments.NAME]`` of the
    defaults (instruments and the behavioural options). Config is the bottom layer and never
    imports the policies; the defaults file is where an instrument's parameters are declared,
    so the section follows the data (sim.policies.registry explains the split)."""
    tables = default_values()["instruments"]
    fields = {name: (_section_model(name, leaves), ...) for name, leaves in tables.items()}
    return create_model("Instruments", __base__=Strict, **fields)


Instruments = _instruments_model()

# the programme instruments, in the defaults' order (spending columns, receipts, docs tables)
INSTRUMENT_NAMES = instrument_names()


class StrategySpec(Strict):
    """A declarative strategy: which instruments, how the budget is split, and its schedule."""

    description: str = ""
    allocation: Literal["shares", "priority"] = "shares"
    shares: dict[str, Prob] = Field(default_factory=dict)
    order: list[str] | None = None
    match_causes: bool = False
    start_year: Annotated[int, Field(ge=0, le=100)] | None = None
    phase_out_year: Annotated[int, Field(ge=0, le=100)] | None = None
    support_after_exit: Annotated[int, Field(ge=0, le=100)] | None = None
    targeting: Literal["poorest_first", "category_first", "random"] | None = None
    budget: NonNegFloat | None = None
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> StrategySpec:
        problems = []
        for name in list(self.shares) + list(self.order or []) + list(self.params):
            if name not in INSTRUMENT_NAMES and not (name == "dependency" and name in self.params):
                problems.append(
                    f"unknown instrument {name!r}; allowed: {', '.join(INSTRUMENT_NAMES)}"
                )
        if self.allocation == "shares" and self.shares:
            total = sum(self.shares.values())
            if abs(total - 1.0) > 1e-6:
                problems.append(
                    f"shares sum to {total:.6g}; with allocation = 'shares' they must sum to 1"
                )
        if self.order is not None:
            missing = [n for n in self.order if n not in self.shares]
            if missing:
                problems.append(f"order names instruments without a share: {', '.join(missing)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# the scenario's ``[register]`` table: a field of that name shadows ``BaseModel.register`` (the
# ABC method, never used on a scenario), which pydantic warns about
warnings.filterwarnings(
    "ignore", message='Field name "register" in "Scenario"', category=UserWarning
)


class Scenario(Strict):
    meta: Meta
    population: Population
    villages: Villages
    economy: Economy
    shocks: Shocks
    industries: dict[str, Industry]
    enterprise_defaults: EnterpriseDefaults
    enterprises: list[EnterpriseSpec] = Field(default_factory=list)
    identification: Identification
    register: Register
    social_security: SocialSecurity
    budget: Budget
    schooling: SchoolingCosts
    programme: Programme
    instruments: Instruments
    strategies: dict[Annotated[str, AfterValidator(check_name)], StrategySpec] = Field(
        default_factory=dict
    )
    # a county's own register (docs/roster.md): a file relative to the scenario file; its
    # households start the model as registered, the rest of the county is synthesized
    roster: str | None = None
    roster_on_error: Literal["drop", "keep", "fail"] = "drop"

    _source: str = PrivateAttr("<scenario>")
    _overrides: dict = PrivateAttr(default_factory=dict)
    _tree: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistency(self) -> Scenario:
        problems: list[tuple[str, str]] = []
        for e in self.enterprises:
            if e.industry not in self.industries:
                problems.append(
                    (
                        "enterprises",
                        f"enterprise {e.name!r} names industry {e.industry!r}; "
                        f"allowed: {', '.join(sorted(self.industries))}",
                    )
                )
            if e.village is not None and e.village >= self.villages.count:
                problems.append(
                    (
                        "enterprises",
                        f"enterprise {e.name!r} village {e.village} is outside 0..{self.villages.count - 1}",
                    )
                )
        names = [e.name for e in self.enterprises]
        if len(set(names)) != len(names):
            problems.append(("enterprises", "enterprise names must be unique"))
        if problems:
            raise _FieldProblems(problems)
        return self

    # convenience ----------------------------------------------------------------------------
    def dibao_standard(self, year: int) -> float:
        """Standing rural dibao standard (yuan/person/year) in model year ``year``."""
        s = self.social_security
        if year < len(s.dibao_standard):
            return float(s.dibao_standard[year])
        return float(s.dibao_standard[-1]) * (1.0 + s.dibao_growth) ** (
            year - len(s.dibao_standard) + 1
        )

    def pension_monthly(self, year: int) -> float:
        """Basic rural pension (yuan/month) in model year ``year``; the last value after the
        list ends (nominal, as §2.5 says)."""
        p = self.economy.pension_monthly
        return float(p[min(max(year, 0), len(p) - 1)])

    def poverty_line(self, year: int) -> float:
        """Poverty line (yuan/person/year, current prices) in model year ``year``."""
        lines = self.economy.poverty_line
        if year < len(lines):
            return float(lines[year])
        return float(lines[-1]) * (1.0 + self.economy.line_growth) ** (year - len(lines) + 1)


class _FieldProblems(ValueError):
    """Raised inside a validator to report problems located at specific fields."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
