"""The official facts the seed county should reproduce, each with its source, its tolerance and
the parameter that would move it; and the parameters that were set by hand or to match a fact."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SCENARIO = ROOT / "scenarios" / "county.toml"
HINDCAST_SCENARIO = ROOT / "scenarios" / "county_hindcast.toml"
DEFAULT_OUT = ROOT / "docs" / "calibration.md"
DEFAULT_SEEDS = (1, 2, 3, 4, 5)
STRATEGIES = ("status_quo", "precision", "blood_making")
YEARS = 5  # 2015..2020: every fact lies in these years
LEVER_SEEDS = 2  # lever runs use the first seeds only

# Parameters matched by hand to two year-0 numbers (docs/ODD.md §10).
HAND_SET = (
    "economy.farm_gross_per_mu",
    "economy.migrant_base_prob",
    "economy.local_job_prob",
    "population.work_propensity_other",
    "economy.skill.mean_registered",
    "population.productivity_registered",
)
# Instrument parameters set to match a fact (their sources in defaults.toml say so).
FACT_SET = {
    "instruments.medical_aid.extra_reimbursement": "registered poor paid 15.8% of medical cost (2017)",
    "instruments.microcredit.take_up": "microcredit take-up 26.7% of registered households (2016)",
}
HAND_TARGETS = (
    "the year-0 vulnerability rate (persons below the line after rigid spending, about 32%; no "
    "official figure for the county) and the "
    "year-0 mean per-capita net income of registered households (3,416 yuan, 2015 official; the "
    "model gave about 3,240 when they were set)"
)


# ---------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Lever:
    """One parameter that moves a fact: ``path`` set to ``value`` (or the base value times
    ``factor``), run under ``strategy``."""

    path: str
    value: Any = None
    factor: float | None = None
    why: str = ""


@dataclass(frozen=True)
class Fact:
    key: str
    label: str
    metric: str
    year: int
    reference: float
    reference_text: str
    source: str
    # "share" (absolute tolerance), "money" (relative), "exact" (an input), "ratio" (absolute
    # tolerance on a ratio), "shape" (the share of seeds whose trajectory has the shape),
    # "falling" (the mean over seeds falls every year; the share of seeds that do is shown)
    kind: str
    judge: str  # the strategy whose mean is compared with the fact
    lever: Lever | None = None
    note: str = ""
    by_construction: bool = False
    tol: float | None = None  # absolute (share, ratio) or relative (money); None: the kind's
    bound: str = ""  # "at_most" / "at_least": a one-sided fact (the reference is a bound)
    trajectory: str = ""  # "falling": the metric whose mean over seeds must fall every year


# What kind of evidence each fact is (docs/calibration.md): an INPUT (a parameter is the number),
# true BY CONSTRUCTION (the synthesis makes it so), a parameter was SET TO it (tuned), or the
# model REPRODUCES it untuned. Only the last kind is evidence for the model.
ROLES = ("input", "construction", "set", "reproduces")
ROLE_OF = {
    "vulnerability_rate_0": "set",
    "illness_cause": "construction",
    "income_registered_0": "set",
    "oop_registered_0": "input",
    "oop_registered_2": "set",
    "admission_registered_0": "input",
    "admission_other_0": "input",
    "microcredit_0": "construction",
    "microcredit_1": "set",
    "poverty_line_0": "input",
    "poverty_line_5": "input",
}


def role_of(fact: Fact) -> str:
    return ROLE_OF.get(fact.key, "construction" if fact.by_construction else "reproduces")


# The national campaign ran 2016-2020 with cause-matched packages, the closest built-in strategy
# is `precision`; year-0 facts do not depend on the strategy.
FACTS: tuple[Fact, ...] = (
    Fact(
        "poverty_rate_0",
        "Poverty rate (NBS measure: persons below the line by disposable income)",
        "poverty_rate",
        0,
        0.26,
        "about 26%: the county registered 34,677 of its 133,000 people (2015)",
        "speech 1 (全县10750户贫困户34677贫困人口); the county's population is an assumption "
        "(scenarios/county.toml)",
        "share",
        "status_quo",
        Lever("economy.migrant_base_prob", 0.6, why="more migrant work lifts incomes at year 0"),
        note="The registered share is the register's count, not a survey measure: a reference.",
    ),
    Fact(
        "vulnerability_rate_0",
        "Vulnerability rate (persons below the line after rigid spending, 六算)",
        "vulnerability_rate",
        0,
        0.32,
        "about 32% (hand-calibration target)",
        "docs/ODD.md §10; no official figure for the county, whose non-registered population is an assumption",
        "share",
        "status_quo",
        Lever("economy.migrant_base_prob", 0.6, why="more migrant work lifts incomes at year 0"),
        note="A target of the hand calibration, not evidence.",
    ),
    Fact(
        "illness_cause",
        "Registered households with illness as a cause (primary or secondary)",
        "illness_cause_share",
        0,
        0.441,
        "44.1% after the 2015 re-check (42.4% at registration, 2013)",
        "NHFPC (Qin Huaijin, China Hospital Conference, 2017-08-27, citing the 健康扶贫工程 three-batches action plan): illness-caused households 44.1% of the register at end 2015; LGOP register data: 12.56 million households, 42.4%, 2013",
        "share",
        "status_quo",
        Lever(
            "population.health.illness_secondary_cause",
            0.30,
            why="share of non-medical registered households given illness as a secondary cause",
        ),
        note="Medical-category households (29% of the register) all have illness as a cause; the "
        "secondary-cause share was derived from the 44.1% fact, so a match is by construction.",
        by_construction=True,
    ),
    Fact(
        "income_registered_0",
        "Per-capita net income of households registered at year 0, 2015 (yuan)",
        "income_registered0",
        0,
        3416.0,
        "3,416 yuan (2015)",
        "State Council Leading Group Office of Poverty Alleviation press figure for registered households (not verified here: no primary page found)",
        "money",
        "status_quo",
        Lever(
            "population.productivity_registered",
            0.95,
            why="latent farm and business productivity of registered households",
        ),
        note="A target of the hand calibration (ODD §10).",
    ),
    Fact(
        "income_registered_4",
        "Per-capita net income of households registered at year 0, 2019 (yuan)",
        "income_registered0",
        4,
        9808.0,
        "9,808 yuan (2019)",
        "State Council Leading Group Office of Poverty Alleviation press figure for registered households (not verified here: no primary page found); for comparison NBS: rural residents of poor areas 11,567 yuan disposable income in 2019 (NBS, 2020-01-23)",
        "money",
        "precision",
        Lever("budget.yearly", factor=2.0, why="programme money per registered household"),
        note="The real income of the registered poor nearly tripled in four years. Of the "
        "channels that grew fast in 2016-2019, precision has public-welfare jobs (公益岗位), "
        "dividends from assets bought with poverty funds (资产收益) and organised labour "
        "transfer (劳务输出); eco-compensation and rising pensions are absent (pensions are "
        "fixed in nominal terms here).",
    ),
    Fact(
        "income_growth_4",
        "Growth of that income, 2015 to 2019 (ratio)",
        "income_growth",
        4,
        9808.0 / 3416.0,
        "2.87 times (3,416 to 9,808)",
        "derived from the two facts above",
        "money",
        "precision",
        Lever("economy.wage_growth", 0.12, why="nominal growth of wages and migrant pay"),
    ),
    Fact(
        "oop_registered_0",
        "Out-of-pocket share of medical cost, ever-registered households, 2015",
        "oop_registered",
        0,
        0.45,
        "about 45% of inpatient cost (rural insurance reimbursed ~55%, 2009)",
        "NCMS inpatient reimbursement of about 55% (2009), the source of defaults shocks.insurance.reimbursement (not verified here)",
        "share",
        "status_quo",
        Lever(
            "shocks.insurance.outpatient_reimbursement",
            0.5,
            why="reimbursement of chronic outpatient cost, which the reference leaves out",
        ),
        note="The model's share also counts chronic outpatient cost (30% reimbursed) and the "
        "uninsured, so it sits above the inpatient-only reference.",
    ),
    Fact(
        "oop_registered_2",
        "Out-of-pocket share of medical cost, ever-registered households, 2017",
        "oop_registered",
        2,
        0.158,
        "15.8% (registered poor, 2017)",
        "health poverty-alleviation press figure for the registered poor, 2017 (not verified here)",
        "share",
        "precision",
        Lever(
            "instruments.medical_aid.extra_reimbursement",
            0.35,
            why="reimbursement on top of basic insurance for programme households",
        ),
        note="Medical aid reaches only the households that the precision queue serves; "
        "households waiting for it, and ever-registered households that exited, pay the basic "
        "share.",
    ),
    Fact(
        "admission_registered_0",
        "Hospital admission rate, persons in registered households, 2015",
        "admission_registered",
        0,
        0.208,
        "20.8% a year (the poor)",
        "the source of defaults shocks.illness.incidence_registered (not verified here; the Sixth National Health Services Survey gives 13.8% for all persons in 2018, Wu et al. 2023, Int J Equity Health)",
        "share",
        "status_quo",
        note="Held at year 0 by normalisation (ODD §7.2).",
        by_construction=True,
    ),
    Fact(
        "admission_other_0",
        "Hospital admission rate, persons in non-registered households, 2015",
        "admission_other",
        0,
        0.131,
        "13.1% a year (national)",
        "the source of defaults shocks.illness.incidence (not verified here: National Health Services Surveys give 9.6% in 2011, Fu et al. 2014, PLoS ONE, and 13.8% in 2018, Wu et al. 2023, Int J Equity Health)",
        "share",
        "status_quo",
        note="Held at year 0 by normalisation; the fact is the national rate, used for the "
        "non-registered.",
        by_construction=True,
    ),
    Fact(
        "admission_registered_4",
        "Hospital admission rate, persons in ever-registered households, 2019",
        "admission_registered",
        4,
        0.208,
        "20.8% a year (the poor; cross-section)",
        "as for 2015 (not verified here)",
        "share",
        "precision",
        Lever("shocks.illness.age_gradient", 0.01, why="rise of admission risk with age above 45"),
        note="After year 0 the rate drifts with ageing (closed population) and with who joins "
        "the register.",
    ),
    Fact(
        "catastrophic_0",
        "Households with catastrophic health spending, 2015",
        "catastrophic",
        0,
        0.130,
        "13.0% (2008)",
        "Fourth National Health Services Survey 2008, all households: Li, Wu, Xu et al. (2012), Bull World Health Organ 90(9):664-671",
        "share",
        "status_quo",
        note="The reference year (2008) is seven years before the model's base year; insurance "
        "was thinner then, so the reference is an upper bound.",
    ),
    Fact(
        "catastrophic_1",
        "Households with catastrophic health spending, 2016",
        "catastrophic",
        1,
        0.089,
        "8.9% (2016)",
        "not verified here (no primary source found)",
        "share",
        "precision",
        Lever("shocks.insurance.reimbursement", 0.65, why="basic inpatient reimbursement"),
        note="Out-of-pocket cost above 40% of net income (shocks.insurance.catastrophic_share), "
        "all households.",
    ),
    Fact(
        "microcredit_0",
        "Registered households that have a poverty microcredit loan, 2015",
        "microcredit_takeup",
        0,
        0.02,
        "2% (2014)",
        "poverty microcredit take-up before the 2014 scheme (not verified here)",
        "share",
        "status_quo",
        note="No loans exist before the programme starts (year 1) by construction.",
        by_construction=True,
    ),
    Fact(
        "microcredit_1",
        "Registered households that have had a poverty microcredit loan, 2016",
        "microcredit_takeup",
        1,
        0.267,
        "26.7% (2016)",
        "poverty microcredit take-up by registered households, 2016 (not verified here; the source of defaults instruments.microcredit.take_up)",
        "share",
        "precision",
        Lever(
            "instruments.microcredit.take_up", 0.45, why="chance that an offered household borrows"
        ),
        note="The take-up parameter was set to match this under `blood_making`, which gives "
        "microcredit a fixed 10% of the budget from year 1; judged here under `precision`, whose "
        "priority order reaches microcredit only after the guarantees, relocation and industry.",
    ),
    Fact(
        "microcredit_2",
        "Registered households that have had a poverty microcredit loan, 2017",
        "microcredit_takeup",
        2,
        0.267,
        "26.7% by 2016 (no later figure here)",
        "as for 2016 (not verified here)",
        "share",
        "precision",
        note="Cumulative take-up one year after the reference year; it should be at least the "
        "2016 value.",
    ),
    Fact(
        "relocated_income_1",
        "Per-capita net income of relocated households, 2016 (yuan)",
        "relocated_income",
        1,
        4221.0,
        "4,221 yuan (2016)",
        "NDRC relocation monitoring of registered relocated households (not verified here: no primary page found)",
        "money",
        "precision",
        Lever(
            "instruments.relocation.job_access_with_support",
            2.4,
            why="local-job chance of relocated workers with follow-up employment support",
        ),
        note="Households relocated by the programme up to that year (relocated_year in 1..year). "
        "In the model a move raises local-job chances in the year of the move; the real 2016 "
        "figure mostly describes households whose sites were still being built (a likely reason, "
        "not measured).",
    ),
    Fact(
        "relocated_income_4",
        "Per-capita net income of relocated households, 2019 (yuan)",
        "relocated_income",
        4,
        9313.0,
        "9,313 yuan (2019)",
        "NDRC relocation monitoring of registered relocated households (not verified here: no primary page found)",
        "money",
        "precision",
        Lever(
            "instruments.relocation.job_access_with_support",
            2.4,
            why="local-job chance of relocated workers with follow-up employment support",
        ),
    ),
    Fact(
        "poverty_line_0",
        "Poverty line, 2015 (yuan/person/year, current prices)",
        "poverty_line",
        0,
        2855.0,
        "2,855 (2015); 2,300 at 2010 prices, about 2,800 in 2014",
        "NBS (defaults economy.poverty_line)",
        "exact",
        "status_quo",
        note="An input.",
        by_construction=True,
    ),
    Fact(
        "poverty_line_5",
        "Poverty line, 2020 (yuan/person/year, current prices)",
        "poverty_line",
        5,
        4000.0,
        "about 4,000 (2020)",
        "NBS (defaults economy.poverty_line)",
        "exact",
        "status_quo",
        note="An input: the default follows the NBS series to 2019 and grows 3% a year after; "
        "the 'about 4,000' figure is not used (see the gaps).",
        by_construction=True,
    ),
)


# ---------------------------------------------------------------------------------------------
# The register and the statistics bureau's measure, 2015-2020: judged under `precision` here and
# in the hindcast (docs/calibration.md, "Hindcast 2015-2020"). National figures describe the
# whole country; the county is a designated poor county, so levels are compared as shares of the
# 2015 level or of the register.

NBS_POOR = {2012: 98.99, 2015: 55.75, 2016: 43.35, 2017: 30.46, 2018: 16.60, 2019: 5.51, 2020: 0.0}
NBS_EXITS = {
    2013: 16.50,
    2014: 12.32,
    2015: 14.42,
    2016: 12.40,
    2017: 12.89,
    2018: 13.86,
    2019: 11.09,
}
NBS_INCIDENCE = {2015: 0.057, 2016: 0.045, 2017: 0.031, 2018: 0.017, 2019: 0.006, 2020: 0.0}
POOR_AREA_INCOME = {2016: 8452.0, 2017: 9377.0, 2018: 10371.0, 2019: 11567.0}
# returns (persons re-registered): 684,000, 208,000 and 58,000 in 2016-2018 (State Council
# Information Office figures), "a few thousand" in 2019 (read as 5,000)
RETURNS = {2016: 684_000, 2017: 208_000, 2018: 58_000, 2019: 5_000}
NBS_SOURCE = (
    "NBS rural poverty monitoring: poor 98.99 M (end 2012), 55.75 M (2015), 43.35 M (2016), "
    "30.46 M (2017), 16.60 M (2018), 5.51 M (2019); exits 16.50, 12.32, 14.42, 12.40, 12.89, "
    "13.86, 11.09 M in 2013-2019 (People's Daily 2020-01-25 for 2019; NBS 2017-2019 releases)"
)
INCIDENCE_SOURCE = (
    "NBS: rural incidence 4.5% in 2016, 1.2 points below 2015 (5.7%); 3.1% (2017); 1.7% (2018); "
    "0.6% (2019); all 98.99 M out by 2020 (NBS 2022-10-11)"
)
RETURNS_SOURCE = (
    "returns of 684,000 (2016), 208,000 (2017) and 58,000 people (2018), State Council Information "
    "Office figures cited by Geng Xin (2020, South-Central Minzu University, after Xiao & Wang "
    "2020, Journal of Yunnan Minzu University 2020(1)); 'a few thousand' in 2019, State Council "
    "Poverty Alleviation Office figures reported by CCTV (seen in a copy of the CCTV item); "
    "neither primary page verified here"
)
EXIT_RULES_SOURCE = (
    "贫困县退出专项评估检查 rules (2017): 综合贫困发生率 below 2% (3% in the west), 错退率 and "
    "漏评率 below 2%, 群众认可度 above 90%; the 283 counties declared out in 2018 all met them "
    "(People's Daily 2019-07-03)"
)


def _exit_share_fact(year: int) -> Fact:
    cal = 2015 + year
    ref = NBS_EXITS[cal] / NBS_POOR[cal - 1]
    return Fact(
        f"register_exit_share_{year}",
        f"Register exits over the register at the start of the year, {cal}",
        "exit_share",
        year,
        ref,
        f"{ref:.1%} (national: {NBS_EXITS[cal]:.2f} M of {NBS_POOR[cal - 1]:.2f} M)",
        NBS_SOURCE,
        "share",
        "precision",
        tol=0.10,
        note="The national share uses the NBS count of the poor as the register (the register "
        "was re-checked to match it); tolerance 10 points.",
    )


def _nbs_ratio_fact(year: int) -> Fact:
    cal = 2015 + year
    ref = NBS_INCIDENCE[cal] / NBS_INCIDENCE[2015]
    return Fact(
        f"nbs_rate_ratio_{year}",
        f"Poverty rate (NBS measure) over its 2015 level, {cal}",
        "nbs_ratio",
        year,
        ref,
        f"{ref:.2f} (national: {NBS_INCIDENCE[cal]:.1%} over 5.7%)",
        INCIDENCE_SOURCE,
        "ratio",
        "precision",
        tol=0.10,
        note="The county starts far above the national 5.7%; the record is that poverty fell "
        "everywhere to none by 2020, so the county's rate relative to its own 2015 level is "
        "compared with the national one; tolerance 0.10.",
    )


def _income_fact(year: int) -> Fact:
    cal = 2015 + year
    ref = POOR_AREA_INCOME[cal]
    return Fact(
        f"disposable_income_{year}",
        f"Per-capita disposable income, all rural residents of the county, {cal} (yuan)",
        "disposable_income",
        year,
        ref,
        f"{ref:,.0f} yuan (rural residents of poor areas)",
        "NBS: rural residents of poor areas 8,452 yuan (2016), 10,371 (2018), 11,567 (2019) "
        "(NBS poverty monitoring, releases of 2017-07, 2019-02-15 and 2020-01-23)",
        "money",
        "precision",
        note="Sum of net_income over sum of size, every household; within 10%.",
    )


REGISTER_FACTS: tuple[Fact, ...] = (
    *(_exit_share_fact(y) for y in (1, 2, 3, 4)),
    Fact(
        "returns_per_exit",
        "Register returns over register exits, 2016-2019",
        "returns_per_exit",
        4,
        sum(RETURNS.values()) / sum(NBS_EXITS[y] * 1e6 for y in range(2016, 2020)),
        "1.7% (about 855,000 returns over 50.24 M exits)",
        RETURNS_SOURCE + "; exits: " + NBS_SOURCE,
        "share",
        "precision",
        tol=0.01,
        note="Returns counted in persons nationally, households in the model (the ratio is "
        "compared); tolerance 1 point.",
    ),
    Fact(
        "returns_falling",
        "Register returns fall year by year, 2016-2019 (share of seeds)",
        "returns_falling",
        4,
        1.0,
        "every year below the one before (684,000 → 208,000 → 58,000 → a few thousand)",
        RETURNS_SOURCE,
        "falling",
        "precision",
        trajectory="register_returns",
        note="Judged on the mean over seeds (the expected trajectory): 2017 < 2016, 2018 < 2017 "
        "and 2019 < 2018; the share of seeds whose own returns fall every year is shown. Scaled "
        "to the county (its register is about 1/1,600 of the national one) the record is about "
        "130 → 40 → 11 → 1 households: one seed's counts of 0-3 in 2018-2019 tie or swap by "
        "chance. The 2016 returns come from the exits of 2014-2015 (register.exited_before), as "
        "the real ones did.",
    ),
    Fact(
        "register_left_5",
        "Active register in 2020 over the 2015 register",
        "register_left",
        5,
        0.01,
        "at most 1%: the register emptied by 2020 (all 98.99 M out)",
        INCIDENCE_SOURCE,
        "share",
        "precision",
        bound="at_most",
    ),
    Fact(
        "county_exit_5",
        "County exit test passed by the declare year, 2020 (share of seeds)",
        "county_exit_passed",
        5,
        1.0,
        "passed: the county was declared out in 2020",
        EXIT_RULES_SOURCE,
        "shape",
        "precision",
        note="county_exit_test in any year up to 2020 (comprehensive incidence, wrongful exits "
        "and omissions; the survey's approval rate is not modelled).",
    ),
    Fact(
        "poverty_rate_west_1",
        "Poverty rate (NBS measure), 2016, at least the western region's",
        "poverty_rate",
        1,
        0.078,
        "at least 7.8% (western region's rural incidence, 2016)",
        "NBS rural poverty monitoring for 2016 (as quoted in a published report on China's "
        "poverty, 2017): western region 22.51 M poor, incidence 7.8%",
        "share",
        "precision",
        bound="at_least",
        note="A designated poor county in the west is at least as poor as the region's average.",
    ),
    *(_nbs_ratio_fact(y) for y in (1, 3, 4, 5)),
    *(_income_fact(y) for y in (1, 3, 4)),
)
FACTS = FACTS + REGISTER_FACTS
HINDCAST_KEYS = tuple(f.key for f in REGISTER_FACTS)
