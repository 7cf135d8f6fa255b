"""The scenario's ``[register]`` table: the register's verification, detection and the county's
exit plan (docs/ODD.md §7.15)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from sim.config.types import NonNegInt, Prob, Strict, YearOrNever


class RegisterPlan(Strict):
    exits: list[NonNegInt]
    declare_year: Annotated[int, Field(ge=0, le=2100)]
    # the plan's pace (a batch lever): each year's planned exits times speed, the declare year
    # as written; above 1 the plan asks for more than the written one by the same date
    speed: Annotated[float, Field(gt=0.0, le=10.0)]

    def exits_in(self, year: int) -> int:
        """The plan's exits for model ``year`` at its speed (0 outside the plan)."""
        if not 1 <= year <= len(self.exits):
            return 0
        return int(math.floor(self.speed * self.exits[year - 1] + 0.5))

    def schedule(self) -> list[int]:
        """The yearly exits at the plan's speed, model years 1, 2, ..."""
        return [self.exits_in(y) for y in range(1, len(self.exits) + 1)]


class Register(Strict):
    stable_years: Annotated[int, Field(ge=1, le=20)]
    measure_error: Annotated[float, Field(ge=0.0, le=2.0)]
    verify_capacity: Prob
    guarantee_error: Prob
    plan_pressure: Prob
    detect_adjustment: Prob
    detect_monitoring: Prob
    detect_served: Prob
    monitoring_from: Annotated[int, Field(ge=1949, le=2100)]
    assist_from: YearOrNever
    assist_max: Annotated[float, Field(ge=0.0, le=10.0)]
    west: bool
    exited_before: Annotated[float, Field(ge=0.0, le=5.0)]
    plan: RegisterPlan
