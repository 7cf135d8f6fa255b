"""Identification (精准识别), monitoring, 三保障, new poverty and the triggers of falls.

Registration uses last year's observed income, as the 看+算 re-check does, with exclusion errors
(a poor household is missed), inclusion errors (a non-poor household is registered) and errors of
the record: a registration listed twice (重报) and a category moved for funding (乱归类). 三保障 is
compulsory schooling, basic medical cover (insured) and a safe house. Exits and returns are the
register's (``sim.model.register``).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.model.codes import Category, Cause, Health, Stage, Status, Trigger
from sim.model.kernels import columns, jit, parallel, row
from sim.model.rng import uniform, uniforms_at

# streams "targeting.<field>", per household: exclusion (poor, missed), inclusion (non-poor,
# registered); each is computed only for the never-registered households it can apply to
TargetingStreams = namedtuple("TargetingStreams", "exclusion inclusion")
NEVER, POOR, EXITED, RETURNED = (int(s) for s in Status)
HEALTHY, DISABLED, HIGH = int(Health.HEALTHY), int(Health.DISABLED), int(Stage.HIGH)
# a new registration's measure and primary cause, in the order the conditions are tested; each
# row one (category, cause) pair
MEASURES = np.array(
    [
        (Category.DIBAO, Cause.LACK_LABOUR),
        (Category.MEDICAL, Cause.ILLNESS),
        (Category.EDUCATION, Cause.SCHOOLING),
        (Category.RELOCATION, Cause.REMOTE),
        (Category.INDUSTRY, Cause.LACK_CAPITAL),
    ],
    dtype=np.int64,
)
# the 看+算 judgement of a new registration's needs: rigid spending above these shares of net
# income marks a medical or schooling need, a village above these thresholds a relocation need.
# Named constants, not parameters: they read off the category a household's state implies (the
# tests check the categories), and no source gives the thresholds officials used.
MEDICAL_SHARE, SCHOOLING_SHARE = 0.3, 0.2
REMOTE_ABOVE, RISK_ABOVE = 0.8, 0.1
ILLNESS, DISABILITY, SCHOOLING = int(Cause.ILLNESS), int(Cause.DISABILITY), int(Cause.SCHOOLING)
LACK_LABOUR, REMOTE = int(Cause.LACK_LABOUR), int(Cause.REMOTE)
T_ILLNESS, T_DISASTER, T_ENTERPRISE = (
    int(Trigger.ILLNESS),
    int(Trigger.DISASTER),
    int(Trigger.ENTERPRISE),
)
T_SUPPORT_ENDED, T_MARKET = int(Trigger.SUPPORT_ENDED), int(Trigger.MARKET)
T_SEVERAL, T_NONE = int(Trigger.SEVERAL), int(Trigger.NONE)


CategoryPersons = namedtuple("CategoryPersons", "health stage")
CategoryHouseholds = namedtuple(
    "CategoryHouseholds",
    "net_income labour_units sp_medical sp_schooling village category primary_cause causes",
)
CategoryVillages = namedtuple("CategoryVillages", "remoteness disaster_risk")


def assign_category(model, idx: np.ndarray) -> None:
    """Primary cause and measure for newly registered households, read off their state."""
    _assign_category(
        np.asarray(idx, dtype=np.int64),
        model.person_start,
        columns(CategoryPersons, model.persons),
        columns(CategoryHouseholds, model.hh),
        columns(CategoryVillages, model.villages),
        MEASURES,
    )


@jit
def _assign_category(idx, start, persons, hh, villages, measures):
    health, stage = persons.health, persons.stage
    for h in idx:
        sick = disabled = student = False
        for i in range(start[h], start[h + 1]):
            sick |= health[i] != HEALTHY
            disabled |= health[i] == DISABLED
            student |= stage[i] >= HIGH
        net = max(hh.net_income[h], 1.0)
        no_labour = hh.labour_units[h] <= 0.0
        medical = hh.sp_medical[h] > MEDICAL_SHARE * net or sick
        school = student and hh.sp_schooling[h] > SCHOOLING_SHARE * net
        v = hh.village[h]
        remote = (villages.remoteness[v] > REMOTE_ABOVE) or (villages.disaster_risk[v] > RISK_ABOVE)
        # the first condition that holds decides (dibao, medical, education, relocation)
        k = 0 if no_labour else 1 if medical else 2 if school else 3 if remote else 4
        flags = (
            (ILLNESS if sick else 0)
            | (DISABILITY if disabled else 0)
            | (SCHOOLING if school else 0)
            | (LACK_LABOUR if no_labour else 0)
            | (REMOTE if remote else 0)
        )
        hh.category[h] = measures[k, 0]
        hh.primary_cause[h] = measures[k, 1]
        hh.causes[h] = flags | measures[k, 1]


def identify(model, keys) -> None:
    """Phase 3: this year's registration and the at-risk flags, from last year's observations."""
    sc = model.scenario
    ident = sc.identification
    hh = model.hh
    year = model.year
    line_prev = model.line(year - 1)
    model.yr.newly_registered = 0
    model.yr.removed = 0
    check_duplicates(model)
    recheck = sc.meta.base_year + year == ident.recheck_year
    if recheck:
        remove_misidentified(model, line_prev)
    closed = 0 < ident.closed_from <= sc.meta.base_year + year
    if (year % ident.reidentify_years == 0) and not closed:
        poor_found, mistaken = _candidates(
            hh.status,
            hh.prev_income_pc,
            line_prev,
            keys.record(TargetingStreams),
            ident.exclusion_error,
            ident.inclusion_error,
        )
        share = ident.recheck_cap if recheck else ident.new_registration_cap
        cap = int(round(share * model.initial_registered))
        # scale control: wrongly included households take their places first (they are put
        # forward, not found by the income check), then the poorest of the poor found
        mistaken = mistaken[:cap]
        poor_found = _poorest(poor_found, hh.prev_income_pc, cap - len(mistaken))
        idx = np.sort(np.concatenate([mistaken, poor_found]))
        if len(idx):
            hh.registered[idx] = True
            hh.registered_year[idx] = year
            hh.status[idx] = Status.POOR
            assign_category(model, idx)
            registration_errors(model, idx)
        model.yr.newly_registered = len(idx)
    flag_monitoring(model, line_prev)


def remove_misidentified(model, line: float) -> None:
    """The re-check (回头看) takes off the register the active households that officials measured
    well above the line (剔除识别不准): not exits, the register's own correction."""
    hh = model.hh
    ident = model.scenario.identification
    active = (hh.status == POOR) | (hh.status == RETURNED)
    idx = np.flatnonzero(active & (hh.measured_pc >= ident.recheck_remove_above * line))
    hh.status[idx] = NEVER  # as if never registered: the re-check deleted the record
    hh.registered[idx] = False
    hh.registered_year[idx] = -1
    hh.category[idx] = -1
    hh.recorded_category[idx] = -1
    hh.listed[idx] = 0
    hh.years_above[idx] = 0
    model.yr.removed = len(idx)


