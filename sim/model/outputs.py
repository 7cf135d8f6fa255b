"""The outcome registry: every number povsim reports, with its unit, direction and definition.

One place for what an outcome *is*, read by the model's yearly row (``sim.model.metrics``),
compare (which way is good news), targets (the values an outcome can take) and docs/outputs.md
(``make docs``). In EMA Workbench's spirit an outcome is a name with a kind of optimum
(``ScalarOutcome(name, kind=MINIMIZE)``).

Two kinds of outcome:

- **columns** of the yearly timeseries, one value per year (``poverty_rate``); analysis reads
  them at a year (``poverty_rate@10``);
- **derived** outcomes, computed by analysis from a run's timeseries up to a year (a target's
  year; the last year for a whole-run outcome of compare, discovery and sensitivity).

Pure data: it imports neither numba nor mesa, so analysis can read it without building a model.
"""

from __future__ import annotations

from sim.model.codes import INSTRUMENTS, Trigger
from sim.model.outcome import (  # noqa: F401  (re-exported: the registry's readers import them here)
    INCOME_LAYER,
    INFO,
    MAXIMIZE,
    MINIMIZE,
    REGISTER_LAYER,
    Outcome,
    is_share,
    layer_of,
    unit_range,
)

TRIGGERS = [t.name.lower() for t in Trigger if t != Trigger.UNSET]
# what a trigger column counts, after "<returns | new poor households> this year" (docs/ODD.md
# §7.13: the counterfactual rule)
TRIGGER_MEANINGS = {
    "illness": "whose one decisive loss was illness (new out-of-pocket medical cost + work lost)",
    "disaster": "whose one decisive loss was a disaster (farm output + the destroyed assets' "
    "return)",
    "enterprise": "whose one decisive loss was an enterprise failure (contract income + wages)",
    "support_ended": "whose one decisive loss was the drop in programme transfers",
    "market": "whose one decisive loss was prices below normal (farm and contract income)",
    "several": "with several decisive losses (each alone, or only all together)",
    "none": "that no loss of the year, nor all together, would have kept at or above the line "
    "(a slow decline)",
}
DURABILITY_YEARS = 9  # durability_1 .. durability_9
INCOME_COMPONENTS = (
    ("farm", "farm output less production costs"),
    ("livestock", "livestock income"),
    ("wage", "local and enterprise wages"),
    ("migrant", "migrant income reaching the household"),
    ("business", "business and contract income"),
    ("property", "rent and interest"),
    ("transfers", "all transfers (standing and programme)"),
    ("transfers_programme", "programme transfers"),
)


def _col(name, unit, definition, direction=INFO, **kw) -> Outcome:
    return Outcome(name, unit, definition, direction, **kw)


HH, PERSONS, YUAN_PC = "households", "persons", "yuan/person/year"
SIX = "income_pc, after rigid spending (六算)"

