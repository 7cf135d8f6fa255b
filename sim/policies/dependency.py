"""dependency (等靠要): an optional behavioural response in which transfers lower work effort.

Off by default: randomised evaluations of cash transfers find no systematic work disincentive
(Banerjee, Hanna, Kreindler & Olken 2017). Researchers can switch it on to test the speeches'
worry. When on, each person's chance of migrant and local work is multiplied by
``1 - elasticity * min(1, T / (line * size))``, where T is the household's programme transfers
of the previous year.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import Prob, Strict


class Params(Strict):
    """``[instruments.dependency]``: a behavioural option, not an instrument (it spends nothing)."""

    enabled: bool
    elasticity: Prob


def work_factor(model, params) -> np.ndarray:
    d = params.dependency
    hh = model.hh
    if not d.enabled:
        return np.ones(hh.n)
    line = model.line(model.year - 1)
    ratio = np.minimum(hh.prev_transfers_programme / (line * hh.size), 1.0)
    return 1.0 - d.elasticity * ratio
