"""The field types and the strict base model every configuration table is built from (here, so
that the table modules and the schema that assembles them share one definition)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
Range = Annotated[list[float], Field(min_length=2, max_length=2)]


def _year_or_never(value: int) -> int:
    if 0 < value < 1949:
        raise ValueError("a calendar year (e.g. 2016), or 0 for never")
    return value


# the calendar year a rule starts (or a one-off event happens), 0 for never
YearOrNever = Annotated[int, Field(ge=0, le=2100), AfterValidator(_year_or_never)]


class Strict(BaseModel):
    # no inf/nan: they validate as floats but turn incomes into NaN later
    # strict: `years = true` or `enabled = "yes"` are mistakes, not numbers or booleans
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
