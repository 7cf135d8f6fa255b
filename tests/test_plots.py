"""`povsim plot`: each figure draws the expected series, bands, titles and units."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from sim.analysis.plots.figures import (
    cost_effectiveness,
    income_composition,
    plot_cost_effectiveness,
    plot_durability,
    plot_exits_returns,
    plot_income_composition,
    plot_poverty_rate,
    plot_returns_by_trigger,
    returns_by_trigger,
)
from sim.analysis.plots.heatmap import check_heatmap, plot_heatmap
from sim.analysis.plots.make import FIGURES, make_figures
from sim.analysis.plots.style import INCOME_COMPONENTS, OKABE_ITO, SkipFigure
from sim.batch.results import Results, load_results
from sim.batch.runner import run_batch
from sim.cli import main
from sim.model.outputs import TRIGGERS

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"
STRATEGIES = ["status_quo", "blood_making"]


@pytest.fixture(scope="session")
def small_batch(tmp_path_factory) -> Path:
    """experiments/small_test.toml (2 strategies x 2 samples x 2 seeds, 4 years, phase-out 3)."""
    from sim.batch.experiments import load_experiment

    out = tmp_path_factory.mktemp("plots") / "small"
    assert run_batch(load_experiment(SMALL), out, workers=1, quiet=True).exit_code == 0
    return out


@pytest.fixture(scope="session")
def small(small_batch) -> Results:
    return load_results(small_batch)


def labelled_lines(ax) -> list[str]:
    return [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def bands(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_poverty_rate_figure(small):
    fig = plot_poverty_rate(small)
    assert isinstance(fig, Figure)
    assert fig.get_suptitle() == "How many people are poor each year under each strategy?"
    ax = fig.axes[0]
    assert labelled_lines(ax) == STRATEGIES
    assert len(bands(ax)) == 2 * len(STRATEGIES)  # a 50% and a 90% band per strategy
    assert "% of persons" in ax.get_ylabel() and "model year" in ax.get_xlabel()
    # the medians are the medians of the runs
    ts = small.joined()
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "blood_making")
    expected = ts[ts["strategy"] == "blood_making"].groupby("year")["poverty_rate"].median()
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    # the phase-out year (3) is marked with a vertical line, named in the legend
    vertical = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [3, 3]]
    assert len(vertical) == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "last programme year (3)" in legend and "middle 90% of runs" in legend
    # Okabe-Ito colours
    assert mcolors.to_hex(line.get_color()) == OKABE_ITO["blue"].lower()


def test_exits_returns_figure(small):
    fig = plot_exits_returns(small)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["exits from poverty", "returns to poverty"]
    for ax in fig.axes:
        assert labelled_lines(ax) == STRATEGIES
        assert len(bands(ax)) == 4
        assert ax.get_ylabel() == "households per year"
        assert min(ax.get_lines()[0].get_xdata()) == 1  # flows start in year 1


def test_cost_effectiveness_figure(small):
    fig = plot_cost_effectiveness(small, reference="status_quo")
    assert fig.get_suptitle().startswith("What does the money buy?")
    assert len(fig.axes) == 2  # the last programme year (3) and the horizon (4)
    for ax in fig.axes:
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert [c.get_label() for c in bars] == ["blood_making"]  # the reference is the origin
    assert "million yuan" in fig.axes[0].get_xlabel()
    assert "percentage points" in fig.axes[0].get_ylabel()
    data = cost_effectiveness(small, "status_quo")
    assert len(data) == 2 * 4  # four pairs at each of the two years
    with pytest.raises(SkipFigure, match="not in the batch"):
        plot_cost_effectiveness(small, reference="precision")


def test_income_composition_figure(small):
    fig = plot_income_composition(small)
    ax = fig.axes[0]
    n_bars = len(INCOME_COMPONENTS) * 2 * len(STRATEGIES)  # components x 2 years x series
    assert len(ax.patches) == n_bars
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == sorted(INCOME_COMPONENTS.values())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["year 0", "year 4"] * 2
    assert "yuan per person" in ax.get_ylabel()
    comp = income_composition(small)
    ts = small.joined()
    farm0 = ts[(ts["year"] == 0) & (ts["strategy"] == "status_quo")]["income_farm_pc_reg0"]
    got = comp[(comp["series"] == "status_quo") & (comp["year"] == 0)]["farm"].iloc[0]
    assert got == pytest.approx(farm0.mean())


def test_durability_figure(small):
    fig = plot_durability(small)
    ax = fig.axes[0]
    assert labelled_lines(ax) == STRATEGIES
    line = ax.get_lines()[0]
    assert line.get_xdata()[0] == 0 and line.get_ydata()[0] == 1.0
    assert max(line.get_xdata()) == 3  # a 4-year batch defines durability_1..3 only
    assert len(bands(ax)) == 4
    assert fig.get_suptitle().startswith("Do exits last?")


def test_returns_by_trigger_figure(small):
    fig = plot_returns_by_trigger(small)
    ax = fig.axes[0]
    assert len(ax.patches) == len(TRIGGERS) * len(STRATEGIES)
    assert [t.get_text() for t in ax.get_xticklabels()] == [t.replace("_", " ") for t in TRIGGERS]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == STRATEGIES
    data = returns_by_trigger(small)
    ts = small.joined()
    sq = ts[ts["strategy"] == "status_quo"].groupby("run_id")["returns_illness"].sum().mean()
    got = data[(data["series"] == "status_quo") & (data["trigger"] == "illness")]["mean"].iloc[0]
    assert got == pytest.approx(sq)


def lever_grid() -> Results:
    """Synthetic batch: one strategy, levers a in {1, 2} x b in {10, 20, 30}, 2 runs each."""
    runs, rows = [], []
    k = 0
    for a in (1, 2):
        for b in (10, 20, 30):
            for rep in range(2):
                run_id = f"{k:05d}-x"
                runs.append(
                    {
                        "run_id": run_id,
                        "sample": 0,
                        "replication": rep,
                        "seed": rep,
                        "strategy": "s",
                    }
                    | {"lever.a": a, "lever.b": b, "status": "ok"}
                )
                for year in (0, 1):
                    rows.append(
                        {
                            "run_id": run_id,
                            "year": year,
                            "poverty_rate": a / 10 + b / 1000 + rep / 100,
                        }
                    )
                k += 1
    return Results(
        path=Path("grid"),
        manifest={"levers": ["strategy", "lever.a", "lever.b"]},
        runs=pd.DataFrame(runs),
        timeseries=pd.DataFrame(rows),
    )


def test_heatmap_figure_over_two_numeric_levers():
    grid = lever_grid()
    fig = plot_heatmap(grid, ["lever.a", "lever.b"], "poverty_rate@1")
    ax = fig.axes[0]
    image = [im for im in ax.get_images() if isinstance(im, AxesImage)][0]
    values = image.get_array()
    assert values.shape == (3, 2)  # rows lever.b, columns lever.a
    assert values[0, 0] == pytest.approx(0.1 + 0.01 + 0.005)  # mean over the two replications
    assert ax.get_xlabel() == "lever.a" and ax.get_ylabel() == "lever.b"
    assert fig.get_suptitle() == "How does poverty_rate@1 depend on lever.a and lever.b?"
    with pytest.raises(ValueError, match="not a numeric lever"):
        check_heatmap(grid, ["lever.a", "strategy"], "poverty_rate@1")
    with pytest.raises(ValueError, match="unknown outcome"):
        check_heatmap(grid, ["lever.a", "lever.b"], "happiness")


def test_missing_outcomes_are_skipped_with_a_notice(small_batch, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(small_batch, folder)
    for part in (folder / "timeseries").glob("*.parquet"):
        df = pd.read_parquet(part)
        drop = [c for c in df.columns if c.startswith(("durability_", "income_"))]
        df.drop(columns=drop).to_parquet(part, index=False)
    notices: list[str] = []
    written = make_figures(load_results(folder), tmp_path / "figs", notify=notices.append)
    assert set(written) == {
        "poverty_rate",
        "exits_returns",
        "cost_effectiveness",
        "returns_by_trigger",
    }
    assert len(notices) == 2
    assert all(n.startswith("skipped ") and "did not record" in n for n in notices)


def test_cli_writes_png_and_svg(small_batch, capsys):
    assert main(["plot", str(small_batch), "--format", "png,svg"]) == 0
    out = capsys.readouterr().out
    for spec in FIGURES:
        for fmt in ("png", "svg"):
            path = small_batch / "figures" / f"{spec.slug}.{fmt}"
            assert path.is_file() and path.stat().st_size > 1000, path
            assert str(path) in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "gif"], "choose from png, svg"),
        (["--heatmap", "programme.phase_out_year,strategy"], "not a numeric lever"),
        (["--heatmap", "programme.phase_out_year"], "two different levers"),
        (["--outcome", "poverty_rate@4"], "goes with --heatmap"),
    ],
)
def test_cli_bad_input_exits_2(small_batch, capsys, args, message):
    assert main(["plot", str(small_batch), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_cli_not_a_results_folder(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nothing")]) == 2
    assert "not a povsim batch folder" in capsys.readouterr().err


def test_many_lever_combinations_stay_readable():
    fig = plot_poverty_rate(lever_grid())  # one strategy, six lever combinations
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in lines][:2] == ["s, a=1, b=10", "s, a=1, b=20"]
    assert len({ln.get_color() for ln in lines}) == 1  # colour says the strategy ...
    assert len({ln.get_linestyle() for ln in lines}) == 4  # ... line style the combination
    assert len(bands(ax)) == 6  # only the 50% band once there are more than four series
    assert ax.get_xlim()[1] < 2  # no phase-out mark beyond the horizon
