"""The dibao linkage of the registered poor (低保与扶贫开发政策有效衔接, 社会保障兜底一批).

From ``social_security.dibao_link_from`` on, civil affairs enrols on the standing dibao the active
registered households that pass its means test and have weak labour (docs/ODD.md §7.11). It
is social assistance, not the poverty programme: it runs under every strategy, costs the
programme nothing, and its top-up is paid by the income phase like any standing dibao.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.model.codes import Status
from sim.model.kernels import columns, jit, row
from sim.model.rng import uniforms_at

LinkHouseholds = namedtuple(
    "LinkHouseholds",
    "status dibao size net_income inc_transfers_programme inc_dibao_standing labour_units",
)

POOR, RETURNED = int(Status.POOR), int(Status.RETURNED)


@jit
def _eligible(hh, standard, labour_max):
    """The households the linkage may enrol: active on the register, not on the standing
    dibao, last year's own income per person (the dibao instrument's means test: without
    programme transfers or standing dibao) below ``standard`` and labour units per member at
    most ``labour_max``; one pass instead of a handful of full-length arrays."""
    n = len(hh.status)
    out = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        h = row(i)
        s = hh.status[h]
        if ((s != POOR) & (s != RETURNED)) | hh.dibao[h]:
            continue
        size = max(hh.size[h], 1)
        own = hh.net_income[h] - hh.inc_transfers_programme[h] - hh.inc_dibao_standing[h]
        if (own < standard * size) & (hh.labour_units[h] <= labour_max * size):
            out[k] = i
            k += 1
    return out[:k]


def eligible(model) -> np.ndarray:
    """Indices of the households the linkage may enrol this year (ascending)."""
    ss = model.scenario.social_security
    standard = model.scenario.dibao_standard(model.year)
    return _eligible(columns(LinkHouseholds, model.hh), standard, ss.dibao_link_labour_max)


def active(model) -> bool:
    """Whether the linkage runs this year."""
    ss = model.scenario.social_security
    calendar = model.scenario.meta.base_year + model.year
    return ss.dibao_link_from > 0 and calendar >= ss.dibao_link_from and ss.dibao_link_take_up > 0


def link_dibao(model, keys) -> np.ndarray:
    """Phase 3b: each eligible household joins the standing dibao with probability
    ``dibao_link_take_up`` (stream ``assistance.dibao``, drawn at its row, so the draw does not
    depend on who else is eligible). Returns the households enrolled this year."""
    if not active(model):
        return np.empty(0, dtype=np.int64)
    idx = eligible(model)
    take_up = model.scenario.social_security.dibao_link_take_up
    joined = idx[uniforms_at(keys.key("dibao"), idx) < take_up]
    mask = np.zeros(model.hh.n, dtype=bool)
    mask[joined] = True
    model.changes.join_standing_dibao(mask)
    return joined