def _poorest(found: np.ndarray, income: np.ndarray, room: int) -> np.ndarray:
    """The ``room`` households of ``found`` (in index order) with the lowest income; among equal
    incomes the lower index first, as a stable sort would take them."""
    if len(found) <= room:
        return found
    if room <= 0:
        return found[:0]
    values = income[found]
    cut = np.partition(values, room - 1)[room - 1]  # the room-th lowest income
    below = found[values < cut]
    return np.concatenate([below, found[values == cut][: room - len(below)]])


@jit
def _candidates(status, prev_income_pc, line_prev, keys, exclusion_error, inclusion_error):
    """Never-registered households the income check finds (poor, not missed) and those wrongly
    put forward (not poor), each in index order."""
    found = np.empty(len(status), dtype=np.int64)
    mistaken = np.empty(len(status), dtype=np.int64)
    n_found = n_mistaken = 0
    k_ex, k_in = keys.exclusion, keys.inclusion
    for h in range(len(status)):
        never = status[h] == NEVER
        poor = prev_income_pc[h] < line_prev
        found[n_found] = h
        n_found += never & poor & (uniform(k_ex, h) >= exclusion_error)
        mistaken[n_mistaken] = h
        n_mistaken += never & ~poor & (uniform(k_in, h) < inclusion_error)
    return found[:n_found], mistaken[:n_mistaken]


MonitoringHouseholds = namedtuple(
    "MonitoringHouseholds",
    "status prev_income_pc sp_medical sp_schooling loss_disaster net_income at_risk",
)


def flag_monitoring(model, line: float) -> None:
    """At risk (防返贫监测): not on the active register, and income under the monitoring line or a
    rigid-spending spike."""
    ident = model.scenario.identification
    parallel(
        _flag_monitoring,
        model.hh.n,
        columns(MonitoringHouseholds, model.hh),
        ident.monitoring_line * line,
        ident.spending_spike,
    )


