"""Cross-field checks of a scenario, read off the raw tree so that they are reported even when
other fields fail validation (pydantic skips model validators then)."""

from __future__ import annotations

from pydantic import (
    ValidationError,
)

from sim.config.schema import CATEGORIES, Instruments, StrategySpec

# Sanity bounds on one scenario, far above any real county or prefecture (Ankang: 625,000
# households); the memory a run needs on this machine is checked separately (sim.batch.limits).
MAX_HOUSEHOLDS = 20_000_000
MAX_PEOPLE = 80_000_000


def population_problems(tree: dict) -> list[tuple[str, str]]:
    """Counts that cannot be synthesised, read off the raw tree so that they are reported even
    when other fields fail validation (pydantic skips model validators then). Values that are
    not numbers are left to the field validators."""
    H, P = _int_at(tree, "population", "households"), _int_at(tree, "population", "people")
    R = _int_at(tree, "population", "registered", "households")
    RP = _int_at(tree, "population", "registered", "people")
    M = _int_at(tree, "population", "max_household_size")
    if None in (H, P, R, RP, M) or M < 1:
        return []
    if H > MAX_HOUSEHOLDS or P > MAX_PEOPLE:
        return [
            (
                "population",
                f"{H:,} households and {P:,} people: at most {MAX_HOUSEHOLDS:,} households and "
                f"{MAX_PEOPLE:,} people in one scenario (a prefecture's whole population; "
                "split a larger area into several scenarios)",
            )
        ]
    out = _registered_problems(H, P, R, RP)
    cats = {}
    for c in CATEGORIES:
        h = _int_at(tree, "population", "registered", "categories", c, "households")
        p = _int_at(tree, "population", "registered", "categories", c, "people")
        if h is None or p is None:
            return out
        cats[c] = (h, p)
    out += _category_problems(cats, R, RP, M)
    out += _non_registered_problems(H - R, P - RP, M)
    return out


def _int_at(tree: dict, *path: str) -> int | None:
    """The integer at ``path`` in the raw tree, or None (missing, or not an integer)."""
    node = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, int) and not isinstance(node, bool) else None


def _registered_problems(H: int, P: int, R: int, RP: int) -> list[tuple[str, str]]:
    """The registered households and people against the whole population."""
    out: list[tuple[str, str]] = []
    if R > H:
        out.append(
            (
                "population.registered.households",
                f"registered households ({R}) cannot exceed population.households ({H})",
            )
        )
    if RP > P:
        out.append(
            (
                "population.registered.people",
                f"registered people ({RP}) cannot exceed population.people ({P})",
            )
        )
    return out


def _category_problems(
    cats: dict[str, tuple[int, int]], R: int, RP: int, M: int
) -> list[tuple[str, str]]:
    """The primary-cause categories' households and people against the registered counts and
    the household size; a category of households with 0 people gets the people left over."""
    out: list[tuple[str, str]] = []
    total = sum(h for h, _ in cats.values())
    if total != R:
        listing = ", ".join(f"{k} {h}" for k, (h, _) in cats.items())
        out.append(
            (
                "population.registered.categories",
                f"category households sum to {total} ({listing}) but registered households are "
                f"{R}; they must be equal (each registered household has exactly one "
                "primary-cause category)",
            )
        )
    for k, (h, p) in cats.items():
        field = f"population.registered.categories.{k}.people"
        if p > 0 and h == 0:
            out.append((field, f"{p} people but no households in this category"))
        elif p > 0 and not h <= p <= h * M:
            out.append(
                (
                    field,
                    f"{p} people cannot fill {h} households of 1..{M} persons (max_household_size)",
                )
            )
    given = sum(p for _, p in cats.values())
    derived = [k for k, (h, p) in cats.items() if p == 0 and h > 0]
    rest_h = sum(cats[k][0] for k in derived)
    if not derived and given != RP and total == R:
        out.append(
            (
                "population.registered.categories",
                f"category people sum to {given} but registered people are {RP}",
            )
        )
    elif derived and not rest_h <= RP - given <= rest_h * M:
        out.append(
            (
                "population.registered.categories",
                f"category people ({given}) leave {RP - given} registered people for the "
                f"{rest_h} households of {', '.join(derived)} (each holds 1..{M} persons)",
            )
        )
    return out


def _non_registered_problems(oh: int, op: int, M: int) -> list[tuple[str, str]]:
    """The households and people left over after the registered ones (none when either is
    negative: that is already reported against the registered counts)."""
    out: list[tuple[str, str]] = []
    if oh >= 0 and op >= 0:
        if oh == 0 and op > 0:
            out.append(
                (
                    "population.people",
                    f"{op} people are not registered but there are no non-registered households",
                )
            )
        elif oh > 0 and not oh <= op <= oh * M:
            out.append(
                (
                    "population.people",
                    f"{op} non-registered people cannot fill {oh} non-registered households of "
                    f"1..{M} persons",
                )
            )
    return out


def strategy_problems(tree: dict, own: set[str] | None = None) -> list[tuple[str, str]]:
    """Cross-checks of each strategy table against the scenario, on the raw tree (reported
    whether or not other fields fail)."""
    out: list[tuple[str, str]] = []
    years = tree.get("meta", {}).get("years") if isinstance(tree.get("meta"), dict) else None
    years = years if isinstance(years, int) and not isinstance(years, bool) else None
    enterprises = tree.get("enterprises")
    inst_tree = tree.get("instruments") if isinstance(tree.get("instruments"), dict) else {}
    strategies = tree.get("strategies")
    if not isinstance(strategies, dict):
        return out
    for sname, table in strategies.items():
        try:
            spec = StrategySpec.model_validate(table)
        except ValidationError:
            continue  # reported by the field validation
        for key in ("start_year", "phase_out_year"):
            val = getattr(spec, key)
            if val is not None and years is not None and val > years:
                out.append(
                    (f"strategies.{sname}.{key}", f"{val} is outside the horizon 0..{years}")
                )
        funds_industry = spec.shares.get("industry", 0) > 0 and (own is None or sname in own)
        if funds_industry and isinstance(enterprises, list) and not enterprises:
            out.append(
                (
                    f"strategies.{sname}.shares.industry",
                    "the strategy funds industry but the scenario has no enterprises; add "
                    "[[enterprises]] tables",
                )
            )
        for inst, over in spec.params.items():
            model = Instruments.model_fields[inst].annotation
            base = inst_tree.get(inst, {}) if isinstance(inst_tree.get(inst), dict) else {}
            try:
                model.model_validate({**base, **over})
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = ".".join(str(x) for x in err["loc"]) or "(all)"
                    msg = err["msg"].removeprefix("Value error, ")
                    if err["type"] == "extra_forbidden":
                        msg = f"unknown field; allowed here: {', '.join(model.model_fields)}"
                    elif err["type"] != "missing" and err["loc"]:
                        msg += f" (got {err.get('input')!r})"
                    else:
                        continue
                    out.append((f"strategies.{sname}.params.{inst}.{loc}", msg))
    return out
