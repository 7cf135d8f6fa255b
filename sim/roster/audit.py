"""The roster audit: what is wrong with a register, by kind and by village, with the rows involved.

Every check is a few array operations over all households or persons at once. A finding names a
household by its key and its rows in the file, never by a person's name or ID number (neither is
held: sim.roster.read).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import Scenario
from sim.model.codes import Category, Health, Stage, Status
from sim.roster.format import BY_NAME, CATEGORY_CAUSES, COLUMNS, COSTS, FLOAT, INCOME, INT, label
from sim.roster.read import MISSING, Roster, member_rows

ERROR, WARNING = "error", "warning"
# kind: (severity, Chinese name, what it means). Errors are what --on-error acts on.
KINDS: dict[str, tuple[str, str, str]] = {
    "duplicate_household": (ERROR, "重报", "the same members as an earlier household"),
    "person_in_two_households": (
        ERROR,
        "重报",
        "a person (ID number) listed in an earlier household",
    ),
    "category_cause": (ERROR, "乱归类", "the category does not serve the primary cause"),
    "industry_without_labour": (ERROR, "乱归类", "industry support, but no member able to work"),
    "medical_without_illness": (ERROR, "乱归类", "medical aid, but no member ill or disabled"),
    "education_without_student": (ERROR, "乱归类", "education aid, but no member in school"),
    "income_sum": (ERROR, "收入不符", "income components do not add up to the stated income"),
    "inclusion_candidate": (WARNING, "错评", "computed income well above the line"),
    "missing_sanbaozhang": (WARNING, "三保障缺项", "house safety, insurance or schooling empty"),
    "out_of_range": (ERROR, "超出范围", "an age, size or value outside its range"),
    "size_mismatch": (ERROR, "人口不符", "stated household size differs from the members listed"),
    "scenario_totals": (WARNING, "总数不符", "a county total differs from the scenario's"),
}
INCLUSION_MULTIPLE = 2.0  # computed income above twice the line: well above it
INCOME_TOLERANCE = (10.0, 0.01)  # yuan per person, or this share of the stated income if larger
FINDING_COLUMNS = ["kind", "severity", "town", "village", "household_id", "rows", "detail"]


def audit(roster: Roster, sc: Scenario, totals: bool = True) -> pd.DataFrame:
    """Every finding, one row each (FINDING_COLUMNS), households in file order within a kind."""
    hh = roster.households
    size, members = hh["size"].to_numpy(dtype=np.float64), hh["members"].to_numpy()
    wrong_size = np.flatnonzero(np.isfinite(size) & (size != members))
    parts = [
        _duplicates(roster),
        _categories(roster, sc),
        _income(roster, sc),
        _sanbaozhang(roster),
        _ranges(roster, sc),
        _frame(
            "size_mismatch",
            wrong_size,
            [f"size {size[i]:.0f}, {members[i]} members listed" for i in wrong_size],
        ),
    ]
    found = pd.concat([_frame("none", [], "")] + [f for f in parts if len(f)], ignore_index=True)
    out = _located(roster, found)
    if totals:
        out = pd.concat([out, _totals(roster, sc)], ignore_index=True)
    return out


def error_households(findings: pd.DataFrame, roster: Roster) -> np.ndarray:
    """Households (rows of ``roster.households``) with at least one error finding."""
    keys = findings.loc[findings["severity"] == ERROR, "household_id"]
    return np.flatnonzero(roster.households["household_id"].isin(set(keys)).to_numpy())


def _frame(kind: str, households, detail: str | list[str], persons=None) -> pd.DataFrame:
    """Findings of one kind: household rows, person rows (-1: the whole household), details."""
    households = np.asarray(households, dtype=np.int64)
    n = len(households)
    return pd.DataFrame(
        {
            "kind": np.full(n, kind, dtype=object),
            "household": households,
            "person": np.full(n, -1) if persons is None else np.asarray(persons, dtype=np.int64),
            "detail": np.full(n, detail, dtype=object) if isinstance(detail, str) else detail,
        }
    )


def _members_any(roster: Roster, flags: np.ndarray) -> np.ndarray:
    return np.bincount(roster.persons["hh"], weights=flags, minlength=len(roster.households)) > 0


def _health(p: pd.DataFrame) -> np.ndarray:
    health = np.where(p["health"].to_numpy() == MISSING, 0, p["health"].to_numpy())
    return np.where(p["disabled"].to_numpy() == 1, int(Health.DISABLED), health)


def _categories(roster: Roster, sc: Scenario) -> pd.DataFrame:
    """乱归类: the category against the primary cause and against the members."""
    hh, p = roster.households, roster.persons
    cat, cause = hh["category"].to_numpy(), hh["primary_cause"].to_numpy()
    served = np.zeros(len(hh), dtype=np.int64)
    for c, causes in CATEGORY_CAUSES.items():
        served[cat == c] = causes
    health, stage = _health(p), p["stage"].to_numpy()
    lab = sc.population.labour
    age = p["age"].to_numpy()
    able = (age >= lab.working_age_min) & (age <= lab.elderly_farm_age_max)
    able &= (health != Health.DISABLED) & ((stage == Stage.NONE) | (stage == MISSING))
    out = [
        _frame("category_cause", np.flatnonzero((served & cause) == 0), "category and cause"),
        _frame(
            "industry_without_labour",
            np.flatnonzero((cat == Category.INDUSTRY) & ~_members_any(roster, able)),
            f"no member of {lab.working_age_min}-{lab.elderly_farm_age_max} able to work",
        ),
        _frame(
            "medical_without_illness",
            np.flatnonzero((cat == Category.MEDICAL) & ~_members_any(roster, health > 0)),
            "no member chronically ill or disabled",
        ),
    ]
    if "stage" in roster.present:
        student = _members_any(roster, (stage >= Stage.COMPULSORY) & (stage != MISSING))
        out.append(
            _frame(
                "education_without_student",
                np.flatnonzero((cat == Category.EDUCATION) & ~student),
                "no member in school",
            )
        )
    names = {int(c): c.name.lower() for c in Category}
    first = out[0]
    if len(first):
        i = first["household"].to_numpy()
        first["detail"] = [
            f"category {names[int(c)]} with primary cause {_cause_name(int(k))}"
            for c, k in zip(cat[i], cause[i], strict=True)
        ]
    return pd.concat(out, ignore_index=True)


def _cause_name(code: int) -> str:
    from sim.model.codes import Cause

    return Cause(code).name.lower() if code > 0 else "none"


def computed_income(roster: Roster) -> tuple[np.ndarray, np.ndarray]:
    """Per person income from the components (the 六算: incomes less production, medical,
    schooling and debt costs, over the members listed), and whether any component is given."""
    hh = roster.households
    given = [c for c in INCOME + COSTS if c in roster.present]
    if not given:
        return np.full(len(hh), np.nan), np.zeros(len(hh), dtype=bool)
    total = np.zeros(len(hh))
    for c in given:
        v = np.nan_to_num(hh[c].to_numpy(dtype=np.float64))
        total += -v if c in COSTS else v
    any_given = np.zeros(len(hh), dtype=bool)
    for c in given:
        any_given |= hh[c].notna().to_numpy()
    return total / hh["members"].to_numpy(), any_given


def _income(roster: Roster, sc: Scenario) -> pd.DataFrame:
    hh = roster.households
    computed, any_given = computed_income(roster)
    stated = hh["income_pc"].to_numpy(dtype=np.float64)
    tol = np.maximum(INCOME_TOLERANCE[0], INCOME_TOLERANCE[1] * np.abs(stated))
    wrong = np.flatnonzero(any_given & np.isfinite(stated) & (np.abs(stated - computed) > tol))
    status = hh["status"].to_numpy()
    active = (status == Status.POOR) | (status == Status.RETURNED) | (status == MISSING)
    income = np.where(any_given, computed, stated)
    line = sc.poverty_line(0)
    high = np.flatnonzero(active & np.isfinite(income) & (income > INCLUSION_MULTIPLE * line))
    return pd.concat(
        [
            _frame(
                "income_sum",
                wrong,
                [
                    f"stated {stated[i]:,.0f}, components give {computed[i]:,.0f} yuan per person"
                    for i in wrong
                ],
            ),
            _frame(
                "inclusion_candidate",
                high,
                [
                    f"{income[i]:,.0f} yuan per person, {income[i] / line:.1f} times the line {line:,.0f}"
                    for i in high
                ],
            ),
        ],
        ignore_index=True,
    )


def _sanbaozhang(roster: Roster) -> pd.DataFrame:
    """三保障 fields left empty: house safety and insurance per household, schooling stage of a
    child of compulsory-school age. A column absent altogether is one county-level finding."""
    hh, p = roster.households, roster.persons
    empty = np.zeros(len(hh), dtype=bool)
    for c in ("house_safe", "insured"):
        if c in roster.present:
            empty |= hh[c].to_numpy() == MISSING
    if "stage" in roster.present:
        age = p["age"].to_numpy()
        child = (age >= 6) & (age <= 14) & (p["stage"].to_numpy() == MISSING)
        empty |= _members_any(roster, child)
    which = np.flatnonzero(empty)
    return _frame(
        "missing_sanbaozhang", which, "house safety, insurance or a child's schooling empty"
    )


def _ranges(roster: Roster, sc: Scenario) -> pd.DataFrame:
    hh, p = roster.households, roster.persons
    out = []
    for c in COLUMNS:
        if c.kind not in (INT, FLOAT) or c.low is None or c.name not in roster.present:
            continue
        table = hh if c.level == "household" else p
        v = table[c.name].to_numpy(dtype=np.float64)
        high = sc.meta.base_year if c.name == "registered_year" else c.high
        bad = np.flatnonzero(np.isfinite(v) & ((v < c.low) | (v > high)))
        if not len(bad):
            continue
        text = [f"{label(c.name)} {v[i]:g} outside {c.low:g}..{high:g}" for i in bad]
        if c.level == "household":
            out.append(_frame("out_of_range", bad, text))
        else:
            out.append(_frame("out_of_range", p["hh"].to_numpy()[bad], text, bad))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _duplicates(roster: Roster) -> pd.DataFrame:
    """重报: a household whose members (by ID number) are those of an earlier one, and a person
    listed in two households that are not copies of each other (the later one is at fault)."""
    ids, hh_of = roster.id_hash, roster.persons["hh"].to_numpy()
    H = len(roster.households)
    if not ids.any():
        return pd.DataFrame()
    known = ids != 0
    complete = np.bincount(hh_of, weights=~known, minlength=H) == 0
    mixed = (ids * np.uint64(0x9E3779B97F4A7C15)) ^ (ids >> np.uint64(29))
    sig = pd.DataFrame(
        {
            "n": np.bincount(hh_of, minlength=H),
            "s": _group_sum(hh_of, ids, H),
            "m": _group_sum(hh_of, mixed, H),
        }
    )
    dup = sig.duplicated(keep="first").to_numpy() & complete
    original = sig.groupby(["n", "s", "m"], sort=False).ngroup().to_numpy()
    first_of_group = pd.Series(np.arange(H)).groupby(original).transform("min").to_numpy()
    canon = first_of_group[hh_of]
    pairs = pd.DataFrame({"id": ids[known], "hh": canon[known], "person": np.flatnonzero(known)})
    pairs = pairs.drop_duplicates(["id", "hh"])
    earliest = pairs.groupby("id")["hh"].transform("min")
    later = pairs[pairs["hh"] != earliest]
    keys = roster.households["household_id"].to_numpy()
    dup_idx = np.flatnonzero(dup)
    return pd.concat(
        [
            _frame(
                "duplicate_household",
                dup_idx,
                [f"same members as household {keys[first_of_group[i]]}" for i in dup_idx],
            ),
            _frame(
                "person_in_two_households",
                later["hh"].to_numpy(),
                [
                    f"a member is also listed in household {keys[e]}"
                    for e in earliest[later.index].to_numpy()
                ],
                later["person"].to_numpy(),
            ),
        ],
        ignore_index=True,
    )


def _group_sum(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sums of uint64 values per group, wrapping around (an order-free signature)."""
    order = np.argsort(groups, kind="stable")
    cum = np.cumsum(values[order], dtype=np.uint64)
    ends = np.searchsorted(groups[order], np.arange(n), side="right") - 1
    starts = np.searchsorted(groups[order], np.arange(n), side="left") - 1
    hi = np.where(ends >= 0, cum[np.maximum(ends, 0)], np.uint64(0))
    lo = np.where(starts >= 0, cum[np.maximum(starts, 0)], np.uint64(0))
    return (hi - lo).astype(np.uint64)