@jit
def _spiked(hh, h, spike):
    """The spending-spike rule, written once: this year's medical cost (just observed) and
    disaster losses, plus schooling cost, above ``spike`` of last year's net income."""
    rigid = hh.sp_medical[h] + hh.sp_schooling[h] + hh.loss_disaster[h]
    return rigid > spike * max(hh.net_income[h], 1.0)


@jit
def _flag_monitoring(lo, hi, hh, low, spike):
    status, at_risk = hh.status, hh.at_risk
    for h in range(row(lo), row(hi)):
        active = (status[h] == POOR) | (status[h] == RETURNED)
        at_risk[h] = ~active & ((hh.prev_income_pc[h] < low) | _spiked(hh, h, spike))


@jit
def _rigid_spikes(hh, spike):
    out = np.empty(len(hh.status), dtype=np.bool_)
    for h in range(len(out)):
        out[h] = _spiked(hh, h, spike)
    return out


def rigid_spike(model) -> np.ndarray:
    """Per household, whether rigid spending spiked this year (:func:`_spiked`)."""
    hh = columns(MonitoringHouseholds, model.hh)
    return _rigid_spikes(hh, model.scenario.identification.spending_spike)


# the household columns the status kernel reads and writes, by their table names
StatusHouseholds = namedtuple(
    "StatusHouseholds",
    "income_pc prev_income_pc status house_safe insured loss_illness loss_disaster "
    "loss_enterprise prev_transfers_programme inc_transfers_programme loss_market guaranteed "
    "fall_trigger size net_income income inc_dibao_standing dibao",
)
# this year's arrays the trigger reads beside the household columns: work lost to illness
# (economy work), the disaster's assets and what they would have earned (disaster phase)
StatusLosses = namedtuple("StatusLosses", "lost_work disaster_assets_lost disaster_asset_income")
StatusEvents = namedtuple("StatusEvents", "new_poor triggers")
StatusParams = namedtuple("StatusParams", "line line_prev insurance_off dibao_standard")


def update_status(model) -> dict[str, int | np.ndarray]:
    """Phase 7, the income layer: 三保障 this year, new poverty with its trigger, and the
    trigger of the year an exited household fell below the line (kept for its re-registration,
    ``sim.model.register``). The register's exits and returns are ``register.update``'s."""
    sc = model.scenario
    n = model.hh.n
    events = {
        "exits": np.zeros(n, dtype=bool),
        "returns": np.zeros(n, dtype=bool),
        "new_poor": np.zeros(n, dtype=bool),
        "triggers": np.zeros(n, dtype=np.int8),  # for returns and new poor; 0 (unset) elsewhere
    }
    par = StatusParams(
        line=model.line(model.year),
        line_prev=model.line(model.year - 1),
        insurance_off=not sc.shocks.insurance.enabled,
        dibao_standard=float(sc.dibao_standard(model.year)),
    )
    losses = StatusLosses(
        lost_work=model.economy_scratch.work(n).lost_work,
        disaster_assets_lost=model.yr.disaster_assets_lost,
        disaster_asset_income=model.yr.disaster_asset_income,
    )
    parallel(
        _update_status,
        n,
        model.person_start,
        model.persons.dropped_out,
        columns(StatusHouseholds, model.hh),
        losses,
        StatusEvents(new_poor=events["new_poor"], triggers=events["triggers"]),
        par,
    )
    return events


@jit
def _update_status(lo, hi, start, dropped_out, hh, losses, events, par):
    """三保障, new poverty and the fall of exited households with their trigger, households
    ``lo:hi`` (§7.13). The columns are taken out of their records before the loop (read through
    the record inside it, every access costs a reference count: ``sim.model.labour._labour``)."""
    status, income_pc, prev_income_pc = hh.status, hh.income_pc, hh.prev_income_pc
    house_safe, insured, guaranteed = hh.house_safe, hh.insured, hh.guaranteed
    fall_trigger = hh.fall_trigger
    new_poor_now, triggers = events.new_poor, events.triggers
    line, line_prev, insurance_off = par.line, par.line_prev, par.insurance_off
    for h in range(row(lo), row(hi)):
        st = status[h]
        poor = income_pc[h] < line
        # 三保障: a safe house, basic medical cover, no member who dropped out of compulsory
        # school (checked last: it reads the persons)
        ok = house_safe[h] & (insured[h] | insurance_off) & (st != NEVER)  # read off the register
        if ok:
            for i in range(start[h], start[h + 1]):
                ok &= not dropped_out[i]
        guaranteed[h] = ok
        if st == EXITED:
            if not poor:
                fall_trigger[h] = 0
            elif fall_trigger[h] == 0:  # fell this year: what made it fall
                fall_trigger[h] = _trigger(hh, losses, h, par)
        new_poor = (st == NEVER) & poor & (prev_income_pc[h] >= line_prev)
        new_poor_now[h] = new_poor
        if new_poor:
            triggers[h] = _trigger(hh, losses, h, par)


