"""Errors of each audited kind injected into a clean example roster, at a known rate, each in
households of its own (so that every finding has one cause), and the list of what was injected.
The audit's tests check it finds every one (tests/test_roster_audit.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import Scenario
from sim.model.codes import Category, Health
from sim.roster.audit import INCLUSION_MULTIPLE
from sim.roster.example import KINDS, able_members, computed_income_pc

MONEY = (
    "inc_farm inc_livestock inc_wage inc_migrant inc_business inc_property inc_transfers "
    "cost_production sp_medical sp_schooling sp_debt_service"
).split()


def inject(
    frame: pd.DataFrame, sc: Scenario, rate: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` with errors in about ``rate`` of its households per kind (at least one each);
    returns (roster, injected: kind, household_id, detail)."""
    frame = frame.reset_index(drop=True)
    ids, first = np.unique(frame["household_id"].to_numpy(), return_index=True)
    order = np.argsort(first)
    ids, first = ids[order], first[order]
    members = np.diff(np.append(first, len(frame)))
    category = frame["category"].to_numpy()[first]
    owner = np.repeat(np.arange(len(ids)), members)
    able = able_members(
        sc,
        frame["age"].to_numpy(),
        np.where(frame["disabled"].to_numpy() == 1, int(Health.DISABLED), frame["health"]),
        frame["stage"].to_numpy(),
    )
    has_able = np.bincount(owner, weights=able, minlength=len(ids)) > 0
    very_old = frame["age"].to_numpy() > sc.population.labour.elderly_farm_age_max  # never able
    elderly = np.bincount(owner, weights=very_old, minlength=len(ids)) > 0
    n = max(1, int(round(rate * len(ids))))
    free = np.ones(len(ids), dtype=bool)
    free[0] = False  # the first household has no earlier one to share a person with

    def take(mask: np.ndarray, k: int = n) -> np.ndarray:
        pool = np.flatnonzero(mask & free)
        chosen = np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False))
        free[chosen] = False
        return chosen

    rows, log, extra = frame.copy(), [], []
    medical, industry = category == Category.MEDICAL, category == Category.INDUSTRY
    line = sc.poverty_line(0)
    span = {h: slice(first[h], first[h] + members[h]) for h in range(len(ids))}

    def idx(h: int) -> np.ndarray:
        return np.arange(span[h].start, span[h].stop)

    for h in take(medical & has_able):  # 乱归类: a medical household moved into industry
        rows.loc[idx(h), "category"] = int(Category.INDUSTRY)
        log.append(("category_cause", ids[h], "medical household recorded as industry"))
    for h in take(industry & has_able):
        sel = idx(h)[able[idx(h)]]
        rows.loc[sel, "disabled"] = 1
        log.append(("industry_without_labour", ids[h], f"{len(sel)} able members made disabled"))
    for h in take(medical):
        rows.loc[idx(h), ["health", "disabled"]] = 0
        log.append(("medical_without_illness", ids[h], "every member recorded healthy"))
    for h in take(category == Category.EDUCATION):
        rows.loc[idx(h), "stage"] = 0
        log.append(("education_without_student", ids[h], "no member recorded in school"))
    for h in take(np.ones(len(ids), dtype=bool)):
        rows.loc[idx(h), "income_pc"] += 800.0
        log.append(("income_sum", ids[h], "stated income per person 800 yuan above its sum"))
    for h in take(np.ones(len(ids), dtype=bool)):
        money = {c: rows.loc[first[h], c] for c in MONEY}
        now = min(float(computed_income_pc(money, members[h])), 0.0)  # rigid costs may be large
        rows.loc[idx(h), "inc_migrant"] += (2 * INCLUSION_MULTIPLE * line - now) * members[h]
        _restate(rows, idx(h), members[h])
        log.append(("inclusion_candidate", ids[h], "migrant income raised far above the line"))
    for h in take(np.ones(len(ids), dtype=bool)):
        rows.loc[idx(h), "house_safe"] = np.nan
        log.append(("missing_sanbaozhang", ids[h], "house safety left empty"))
    for h in take(elderly):
        old = idx(h)[very_old[idx(h)]][0]
        rows.loc[old, "age"] = 130
        log.append(("out_of_range", ids[h], "an age of 130"))
    for h in take(np.ones(len(ids), dtype=bool)):
        rows.loc[idx(h), "size"] += 1
        log.append(("size_mismatch", ids[h], "stated size one more than the members listed"))
    _duplicate(rows, extra, log, ids, idx, take(np.ones(len(ids), dtype=bool)))
    _person_in_two(rows, extra, log, ids, idx, take, len(ids))
    out = pd.concat([rows, *extra], ignore_index=True)
    injected = pd.DataFrame(log, columns=["kind", "household_id", "detail"])
    assert set(injected["kind"]) <= set(KINDS)
    return out, injected


def _duplicate(rows, extra, log, ids, idx, chosen) -> None:
    """重报: each chosen household entered a second time under a new key."""
    for h in chosen:
        copy = rows.loc[idx(h)].copy()
        copy["household_id"] = f"{ids[h]}D"
        extra.append(copy)
        log.append(("duplicate_household", f"{ids[h]}D", f"a second entry of {ids[h]}"))


def _person_in_two(rows, extra, log, ids, idx, take, n_households) -> None:
    """A person of one household also listed in a later one: the later household's first
    member's row is copied into it with the person's own fields (the receiving household is the
    one at fault, so its size and stated income are restated)."""
    receivers = take(np.arange(n_households) > 0)
    for b in receivers:
        a = int(b) - 1 if b > 0 else 0
        person = rows.loc[idx(a)[0]].copy()
        target = rows.loc[idx(b)]
        person_fields = ["name", "id_number", "age", "sex", "health", "disabled", "stage"]
        person_fields += ["edu_years", "work"]
        new = target.iloc[[0]].copy()
        new[person_fields] = person[person_fields].to_numpy()
        rows.loc[idx(b), "size"] += 1
        extra.append(new.assign(size=target["size"].iloc[0] + 1))
        _restate(rows, idx(b), len(target) + 1)
        extra[-1]["income_pc"] = rows.loc[idx(b)[0], "income_pc"]
        log.append(("person_in_two_households", ids[b], f"a member of {ids[a]} listed again"))


def _restate(rows: pd.DataFrame, sel: np.ndarray, members: int) -> None:
    money = {c: rows.loc[sel[0], c] for c in MONEY}
    rows.loc[sel, "income_pc"] = round(float(computed_income_pc(money, members)), 2)
