"""The scenario's ``[programme]`` table: the campaign's schedule and what follows its phase-out
(docs/ODD.md, Schedule, budget and queue)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from sim.config.types import Strict

Year = Annotated[int, Field(ge=0, le=100)]

# what ``programme.after_phase_out`` can be
AFTER_PHASE_OUT = {
    "transition": "the five-year transition (四个不摘): the strategy's instruments except "
    "relocation continue for registered and exited households on transition_budget_share "
    "of the yearly budget for transition_years years",
    "cliff": "everything the programme paid stops (the standing dibao and pensions continue)",
}


class Programme(Strict):
    start_year: Year
    phase_out_year: Year
    support_after_exit: Year
    targeting: Literal["poorest_first", "category_first", "random"]
    after_phase_out: Literal["transition", "cliff"]
    transition_years: Year
    transition_budget_share: Annotated[float, Field(ge=0.0, le=5.0)]

    @field_validator("after_phase_out", mode="before")
    @classmethod
    def _after_phase_out(cls, value):
        if not isinstance(value, str) or value not in AFTER_PHASE_OUT:
            choices = "; ".join(f"{k!r}: {v}" for k, v in AFTER_PHASE_OUT.items())
            raise ValueError(f"got {value!r}; what follows the phase-out year: {choices}")
        return value
