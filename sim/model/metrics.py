"""Yearly indicators: the timeseries row of each year, in the order of ``sim.model.outputs.COLUMNS``
(which documents each one; docs/outputs.md lists them)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.model import identification, register
from sim.model.codes import INSTRUMENTS, Status, Trigger
from sim.model.kernels import argsort, columns, jit, start
from sim.model.outputs import DURABILITY_YEARS, INCOME_COMPONENTS


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float, order=None) -> float:
    """The ``q`` quantile of ``x`` weighted by ``w``: the smallest x whose cumulative weight
    reaches q of the total. (``collect`` computes the median in ``_median_and_gini``; this is
    the reference definition it is tested against.)"""
    order = np.argsort(x) if order is None else order
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, q * cw[-1])])


def gini(x: np.ndarray, w: np.ndarray, order=None) -> float:
    """Gini over persons (negative incomes as 0), trapezoids under the Lorenz curve; the
    reference definition ``_median_and_gini`` is tested against."""
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


# household totals computed in one pass (``_totals``), by position
(
    PEOPLE,
    POOR_HH,
    POOR_PEOPLE,
    GAP,
    SEVERITY,
    ACTIVE_HH,
    ACTIVE_PEOPLE,
    EXITS,
    RETURNS,
    NEW_POOR,
    EVER_EXITED,
    EXITED_NOW,
    SUSTAINED,
    PEOPLE_REG0,
    NET_INCOME_REG0,
    INCOME_PERSONS,
    POOR_GROSS,
    POOR_TRANSFERS,
    AT_RISK,
    ASSETS,
    ABOVE_THRESHOLD,
    OOP,
    MEDICAL,
    OOP_REGISTERED,
    MEDICAL_REGISTERED,
    CATASTROPHIC,
    WAITING,
    VULNERABLE_PEOPLE,
    VULNERABLE_GAP,
    VULNERABLE_SEVERITY,
    N_TOTALS,
) = range(31)
COMPONENTS = tuple(c for c, _ in INCOME_COMPONENTS)
# the register's sums, in sim.model.register's order (its columns_of_year reads them)
R_INCOME_POOR, R_INCOME_EXITS, R_INCOME_ENTRIES = (
    register.INCOME_POOR,
    register.INCOME_EXITS,
    register.INCOME_ENTRIES,
)
R_MISSED, R_LOST, R_EXITED_PEOPLE = register.MISSED, register.LOST, register.EXITED_PEOPLE
R_WRONG_PEOPLE, R_NEVER_PEOPLE = register.WRONG_PEOPLE, register.NEVER_PEOPLE
R_OMITTED_PEOPLE, R_ACTIVE_PEOPLE = register.OMITTED_PEOPLE, register.ACTIVE_PEOPLE
R_PEOPLE = register.PEOPLE
NEVER, POOR, EXITED, RETURNED = (int(s) for s in Status)


def collect(model, events: dict | None) -> dict:
    """The year's timeseries row (``sim.model.outputs.COLUMNS``), from the household arrays and
    this year's events (exits, returns, new poor and their triggers; None in year 0)."""
    hh = model.hh
    # the median and Gini (a sort) run beside the sums, on another core when there is one
    median_and_gini = start(_median_and_gini, hh.n, hh.income_pc, hh.size)
    t, reg, comp, by_trigger, durability = _household_totals(model, events)
    row = _poverty_and_register(model, t)
    row.update(register.columns_of_year(model, events, reg))
    row.update(identification.record_columns(model, row))
    _flows(row, model, t, by_trigger, durability)
    _triggers(row, by_trigger)
    _incomes(row, t, comp, median_and_gini)
    _assets_health_and_spending(row, model, t)
    return row


