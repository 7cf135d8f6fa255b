"""An example roster anyone can run: the synthesized county's registered households at year 0,
written in the roster format, with errors of each audited kind injected at a known rate.

The clean roster is what a careful office would hold for the synthetic county: the model's year-0
households, persons and income components, with two repairs that a clean register has and
synthesis does not enforce: an industry household has a member able to work (synthesis leaves
some without one), and a household's recorded income is at most ``RECORDED_INCOME_CAP`` times the
line (it was recorded at registration, under the registration standard; the model's year-0 income
of a registered household is a draw that can be far above it). The model never reads the recorded
incomes, so neither repair changes what a run computes beyond the few able members.

Names and ID numbers are synthetic (a surname and two given characters; an 18-digit number with
a valid check digit) so that the privacy tests have something real-looking to look for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import Scenario
from sim.model.codes import Category, Health, Stage, Status
from sim.roster.format import BY_NAME, CHINESE, CODE, CODES, FLAG, HOUSEHOLD
from sim.roster.read import member_rows

RECORDED_INCOME_CAP = 1.5  # × the line; below the audit's inclusion threshold (sim.roster.audit)
KINDS = (
    "duplicate_household",
    "person_in_two_households",
    "category_cause",
    "industry_without_labour",
    "medical_without_illness",
    "education_without_student",
    "income_sum",
    "inclusion_candidate",
    "missing_sanbaozhang",
    "out_of_range",
    "size_mismatch",
)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("秀英华兰芳玉珍桂春明建国志军德福海燕凤霞")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
VILLAGES_PER_TOWN = 15


def example_roster(sc: Scenario, seed: int, rate: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(roster with English headers and values, injected errors: kind, household_id, detail)."""
    from sim.model.model import PovertyModel  # the compiled model, only when an example is made

    model = PovertyModel(sc.model_copy(update={"roster": None}), seed=seed, agents=False)
    rng = np.random.default_rng([seed, 7])
    frame = _clean(model, sc, rng)
    if rate <= 0:
        return frame, pd.DataFrame(columns=["kind", "household_id", "detail"])
    from sim.roster.inject import inject

    return inject(frame, sc, rate, rng)


