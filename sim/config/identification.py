"""The scenario's ``[identification]`` table: registration, its errors (exclusion, inclusion,
duplicate listings, categories moved for funding) and monitoring (docs/ODD.md §7.6, §7.7)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.config.types import NonNegFloat, Prob, Strict, YearOrNever

CATEGORIES = ("industry", "relocation", "medical", "education", "dibao")  # the registered ones


class Identification(Strict):
    exclusion_error: Prob
    inclusion_error: Prob
    exit_margin: Annotated[float, Field(ge=0.0, le=5.0)]
    monitoring_line: Annotated[float, Field(ge=1.0, le=10.0)]
    spending_spike: NonNegFloat
    new_registration_cap: NonNegFloat
    reidentify_years: Annotated[int, Field(ge=1, le=100)]
    # the one-off re-check of the register (回头看): its calendar year (0: none), the new
    # registrations it allows and the measured income above which it removes a household
    recheck_year: YearOrNever
    recheck_cap: NonNegFloat
    recheck_remove_above: Annotated[float, Field(ge=1.0, le=100.0)]
    # the register closed to new households (the monitoring mechanism watches the new poor)
    closed_from: YearOrNever
    # registration errors (docs/ODD.md §7.6): duplicate listings (重报) and categories moved for
    # funding (乱归类)
    duplicate_rate: Prob
    duplicate_detection: Prob
    reclassify_share: Prob
    reclassify_from: Literal[CATEGORIES]
    reclassify_to: Literal[CATEGORIES]

    @model_validator(mode="after")
    def _reclassify(self) -> Identification:
        if self.reclassify_share > 0 and self.reclassify_from == self.reclassify_to:
            raise ValueError(
                f"reclassify_from and reclassify_to are both {self.reclassify_from!r}: a household "
                "moved for funding goes to another category"
            )
        return self