def _household_totals(model, events: dict | None):
    """Every sum and count of the row, in three compiled passes over the households (few arrays
    each, sums in registers)."""
    hh = model.hh
    n = hh.n
    if events is None:
        exits = returns = new_poor = np.zeros(n, dtype=bool)
        trig = np.zeros(n, dtype=np.int8)
    else:
        exits, returns, new_poor, trig = (
            events["exits"],
            events["returns"],
            events["new_poor"],
            events["triggers"],
        )
    t = np.zeros(N_TOTALS)
    by_trigger = np.zeros((2, len(Trigger)), dtype=np.int64)  # returns, new poor
    flows = YearFlows(exits, returns, new_poor, trig)
    reg = np.zeros(register.N_REGISTER)
    y = model.year
    lines = (model.line(y), model.line(y - 1) if y > 0 else model.line(y))
    _poverty_totals(t, reg, by_trigger, columns(PovertyHouseholds, hh), flows, lines)
    comp = _income_components(t, columns(ComponentHouseholds, hh))
    par = LastingParams(
        year=model.year,
        threshold=float(model.scenario.economy.assets.threshold),
        catastrophic_share=float(model.scenario.shocks.insurance.catastrophic_share),
    )
    durability = _lasting_exits_and_health(t, columns(LastingHouseholds, hh), par)
    return t, reg, comp, by_trigger, durability


# the household columns each pass reads (and, for the decomposition's running sums, writes),
# by their table names (sim.model.kernels.columns); this year's events; the passes' parameters
PovertyHouseholds = namedtuple(
    "PovertyHouseholds",
    "size income_pc prev_income_pc status guaranteed net_income cost_production inc_transfers "
    "line_ratio_sum sq_gap_sum",
)
YearFlows = namedtuple("YearFlows", "exits returns new_poor triggers")
ComponentHouseholds = namedtuple(
    "ComponentHouseholds",
    "size registered_year net_income cost_production inc_farm inc_livestock inc_wage "
    "inc_migrant inc_business inc_property inc_transfers inc_transfers_programme",
)
LastingHouseholds = namedtuple(
    "LastingHouseholds",
    "status registered first_exit_year first_return_year net_income at_risk assets sp_medical "
    "medical_cost waiting",
)
LastingParams = namedtuple("LastingParams", "year threshold catastrophic_share")


def _poverty_and_register(model, t) -> dict:
    year = model.year
    line = model.line(year)
    n = model.hh.n
    people = t[PEOPLE]
    row = {
        "year": year,
        "calendar_year": model.scenario.meta.base_year + year,
        "poverty_line": line,
        "households": n,
        "people": int(people),
        "poor_households": int(t[POOR_HH]),
        "poor_people": int(t[POOR_PEOPLE]),
        "poverty_rate": float(t[POOR_PEOPLE] / people),
        "poverty_gap": float(t[GAP] / people),
        "poverty_severity": float(t[SEVERITY] / people),
        "vulnerability_rate": float(t[VULNERABLE_PEOPLE] / people),
        "vulnerability_gap": float(t[VULNERABLE_GAP] / people),
        "vulnerability_severity": float(t[VULNERABLE_SEVERITY] / people),
        "registered_households": int(t[ACTIVE_HH]),
        "registered_people": int(t[ACTIVE_PEOPLE]),
        "newly_registered": int(model.yr.newly_registered),
        "register_removed": int(model.yr.removed),
    }
    return row


def _flows(row: dict, model, t, by_trigger, durability) -> None:
    """Exits, returns (by trigger), new poor, cumulative counts and the durability of exits."""
    row["exits"] = int(t[EXITS])
    row["returns"] = int(t[RETURNS])
    row["new_poor"] = int(t[NEW_POOR])
    prev = model.cumulative
    row["exited_cumulative"] = prev.get("exits", 0) + row["exits"]
    row["returns_cumulative"] = prev.get("returns", 0) + row["returns"]
    model.cumulative["exits"] = row["exited_cumulative"]
    model.cumulative["returns"] = row["returns_cumulative"]
    ever = t[EVER_EXITED]
    row["ever_exited"] = int(ever)
    row["exited_now"] = int(t[EXITED_NOW])
    row["sustained_exits"] = int(t[SUSTAINED])
    row["sustained_exit_share"] = float(t[SUSTAINED] / ever) if ever > 0 else 0.0
    for k in range(1, DURABILITY_YEARS + 1):
        at_risk, kept = durability[0, k], durability[1, k]
        row[f"durability_{k}"] = float(kept / at_risk) if at_risk > 0 else float("nan")


