"""Labour allocation: who farms, works locally, for a linked enterprise or away, and what each
earns (docs/ODD.md §7.9, §7.10 wage and migrant income).

A module of its own because it is the one person-level rule of the income phase: one flat loop
over the persons adds each person's work and earnings into the sums of their household, which
the household-level income rules (``sim.model.income``) then read. Its kernel reads its columns
by name (records filled by :func:`sim.model.kernels.columns`), its streams by name and its
parameters from one record built here from the scenario.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from sim.model.codes import Health, Stage, Work
from sim.model.kernels import columns, jit, parallel, row
from sim.model.rng import ndtr, ndtri, open_uniform, uniform

# streams "labour.<field>", per person: the migration propensity's yearly part and the local job
# draw's renewal (for everybody: never depends on the strategy). The local job draw itself,
# "labour.local", is read from the year it was last renewed (LocalKeys), not this year's.
# "labour.placement": whether an organised placement is kept another year (read only for the
# placed; a draw of the person's row, so the same under every strategy).
LabourStreams = namedtuple("LabourStreams", "migration renewal placement")
HEALTHY, CHRONIC, DISABLED = int(Health.HEALTHY), int(Health.CHRONIC), int(Health.DISABLED)
NONE, COMPULSORY = int(Stage.NONE), int(Stage.COMPULSORY)
HIGH, UNIVERSITY = int(Stage.HIGH), int(Stage.UNIVERSITY)
W_NONE, W_FARM, W_LOCAL = int(Work.NONE), int(Work.FARM), int(Work.LOCAL)
W_ENTERPRISE, W_MIGRANT = int(Work.ENTERPRISE), int(Work.MIGRANT)
# Numerical guards, not behaviour: a skill of 0 raised to the elasticity, and the division by the
# share of work an acute illness leaves (1 − acute_work_loss may be 0)
MIN_SKILL = 1e-6
MIN_KEEP = 1e-9

LabourPersons = namedtuple(
    "LabourPersons",
    "hh age stage health acute skill work_propensity ent_job work local_year placed",
)
# from the households, the policy effects and the year record
LabourHouseholds = namedtuple(
    "LabourHouseholds",
    "enterprise job_access work_factor labour_units inc_migrant ent_wage_prev",
)
# per-household sums and factors the labour pass leaves for the income passes (sim.model.economy)
HouseholdWork = namedtuple(
    "HouseholdWork",
    "local_chance farm_labour earn_local lost_work pensioners school asset_return repaid "
    "asset_income",
)
# per person: the inputs of the migration threshold last computed, and the threshold
MigrationMemo = namedtuple("MigrationMemo", "skill chronic work_factor threshold")
LocalChanceHouseholds = namedtuple("LocalChanceHouseholds", "village local_chance")
LocalChanceVillages = namedtuple("LocalChanceVillages", "remoteness infrastructure")
LocalChanceParams = namedtuple(
    "LocalChanceParams", "local_job_prob remoteness_penalty infrastructure_weight"
)
LabourParams = namedtuple(
    "LabourParams",
    "year dependency local_persistence working_age_min working_age_max elderly_farm_age_max "
    "migrant_age_max pension_age sqrt_rho sqrt_1_rho chronic_weight acute_keep lost_per_earned "
    "elderly_weight migrant_base_prob migrant_elasticity chronic_migration max_work_chance "
    "local_skill_cap local_farm_share migrant_pay local_pay enterprise_pay compulsory_cost "
    "high_school_cost university_cost placement_retention",
)


def labour_params(model, wage_index: float, memo: MigrationMemo | None = None) -> LabourParams:
    """This year's labour parameters: the scenario's, with pay grown to this year.

    ``dependency``: whether a migration threshold may have to follow the work factor this year:
    a factor below 1 now, or a threshold computed under one (``memo``) that must be raised
    again now that the factor is back at 1 (work recovers)."""
    lowered = bool((model.effects.work_factor != 1.0).any())
    if memo is not None and not lowered:
        lowered = bool((memo.work_factor != 1.0).any())
    sc = model.scenario
    ec, lab, s = sc.economy, sc.population.labour, sc.schooling
    awl = sc.shocks.illness.acute_work_loss
    return LabourParams(
        year=model.year,
        dependency=lowered,
        local_persistence=ec.local_persistence,
        working_age_min=int(lab.working_age_min),
        working_age_max=int(lab.working_age_max),
        elderly_farm_age_max=int(lab.elderly_farm_age_max),
        migrant_age_max=int(ec.migrant_age_max),
        pension_age=int(ec.pension_age),
        sqrt_rho=math.sqrt(ec.labour_persistence),
        sqrt_1_rho=math.sqrt(1.0 - ec.labour_persistence),
        chronic_weight=float(lab.chronic_labour_weight),
        acute_keep=float(1.0 - awl),
        lost_per_earned=float(awl / max(1.0 - awl, MIN_KEEP)),
        elderly_weight=float(lab.elderly_labour_weight),
        migrant_base_prob=float(ec.migrant_base_prob),
        migrant_elasticity=float(ec.skill.migrant_elasticity),
        chronic_migration=float(ec.chronic_migration_factor),
        max_work_chance=float(ec.max_work_chance),
        local_skill_cap=float(ec.local_skill_cap),
        local_farm_share=float(ec.local_worker_farm_share),
        migrant_pay=float(
            ec.migrant_monthly_wage * ec.migrant_months * ec.migrant_remit_share * wage_index
        ),
        local_pay=float(ec.local_daily_wage * ec.local_max_days * wage_index),
        enterprise_pay=float(sc.enterprise_defaults.job_wage * wage_index),
        compulsory_cost=float(s.compulsory_cost),
        high_school_cost=float(s.high_school_cost),
        university_cost=float(s.university_cost),
        # organised placements made by the programme are kept on the strategy's terms, as its
        # loans are repaid on them (sim.model.income)
        placement_retention=float(model.strategy.params.labour_transfer.retention),
    )


def labour(model, keys, work: HouseholdWork, memo: MigrationMemo, local_keys, wage_index) -> None:
    """Who works where and what they earn at this year's ``wage_index``, summed per household
    into ``work`` (§7.9)."""
    ec = model.scenario.economy
    _local_chance(
        columns(LocalChanceHouseholds, model.hh, work),
        columns(LocalChanceVillages, model.villages),
        LocalChanceParams(
            local_job_prob=ec.local_job_prob,
            remoteness_penalty=ec.local_remoteness_penalty,
            infrastructure_weight=ec.local_infrastructure_weight,
        ),
    )
    parallel(
        _labour,
        model.hh.n,
        model.person_start,
        columns(LabourPersons, model.persons),
        columns(LabourHouseholds, model.hh, model.effects, model.yr),
        work,
        memo,
        local_keys,
        keys.record(LabourStreams),
        labour_params(model, wage_index, memo),
    )


@jit
def _local_chance(hh, villages, par):
    """The household's chance of local wage work before its members' skill and job access:
    lower in a remote village, higher where infrastructure is good."""
    village, out = hh.village, hh.local_chance
    remoteness, infrastructure = villages.remoteness, villages.infrastructure
    base, w = par.local_job_prob, par.infrastructure_weight
    for h in range(len(village)):
        vil = village[h]
        out[h] = (
            base
            * (1.0 - par.remoteness_penalty * remoteness[vil])
            * ((1.0 - w) + w * infrastructure[vil])
        )


@jit
def _migration_threshold(skill, chronic, wf, wp, par):
    """The uniform behind the yearly draw above which the person migrates.

    ODD §7.9: migrant if Φ(-x) < p_mig, x = sqrt(ρ)·wp + sqrt(1-ρ)·z, z = Φ⁻¹(u). Solved for u:
    Φ(-x) < p  <=>  x > -Φ⁻¹(p)  <=>  u > Φ((-Φ⁻¹(p) - sqrt(ρ)·wp) / sqrt(1-ρ)).
    """
    p = par.migrant_base_prob * max(skill, MIN_SKILL) ** par.migrant_elasticity
    if chronic:
        p = par.chronic_migration * p
    p = min(p * wf, par.max_work_chance)
    if p <= 0.0:
        return 2.0  # never
    cut = -ndtri(p) - par.sqrt_rho * wp
    if par.sqrt_1_rho > 0.0:
        return ndtr(cut / par.sqrt_1_rho)
    return -1.0 if cut < 0.0 else 2.0  # fully persistent: the propensity alone decides


@jit
def _kept(placed, occupation, i, may_migrate, chronic, wf, keys, par):
    """Whether placed person ``i`` is still away on the organised placement
    (sim.policies.labour_transfer) this year, kept in ``placed``: for sure the year it is made
    (the worker was not away last year), then each year with chance ``placement_retention``,
    lowered as the migration chance is for the chronically ill and by the work factor. It ends
    when it is not kept (the worker comes back) or the worker can no longer migrate. Called for
    the placed only: the branch is almost never taken, and the others write nothing."""
    stay = may_migrate
    if stay & (occupation[i] == W_MIGRANT):
        keep = par.placement_retention * wf * (par.chronic_migration if chronic else 1.0)
        stay = uniform(keys.placement, i) < keep
    placed[i] = stay
    return stay


@jit
def _start_sums(lo, hi, households, work):
    """Zero the household sums of households ``lo:hi`` before their persons add into them."""
    for out in (
        households.labour_units,
        work.farm_labour,
        households.inc_migrant,
        work.earn_local,
        households.ent_wage_prev,
        work.lost_work,
        work.pensioners,
        work.school,
    ):
        out[lo:hi] = 0.0


@jit
def _stage_costs(par):
    """Yearly cost of a pupil by schooling stage (none and pre-school: 0)."""
    stage_cost = np.zeros(5)
    stage_cost[COMPULSORY] = par.compulsory_cost
    stage_cost[HIGH] = par.high_school_cost
    stage_cost[UNIVERSITY] = par.university_cost
    return stage_cost


@jit
def _labour(lo, hi, start, persons, households, work, memo, local_keys, keys, par):
    """Labour allocation and earnings (§7.9, §7.10) of the persons of households ``lo:hi``,
    person by person, added into the sums of their household (one flat loop over the persons
    runs faster than a loop over households with one over their persons inside).

    Who works where is random, so the rules are written with & and arithmetic on flags, not
    branches: a mispredicted branch costs more than computing both sides. The columns are taken
    out of their records before the loop: read through the record inside it, every access takes
    a new reference to the array (a reference count in the loop), which measured up to ten times
    slower (``sim.model.assets._assets``).
    """
    stage_cost = _stage_costs(par)
    _start_sums(lo, hi, households, work)
    p, hh, w = persons, households, work
    hh_of, age, stage, health, acute, skill = p.hh, p.age, p.stage, p.health, p.acute, p.skill
    ent_job, local_year, propensity, occupation = p.ent_job, p.local_year, p.work_propensity, p.work
    enterprise, job_access, work_factor = hh.enterprise, hh.job_access, hh.work_factor
    labour_units, earn_migrant, earn_enterprise = hh.labour_units, hh.inc_migrant, hh.ent_wage_prev
    local_chance, farm_labour, earn_local = w.local_chance, w.farm_labour, w.earn_local
    lost_work, pensioners, school = w.lost_work, w.pensioners, w.school
    m_skill, m_chr, m_wf, m_q = memo.skill, memo.chronic, memo.work_factor, memo.threshold
    year, k_migration, k_renewal, placed = par.year, keys.migration, keys.renewal, p.placed
    wa_min, wa_max, elderly_max = par.working_age_min, par.working_age_max, par.elderly_farm_age_max
    elderly_weight = par.elderly_weight
    for i in range(row(start[lo]), row(start[hi])):
        h = row(hh_of[i])
        a = age[i]
        st = stage[i]
        state = health[i]
        sick = acute[i]
        sk = skill[i]
        wf = work_factor[h]
        pensioners[h] += a >= par.pension_age
        school[h] += stage_cost[st]
        keep = par.acute_keep if sick else 1.0
        out_of_school = st == NONE
        able = out_of_school & (a >= wa_min) & (a <= wa_max) & (state != DISABLED)
        elderly = out_of_school & (a > wa_max) & (a <= elderly_max) & (state == HEALTHY)
        chronic = state == CHRONIC
        weight = (par.chronic_weight if chronic else 1.0) * keep * able
        enterprise_job = able & ent_job[i] & (enterprise[h] >= 0)
        seeks = able & ~enterprise_job
        may_migrate = seeks & (a <= par.migrant_age_max)
        # the threshold changes only with skill, health or the work factor (work_propensity is
        # constant), so it is kept until one of them does; the factor is compared while a factor
        # or a kept threshold is off 1: a lowered threshold is raised again (work recovers)
        changed = (m_skill[i] != sk) | (m_chr[i] != chronic) | (par.dependency and m_wf[i] != wf)
        if may_migrate & changed:
            m_skill[i], m_chr[i], m_wf[i] = sk, chronic, wf
            m_q[i] = _migration_threshold(sk, chronic, wf, propensity[i], par)
        stay = placed[i] and _kept(placed, occupation, i, may_migrate, chronic, wf, keys, par)
        migrant = may_migrate & ((open_uniform(k_migration, i) > m_q[i]) | stay)
        # a local job is mostly kept: the draw behind it is renewed with chance 1 - persistence
        renew = (year > 0) & (uniform(k_renewal, i) >= par.local_persistence)
        ly = year if renew else local_year[i]
        local_year[i] = ly
        p_loc = local_chance[h] * min(sk, par.local_skill_cap) * job_access[h] * wf
        p_loc = min(max(p_loc, 0.0), par.max_work_chance)
        local = seeks & ~migrant & (uniform(local_keys[ly], i) < p_loc)
        farm = seeks & ~migrant & ~local
        earned_migrant = weight * sk * par.migrant_pay * migrant
        earned_local = weight * sk * par.local_pay * local
        earned_enterprise = weight * par.enterprise_pay * enterprise_job
        earn_migrant[h] += earned_migrant
        earn_local[h] += earned_local
        earn_enterprise[h] += earned_enterprise
        lost_work[h] += (
            (earned_migrant + earned_local + earned_enterprise) * par.lost_per_earned * sick
        )
        # weight and elderly are never both non-zero, nor are the three farm terms
        labour_units[h] += weight + elderly_weight * elderly
        farm_labour[h] += (
            weight * farm + par.local_farm_share * weight * local + elderly_weight * keep * elderly
        )
        occupation[i] = (
            W_MIGRANT * migrant
            + W_LOCAL * local
            + W_ENTERPRISE * enterprise_job
            + W_FARM * (farm | elderly)
        )
