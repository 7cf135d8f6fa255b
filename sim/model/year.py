"""What one yearly phase leaves for a later one (``model.yr``): a typed record, not a namespace.

The phases of a year (docs/ODD.md §3.2) hand a few per-household arrays to each other that are
neither household state (they are not reported) nor policy effects (the model writes them too).
Every such hand-over is a field here, created with the model, so a reader finds in one place what
crosses phases, and a misspelt name fails (``slots``: no attribute can be added on the fly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True, eq=False)
class YearState:
    """Per-household arrays (length ``n``) passed between the phases of a year."""

    # written by the income phase, read next year by enterprise failure (what a failure takes)
    contract_income_prev: np.ndarray
    ent_wage_prev: np.ndarray
    # written by the illness phase, read by the medical-aid instrument and the income phase
    med_acute: np.ndarray  # hospital cost of the year, yuan
    med_chronic: np.ndarray  # chronic outpatient cost of the year, yuan
    med_new: np.ndarray  # this year's new medical cost (episodes, new chronic cases), yuan
    # set by the policy phase (microcredit, through sim.model.changes), read by the income phase:
    # loans whose interest the programme paid this year (reset before every policy phase)
    loan_interest_paid: np.ndarray
    # written by the disaster phase, read by the status phase (a return's trigger): the assets a
    # disaster destroyed (a stock, part of loss_disaster) and this year's income lost with them
    disaster_assets_lost: np.ndarray
    disaster_asset_income: np.ndarray
    newly_registered: int = 0  # households registered this year (identification → metrics)
    removed: int = 0  # households the re-check took off the register (identification → metrics)
    help_cost: float = 0.0  # what helping the fallen exited in place paid (register → metrics)

    @classmethod
    def zeros(cls, n: int) -> YearState:
        """The record of ``n`` households before the first year: nothing passed on yet."""
        return cls(
            contract_income_prev=np.zeros(n),
            ent_wage_prev=np.zeros(n),
            med_acute=np.zeros(n),
            med_chronic=np.zeros(n),
            med_new=np.zeros(n),
            loan_interest_paid=np.zeros(n, dtype=bool),
            disaster_assets_lost=np.zeros(n),
            disaster_asset_income=np.zeros(n),
        )