@jit
def _income_pc_without(base, size, dibao, rigid, earned, spent, dibao_standard):
    """Income per person had the household kept ``earned`` of net income and not spent
    ``spent`` of rigid spending this year: income_pc's own rule (§7.11), with the standing dibao
    top-up recomputed, since a top-up makes good part of a loss of net income. ``base``: net
    income before the standing top-up; ``rigid``: this year's rigid spending. Scalars, not the
    household record: a record passed to a function costs a reference count per column."""
    before_topup = base + earned
    topup = max(dibao_standard * size - before_topup, 0.0) * dibao
    return (before_topup + topup - rigid + spent) / size


@jit
def _trigger(hh, losses, h, par):
    """What made a household poor this year, counterfactually: each loss of the year alone
    (without it, would income per person be at or above the line?). One decisive loss names
    the trigger; several each decisive, or only all together, give several; none, even all
    together, gives none (a slow decline). Each loss is a reduction of this year's income:
    ``earned`` of net income, ``spent`` of rigid spending."""
    lost_work = losses.lost_work[h]
    disaster = (
        hh.loss_disaster[h] - losses.disaster_assets_lost[h] + losses.disaster_asset_income[h]
    )
    support_ended = max(hh.prev_transfers_programme[h] - hh.inc_transfers_programme[h], 0.0)
    trig, decisive = T_NONE, 0
    earned_all = spent_all = 0.0
    size = np.float64(hh.size[h])
    base = hh.net_income[h] - hh.inc_dibao_standing[h]
    rigid = hh.net_income[h] - hh.income[h]
    dibao, standard = hh.dibao[h], par.dibao_standard
    for earned, spent, code in (
        (lost_work, max(hh.loss_illness[h] - lost_work, 0.0), T_ILLNESS),
        (max(disaster, 0.0), 0.0, T_DISASTER),
        (hh.loss_enterprise[h], 0.0, T_ENTERPRISE),
        (support_ended, 0.0, T_SUPPORT_ENDED),
        (hh.loss_market[h], 0.0, T_MARKET),
    ):
        if earned + spent > 0.0:
            earned_all += earned
            spent_all += spent
            if _income_pc_without(base, size, dibao, rigid, earned, spent, standard) >= par.line:
                trig = code
                decisive += 1
    if decisive > 1:
        return T_SEVERAL
    if decisive == 1:
        return trig
    if earned_all + spent_all > 0.0:
        without = _income_pc_without(base, size, dibao, rigid, earned_all, spent_all, standard)
        if without >= par.line:
            return T_SEVERAL
    return T_NONE


# ---- errors of the record (docs/ODD.md §7.6): duplicate listings (重报), categories moved for
# funding (乱归类). The true category and causes stay in ``category``/``causes``; targeting reads
# ``recorded_category``/``recorded_causes``; ``listed`` counts a household's listings.
# The causes a category's record shows (struck when a household is moved out of it; the ones the
# instruments of that category match) and the cause written in when it is moved in (its primary
# cause, as ``MEASURES``)
CATEGORY_CAUSES = {
    int(Category.INDUSTRY): int(Cause.LACK_CAPITAL | Cause.LACK_SKILL | Cause.LACK_LAND),
    int(Category.RELOCATION): int(Cause.REMOTE | Cause.DISASTER | Cause.LACK_WATER),
    int(Category.MEDICAL): int(Cause.ILLNESS),
    int(Category.EDUCATION): int(Cause.SCHOOLING),
    int(Category.DIBAO): int(Cause.LACK_LABOUR | Cause.DISABILITY),
}
CATEGORY_PRIMARY = {int(k): int(c) for k, c in MEASURES}
# the instrument that serves a category (columns of what misclassified households received)
CATEGORY_INSTRUMENT = {
    int(Category.INDUSTRY): "industry",
    int(Category.RELOCATION): "relocation",
    int(Category.MEDICAL): "medical_aid",
    int(Category.EDUCATION): "education_aid",
    int(Category.DIBAO): "dibao",
}


