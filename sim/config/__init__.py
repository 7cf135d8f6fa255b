"""Scenario files: load TOML, merge defaults, apply dotted overrides, validate, explain problems.

Overrides are applied *before* validation so that a bad ``--set`` gets the same clear message as a
bad file. Every problem names the file (or the override), the field and what is allowed.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.config.files import BadInput, check_name, read_input_text
from sim.config.parameters import default_values

# ---------------------------------------------------------------------------------------------
# Errors


class ConfigError(BadInput):
    """Bad input in a configuration file: every problem found, each naming its file and field."""


# ---------------------------------------------------------------------------------------------
# Field types

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
Range = Annotated[list[float], Field(min_length=2, max_length=2)]

CATEGORIES = ("industry", "relocation", "medical", "education", "dibao")


class Strict(BaseModel):
    # no inf/nan: they validate as floats but turn incomes into NaN later
    # strict: `years = true` or `enabled = "yes"` are mistakes, not numbers or booleans
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


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


class Schooling(Strict):
    compulsory_enrolment: Prob
    high_school_enrolment: Prob
    university_enrolment: Prob
    poverty_barrier: Prob
    dropout_poor: Prob
    years_primary_skill: NonNegFloat
    university_skill: NonNegFloat


class Population(Strict):
    households: PosInt
    people: PosInt
    max_household_size: Annotated[int, Field(ge=1, le=30)]
    productivity_sigma: NonNegFloat
    productivity_registered: PosFloat
    work_propensity_other: Annotated[float, Field(ge=-5.0, le=5.0)]
    registered: Registered
    labour: Labour
    age: Age
    health: Health
    schooling: Schooling


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
    migrant_age_max: Annotated[int, Field(ge=16, le=80)]
    labour_persistence: Prob
    local_persistence: Prob
    local_daily_wage: NonNegFloat
    local_max_days: Annotated[float, Field(ge=0, le=366)]
    local_job_prob: Prob
    land_per_person: NonNegFloat
    farm_gross_per_mu: NonNegFloat
    farm_cost_per_mu: NonNegFloat
    labour_per_mu: PosFloat
    land_rent_per_mu: NonNegFloat
    ag_subsidy_per_mu: NonNegFloat
    pension_monthly: NonNegFloat
    pension_age: Annotated[int, Field(ge=0, le=120)]
    subsistence_per_person: NonNegFloat
    saving_rate: Prob
    investment_share: Prob
    savings_interest: Annotated[float, Field(ge=0, le=1)]
    asset_depreciation: Prob
    distress_sale_discount: Prob
    house_renovation_cost: NonNegFloat
    unsafe_house_registered: Prob
    unsafe_house_other: Prob
    initial_debt_sick: NonNegFloat
    debt_interest: Annotated[float, Field(ge=0, le=1)]
    debt_repay_share: Prob
    assets: Assets
    skill: Skill


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


class Identification(Strict):
    exclusion_error: Prob
    inclusion_error: Prob
    exit_margin: Annotated[float, Field(ge=0.0, le=5.0)]
    monitoring_line: Annotated[float, Field(ge=1.0, le=10.0)]
    spending_spike: NonNegFloat
    new_registration_cap: NonNegFloat
    reidentify_years: Annotated[int, Field(ge=1, le=100)]


class SocialSecurity(Strict):
    dibao_standard: Annotated[list[NonNegFloat], Field(min_length=1)]
    dibao_growth: Annotated[float, Field(ge=-0.5, le=1.0)]
    dibao_coverage: Prob
    dibao_coverage_other: Prob


class Budget(Strict):
    yearly: NonNegFloat
    unspent: Literal["return", "carry_over"]


class SchoolingCosts(Strict):
    compulsory_cost: NonNegFloat
    high_school_cost: NonNegFloat
    university_cost: NonNegFloat


class Programme(Strict):
    start_year: Annotated[int, Field(ge=0, le=100)]
    phase_out_year: Annotated[int, Field(ge=0, le=100)]
    support_after_exit: Annotated[int, Field(ge=0, le=100)]
    targeting: Literal["poorest_first", "category_first", "random"]


class DibaoParams(Strict):
    eligibility: Literal["no_labour", "registered"]
    standing_after_phase_out: bool
    admin_cost: Annotated[float, Field(ge=0.0, le=1.0)]


class CashTransferParams(Strict):
    max_per_person: NonNegFloat
    per: Literal["person", "household"]
    admin_cost: Annotated[float, Field(ge=0.0, le=1.0)]


class IndustryParams(Strict):
    grant: NonNegFloat
    enterprise_subsidy: NonNegFloat
    min_labour: NonNegFloat
    job_share: Prob


class RelocationParams(Strict):
    cost_per_person: NonNegFloat
    household_contribution: NonNegFloat
    household_contribution_cap: NonNegFloat
    land_kept: Prob
    employment_support: bool
    employment_support_cost: NonNegFloat
    job_access_with_support: NonNegFloat
    job_access_without_support: NonNegFloat
    min_remoteness: Prob
    min_disaster_risk: Prob


class TrainingParams(Strict):
    cost_per_person: NonNegFloat
    effect_mean: Annotated[float, Field(ge=-1.0, le=5.0)]
    effect_sd: NonNegFloat
    max_age: Annotated[int, Field(ge=16, le=80)]


class MicrocreditParams(Strict):
    amount: NonNegFloat
    max_amount: NonNegFloat
    term: Annotated[int, Field(ge=1, le=3)]
    interest_rate: Annotated[float, Field(ge=0.0, le=1.0)]
    take_up: Prob
    extensions: Annotated[int, Field(ge=0, le=5)]
    invest_share: Prob
    risk_cover: Prob
    min_labour: NonNegFloat

    @model_validator(mode="after")
    def _max(self) -> MicrocreditParams:
        if self.amount > self.max_amount:
            raise ValueError(
                f"amount ({self.amount:g}) exceeds max_amount ({self.max_amount:g}); poverty "
                "microcredit is at most 50,000 yuan"
            )
        return self


class MedicalAidParams(Strict):
    extra_reimbursement: Prob
    outpatient_extra: Prob
    oop_cap: NonNegFloat
    premium: NonNegFloat


class EducationAidParams(Strict):
    compulsory: NonNegFloat
    high_school: NonNegFloat
    university: NonNegFloat
    removes_barrier: Prob


class HousingParams(Strict):
    subsidy: NonNegFloat


class InfrastructureParams(Strict):
    cost_per_village: NonNegFloat
    infrastructure_gain: Prob
    remoteness_cut: Prob
    poor_villages_only: bool


class MonitoringParams(Strict):
    assistance: NonNegFloat
    cost_per_flag: NonNegFloat


class DependencyParams(Strict):
    enabled: bool
    elasticity: Prob


class Instruments(Strict):
    dibao: DibaoParams
    cash_transfer: CashTransferParams
    industry: IndustryParams
    relocation: RelocationParams
    training: TrainingParams
    microcredit: MicrocreditParams
    medical_aid: MedicalAidParams
    education_aid: EducationAidParams
    housing: HousingParams
    infrastructure: InfrastructureParams
    monitoring: MonitoringParams
    dependency: DependencyParams


INSTRUMENT_NAMES = tuple(n for n in Instruments.model_fields if n != "dependency")


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


# Sanity bounds on one scenario, far above any real county or prefecture (Ankang: 625,000
# households); the memory a run needs on this machine is checked separately (sim.batch.limits).
MAX_HOUSEHOLDS = 20_000_000
MAX_PEOPLE = 80_000_000


def population_problems(tree: dict) -> list[tuple[str, str]]:
    """Counts that cannot be synthesised, read off the raw tree so that they are reported even
    when other fields fail validation (pydantic skips model validators then). Values that are
    not numbers are left to the field validators."""
    out: list[tuple[str, str]] = []

    def num(*path):
        node = tree
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node if isinstance(node, int) and not isinstance(node, bool) else None

    H, P = num("population", "households"), num("population", "people")
    R, RP = num("population", "registered", "households"), num("population", "registered", "people")
    M = num("population", "max_household_size")
    if None in (H, P, R, RP, M) or M < 1:
        return out
    if H > MAX_HOUSEHOLDS or P > MAX_PEOPLE:
        out.append(
            (
                "population",
                f"{H:,} households and {P:,} people: at most {MAX_HOUSEHOLDS:,} households and "
                f"{MAX_PEOPLE:,} people in one scenario (a prefecture's whole population; "
                "split a larger area into several scenarios)",
            )
        )
        return out
    if R > H:
        out.append(
            (
                "population.registered.households",
                f"registered households ({R}) cannot exceed population.households ({H})",
            )
        )
    if RP > P:
        out.append(
            (
                "population.registered.people",
                f"registered people ({RP}) cannot exceed population.people ({P})",
            )
        )
    cats = {}
    for c in CATEGORIES:
        h, p = (
            num(*("population registered categories".split()), c, "households"),
            num(*("population registered categories".split()), c, "people"),
        )
        if h is None or p is None:
            return out
        cats[c] = (h, p)
    total = sum(h for h, _ in cats.values())
    if total != R:
        listing = ", ".join(f"{k} {h}" for k, (h, _) in cats.items())
        out.append(
            (
                "population.registered.categories",
                f"category households sum to {total} ({listing}) but registered households are "
                f"{R}; they must be equal (each registered household has exactly one "
                "primary-cause category)",
            )
        )
    for k, (h, p) in cats.items():
        field = f"population.registered.categories.{k}.people"
        if p > 0 and h == 0:
            out.append((field, f"{p} people but no households in this category"))
        elif p > 0 and not h <= p <= h * M:
            out.append(
                (
                    field,
                    f"{p} people cannot fill {h} households of 1..{M} persons (max_household_size)",
                )
            )
    given = sum(p for _, p in cats.values())
    derived = [k for k, (h, p) in cats.items() if p == 0 and h > 0]
    rest_h = sum(cats[k][0] for k in derived)
    if not derived and given != RP and total == R:
        out.append(
            (
                "population.registered.categories",
                f"category people sum to {given} but registered people are {RP}",
            )
        )
    elif derived and not rest_h <= RP - given <= rest_h * M:
        out.append(
            (
                "population.registered.categories",
                f"category people ({given}) leave {RP - given} registered people for the "
                f"{rest_h} households of {', '.join(derived)} (each holds 1..{M} persons)",
            )
        )
    oh, op = H - R, P - RP
    if oh >= 0 and op >= 0:
        if oh == 0 and op > 0:
            out.append(
                (
                    "population.people",
                    f"{op} people are not registered but there are no non-registered households",
                )
            )
        elif oh > 0 and not oh <= op <= oh * M:
            out.append(
                (
                    "population.people",
                    f"{op} non-registered people cannot fill {oh} non-registered households of "
                    f"1..{M} persons",
                )
            )
    return out


def strategy_problems(tree: dict, own: set[str] | None = None) -> list[tuple[str, str]]:
    """Cross-checks of each strategy table against the scenario, on the raw tree (reported
    whether or not other fields fail)."""
    out: list[tuple[str, str]] = []
    years = tree.get("meta", {}).get("years") if isinstance(tree.get("meta"), dict) else None
    years = years if isinstance(years, int) and not isinstance(years, bool) else None
    enterprises = tree.get("enterprises")
    inst_tree = tree.get("instruments") if isinstance(tree.get("instruments"), dict) else {}
    strategies = tree.get("strategies")
    if not isinstance(strategies, dict):
        return out
    for sname, table in strategies.items():
        try:
            spec = StrategySpec.model_validate(table)
        except ValidationError:
            continue  # reported by the field validation
        for key in ("start_year", "phase_out_year"):
            val = getattr(spec, key)
            if val is not None and years is not None and val > years:
                out.append(
                    (f"strategies.{sname}.{key}", f"{val} is outside the horizon 0..{years}")
                )
        funds_industry = spec.shares.get("industry", 0) > 0 and (own is None or sname in own)
        if funds_industry and isinstance(enterprises, list) and not enterprises:
            out.append(
                (
                    f"strategies.{sname}.shares.industry",
                    "the strategy funds industry but the scenario has no enterprises; add "
                    "[[enterprises]] tables",
                )
            )
        for inst, over in spec.params.items():
            model = Instruments.model_fields[inst].annotation
            base = inst_tree.get(inst, {}) if isinstance(inst_tree.get(inst), dict) else {}
            try:
                model.model_validate({**base, **over})
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = ".".join(str(x) for x in err["loc"]) or "(all)"
                    msg = err["msg"].removeprefix("Value error, ")
                    if err["type"] == "extra_forbidden":
                        msg = f"unknown field; allowed here: {', '.join(model.model_fields)}"
                    elif err["type"] != "missing" and err["loc"]:
                        msg += f" (got {err.get('input')!r})"
                    else:
                        continue
                    out.append((f"strategies.{sname}.params.{inst}.{loc}", msg))
    return out


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
    social_security: SocialSecurity
    budget: Budget
    schooling: SchoolingCosts
    programme: Programme
    instruments: Instruments
    strategies: dict[Annotated[str, AfterValidator(check_name)], StrategySpec] = Field(
        default_factory=dict
    )

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


# ---------------------------------------------------------------------------------------------
# Loading


def read_toml(path: str | Path, what: str = "file") -> dict:
    """A TOML input file as a table: a regular, bounded, UTF-8 file (sim.config.files), never empty."""
    p = Path(path)
    try:
        text = read_input_text(p, what)
    except BadInput as exc:
        raise ConfigError(exc.problems) from None
    data = parse_toml(text, str(p))
    if not data:  # an empty file is a mistake, not "all defaults"
        raise ConfigError([f"{p}: the {what} is empty (it sets no table or key)"])
    return data


def parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: malformed TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(
            [f"{source}: malformed TOML: arrays or tables nested too deeply"]
        ) from None


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` wins; tables merge key by key; lists and scalars replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from the CLI; the value is read as TOML (numbers, booleans, lists, strings)."""
    if "=" not in text:
        raise ConfigError(
            [f"--set {text}: expected PATH=VALUE, e.g. shocks.illness.incidence=0.05"]
        )
    path, raw = text.split("=", 1)
    path, raw = path.strip(), raw.strip()
    if not path:
        raise ConfigError([f"--set {text}: the path before '=' is empty"])
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    except RecursionError:
        raise ConfigError([f"--set {path}: the value is nested too deeply"]) from None
    return path, value