# the income layer's flows and the register's (docs/ODD.md §7.15)
REGISTER_COLUMNS: list[Outcome] = [
    Outcome(
        "income_poor_households",
        HH,
        f"households below the line by the register's standard ({SIX})",
        MINIMIZE,
    ),
    Outcome(
        "income_exits",
        HH,
        f"households below the line last year and at or above it now ({SIX}): income churn out",
    ),
    Outcome(
        "income_entries",
        HH,
        f"households at or above the line last year and below it now ({SIX}): income churn in",
        MINIMIZE,
    ),
    Outcome(
        "register_exits",
        HH,
        "households taken off the active register this year: verified exits (measured income "
        "stably above the exit line, 三保障, within the verification capacity) plus the plan's "
        "paper exits",
        MAXIMIZE,
    ),
    Outcome(
        "register_returns",
        HH,
        "exited households below the line that the dynamic adjustment or the monitoring "
        "mechanism found this year and re-registered: from register.assist_from, paper exits "
        "(corrected), 三保障 failures and gaps to the line beyond register.assist_max; before it, "
        "every one found",
    ),
    Outcome(
        "helped_in_place",
        HH,
        "exited households below the line found this year and helped back to the line without "
        "re-registration (帮扶, from register.assist_from): true exits meeting 三保障 whose gap is "
        "within register.assist_max; they stay exited",
    ),
    Outcome(
        "edge_helped",
        HH,
        "never-registered households below the line that the monitoring mechanism found this year "
        "and helped back to the line (边缘户: from identification.closed_from, when the register "
        "no longer takes new households, in the years the strategy funds); they stay off the "
        "register",
    ),
    Outcome(
        "paper_exits",
        HH,
        f"of register_exits, households whose true {SIX} is below the line or whose 三保障 "
        "is not met (错退)",
        MINIMIZE,
    ),
    Outcome("plan_exits", HH, "the exit plan's households for this year (0 without a plan)"),
    Outcome(
        "missed_poor",
        HH,
        f"households below the line by the register's standard ({SIX}) and not on the active "
        "register (漏评; includes exited households never found again)",
        MINIMIZE,
    ),
    Outcome(
        "exited_not_found",
        HH,
        f"of missed_poor, exited households below the line ({SIX}) not re-registered",
        MINIMIZE,
    ),
    Outcome("missed_rate", "share of households", "missed_poor / income_poor_households", MINIMIZE),
    Outcome(
        "wrongful_exit_rate",
        "share of persons",
        "the county exit rules' 错退率: persons in exited households whose income_pc is below the "
        "line or whose 三保障 is not met / persons in exited households (0 when none)",
        MINIMIZE,
    ),
    Outcome(
        "omission_rate",
        "share of persons",
        "the county exit rules' 漏评率: persons in never-registered households below the line "
        "(income_pc) / persons in never-registered households",
        MINIMIZE,
    ),
    Outcome(
        "comprehensive_incidence",
        "share of persons",
        "persons on the active register / people (the exit test's 综合贫困发生率)",
        MINIMIZE,
    ),
    Outcome(
        "county_exit_test",
        "1 pass, 0 fail",
        "the 2017 county exit test passed this year: comprehensive_incidence below 2% (3% with "
        "register.west), wrongful_exit_rate and omission_rate below 2% (0 at year 0)",
        MAXIMIZE,
        low=0.0,
        high=1.0,
    ),
    Outcome(
        "monitored_households",
        HH,
        "households under the monitoring mechanism this year (flagged at risk, from "
        "register.monitoring_from on; 0 before)",
    ),
]


# the register's record (docs/ODD.md §7.6): duplicate listings (重报), categories moved for
# funding (乱归类); "moved": households whose recorded category is not their true one
_SERVED = "moved households (active or exited) served this year by the instrument of their"
RECORD_COLUMNS: list[Outcome] = [
    Outcome(
        "reported_registered_households", HH, "registered_households, duplicates counted twice"
    ),
    Outcome("reported_registered_people", PERSONS, "registered_people, duplicates counted twice"),
    Outcome(
        "duplicate_listings",
        HH,
        "reported_registered_households - registered_households: duplicates not found yet",
        MINIMIZE,
    ),
    Outcome(
        "spending_duplicates",
        "yuan",
        "of spending, paid to duplicate listings by the instruments that pay per listing (dibao, "
        "cash_transfer, industry): money that reaches nobody",
        MINIMIZE,
    ),
    Outcome("misclassified_households", HH, "moved households on the active register", MINIMIZE),
    Outcome("misclassified_served_true", HH, f"{_SERVED} true category"),
    Outcome("misclassified_served_recorded", HH, f"{_SERVED} recorded category"),
]

