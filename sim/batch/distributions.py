"""The distributions an uncertainty can take (uniform, triangular, normal and lognormal, truncated
or not, or a list of values), each mapping LHS quantiles in 0..1 to values."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from sim.config import (
    Strict,
)

DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")
TRUNCATE_SDS = 3.0  # default truncation of normal and lognormal draws, in (log-)sds


# Distributions --------------------------------------------------------------------------------


class Uniform(Strict):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low = {self.low:g}, high = {self.high:g}")
        return self

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)


class Triangular(Strict):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Triangular:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low = {self.low:g}, high = {self.high:g}")
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"mode {self.mode:g} lies outside [low, high] = [{self.low:g}, {self.high:g}]"
            )
        return self

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def ppf(self, u: np.ndarray) -> np.ndarray:
        from scipy import stats  # lazily: batch workers never sample, and it costs 0.3 s

        width = self.high - self.low
        return stats.triang(c=(self.mode - self.low) / width, loc=self.low, scale=width).ppf(u)


class _Truncated(Strict):
    """Draws are truncated (not clipped) to [low, high], so no sample lands outside the range
    that was validated up front, and no probability mass piles up on the bounds."""

    low: float | None = None
    high: float | None = None

    def _frozen(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _default_bounds(self) -> tuple[float, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        lo, hi = self._default_bounds()
        return (lo if self.low is None else self.low, hi if self.high is None else self.high)

    def _check_bounds(self) -> None:
        lo, hi = self.bounds()
        if not lo < hi:
            raise ValueError(f"needs low < high, got low = {lo:g}, high = {hi:g}")
        d = self._frozen()
        if d.cdf(hi) - d.cdf(lo) < 1e-9:
            raise ValueError(f"[low, high] = [{lo:g}, {hi:g}] holds no probability mass")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        d = self._frozen()
        lo, hi = self.bounds()
        a, b = d.cdf(lo), d.cdf(hi)
        return np.clip(d.ppf(a + u * (b - a)), lo, hi)


class Normal(_Truncated):
    dist: Literal["normal"]
    mean: float
    sd: float

    @model_validator(mode="after")
    def _check(self) -> Normal:
        if not self.sd > 0:
            raise ValueError(f"needs sd > 0, got sd = {self.sd:g}")
        self._check_bounds()
        return self

    def _frozen(self):
        from scipy import stats

        return stats.norm(loc=self.mean, scale=self.sd)

    def _default_bounds(self) -> tuple[float, float]:
        return self.mean - TRUNCATE_SDS * self.sd, self.mean + TRUNCATE_SDS * self.sd


class LogNormal(_Truncated):
    """``mean`` is the mean of the value itself (not of its log); ``sigma`` is the log-sd."""

    dist: Literal["lognormal"]
    mean: float
    sigma: float

    @model_validator(mode="after")
    def _check(self) -> LogNormal:
        if not self.mean > 0:
            raise ValueError(f"needs mean > 0, got mean = {self.mean:g}")
        if not self.sigma > 0:
            raise ValueError(f"needs sigma > 0, got sigma = {self.sigma:g}")
        if self.low is not None and self.low < 0:
            raise ValueError(f"needs low >= 0 (a lognormal value is positive), got {self.low:g}")
        self._check_bounds()
        return self

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma**2 / 2.0

    def _frozen(self):
        from scipy import stats

        return stats.lognorm(s=self.sigma, scale=math.exp(self.mu))

    def _default_bounds(self) -> tuple[float, float]:
        return (
            math.exp(self.mu - TRUNCATE_SDS * self.sigma),
            math.exp(self.mu + TRUNCATE_SDS * self.sigma),
        )


class Values(Strict):
    """A discrete uncertainty: each listed value equally likely."""

    values: Annotated[list[Any], Field(min_length=1)]

    def bounds(self) -> list[Any]:
        return list(self.values)

    def pick(self, u: np.ndarray) -> list[Any]:
        k = len(self.values)
        idx = np.minimum((np.asarray(u) * k).astype(np.int64), k - 1)
        return [self.values[i] for i in idx]


DIST_MODELS: dict[str, type[BaseModel]] = {
    "uniform": Uniform,
    "triangular": Triangular,
    "normal": Normal,
    "lognormal": LogNormal,
}
Distribution = Uniform | Triangular | Normal | LogNormal | Values


def _is_dist(table: dict) -> bool:
    return "dist" in table or "values" in table


def _parse_distribution(raw: Any, where: str) -> tuple[Distribution | None, list[str]]:
    allowed = f"{', '.join(DISTRIBUTIONS)} (or values = [...])"
    if not isinstance(raw, dict):
        return None, [
            f'{where}: expected a table such as {{ dist = "uniform", low = 0.1, high = 0.2 }} '
            f"or {{ values = [...] }}, got {raw!r}"
        ]
    if "values" in raw and "dist" not in raw:
        model: type[BaseModel] = Values
    elif isinstance(raw.get("dist"), str) and raw["dist"] in DIST_MODELS:
        model = DIST_MODELS[raw["dist"]]
    elif "dist" in raw:
        return None, [f"{where}: unknown dist {raw['dist']!r}; allowed: {allowed}"]
    else:
        return None, [f"{where}: give dist = one of {allowed}"]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key for dist {raw.get('dist', 'values')!r}; allowed: " + ", ".join(
                    model.model_fields
                )
            elif err["type"] == "missing":
                msg = "required key is missing"
            out.append(f"{where}: {loc + ': ' if loc else ''}{msg}")
        return None, out
