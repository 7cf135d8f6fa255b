"""Random streams: one per mechanism and year, all spawned from the run's seed.

A generator is keyed by (mechanism, year), so a mechanism that draws more or fewer numbers under
one strategy cannot shift the draws of any other mechanism or year: the same seed gives the same
population and the same shocks whatever the strategy (common random numbers, DESIGN.md §4.6).
Every per-person or per-household draw is made for the whole table, eligible or not, so row i
sees the same number under every strategy.
"""

from __future__ import annotations

import numpy as np

MECHANISMS = (
    "population",
    "demography",
    "illness",
    "disaster",
    "market",
    "enterprise",
    "labour",
    "targeting",
    "allocation",
    "policy",
    "assets",
)


class Streams:
    def __init__(self, seed: int):
        self.seed = int(seed)

    def get(self, mechanism: str, year: int = 0) -> np.random.Generator:
        key = (MECHANISMS.index(mechanism), int(year))
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key))
        )


def fresh_seed() -> int:
    """A seed for runs that were given none, recorded so the run can be repeated."""
    return int(np.random.SeedSequence().entropy % (2**63))
