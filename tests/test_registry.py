"""The instrument registry: one module per instrument, and every list of instruments agrees."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, small_data

from sim.config import INSTRUMENT_NAMES, ConfigError, Instruments, build_scenario
from sim.config.parameters import iter_params
from sim.model import PovertyModel
from sim.model.codes import INSTRUMENTS, Category
from sim.model.effects import Effects
from sim.model.households import HOUSEHOLD_FIELDS, PERSON_FIELDS, VillageTable
from sim.model.outputs import COLUMNS
from sim.policies import registry
from sim.policies.base import Instrument


def test_the_registry_is_consistent():
    assert registry.check() == []


def test_names_agree_everywhere():
    names = tuple(registry.instruments())
    assert names == INSTRUMENTS == INSTRUMENT_NAMES
    assert set(Instruments.model_fields) == set(names) | set(registry.OPTIONS)
    for name in names:
        assert f"spending_{name}" in COLUMNS
        for suffix in ("first", "last", "cost"):
            assert f"{name}_{suffix}" in HOUSEHOLD_FIELDS
    documented = {p.path.split(".")[1] for p in iter_params() if p.path.startswith("instruments.")}
    assert documented == set(names) | set(registry.OPTIONS)


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_every_instrument_declares_what_it_is(name):
    inst = registry.instruments()[name]
    assert isinstance(inst, Instrument) and inst.name == name
    assert callable(inst.allocate)
    assert inst.cause_match is None or inst.cause_match > 0
    assert inst.category is None or isinstance(inst.category, Category)
    fx = Effects(1)
    fields = set(HOUSEHOLD_FIELDS) | set(PERSON_FIELDS) | set(VillageTable.FIELDS)
    assert inst.effects and all(hasattr(fx, e) or e in fields for e in inst.effects)
    for p in iter_params():
        if p.path.startswith(f"instruments.{name}."):
            assert p.unit and p.description and p.source, p.path


def test_a_params_model_that_disagrees_with_the_defaults_is_reported(monkeypatch):
    from pydantic import BaseModel

    class Wrong(BaseModel):
        subsidy: float
        extra: float = 1.0

    found = dict(registry.instruments())
    found["housing"] = Instrument("housing", Wrong, None, None, ("house_safe",), lambda *a: None)
    monkeypatch.setattr(registry, "instruments", lambda: found)
    problems = registry.check()
    assert any(p.startswith("housing: Params fields") for p in problems)


def test_bounds_are_the_instruments_own_and_reported_at_load():
    d = small_data()
    d["instruments"] = {"microcredit": {"term": 7}}
    with pytest.raises(ConfigError, match=r"small.toml: instruments\.microcredit\.term: .*3"):
        build_scenario(d, "small.toml")  # the instrument's own Params, through the registry
    d["instruments"] = {"microcredit": {"term": "three"}}
    with pytest.raises(ConfigError, match=r"instruments\.microcredit\.term"):
        build_scenario(d, "small.toml")  # a wrong kind is reported at load


def _spent(order, allocation="priority", shares=None):
    d = small_data()
    shares = shares or {"dibao": 1.0, "cash_transfer": 1.0}
    spec = {"allocation": allocation, "shares": shares, "order": order}
    spec["params"] = {"cash_transfer": {"max_per_person": 1e9}}  # it can absorb any budget
    d["strategies"] = {"s": spec}
    m = PovertyModel(build_scenario(d, "small.toml"), strategy="s", seed=2, agents=False)
    m.step()
    return m.ledger.year_spending(1), m.strategy.budget


def test_priority_order_decides_who_is_short():
    # cash transfers can absorb the whole budget: first in order, they leave dibao nothing
    cash_first, budget = _spent(["cash_transfer", "dibao"])
    assert cash_first.get("dibao", 0.0) == 0.0
    assert cash_first["cash_transfer"] == pytest.approx(budget, rel=1e-6)
    dibao_first, _ = _spent(["dibao", "cash_transfer"])
    assert dibao_first["dibao"] > 0
    assert dibao_first["cash_transfer"] == pytest.approx(budget - dibao_first["dibao"], rel=1e-6)


def test_shares_are_a_fixed_split_whatever_the_order():
    shares = {"dibao": 0.5, "cash_transfer": 0.5}
    a, budget = _spent(["cash_transfer", "dibao"], "shares", shares)
    b, _ = _spent(["dibao", "cash_transfer"], "shares", shares)
    assert a == pytest.approx(b)
    assert a["cash_transfer"] <= 0.5 * budget * (1 + 1e-9)
    assert np.isclose(sum(a.values()), sum(b.values()))


def test_validate_reports_an_instrument_bound_at_load(tmp_path, capsys):
    """Each instrument's own bounds are checked when a scenario is loaded, not only when a
    model is built: `povsim validate` says so (exit 2)."""
    from sim.cli import main

    code = main(
        [
            "validate",
            str(ROOT / "scenarios" / "tiny.toml"),
            "--set",
            "instruments.microcredit.term=7",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "instruments.microcredit.term" in err and "less than or equal to 3" in err