def _triggers(row: dict, by_trigger) -> None:
    """Returns and new poor by trigger (each set sums to returns, to new_poor)."""
    for kind, counts in (("returns", by_trigger[0]), ("new_poor", by_trigger[1])):
        for tr in Trigger:
            if tr != Trigger.UNSET:
                row[f"{kind}_{tr.name.lower()}"] = int(counts[tr])


def _incomes(row: dict, t, comp, median_and_gini) -> None:
    """Income components per person, mean and median income, the Gini and the transfer share."""
    people = t[PEOPLE]
    people_reg0 = t[PEOPLE_REG0]
    for j, c in enumerate(COMPONENTS):
        row[f"income_{c}_pc"] = float(comp[0, j] / people)
        row[f"income_{c}_pc_reg0"] = float(comp[1, j] / people_reg0) if people_reg0 else 0.0
    row["mean_income_pc"] = float(t[INCOME_PERSONS] / people)
    median, g = median_and_gini.result()
    row["median_income_pc"] = median
    row["mean_income_pc_registered0"] = (
        float(t[NET_INCOME_REG0] / people_reg0) if people_reg0 > 0 else float("nan")
    )
    row["gini"] = g
    row["transfer_share"] = float(t[POOR_TRANSFERS] / t[POOR_GROSS]) if t[POOR_GROSS] > 0 else 0.0


def _assets_health_and_spending(row: dict, model, t) -> None:
    n = model.hh.n
    prev = model.cumulative
    row["at_risk_households"] = int(t[AT_RISK])
    row["mean_assets"] = float(t[ASSETS] / n)
    row["above_asset_threshold"] = float(t[ABOVE_THRESHOLD] / n)
    _debt(row, model.hh)
    row["medical_oop_share"] = float(t[OOP] / t[MEDICAL]) if t[MEDICAL] > 0 else 0.0
    row["medical_oop_share_registered"] = (
        float(t[OOP_REGISTERED] / t[MEDICAL_REGISTERED]) if t[MEDICAL_REGISTERED] > 0 else 0.0
    )
    row["catastrophic_health_share"] = float(t[CATASTROPHIC] / n)
    row["enterprises_alive"] = int(model.ent.alive.sum())
    row["disaster_villages"] = int(model.villages.hit.sum())
    row["waiting_households"] = int(t[WAITING])
    spent = model.ledger.year_spending()
    row["spending"] = float(sum(spent.values()))
    for i in INSTRUMENTS:
        row[f"spending_{i}"] = float(spent.get(i, 0.0))
    row["cumulative_spending"] = prev.get("spending", 0.0) + row["spending"]
    model.cumulative["spending"] = row["cumulative_spending"]
    _ledger(row, model)


def _ledger(row: dict, model) -> None:
    """The rest of the ledger: what instruments could not use, public money outside the
    programme (read from the households: the income phase computed it), microcredit flows."""
    hh, ledger = model.hh, model.ledger
    row["unspent"] = float(ledger.available)
    left = ledger.year_unabsorbed()
    for i in INSTRUMENTS:
        row[f"unabsorbed_{i}"] = float(left.get(i, 0.0))
    dibao = float(hh.inc_dibao_standing.sum())
    # transfers are pensions + farm subsidy + programme transfers + standing dibao (income phase)
    helped = model.yr.help_cost  # the register's help in place (sim.model.register.observe)
    other = float(hh.inc_transfers.sum() - hh.inc_transfers_programme.sum()) - dibao - helped
    row["standing_dibao"] = dibao
    row["help_in_place_cost"] = helped
    row["pensions_farm_subsidy"] = other
    row["public_cost"] = row["spending"] + dibao + helped + other
    cumulative = model.cumulative.get("public_cost", 0.0) + row["public_cost"]
    row["cumulative_public_cost"] = model.cumulative["public_cost"] = cumulative
    for k, v in ledger.year_credit().items():
        row[f"microcredit_{k}"] = v
    row["microcredit_outstanding"] = float(hh.loan.sum())