def _creatable(parts: list[str], i: int) -> bool:
    """Optional strategy fields are absent from the tree until set: allow creating them."""
    if parts[0] != "strategies" or i < 2:
        return False
    if i == 2:
        return parts[2] in StrategySpec.model_fields
    if parts[2] == "shares" and i == 3:
        return parts[3] in INSTRUMENT_NAMES
    if parts[2] == "params":
        return i == 4 or (i == 3 and parts[3] in Instruments.model_fields)
    return False


def apply_overrides(
    tree: dict, overrides: dict[str, Any], defaults: dict, problems: list[str] | None = None
) -> dict:
    """Set dotted paths. A path that leads nowhere is reported as an unknown field.

    With ``problems`` given, unknown paths are appended to it instead of raised, so that the
    caller can report them together with the validation problems.
    """
    collect = problems is not None
    problems = problems if problems is not None else []
    out = copy.deepcopy(tree)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = out
        problem = None
        for i, part in enumerate(parts):
            here = ".".join(parts[: i + 1])
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    problem = (
                        f"--set {path}: {here!r} must be an index 0..{len(node) - 1} into a "
                        f"list of {len(node)}"
                    )
                    break
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
                continue
            if not isinstance(node, dict):
                problem = f"--set {path}: {'.'.join(parts[:i])!r} is a value, not a table"
                break
            if part not in node and _creatable(parts, i):
                node[part] = value if last else {}
            if part not in node:
                allowed = ", ".join(sorted(node)) or "(none)"
                problem = f"--set {path}: unknown field {here!r}; allowed here: {allowed}"
                break
            if last:
                node[part] = value
            else:
                node = node[part]
        if problem:
            problems.append(problem)
    if problems and not collect:
        raise ConfigError(problems)
    return out