_COLUMNS: list[Outcome] = [
    _col(
        "year",
        "years since base year",
        "model year; 0 is the state at registration, before any step",
    ),
    _col("calendar_year", "calendar year", "base_year + year"),
    _col("poverty_line", YUAN_PC, "poverty line in force this year (current prices)"),
    _col("households", HH, "households in the area"),
    _col("people", PERSONS, "persons in the area"),
    _col(
        "poor_households",
        HH,
        "households whose per-capita disposable income (net_income / size: all income including "
        "transfers, less production costs, before rigid spending; the NBS measure) is below the "
        "line",
        MINIMIZE,
    ),
    _col("poor_people", PERSONS, "persons in poor households", MINIMIZE),
    _col(
        "poverty_rate",
        "share of persons",
        "poor_people / people (FGT0 over persons, the NBS measure: disposable income)",
        MINIMIZE,
    ),
    _col(
        "poverty_gap",
        "share of the line",
        "FGT1 over persons, disposable income: mean of max(0, 1 - (net_income / size) / line)",
        MINIMIZE,
    ),
    _col(
        "poverty_severity",
        "share of the line, squared",
        "FGT2 over persons, disposable income: mean of max(0, 1 - (net_income / size) / line)^2",
        MINIMIZE,
    ),
    _col(
        "vulnerability_rate",
        "share of persons",
        "persons in households whose income per person after rigid spending (income_pc: "
        "speech 1's 六算, the register's standard) is below the line / people",
        MINIMIZE,
    ),
    _col(
        "vulnerability_gap",
        "share of the line",
        "FGT1 over persons of income_pc (after rigid spending): mean of max(0, 1 - income_pc / "
        "line)",
        MINIMIZE,
    ),
    _col(
        "vulnerability_severity",
        "share of the line, squared",
        "FGT2 over persons of income_pc (after rigid spending)",
        MINIMIZE,
    ),
    _col(
        "registered_households",
        HH,
        "households on the register and not exited (status poor or returned)",
        MINIMIZE,
    ),
    _col("registered_people", PERSONS, "persons in registered_households", MINIMIZE),
    _col(
        "newly_registered",
        HH,
        "households put on the register this year (identification, with its errors)",
    ),
    _col(
        "register_removed",
        HH,
        "households the re-check (回头看, identification.recheck_year) took off the register as "
        "misidentified this year (not exits)",
    ),
    *REGISTER_COLUMNS,
    *RECORD_COLUMNS,
    _col(
        "exits",
        HH,
        "the register's exits this year (= register_exits): verified exits plus the plan's "
        "paper exits",
        MAXIMIZE,
    ),
    _col(
        "returns",
        HH,
        "the register's returns this year (= register_returns): exited households below the "
        "line found and re-registered",
        MINIMIZE,
    ),
    _col(
        "new_poor", HH, "never-registered households that fell below the line this year", MINIMIZE
    ),
    _col("exited_cumulative", HH, "exits summed over years 1..year", MAXIMIZE, cumulative=True),
    _col("returns_cumulative", HH, "returns summed over years 1..year", MINIMIZE, cumulative=True),
    *(
        _col(
            f"{kind}_{t}",
            HH,
            f"{who} this year {TRIGGER_MEANINGS[t]}; a loss is decisive if without it "
            "income_pc would be at or above the line",
            MINIMIZE,
        )
        for kind, who in (
            ("returns", "returns"),
            ("new_poor", "new poor households"),
        )
        for t in TRIGGERS
    ),
    _col(
        "ever_exited",
        HH,
        "households that exited at least once up to this year",
        MAXIMIZE,
        cumulative=True,
    ),
    _col("exited_now", HH, "households whose status is exited at the end of the year", MAXIMIZE),
    _col(
        "sustained_exits",
        HH,
        "households that exited, never returned, and are out of poverty (exited) now",
        MAXIMIZE,
    ),
    _col(
        "sustained_exit_share",
        "share",
        "sustained_exits / ever_exited (0 when nobody has exited)",
        MAXIMIZE,
    ),
    *(
        _col(
            f"durability_{k}",
            "share",
            f"of households whose first exit was at least {k} year(s) ago, the share that did not "
            f"return within {k} year(s) of it (NaN when none)",
            MAXIMIZE,
        )
        for k in range(1, DURABILITY_YEARS + 1)
    ),
    *(
        _col(f"income_{c}_pc{suffix}", YUAN_PC, f"{desc} per person, {who}")
        for c, desc in INCOME_COMPONENTS
        for suffix, who in (("", "all households"), ("_reg0", "households registered at year 0"))
    ),
    _col(
        "mean_income_pc",
        YUAN_PC,
        "person-weighted mean of per-capita income after rigid spending",
        MAXIMIZE,
    ),
    _col(
        "median_income_pc",
        YUAN_PC,
        "person-weighted median of per-capita income after rigid spending",
        MAXIMIZE,
    ),
    _col(
        "mean_income_pc_registered0",
        YUAN_PC,
        "mean per-capita net income (before rigid spending) of households registered at year 0",
        MAXIMIZE,
    ),
    _col(
        "gini",
        "0-1",
        "Gini coefficient of per-capita income over persons (negative incomes set to 0)",
        MINIMIZE,
    ),
    _col(
        "transfer_share",
        "share",
        "transfers / gross income (net income + production costs) summed over poor households",
        MINIMIZE,
    ),
    _col(
        "at_risk_households",
        HH,
        "households flagged by monitoring (not on the active register; income < monitoring_line "
        "x line, or a rigid-spending spike)",
    ),
    _col("mean_assets", "yuan/household", "mean productive assets", MAXIMIZE),
    _col(
        "above_asset_threshold",
        "share of households",
        "households with productive assets above the trap threshold",
        MAXIMIZE,
    ),
    _col("mean_debt", "yuan/household", "mean outstanding informal debt", MINIMIZE),
    _col(
        "mean_debt_reg0",
        "yuan/household",
        "mean outstanding informal debt of households registered at year 0",
        MINIMIZE,
    ),
    _col(
        "debt_over_income_share",
        "share of households",
        "households owing more than a year's net income (before rigid spending)",
        MINIMIZE,
    ),
    _col(
        "deprived_households",
        HH,
        "households whose consumption fell below the floor this year because their credit "
        "limit bound (economy.credit)",
        MINIMIZE,
    ),
    _col(
        "medical_oop_share", "share", "out-of-pocket / total medical cost, all households", MINIMIZE
    ),
    _col(
        "medical_oop_share_registered",
        "share",
        "out-of-pocket / total medical cost, households ever registered",
        MINIMIZE,
    ),
    _col(
        "catastrophic_health_share",
        "share of households",
        "households whose out-of-pocket medical cost exceeds catastrophic_share of net income",
        MINIMIZE,
    ),
    _col("enterprises_alive", "enterprises", "enterprises operating this year"),
    _col("disaster_villages", "villages", "villages hit by a disaster this year"),
    _col(
        "waiting_households",
        HH,
        "eligible households not served this year because the budget ran out",
        MINIMIZE,
    ),
    _col("spending", "yuan", "programme spending this year, all instruments"),
    *(_col(f"spending_{i}", "yuan", f"programme spending this year on {i}") for i in INSTRUMENTS),
    _col(
        "cumulative_spending",
        "yuan",
        "programme spending summed over years 0..year",
        cumulative=True,
    ),
    # the ledger beyond programme spending (docs/ODD.md, Budget and ledger)
    _col(
        "unspent",
        "yuan",
        "budget left in the ledger at the end of the year (returned, or carried over)",
    ),
    *(
        _col(
            f"unabsorbed_{i}",
            "yuan",
            f"of {i}'s own allotment this year (first pass: share x budget, or what was left), "
            "what it could not use (no eligible households, capacity, places); what a "
            "reallocation later passed on still counts",
        )
        for i in INSTRUMENTS
    ),
    _col(
        "help_in_place_cost",
        "yuan",
        "what helping the fallen exited and the edge households back to the line in place paid "
        "this year (helped_in_place, edge_helped; "
        "temporary assistance and 兜底, civil-affairs money, not programme spending)",
        MINIMIZE,
    ),
    _col(
        "standing_dibao",
        "yuan",
        "standing dibao top-ups paid this year (civil-affairs money, not programme spending; "
        "every year, also after the phase-out)",
    ),
    _col(
        "pensions_farm_subsidy",
        "yuan",
        "rural pensions and the agricultural subsidy paid this year (public transfers outside "
        "the programme)",
    ),
    _col(
        "public_cost",
        "yuan",
        "spending + standing_dibao + help_in_place_cost + pensions_farm_subsidy: every public yuan that reaches "
        "households or the programme this year (not the basic medical insurance fund's "
        "reimbursements, nor microcredit principal, the bank's money)",
        MINIMIZE,
    ),
    _col(
        "cumulative_public_cost",
        "yuan",
        "public_cost summed over years 0..year",
        MINIMIZE,
        cumulative=True,
    ),
    _col("microcredit_lent", "yuan", "microcredit principal disbursed this year"),
    _col(
        "microcredit_repaid",
        "yuan",
        "microcredit principal repaid this year (from income, savings and distress sales)",
    ),
    _col("microcredit_defaulted", "yuan", "microcredit principal defaulted this year"),
    _col(
        "microcredit_risk_fund",
        "yuan",
        "of the defaults, paid by the programme's risk fund (programme years only; booked in "
        "spending_microcredit)",
    ),
    _col(
        "microcredit_to_debt",
        "yuan",
        "of the defaults, turned into household debt (microcredit_defaulted - "
        "microcredit_risk_fund)",
        MINIMIZE,
    ),
    _col(
        "microcredit_outstanding",
        "yuan",
        "microcredit principal outstanding at the end of the year",
    ),
]