def _debt(row: dict, hh) -> None:
    """Informal debt (all and year-0 registered), debt above a year's net income, and the
    households the credit limit left below the consumption floor."""
    debt, n_reg0, deep, deprived = _debt_totals(
        hh.debt, hh.net_income, hh.registered_year, hh.deprived
    )
    n = hh.n
    row["mean_debt"] = float(debt[0] / n)
    row["mean_debt_reg0"] = float(debt[1] / n_reg0) if n_reg0 else 0.0
    row["debt_over_income_share"] = float(deep / n)
    row["deprived_households"] = int(deprived)


@jit
def _debt_totals(debt, net_income, registered_year, deprived):
    total = np.zeros(2)
    reg0 = deep = poor = 0
    for h in range(len(debt)):
        d = debt[h]
        total[0] += d
        if registered_year[h] == 0:
            total[1] += d
            reg0 += 1
        deep += (d > 0) & (d > net_income[h])
        poor += deprived[h]
    return total, reg0, deep, poor


@jit
def _poverty_totals(t, reg, by_trigger, hh, flows, lines):
    """Poverty (FGT over persons), the register and this year's flows, into ``t`` and
    ``by_trigger``; the register's and the income layer's sums into ``reg`` (indexed by
    ``sim.model.register``'s constants); the running sums of the chronic/transient
    decomposition (``sim.model.register.chronic_transient``). The columns are taken out of their
    records before the loop (``sim.model.labour._labour``)."""
    line, line_prev = lines
    size, income_pc, status, net_income = hh.size, hh.income_pc, hh.status, hh.net_income
    prev_income_pc, guaranteed = hh.prev_income_pc, hh.guaranteed
    cost_production, inc_transfers = hh.cost_production, hh.inc_transfers
    line_ratio_sum, sq_gap_sum = hh.line_ratio_sum, hh.sq_gap_sum
    exits, returns, new_poor, triggers = flows.exits, flows.returns, flows.new_poor, flows.triggers
    n = len(size)
    people = poor_hh = poor_people = gap = severity = income_persons = 0.0
    poor_gross = poor_transfers = active_hh = active_people = 0.0
    v_people = v_gap = v_severity = 0.0
    n_exits = n_returns = n_new_poor = exited_now = 0
    for h in range(n):
        s = np.float64(size[h])
        ipc = income_pc[h]
        st = status[h]
        # the NBS measure: disposable (net) income per person, before rigid spending
        dpc = net_income[h] / s
        poor = dpc < line
        # a negative income is a full shortfall (1), so FGT2 <= FGT1 <= FGT0
        short = min(max(1.0 - max(dpc, 0.0) / line, 0.0), 1.0) * poor
        line_ratio_sum[h] += dpc / line
        sq_gap_sum[h] += short * short
        people += s
        income_persons += ipc * s
        poor_hh += poor
        poor_people += s * poor
        gap += short * s
        severity += short * short * s
        # vulnerability: income per person after rigid spending (六算), the register's standard
        vulnerable = ipc < line
        v_short = min(max(1.0 - max(ipc, 0.0) / line, 0.0), 1.0) * vulnerable
        v_people += s * vulnerable
        v_gap += v_short * s
        v_severity += v_short * v_short * s
        poor_gross += (net_income[h] + cost_production[h]) * vulnerable
        poor_transfers += inc_transfers[h] * vulnerable
        active = (st == POOR) | (st == RETURNED)
        active_hh += active
        active_people += s * active
        # the register against the incomes (its standard: income_pc, 六算)
        was_vulnerable = prev_income_pc[h] < line_prev
        reg[R_INCOME_POOR] += vulnerable
        reg[R_INCOME_EXITS] += was_vulnerable & ~vulnerable
        reg[R_INCOME_ENTRIES] += ~was_vulnerable & vulnerable
        reg[R_MISSED] += vulnerable & ~active
        if st == EXITED:
            reg[R_LOST] += vulnerable
            reg[R_EXITED_PEOPLE] += s
            reg[R_WRONG_PEOPLE] += s * (vulnerable | ~guaranteed[h])
        elif st == NEVER:
            reg[R_NEVER_PEOPLE] += s
            reg[R_OMITTED_PEOPLE] += s * vulnerable
        exited_now += st == EXITED
        n_exits += exits[h]
        n_new_poor += new_poor[h]
        if returns[h]:
            n_returns += 1
            by_trigger[0, triggers[h]] += 1
        if new_poor[h]:
            by_trigger[1, triggers[h]] += 1
    t[PEOPLE], t[INCOME_PERSONS], t[POOR_HH] = people, income_persons, poor_hh
    t[POOR_PEOPLE], t[GAP], t[SEVERITY] = poor_people, gap, severity
    t[POOR_GROSS], t[POOR_TRANSFERS] = poor_gross, poor_transfers
    t[ACTIVE_HH], t[ACTIVE_PEOPLE], t[EXITED_NOW] = active_hh, active_people, exited_now
    t[EXITS], t[RETURNS], t[NEW_POOR] = n_exits, n_returns, n_new_poor
    t[VULNERABLE_PEOPLE], t[VULNERABLE_GAP], t[VULNERABLE_SEVERITY] = v_people, v_gap, v_severity
    reg[R_ACTIVE_PEOPLE], reg[R_PEOPLE] = active_people, people


