"""`povsim report`: a self-contained page with every figure, readings, provenance and warnings."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import sim
import sim.batch.execution
from sim.analysis.plots.figures import plot_durability
from sim.analysis.plots.make import FIGURES, save
from sim.analysis.report.sections import describe_distribution
from sim.batch.experiments import load_experiment
from sim.batch.results import load_results
from sim.batch.runner import run_batch
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"


@pytest.fixture(scope="session")
def small_batch(tmp_path_factory) -> Path:
    """experiments/small_test.toml (2 strategies x 2 samples x 2 seeds, 4 years, phase-out 3)."""
    out = tmp_path_factory.mktemp("report") / "small"
    assert run_batch(load_experiment(SMALL), out, workers=1, quiet=True).exit_code == 0
    return out


@pytest.fixture(scope="session")
def report(tmp_path_factory, small_batch) -> tuple[Path, str, str]:
    folder = tmp_path_factory.mktemp("report_once") / "small"
    shutil.copytree(small_batch, folder)
    assert main(["report", str(folder)]) == 0
    return (
        folder,
        (folder / "report.html").read_text(encoding="utf-8"),
        (folder / "report.md").read_text(encoding="utf-8"),
    )


@pytest.fixture
def batch(report, tmp_path) -> Path:
    """A fresh copy of the reported batch (figures and compare.csv included, modification times
    kept, so they count as up to date) that a test may change."""
    folder = tmp_path / "small"
    shutil.copytree(report[0], folder)
    for name in ("report.html", "report.md"):
        (folder / name).unlink()
    return folder


def test_one_command_makes_figures_compare_table_and_report(report):
    folder, html, md = report
    assert (folder / "compare.csv").is_file()
    for spec in FIGURES:
        assert (folder / "figures" / f"{spec.slug}.png").is_file()
        assert spec.question in html and spec.question in md
        assert f"](figures/{spec.slug}.png)" in md
    # every figure is embedded: the page needs no other file
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    assert not re.search(r'(src|href)="(https?:|figures/)', html)
    assert "<style>" in html and "stylesheet" not in html


def test_report_has_the_manifest_seeds_versions_and_assumptions(report):
    folder, html, md = report
    manifest = load_results(folder).manifest
    for seed in manifest["seeds"]:
        assert str(seed) in html and str(seed) in md
    assert str(manifest["master_seed"]) in md
    assert f"povsim {sim.__version__}" in md
    assert manifest["started"] in md
    # uncertainties with their ranges, levers and the key defaults, linking the ODD
    assert "`shocks.illness.incidence`" in md and "uniform 0.1–0.16" in md
    assert "one of 0.05, 0.25" in md
    assert "`programme.phase_out_year`" in md and "`economy.assets.threshold`" in md
    assert "docs/ODD.md" in md and 'href="' in html and "ODD.md" in html


def test_readings_are_computed_from_the_numbers(report):
    folder, _, md = report
    ts = load_results(folder).joined()
    last = ts[ts["year"] == 4].groupby("strategy")["poverty_rate"].median()
    best = last.idxmin()
    assert f"by year 4 {best} is lowest ({last.min() * 100:.1f}%)" in md
    rate = ts[ts["year"] == 4].groupby("strategy")["poverty_rate"].mean()
    assert f"Lowest mean poverty rate in year 4: {rate.idxmin()} ({rate.min() * 100:.1f}%)" in md
    # two reading lines under every figure
    for spec in FIGURES:
        block = md.split(f"](figures/{spec.slug}.png)")[1].split("###")[0]
        assert len(re.findall(r"^\*.+\*", block, flags=re.M)) == 2, spec.slug


def test_report_says_when_runs_failed(tmp_path, monkeypatch, capsys):
    design = load_experiment(SMALL)
    bad_seed = design.seeds[0]

    class Flaky(sim.PovertyModel):
        def run(self, years=None):
            if self.strategy.name == "blood_making" and self.seed == bad_seed:
                raise RuntimeError("injected failure")
            return super().run(years)

    monkeypatch.setattr(sim.batch.execution, "PovertyModel", Flaky)
    out = tmp_path / "flaky"
    assert run_batch(design, out, workers=1, quiet=True).failed == 2
    assert main(["report", str(out)]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "2 of 8 runs failed" in md
    assert "### Failed runs" in md and "injected failure" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(FIGURES)


def test_report_says_which_outcomes_are_missing(batch, capsys):
    shutil.rmtree(batch / "figures")  # drawn from the full data: the report must redraw them
    for part in (batch / "timeseries").glob("*.parquet"):
        df = pd.read_parquet(part)
        drop = [c for c in df.columns if c.startswith(("durability_", "income_", "transfer_share"))]
        df.drop(columns=drop).to_parquet(part, index=False)
    assert main(["report", str(batch)]) == 0
    md = (batch / "report.md").read_text(encoding="utf-8")
    assert "Missing outcomes" in md
    assert "income_composition" in md and "durability" in md
    assert "Not recorded by this batch" in md and "`transfer_share@4`" in md
    assert "skipped durability" in capsys.readouterr().err
    assert not (batch / "figures" / "durability.png").exists()


def test_sensitivity_section_only_when_results_exist(batch, report):
    _, html, _ = report
    assert "Sensitivity" not in html
    sens = batch / "sensitivity"
    (sens / "figures").mkdir(parents=True)
    pd.DataFrame(
        {
            "outcome": ["poverty_rate@4"] * 4,
            "factor": ["shocks.illness.incidence"] * 2 + ["identification.exclusion_error"] * 2,
            "method": ["morris"] * 4,
            "index": ["mu_star", "sigma"] * 2,
            "value": [0.02, 0.01, 0.005, 0.002],
            "conf_low": [0.015, None, 0.001, None],
            "conf_high": [0.025, None, 0.009, None],
        }
    ).to_csv(sens / "indices.csv", index=False)
    save(plot_durability(load_results(batch)), sens / "figures" / "morris")
    assert main(["report", str(batch)]) == 0
    md = (batch / "report.md").read_text(encoding="utf-8")
    assert "## Sensitivity" in md
    assert "By mu_star, `shocks.illness.incidence` moves poverty_rate@4 most (0.02)" in md
    assert "0.02 [0.015, 0.025]" in md
    assert "](sensitivity/figures/morris.png)" in md
    html = (batch / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(FIGURES) + 1


def test_stale_figures_are_redrawn(batch, capsys):
    assert main(["report", str(batch)]) == 0  # nothing changed: figures reused
    assert "drew" not in capsys.readouterr().err
    (batch / "figures" / "durability.png").unlink()
    assert main(["report", str(batch)]) == 0
    err = capsys.readouterr().err
    assert "drew" in err and "durability.png" in err and "poverty_rate.png" not in err
    (batch / "manifest.json").touch()  # the batch changed (e.g. resumed): everything is redrawn
    assert main(["report", str(batch)]) == 0
    err = capsys.readouterr().err
    assert all(f"{spec.slug}.png" in err for spec in FIGURES)
    assert "wrote" in err and "compare.csv" in err


def test_bad_input_exits_2(batch, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert main(["report", str(batch), "--reference", "nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "not a strategy of this batch" in err[1]
    assert not (batch / "report.html").exists()


def test_describe_distribution():
    assert (
        describe_distribution({"dist": "uniform", "low": 0.1, "high": 0.16}) == "uniform 0.1–0.16"
    )
    assert describe_distribution({"values": [0.05, 0.25]}) == "one of 0.05, 0.25"
    text = describe_distribution(
        {"dist": "normal", "mean": 0.12, "sd": 0.04, "low": 0.0, "high": 0.24}
    )
    assert text == "normal, mean 0.12, sd 0.04, truncated to [0.0, 0.24]"