def _clean(model, sc: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    hh, p = model.hh, model.persons
    reg = np.flatnonzero(hh.registered)
    start = model.person_start
    persons = member_rows(start, reg)
    owner = np.repeat(np.arange(len(reg)), hh.size[reg])
    age, health, stage = p.age[persons].copy(), p.health[persons].copy(), p.stage[persons].copy()
    _give_labour(sc, hh.category[reg], owner, age, health, stage, rng)
    money = {c: getattr(hh, c)[reg].copy() for c in _MONEY}
    _cap_recorded(money, hh.size[reg], RECORDED_INCOME_CAP * sc.poverty_line(0))
    money = {c: np.round(v, 2) for c, v in money.items()}
    village = hh.village[reg]
    out = {
        "household_id": np.char.add("H", np.char.zfill((reg + 1).astype(str), 7)),
        "town": np.char.add("镇", np.char.zfill((village // VILLAGES_PER_TOWN + 1).astype(str), 2)),
        "village": np.char.add("村", np.char.zfill((village + 1).astype(str), 3)),
        "size": hh.size[reg],
        "registered_year": np.full(len(reg), sc.meta.base_year),
        "status": np.full(len(reg), int(Status.POOR)),
        "category": hh.category[reg],
        "primary_cause": hh.primary_cause[reg],
        "other_causes": hh.causes[reg] & ~hh.primary_cause[reg],
        **money,
        "income_pc": np.round(computed_income_pc(money, hh.size[reg]), 2),
        "house_safe": hh.house_safe[reg].astype(int),
        "insured": hh.insured[reg].astype(int),
        "land": np.round(hh.land[reg], 2),
        "dibao": hh.dibao[reg].astype(int),
    }
    frame = pd.DataFrame({k: np.asarray(v)[owner] for k, v in out.items()})
    frame.insert(1, "name", _names(len(persons), rng))
    frame["id_number"] = _id_numbers(sc.meta.base_year - age, rng)
    frame["age"], frame["sex"] = age, p.female[persons].astype(int)
    frame["health"] = np.minimum(health, int(Health.CHRONIC))
    frame["disabled"] = (health == Health.DISABLED).astype(int)
    frame["stage"], frame["edu_years"] = stage, p.edu_years[persons]
    frame["work"] = p.work[persons]
    return frame


_INCOMES = ("inc_farm", "inc_livestock", "inc_wage", "inc_migrant", "inc_business")
_INCOMES += ("inc_property", "inc_transfers")
_COSTS = ("cost_production", "sp_medical", "sp_schooling", "sp_debt_service")
_MONEY = _INCOMES + _COSTS


def computed_income_pc(money, size) -> np.ndarray:
    """The 六算: the income components less production, medical, schooling and debt costs, per
    person (the model's income_pc, sim.model.income)."""
    total = sum(np.asarray(money[c], dtype=np.float64) for c in _INCOMES)
    total = total - sum(np.asarray(money[c], dtype=np.float64) for c in _COSTS)
    return total / np.asarray(size, dtype=np.float64)


def _cap_recorded(money: dict, size: np.ndarray, cap_pc: float) -> None:
    """Scale the positive income amounts of households above ``cap_pc`` so that their computed
    income per person is ``cap_pc``."""
    total = computed_income_pc(money, size) * size
    pos = sum(np.maximum(money[c], 0.0) for c in _INCOMES)
    target = cap_pc * size
    scale = np.where(
        total > target, np.clip((target - (total - pos)) / np.maximum(pos, 1e-9), 0, 1), 1.0
    )
    for c in _INCOMES:
        money[c] = np.where(money[c] > 0, money[c] * scale, money[c])


def _give_labour(sc, category, owner, age, health, stage, rng) -> None:
    """An industry household without a member able to work gets its head able (of working age,
    not disabled, out of school)."""
    lab = sc.population.labour
    able = able_members(sc, age, health, stage)
    has = np.bincount(owner, weights=able, minlength=len(category)) > 0
    fix = np.flatnonzero((category == Category.INDUSTRY) & ~has)
    head = np.searchsorted(owner, fix)
    old = age[head] > lab.working_age_max
    age[head] = np.where(old, rng.integers(45, lab.working_age_max + 1, len(head)), age[head])
    health[head] = np.minimum(health[head], int(Health.CHRONIC))
    stage[head] = int(Stage.NONE)


def able_members(sc: Scenario, age, health, stage) -> np.ndarray:
    """Persons the model gives labour: of working or farming age (up to the elderly farming age),
    not disabled, not in school."""
    lab = sc.population.labour
    ages_ok = (age >= lab.working_age_min) & (age <= lab.elderly_farm_age_max)
    return ages_ok & (health != Health.DISABLED) & (stage == Stage.NONE)


def _names(n: int, rng: np.random.Generator) -> np.ndarray:
    s = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    return np.char.add(np.char.add(s, g1), g2)


def _id_numbers(birth_year: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """18-digit resident ID numbers: region, birth date, sequence, ISO 7064 check digit."""
    n = len(birth_year)
    region = np.full(n, "610900")
    date = np.char.add(
        birth_year.astype(str),
        np.char.add(
            np.char.zfill(rng.integers(1, 13, n).astype(str), 2),
            np.char.zfill(rng.integers(1, 29, n).astype(str), 2),
        ),
    )
    # the sequence number tells apart people born the same day: unique within the example
    seq = pd.Series(date).groupby(date).cumcount().to_numpy() % 1000
    seq = np.char.zfill(seq.astype(str), 3)
    body = np.char.add(np.char.add(region, date), seq)
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
    check = ID_CHECK[(digits.astype(np.int64) @ ID_WEIGHTS) % 11]
    return np.char.add(body, check)


def english_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Codes as the English words of docs/roster.md."""
    return _words(frame, lambda vocab, code: _ENGLISH[vocab][code])


def chinese_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Codes as Chinese words, headers as the first Chinese header of each column."""
    out = _words(frame, lambda vocab, code: CHINESE[vocab][code])
    return out.rename(
        columns={c: BY_NAME[c].zh[0] for c in out.columns if c in BY_NAME} | {"name": "姓名"}
    )


def _english() -> dict[str, dict[int, str]]:
    from sim.roster.format import VOCABULARIES

    return {
        vocab: {v: k for k, v in reversed(words.items()) if k.isascii() and len(k) > 1}
        for vocab, words in VOCABULARIES.items()
    }


_ENGLISH = _english()


def _words(frame: pd.DataFrame, word) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        col = BY_NAME.get(name)
        if col is None or col.kind not in (CODE, CODES, FLAG):
            continue
        vocab = "flag" if col.kind == FLAG else col.codes
        values = out[name].to_numpy()
        if col.kind == CODES:
            out[name] = _flag_words(values, vocab, word)
            continue
        known = pd.Series(values).dropna().astype(int).unique()
        table = {int(k): word(vocab, int(k)) for k in known}
        out[name] = pd.Series(values).map(lambda v, t=table: t.get(int(v), "") if v == v else "")
    return out


def _flag_words(values: np.ndarray, vocab: str, word) -> np.ndarray:
    """Bit flags as words joined by 、 (one pass per flag, not per row)."""
    out = np.full(len(values), "", dtype=object)
    for bit in sorted(CHINESE[vocab]):
        has = (values.astype(np.int64) & bit) != 0
        sep = np.where(out[has] == "", "", "、")
        out[has] = out[has] + sep + word(vocab, bit)
    return out


def is_household_column(name: str) -> bool:
    col = BY_NAME.get(name)
    return col is not None and col.level == HOUSEHOLD