@jit
def _income_components(t, hh):
    """Income components per person, all households and those registered at year 0."""
    size, registered_year, net_income = hh.size, hh.registered_year, hh.net_income
    cost_production, inc_farm, inc_livestock = hh.cost_production, hh.inc_farm, hh.inc_livestock
    inc_wage, inc_migrant, inc_business = hh.inc_wage, hh.inc_migrant, hh.inc_business
    inc_property, inc_transfers = hh.inc_property, hh.inc_transfers
    inc_transfers_programme = hh.inc_transfers_programme
    n = len(size)
    comp = np.zeros((2, len(COMPONENTS)))
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0.0
    r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = 0.0
    people_reg0 = net_reg0 = 0.0
    for h in range(n):
        reg0 = registered_year[h] == 0
        farm = inc_farm[h] - cost_production[h]
        c0 += farm
        c1 += inc_livestock[h]
        c2 += inc_wage[h]
        c3 += inc_migrant[h]
        c4 += inc_business[h]
        c5 += inc_property[h]
        c6 += inc_transfers[h]
        c7 += inc_transfers_programme[h]
        r0 += farm * reg0
        r1 += inc_livestock[h] * reg0
        r2 += inc_wage[h] * reg0
        r3 += inc_migrant[h] * reg0
        r4 += inc_business[h] * reg0
        r5 += inc_property[h] * reg0
        r6 += inc_transfers[h] * reg0
        r7 += inc_transfers_programme[h] * reg0
        people_reg0 += size[h] * reg0
        net_reg0 += net_income[h] * reg0
    comp[0, 0], comp[0, 1], comp[0, 2], comp[0, 3] = c0, c1, c2, c3
    comp[0, 4], comp[0, 5], comp[0, 6], comp[0, 7] = c4, c5, c6, c7
    comp[1, 0], comp[1, 1], comp[1, 2], comp[1, 3] = r0, r1, r2, r3
    comp[1, 4], comp[1, 5], comp[1, 6], comp[1, 7] = r4, r5, r6, r7
    t[PEOPLE_REG0], t[NET_INCOME_REG0] = people_reg0, net_reg0

    return comp


