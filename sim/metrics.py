"""Yearly indicators. ``COLUMNS`` documents each one (unit, definition); docs/outputs.md lists them."""

from __future__ import annotations

import numpy as np

from sim.codes import Status, Trigger
from sim.policies import INSTRUMENTS

TRIGGERS = [t.name.lower() for t in Trigger if t != Trigger.NONE]

COLUMNS: dict[str, tuple[str, str]] = {
    "year": (
        "years since base year",
        "model year; 0 is the state at registration, before any step",
    ),
    "calendar_year": ("calendar year", "base_year + year"),
    "poverty_line": ("yuan/person/year", "poverty line in force this year (current prices)"),
    "households": ("households", "households in the area"),
    "people": ("persons", "persons in the area"),
    "poor_households": (
        "households",
        "households whose per-capita income (after rigid spending) is below the line",
    ),
    "poor_people": ("persons", "persons in poor households"),
    "poverty_rate": ("share of persons", "poor_people / people (FGT0 over persons)"),
    "poverty_gap": ("share of the line", "FGT1 over persons: mean of max(0, 1 - income_pc / line)"),
    "poverty_severity": (
        "share of the line, squared",
        "FGT2 over persons: mean of max(0, 1 - income_pc / line)^2",
    ),
    "registered_households": (
        "households",
        "households on the register and not exited (status poor or returned)",
    ),
    "registered_people": ("persons", "persons in registered_households"),
    "newly_registered": (
        "households",
        "households put on the register this year (identification, with its errors)",
    ),
    "exits": ("households", "registered households that passed the exit test this year"),
    "returns": ("households", "exited households whose income fell below the line this year"),
    "new_poor": ("households", "never-registered households that fell below the line this year"),
    "exited_cumulative": ("households", "exits summed over years 1..year"),
    "returns_cumulative": ("households", "returns summed over years 1..year"),
    **{
        f"returns_{t}": (
            "households",
            f"returns this year whose main trigger (largest loss) was {t.replace('_', ' ')}",
        )
        for t in TRIGGERS
    },
    "ever_exited": ("households", "households that exited at least once up to this year"),
    "exited_now": ("households", "households whose status is exited at the end of the year"),
    "sustained_exits": (
        "households",
        "households that exited, never returned, and are out of poverty (exited) now",
    ),
    "sustained_exit_share": ("share", "sustained_exits / ever_exited (0 when nobody has exited)"),
    **{
        f"durability_{k}": (
            "share",
            f"of households whose first exit was at least {k} year(s) ago, the share that did not return within {k} year(s) of it (NaN when none)",
        )
        for k in range(1, 10)
    },
    **{
        f"income_{c}_pc{suffix}": (
            "yuan/person/year",
            f"{desc} per person, {who}",
        )
        for c, desc in (
            ("farm", "farm output less production costs"),
            ("livestock", "livestock income"),
            ("wage", "local and enterprise wages"),
            ("migrant", "migrant income reaching the household"),
            ("business", "business and contract income"),
            ("property", "rent and interest"),
            ("transfers", "all transfers (standing and programme)"),
            ("transfers_programme", "programme transfers"),
        )
        for suffix, who in (("", "all households"), ("_reg0", "households registered at year 0"))
    },
    "mean_income_pc": (
        "yuan/person/year",
        "person-weighted mean of per-capita income after rigid spending",
    ),
    "median_income_pc": (
        "yuan/person/year",
        "person-weighted median of per-capita income after rigid spending",
    ),
    "mean_income_pc_registered0": (
        "yuan/person/year",
        "mean per-capita net income (before rigid spending) of households registered at year 0",
    ),
    "gini": (
        "0-1",
        "Gini coefficient of per-capita income over persons (negative incomes set to 0)",
    ),
    "transfer_share": (
        "share",
        "transfers / gross income (net income + production costs) summed over poor households",
    ),
    "at_risk_households": (
        "households",
        "households flagged by monitoring (not on the active register; income < monitoring_line x line, or a rigid-spending spike)",
    ),
    "mean_assets": ("yuan/household", "mean productive assets"),
    "above_asset_threshold": (
        "share of households",
        "households with productive assets above the trap threshold",
    ),
    "medical_oop_share": ("share", "out-of-pocket / total medical cost, all households"),
    "medical_oop_share_registered": (
        "share",
        "out-of-pocket / total medical cost, households ever registered",
    ),
    "catastrophic_health_share": (
        "share of households",
        "households whose out-of-pocket medical cost exceeds catastrophic_share of net income",
    ),
    "enterprises_alive": ("enterprises", "enterprises operating this year"),
    "disaster_villages": ("villages", "villages hit by a disaster this year"),
    "waiting_households": (
        "households",
        "eligible households not served this year because the budget ran out",
    ),
    "spending": ("yuan", "programme spending this year, all instruments"),
    **{f"spending_{i}": ("yuan", f"programme spending this year on {i}") for i in INSTRUMENTS},
    "cumulative_spending": ("yuan", "programme spending summed over years 0..year"),
}


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float, order=None) -> float:
    order = np.argsort(x) if order is None else order
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, q * cw[-1])])


def gini(x: np.ndarray, w: np.ndarray, order=None) -> float:
    """Gini over persons; ``order`` (an argsort of x) may be shared with other statistics."""
    order = np.argsort(x) if order is None else order
    x = np.maximum(x[order], 0.0)  # clipping keeps the order
    w = w[order].astype(np.float64)
    cw = np.cumsum(w)
    cxw = np.cumsum(x * w)
    total = cxw[-1]
    if total <= 0:
        return 0.0
    # area under the Lorenz curve by trapezoids
    lorenz = cxw / total
    prev = np.concatenate([[0.0], lorenz[:-1]])
    area = np.sum(w / cw[-1] * (lorenz + prev) / 2.0)
    return float(1.0 - 2.0 * area)