def _located(roster: Roster, found: pd.DataFrame) -> pd.DataFrame:
    """Findings with their household's key, town, village and rows in the file."""
    hh, p = roster.households, roster.persons
    h = found["household"].to_numpy(dtype=np.int64)
    person = found["person"].to_numpy(dtype=np.int64)
    start = roster.rows_of
    rows = _row_lists(p["row"].to_numpy(), start, h)
    rows = np.where(person >= 0, p["row"].to_numpy()[np.maximum(person, 0)].astype(str), rows)
    kinds = found["kind"].to_numpy()
    return pd.DataFrame(
        {
            "kind": kinds,
            "severity": [KINDS[k][0] for k in kinds],
            "town": hh["town"].to_numpy()[h],
            "village": hh["village"].to_numpy()[h],
            "household_id": hh["household_id"].to_numpy()[h],
            "rows": rows,
            "detail": found["detail"].to_numpy(),
        }
    )


def _row_lists(row: np.ndarray, start: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Each household's rows in the file as "12;13;14" (vectorised over the flagged ones)."""
    if not len(h):
        return np.zeros(0, dtype=object)
    owner = np.repeat(np.arange(len(h)), start[h + 1] - start[h])
    idx = member_rows(start, h)
    text = pd.Series(row[idx].astype(str)).groupby(owner).agg(";".join)
    return text.to_numpy(dtype=object)


def _totals(roster: Roster, sc: Scenario) -> pd.DataFrame:
    """County totals against the scenario's: villages, registered households and people, and
    households per category."""
    hh = roster.households
    reg = sc.population.registered
    checks = [
        ("villages", hh["village"].nunique(), sc.villages.count, "at most"),
        ("registered households", len(hh), reg.households, "equal"),
        ("registered people", int(hh["members"].sum()), reg.people, "equal"),
    ]
    for c in Category:
        if c >= 0:
            given = getattr(reg.categories, c.name.lower()).households
            checks.append(
                (f"{c.name.lower()} households", int((hh["category"] == c).sum()), given, "equal")
            )
    rows = []
    for what, roster_n, scenario_n, rule in checks:
        wrong = roster_n > scenario_n if rule == "at most" else roster_n != scenario_n
        if wrong:
            detail = f"{what}: roster {roster_n:,}, scenario {scenario_n:,}"
            rows.append(("scenario_totals", WARNING, "", "", "", "", detail))
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings and households by kind, in the order of KINDS, with the kind's meaning."""
    rows = []
    for kind, (severity, zh, meaning) in KINDS.items():
        f = findings[findings["kind"] == kind]
        hh = f["household_id"].replace("", np.nan).nunique()
        rows.append((kind, zh, severity, len(f), hh, meaning))
    cols = ["kind", "zh", "severity", "findings", "households", "meaning"]
    return pd.DataFrame(rows, columns=cols)


def by_village(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings per village and kind (villages with any finding)."""
    f = findings[findings["village"].astype(str) != ""]
    if not len(f):
        return pd.DataFrame(columns=["town", "village"])
    table = pd.crosstab([f["town"].fillna(""), f["village"]], f["kind"])
    return table.reindex(columns=[k for k in KINDS if k in table.columns]).reset_index()


assert set(BY_NAME) >= set(INCOME + COSTS)