def _derived(name, unit, definition, direction=INFO, **kw) -> Outcome:
    return Outcome(name, unit, definition, direction, kind="derived", **kw)


_DERIVED: list[Outcome] = [
    _derived(
        "return_rate",
        "share per year",
        "returns in the year / exited_now at the end of the year before: the share of the "
        "households that were out of poverty at the start of the year and fell back during it "
        "(0 when none were out)",
        MINIMIZE,
    ),
    _derived(
        "max_return_rate_after_phase_out",
        "share per year",
        "the largest return_rate over the years after the phase-out year, up to the year "
        "(undefined when the year is not after the phase-out)",
        MINIMIZE,
    ),
    _derived(
        "returns_after_phase_out",
        HH,
        "returns summed over the years after the phase-out year, up to the year",
        MINIMIZE,
        cumulative=True,
    ),
    _derived(
        "cost_per_sustained_exit",
        "yuan/household",
        "cumulative_spending / sustained_exits at the year (undefined without sustained exits)",
        MINIMIZE,
    ),
    _derived(
        "total_spending", "yuan", "cumulative_spending at the year", MINIMIZE, cumulative=True
    ),
    _derived(
        "exits_total",
        HH,
        "exit events up to the year (exited_cumulative)",
        MAXIMIZE,
        cumulative=True,
    ),
    _derived(
        "mean_poverty_rate",
        "share of persons",
        "poverty_rate averaged over years 1..year",
        MINIMIZE,
    ),
]

OUTCOMES: dict[str, Outcome] = {o.name: o for o in _COLUMNS}
DERIVED: dict[str, Outcome] = {o.name: o for o in _DERIVED}
OUTCOMES.update(DERIVED)
COLUMNS: dict[str, Outcome] = {o.name: o for o in _COLUMNS}  # the timeseries, in column order

# Whole-run outcomes, named without a year and read at a run's last year (compare, discovery,
# sensitivity), in the order ``run_outcomes`` gives them by default. sustained_exits is the
# column at the last year; the others are derived.
RUN_OUTCOMES = (
    "total_spending",
    "sustained_exits",
    "cost_per_sustained_exit",
    "returns_after_phase_out",
    "exits_total",
    "mean_poverty_rate",
)