def _loc_to_path(loc: tuple) -> str:
    return ".".join(str(x) for x in loc if x not in ("function-after", "function-before"))


def _lookup(tree: Any, loc: tuple) -> Any:
    node = tree
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def explain(exc: ValidationError, source: str, tree: dict) -> list[str]:
    """Turn pydantic's errors into one line per problem: file: field: what is allowed."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, _FieldProblems):
            for field, msg in inner.problems:
                lines.append(f"{source}: {field}: {msg}")
            continue
        path = _loc_to_path(loc) or "(top level)"
        etype = err["type"]
        if etype == "extra_forbidden":
            parent = _lookup(default_values(), loc[:-1])
            allowed = sorted(parent) if isinstance(parent, dict) else []
            if not loc[:-1]:
                allowed = sorted(set(allowed) | set(Scenario.model_fields))
            hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{source}: {path}: unknown field{hint}")
            continue
        if etype == "missing":
            lines.append(f"{source}: {path}: required field is missing")
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        given = err.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
        lines.append(f"{source}: {path}: {msg}{shown}")
    return lines


BUILTIN_STRATEGIES = Path(__file__).resolve().parents[1] / "policies" / "strategies.toml"


def builtin_strategy_tables() -> dict:
    """The built-in strategies as plain tables (sim/policies/strategies.toml)."""
    with BUILTIN_STRATEGIES.open("rb") as fh:
        return tomllib.load(fh)


def build_scenario(
    data: dict, source: str = "<scenario>", overrides: dict[str, Any] | None = None
) -> Scenario:
    """Defaults + file data + overrides → validated :class:`Scenario` (or :class:`ConfigError`)."""
    defaults = default_values()
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a TOML table at the top level"])
    # built-in strategies are part of every scenario; a file's [strategies.NAME] table adds a
    # strategy or changes fields of a built-in one (e.g. its phase_out_year)
    defaults["strategies"] = builtin_strategy_tables()
    defaults.setdefault("enterprises", [])
    merged = deep_merge(defaults, data)
    problems: list[str] = []
    if overrides:
        merged = apply_overrides(merged, overrides, defaults, problems)
    where = source if not overrides else f"{source} (with --set {', '.join(overrides)})"
    try:
        sc = Scenario.model_validate(merged)
    except ValidationError as exc:
        problems.extend(explain(exc, where, merged))
    # built-in strategies are checked against the scenario when chosen (get_strategy)
    own = set(data["strategies"]) if isinstance(data.get("strategies"), dict) else set()
    cross = population_problems(merged) + strategy_problems(merged, own)
    # the default schedule (support in years 1-5) simply ends with a shorter horizon; a year
    # that the file or an override sets explicitly must lie inside it
    explicit = set(data.get("programme", {}) if isinstance(data.get("programme"), dict) else {})
    explicit |= {k.split(".", 1)[1] for k in (overrides or {}) if k.startswith("programme.")}
    meta, programme = (merged.get(k) for k in ("meta", "programme"))
    years = meta.get("years") if isinstance(meta, dict) else None
    for key in ("start_year", "phase_out_year"):
        val = programme.get(key) if isinstance(programme, dict) else None
        if key in explicit and isinstance(val, int) and isinstance(years, int) and val > years:
            cross.append((f"programme.{key}", f"{val} is outside the horizon 0..{years}"))
    problems.extend(f"{where}: {field}: {msg}" for field, msg in cross)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    sc._source = source
    sc._overrides = dict(overrides or {})
    sc._tree = merged
    return sc


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read a scenario TOML file, merge the defaults, apply dotted overrides and validate."""
    data = read_toml(path, "scenario file")
    return build_scenario(data, str(path), overrides)