def open_register(model) -> None:
    """Model setup: the record of the year-0 register is the truth, one listing per registered
    household, then the errors of registration (streams ``registration.*``, year 0)."""
    hh = model.hh
    hh.recorded_category[:] = hh.category
    hh.recorded_causes[:] = hh.causes
    hh.listed[:] = hh.registered
    registration_errors(model, np.flatnonzero(hh.registered))


def registration_errors(model, idx: np.ndarray) -> None:
    """The record of the households registered now (``idx``): listed twice with chance
    ``duplicate_rate`` (stream ``registration.duplicate``); of category ``reclassify_from``,
    recorded under ``reclassify_to`` with chance ``reclassify_share`` (stream
    ``registration.reclassify``), the old category's causes struck and the new one's primary
    cause written in."""
    ident = model.scenario.identification
    hh = model.hh
    hh.recorded_category[idx] = hh.category[idx]
    hh.recorded_causes[idx] = hh.causes[idx]
    hh.listed[idx] = 1
    if len(idx) == 0:
        return
    year = model.year
    if ident.duplicate_rate > 0:
        u = uniforms_at(model.streams.key("registration.duplicate", year), idx)
        hh.listed[idx[u < ident.duplicate_rate]] = 2
    if ident.reclassify_share > 0:
        src = int(Category[ident.reclassify_from.upper()])
        dst = int(Category[ident.reclassify_to.upper()])
        cand = idx[hh.category[idx] == src]
        u = uniforms_at(model.streams.key("registration.reclassify", year), cand)
        moved = cand[u < ident.reclassify_share]
        hh.recorded_category[moved] = dst
        kept = hh.causes[moved] & ~CATEGORY_CAUSES[src]
        hh.recorded_causes[moved] = kept | CATEGORY_PRIMARY[dst]


def check_duplicates(model) -> None:
    """The yearly check: a duplicate listing of an active household is found with chance
    ``duplicate_detection`` (stream ``registration.detect``), an exited household's always (the
    exit's household visit sees one family); found listings are removed."""
    hh = model.hh
    twice = np.flatnonzero(hh.listed > 1)
    if len(twice) == 0:
        return
    st = hh.status[twice]
    active = (st == POOR) | (st == RETURNED)
    u = uniforms_at(model.streams.key("registration.detect", model.year), twice)
    found = ~active | (u < model.scenario.identification.duplicate_detection)
    hh.listed[twice[found]] = 1


def record_errors(model) -> bool:
    """Whether the record can differ from the truth: only when duplicates or reclassification
    are switched on (otherwise every household is listed once, in its true category)."""
    ident = model.scenario.identification
    return bool(ident.duplicate_rate > 0 or ident.reclassify_share > 0)


def record_columns(model, row: dict) -> dict:
    """The year's columns of the record: the counts the office reports (duplicates included),
    the money paid to duplicate listings, the misclassified households and what they got;
    ``row``: the year's row so far (the register's true counts)."""
    hh = model.hh
    year = model.year
    if not record_errors(model):  # the record is the truth: the register's own counts
        return {
            "reported_registered_households": int(row["registered_households"]),
            "reported_registered_people": int(row["registered_people"]),
            "duplicate_listings": 0,
            "spending_duplicates": 0.0,
            "misclassified_households": 0,
            "misclassified_served_true": 0,
            "misclassified_served_recorded": 0,
        }
    st = hh.status
    active = (st == POOR) | (st == RETURNED)
    listed = hh.listed[active].astype(np.int64)
    paid = float(hh.duplicate_cost.sum())
    spent = paid - model.cumulative.get("duplicate_cost", 0.0)
    model.cumulative["duplicate_cost"] = paid
    wrong = np.flatnonzero(hh.recorded_category != hh.category)  # on the register or exited
    served = {}
    for side, codes in (("true", hh.category[wrong]), ("recorded", hh.recorded_category[wrong])):
        got = np.zeros(len(wrong), dtype=bool)
        for cat, inst in CATEGORY_INSTRUMENT.items():
            last = getattr(hh, f"{inst}_last", None)
            if last is not None:
                sel = codes == cat
                got[sel] = last[wrong[sel]] == year
        served[side] = int(got.sum())
    return {
        "reported_registered_households": int(listed.sum()),
        "reported_registered_people": int((listed * hh.size[active]).sum()),
        "duplicate_listings": int((listed - 1).sum()),
        "spending_duplicates": spent,
        "misclassified_households": int(active[wrong].sum()),
        "misclassified_served_true": served["true"],
        "misclassified_served_recorded": served["recorded"],
    }
