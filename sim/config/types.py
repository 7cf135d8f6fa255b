"""The field types and the strict base model every configuration table is built from (here, so
that the table modules and the schema that assembles them share one definition)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
Range = Annotated[list[float], Field(min_length=2, max_length=2)]


class Strict(BaseModel):
    # no inf/nan: they validate as floats but turn incomes into NaN later
    # strict: `years = true` or `enabled = "yes"` are mistakes, not numbers or booleans
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
