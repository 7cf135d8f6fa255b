"""Scenario discovery (PRIM): a planted failure region is recovered, random misses give no box,
too few misses are said so, the output stays clean, and `povsim discover` works end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.discovery import describe_box, discover, format_discovery, min_density
from sim.cli import main


def planted(n: int = 400, seed: int = 3, noise: float = 0.05):
    """Misses iff x1 > 0.7 and x2 < 0.3, with a share ``noise`` of labels flipped; x3 is idle."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "shocks.illness.incidence": rng.random(n),
            "shocks.enterprise.failure_multiplier": rng.random(n),
            "x3": rng.random(n),
        }
    )
    y = (x["shocks.illness.incidence"] > 0.7) & (x["shocks.enterprise.failure_multiplier"] < 0.3)
    flip = rng.random(n) < noise
    return x, np.where(flip, ~y, y)


@pytest.mark.parametrize("seed", [3, 4])
def test_prim_recovers_a_planted_failure_region(seed):
    x, y = planted(seed=seed)
    d = discover(x, y, "planted")
    assert d.boxes, format_discovery(d)
    box = d.boxes[0]
    lims = {lim.name: lim for lim in box.limits}
    assert set(lims) == {"shocks.illness.incidence", "shocks.enterprise.failure_multiplier"}
    inc, fail = lims["shocks.illness.incidence"], lims["shocks.enterprise.failure_multiplier"]
    assert inc.high is None and 0.6 < inc.low < 0.8  # above ~0.7, no upper bound
    assert fail.low is None and 0.2 < fail.high < 0.4  # below ~0.3, no lower bound
    assert box.density >= 0.8 and box.coverage >= 0.5
    assert box.density >= min_density(d.base_rate)
    s = box.sentence
    assert s.startswith(f"missed in {box.density:.0%} of runs ({box.misses} of {box.runs}) with ")
    assert "illness incidence at least 0." in s and "enterprise failure multiplier at most 0." in s
    assert f"these runs are {box.coverage:.0%} of all misses" in s


@pytest.mark.parametrize("n,p,seed", [(300, 0.3, 0), (300, 0.3, 1), (400, 0.1, 2), (32, 0.4, 3)])
def test_random_misses_give_no_box(n, p, seed):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({f"x{i}": rng.random(n) for i in range(4)})
    d = discover(x, rng.random(n) < p, "random")
    assert not d.boxes, format_discovery(d)
    assert "no region of the uncertain parameters concentrates the misses" in d.reason
    assert "no box:" in format_discovery(d)


@pytest.mark.parametrize(
    "misses,reason",
    [
        (0, "met in every run"),
        (100, "missed in every run"),
        (6, "too few misses (6)"),
        (95, "too few hits (5)"),
    ],
)
def test_too_few_misses_or_hits_are_said_so(misses, reason):
    x = pd.DataFrame({"a": np.linspace(0, 1, 100)})
    y = np.arange(100) < misses
    d = discover(x, y, "s")
    assert not d.boxes and reason in d.reason
    assert not d.trajectories  # PRIM was not run


def test_discovery_output_is_clean(capfd):
    x, y = planted(seed=3)
    discover(x, y)
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""


def test_parameters_that_move_together_are_named():
    # 8 samples x 4 seeds, as in the flagship: a and b rank the samples identically
    rng = np.random.default_rng(0)
    a = np.repeat(np.arange(8) / 7, 4)
    x = pd.DataFrame(
        {"shocks.a.rate": a, "shocks.b.rate": a * 2 + 1, "c": np.repeat(rng.random(8), 4)}
    )
    d = discover(x, a >= 0.5)
    assert d.boxes
    text = describe_box(d.boxes[0], d.misses)
    assert "cannot be told apart" in text


# ---- povsim discover ---------------------------------------------------------------------------


def write_batch(folder: Path, x: pd.DataFrame, values: np.ndarray, strategy: str = "precision"):
    """A batch folder with one run per row of x; poverty_rate equals ``values`` in every year."""
    (folder / "runs").mkdir(parents=True)
    (folder / "timeseries").mkdir()
    ids = [f"{i:05d}-00000000" for i in range(len(x))]
    runs = pd.DataFrame(
        {"run_id": ids, "strategy": strategy, "sample": range(len(x)), "replication": 0, "seed": 1}
    )
    runs = pd.concat([runs, x.reset_index(drop=True)], axis=1)
    runs = runs.assign(status="ok", error="", wall_seconds=0.0, part=0)
    runs.to_parquet(folder / "runs" / "part-00000.parquet", index=False)
    ts = pd.DataFrame(
        [
            {"run_id": r, "year": y, "poverty_rate": float(v)}
            for r, v in zip(ids, values, strict=True)
            for y in range(6)
        ]
    )
    ts.to_parquet(folder / "timeseries" / "part-00000.parquet", index=False)
    manifest = {
        "format": "povsim-batch/1",
        "levers": ["strategy"],
        "uncertainties": list(x.columns),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


TARGETS = """
[[target]]
name = "poverty 10%"
metric = "poverty_rate"
year = 5
op = "<="
value = 0.1
"""


def test_discover_command(tmp_path, capsys):
    x, y = planted(seed=3)
    batch = write_batch(tmp_path / "b", x, np.where(y, 0.2, 0.05))
    f = tmp_path / "t.toml"
    f.write_text(TARGETS)
    assert main(["discover", str(batch), "--targets", str(f), "--target", "poverty 10%"]) == 0
    out = capsys.readouterr()
    assert "box 1:" in out.out and "illness incidence at least 0." in out.out
    assert "shocks.illness.incidence" in out.out and "coverage" in out.out
    assert out.err == ""
    assert (batch / "figures" / "discover_poverty_10.png").stat().st_size > 10_000


def test_discover_bad_input(tmp_path, capsys):
    x, y = planted(n=40, seed=3)
    batch = write_batch(tmp_path / "b", x, np.where(y, 0.2, 0.05))
    f = tmp_path / "t.toml"
    f.write_text(TARGETS)
    assert main(["discover", str(batch), "--targets", str(f), "--target", "nope"]) == 2
    assert "no target of that name" in capsys.readouterr().err
    args = ["discover", str(batch), "--targets", str(f), "--target", "poverty 10%"]
    assert main([*args, "--strategy", "transfusion"]) == 2
    assert "--strategy transfusion: not in this batch" in capsys.readouterr().err
    # 40 runs with few misses: said so, no figure
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "no box: too few misses" in out and "no figure" in out
