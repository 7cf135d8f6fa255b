"""Measure the mechanisms that decide transfusion against blood-making, on the county (ten years):
the poverty trap (year-10 poverty with the trap on and off; one-off grants of 5,000 and
30,000 yuan to the registered households), household debt,
return triggers, programme spending, dependency recovery, and registered households' incomes.
The figures behind issue notes; prints one JSON document.

    python benchmarks/mechanisms.py [--seed 1] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import sim

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "scenarios" / "county.toml"
STRATEGIES = ("status_quo", "transfusion", "blood_making", "precision")


def run(strategy, seed, overrides=None):
    m = sim.PovertyModel(COUNTY, strategy=strategy, seed=seed, agents=False, overrides=overrides)
    reg0 = m.hh.registered.copy()
    debt0 = float(m.hh.debt[reg0].mean())
    m.run()
    return m, reg0, debt0


def grant(trap: bool, amount: float, seed: int) -> dict:
    """A one-off asset grant to every year-0 registered household before year 1: their assets,
    poverty and the share above the asset threshold at year 10."""
    m = sim.PovertyModel(
        COUNTY,
        strategy="status_quo",
        seed=seed,
        agents=False,
        overrides={"economy.assets.trap": trap},
    )
    reg0 = m.hh.registered.copy()
    m.hh.assets[reg0] += amount
    m.run()
    hh, w = m.hh, m.hh.size[reg0]
    poor = (hh.income_pc < m.line(m.year))[reg0]
    return {
        "assets": round(float(hh.assets[reg0].mean())),
        "poverty_pct": round(100 * float((poor * w).sum() / w.sum()), 1),
        "above_threshold_pct": round(
            100 * float((hh.assets[reg0] > m.scenario.economy.assets.threshold).mean()), 1
        ),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    seed = args.seed
    out: dict = {"seed": seed}
    trap = {}
    for s in STRATEGIES:
        on = run(s, seed)[0].timeseries()["poverty_rate"].iloc[-1]
        off = run(s, seed, {"economy.assets.trap": False})[0].timeseries()["poverty_rate"].iloc[-1]
        trap[s] = {"trap_on": round(100 * on, 1), "trap_off": round(100 * off, 1)}
    out["year10_poverty_pct"] = trap
    out["grant_to_registered0_year10"] = {
        f"trap={'on' if on else 'off'} grant={amount:,.0f}": grant(on, amount, seed)
        for on in (True, False)
        for amount in (0.0, 5000.0, 30000.0)
    }

    m, reg0, debt0 = run("status_quo", seed)
    hh = m.hh
    debt = hh.debt[reg0]
    income = np.maximum(hh.net_income[reg0], 1.0)
    ts = m.timeseries()
    returns = ts["returns"].iloc[1:].sum()
    trig = {
        c.removeprefix("returns_"): round(100 * ts[c].iloc[1:].sum() / max(returns, 1), 1)
        for c in ts.columns
        if c.startswith("returns_") and c != "returns_cumulative"
    }
    out["status_quo"] = {
        "registered0_mean_debt_year0": round(debt0),
        "registered0_mean_debt_year10": round(float(debt.mean())),
        "registered0_share_debt_over_50k_pct": round(100 * float((debt > 50_000).mean()), 1),
        "registered0_share_debt_over_year_income_pct": round(
            100 * float((debt > income).mean()), 1
        ),
        "max_debt": round(float(hh.debt.max())),
        "return_trigger_pct": trig,
        "medical_oop_share_registered_year0": round(
            float(ts["medical_oop_share_registered"].iloc[0]), 3
        ),
        "catastrophic_health_share_year0": round(float(ts["catastrophic_health_share"].iloc[0]), 3),
    }
    spending, incomes = {}, {}
    for s in STRATEGIES:
        m, reg0, _ = run(s, seed)
        ts = m.timeseries()
        spending[s] = round(float(ts["spending"].sum()) / 1e6, 1)
        incomes[s] = {
            int(y): round(float(v))
            for y, v in zip(ts["calendar_year"], ts["mean_income_pc_registered0"], strict=True)
            if y <= 2020
        }
    out["programme_spending_myuan"] = spending
    out["registered0_income_pc"] = incomes
    over = {"instruments.dependency.enabled": True, "instruments.dependency.elasticity": 1.0}
    dep = {}
    for label, ov in (("off", None), ("elasticity_1", over)):
        m, reg0, _ = run("transfusion", seed, ov)
        dep[label] = round(float(m.hh.inc_migrant[reg0].sum() / m.hh.size[reg0].sum()))
    out["transfusion_year10_migrant_income_pc_reg0"] = dep
    m, _, _ = run("status_quo", seed, {"economy.wage_growth": 0.0})
    out["status_quo_wage_growth0_year10_poverty_pct"] = round(
        100 * float(m.timeseries()["poverty_rate"].iloc[-1]), 1
    )
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