def collect(model, events: dict | None) -> dict:
    hh = model.hh
    year = model.year
    line = model.line(year)
    size = hh.size.astype(np.float64)
    people = float(size.sum())
    poor = hh.income_pc < line
    # a negative income is a full shortfall (1), so FGT2 <= FGT1 <= FGT0
    shortfall = np.clip(1.0 - np.maximum(hh.income_pc, 0.0) / line, 0.0, 1.0) * poor
    active = (hh.status == Status.POOR) | (hh.status == Status.RETURNED)
    gross = hh.net_income + hh.cost_production
    poor_gross = gross[poor].sum()
    reg0 = hh.registered_year == 0
    med = hh.medical_cost
    ever_reg = hh.registered
    row = {
        "year": year,
        "calendar_year": model.scenario.meta.base_year + year,
        "poverty_line": line,
        "households": hh.n,
        "people": int(people),
        "poor_households": int(poor.sum()),
        "poor_people": int(size[poor].sum()),
        "poverty_rate": float(size[poor].sum() / people),
        "poverty_gap": float((shortfall * size).sum() / people),
        "poverty_severity": float((shortfall**2 * size).sum() / people),
        "registered_households": int(active.sum()),
        "registered_people": int(size[active].sum()),
        "newly_registered": int(getattr(model.yr, "newly_registered", 0)),
    }
    if events is None:
        exits = returns = new_poor = np.zeros(hh.n, dtype=bool)
        trig = np.zeros(hh.n, dtype=np.int8)
    else:
        exits, returns, new_poor, trig = (
            events["exits"],
            events["returns"],
            events["new_poor"],
            events["triggers"],
        )
    row["exits"] = int(exits.sum())
    row["returns"] = int(returns.sum())
    row["new_poor"] = int(new_poor.sum())
    prev = model.cumulative
    row["exited_cumulative"] = prev.get("exits", 0) + row["exits"]
    row["returns_cumulative"] = prev.get("returns", 0) + row["returns"]
    model.cumulative["exits"] = row["exited_cumulative"]
    model.cumulative["returns"] = row["returns_cumulative"]
    for t in Trigger:
        if t == Trigger.NONE:
            continue
        row[f"returns_{t.name.lower()}"] = int((returns & (trig == t)).sum())
    row["ever_exited"] = int((hh.first_exit_year >= 0).sum())
    row["exited_now"] = int((hh.status == Status.EXITED).sum())
    ever = hh.first_exit_year >= 0
    sustained = ever & (hh.first_return_year < 0) & (hh.status == Status.EXITED)
    row["sustained_exits"] = int(sustained.sum())
    row["sustained_exit_share"] = float(sustained.sum() / ever.sum()) if ever.any() else 0.0
    for k in range(1, 10):
        at_risk = ever & (hh.first_exit_year <= year - k)
        kept = at_risk & (
            (hh.first_return_year < 0) | (hh.first_return_year - hh.first_exit_year > k)
        )
        row[f"durability_{k}"] = (
            float(kept.sum() / at_risk.sum()) if at_risk.any() else float("nan")
        )
    components = {
        "farm": hh.inc_farm - hh.cost_production,
        "livestock": hh.inc_livestock,
        "wage": hh.inc_wage,
        "migrant": hh.inc_migrant,
        "business": hh.inc_business,
        "property": hh.inc_property,
        "transfers": hh.inc_transfers,
        "transfers_programme": hh.inc_transfers_programme,
    }
    people_reg0 = size[reg0].sum()
    for c, values in components.items():
        row[f"income_{c}_pc"] = float(values.sum() / people)
        row[f"income_{c}_pc_reg0"] = float(values[reg0].sum() / people_reg0) if people_reg0 else 0.0
    row["mean_income_pc"] = float((hh.income_pc * size).sum() / people)
    order = np.argsort(hh.income_pc)  # ties do not change either statistic
    row["median_income_pc"] = weighted_quantile(hh.income_pc, size, 0.5, order)
    row["mean_income_pc_registered0"] = (
        float(hh.net_income[reg0].sum() / size[reg0].sum()) if reg0.any() else float("nan")
    )
    row["gini"] = gini(hh.income_pc, size, order)
    row["transfer_share"] = (
        float(hh.inc_transfers[poor].sum() / poor_gross) if poor_gross > 0 else 0.0
    )
    row["at_risk_households"] = int(hh.at_risk.sum())
    row["mean_assets"] = float(hh.assets.mean())
    row["above_asset_threshold"] = float(
        (hh.assets > model.scenario.economy.assets.threshold).mean()
    )
    row["medical_oop_share"] = float(hh.sp_medical.sum() / med.sum()) if med.sum() > 0 else 0.0
    med_r = med[ever_reg].sum()
    row["medical_oop_share_registered"] = (
        float(hh.sp_medical[ever_reg].sum() / med_r) if med_r > 0 else 0.0
    )
    cat = model.scenario.shocks.insurance.catastrophic_share
    row["catastrophic_health_share"] = float(
        ((hh.sp_medical > cat * np.maximum(hh.net_income, 1.0)) & (hh.sp_medical > 0)).mean()
    )
    row["enterprises_alive"] = int(model.ent.alive.sum())
    row["disaster_villages"] = int(model.villages.hit.sum())
    row["waiting_households"] = int(hh.waiting.sum())
    spent = model.ledger.year_spending()
    row["spending"] = float(sum(spent.values()))
    for i in INSTRUMENTS:
        row[f"spending_{i}"] = float(spent.get(i, 0.0))
    row["cumulative_spending"] = prev.get("spending", 0.0) + row["spending"]
    model.cumulative["spending"] = row["cumulative_spending"]
    return row