@jit
def _lasting_exits_and_health(t, hh, par):
    """Exits that last, assets, health spending, monitoring and the queue."""
    status, registered, net_income = hh.status, hh.registered, hh.net_income
    first_exit_year, first_return_year = hh.first_exit_year, hh.first_return_year
    at_risk, assets, waiting = hh.at_risk, hh.assets, hh.waiting
    sp_medical, medical_cost = hh.sp_medical, hh.medical_cost
    year, threshold, catastrophic_share = par.year, par.threshold, par.catastrophic_share
    n = len(status)
    # households by how many years after their first exit they are observed (at most 9), and by
    # how many of those years they stayed out; summed from the top afterwards
    observed = np.zeros(DURABILITY_YEARS + 1, dtype=np.int64)
    stayed = np.zeros(DURABILITY_YEARS + 1, dtype=np.int64)
    ever = sustained = n_at_risk = above = catastrophic = n_waiting = 0
    total_assets = oop = medical = oop_reg = medical_reg = 0.0
    for h in range(n):
        fe = first_exit_year[h]
        if fe >= 0:
            fr = first_return_year[h]
            ever += 1
            sustained += (fr < 0) & (status[h] == EXITED)
            k = min(year - fe, DURABILITY_YEARS)
            observed[k] += 1
            stayed[k if fr < 0 else min(k, max(fr - fe - 1, 0))] += 1
        a = assets[h]
        total_assets += a
        above += a > threshold
        spent = sp_medical[h]
        cost = medical_cost[h]
        reg = registered[h]
        oop += spent
        medical += cost
        oop_reg += spent * reg
        medical_reg += cost * reg
        catastrophic += (spent > catastrophic_share * max(net_income[h], 1.0)) & (spent > 0)
        n_at_risk += at_risk[h]
        n_waiting += waiting[h]
    t[EVER_EXITED], t[SUSTAINED], t[AT_RISK], t[WAITING] = ever, sustained, n_at_risk, n_waiting
    t[ASSETS], t[ABOVE_THRESHOLD], t[CATASTROPHIC] = total_assets, above, catastrophic
    t[OOP], t[MEDICAL], t[OOP_REGISTERED], t[MEDICAL_REGISTERED] = (
        oop,
        medical,
        oop_reg,
        medical_reg,
    )
    durability = np.zeros((2, DURABILITY_YEARS + 2), dtype=np.int64)
    for k in range(DURABILITY_YEARS, 0, -1):
        durability[0, k] = observed[k] + durability[0, k + 1]
        durability[1, k] = stayed[k] + durability[1, k + 1]
    return durability


@jit
def _median_and_gini(income_pc, size):
    """Person-weighted median and Gini of per-capita income (negative incomes count as 0 in the
    Gini), as ``weighted_quantile`` and ``gini`` compute them, from one sort."""
    order = argsort(income_pc)
    people = 0.0
    for h in range(len(size)):
        people += size[h]
    half = 0.5 * people
    median = income_pc[order[-1]]
    cum = 0.0
    for j in range(len(order)):
        cum += size[order[j]]
        if cum >= half:
            median = income_pc[order[j]]
            break
    # area under the Lorenz curve by trapezoids
    total = 0.0
    for h in range(len(size)):
        total += max(income_pc[h], 0.0) * size[h]
    if total <= 0:
        return median, 0.0
    area = 0.0
    cum_income = 0.0
    prev = 0.0
    for j in range(len(order)):
        h = order[j]
        w = np.float64(size[h])
        cum_income += max(income_pc[h], 0.0) * w
        lorenz = cum_income / total
        area += w / people * (lorenz + prev) / 2.0
        prev = lorenz
    return median, 1.0 - 2.0 * area
