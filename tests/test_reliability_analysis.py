"""Issue 13 for the analysis commands (compare, plot, report, targets, discover): a user's file is
never overwritten without --force, an unwritable output or a damaged results folder is one
message and exit 2 with nothing written, unknown option values name the allowed ones, and the
report never carries a live script link."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sim.analysis.report.document import inline_html, safe_md, safe_url
from sim.batch.experiments import load_experiment
from sim.batch.results import NoResults, ResultsError, load_results
from sim.batch.runner import run_batch
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"
TARGETS = """
[[target]]
name = "pr"
metric = "poverty_rate"
year = 4
op = "<="
value = 0.3
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """experiments/small_test.toml once for the module (8 tiny runs, about a second)."""
    out = tmp_path_factory.mktemp("reliability") / "small"
    assert run_batch(load_experiment(SMALL), out, workers=1, quiet=True).exit_code == 0
    return out


@pytest.fixture
def batch(built, tmp_path) -> Path:
    folder = tmp_path / "batch"
    shutil.copytree(built, folder)
    return folder


@pytest.fixture
def targets_file(tmp_path) -> Path:
    f = tmp_path / "plan.toml"
    f.write_text(TARGETS, encoding="utf-8")
    return f


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time (ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


# ---- 1. an existing file is replaced only with --force -----------------------------------------


@pytest.mark.parametrize("command", ["compare", "targets"])
def test_existing_out_file_needs_force(batch, targets_file, tmp_path, capsys, command):
    victim = tmp_path / "scenario.toml"
    victim.write_text("keep me\n")
    extra = ["--targets", str(targets_file)] if command == "targets" else []
    before = snapshot(batch)
    assert main([command, str(batch), *extra, "--out", str(victim)]) == 2
    msg = one_error(capsys)
    assert f"--out {victim}: file exists" in msg and "--force" in msg
    assert victim.read_text() == "keep me\n"
    assert snapshot(batch) == before  # checked before anything was computed or written
    assert main([command, str(batch), *extra, "--out", str(victim), "--force"]) == 0
    assert victim.read_text().startswith(("strategy,", "target,"))


def test_targets_companion_file_needs_force_too(batch, targets_file, tmp_path, capsys):
    (tmp_path / "v_consistency.csv").write_text("mine\n")
    args = ["targets", str(batch), "--targets", str(targets_file), "--out", str(tmp_path / "v.csv")]
    assert main(args) == 2
    assert "v_consistency.csv" in one_error(capsys)
    assert not (tmp_path / "v.csv").exists()
    assert (tmp_path / "v_consistency.csv").read_text() == "mine\n"


def test_own_files_in_a_povsim_batch_are_regenerated(batch, targets_file, capsys):
    for _ in range(2):  # make demo runs report again and again
        assert main(["report", str(batch)]) == 0
        assert main(["compare", str(batch)]) == 0
        assert main(["targets", str(batch), "--targets", str(targets_file)]) == 0
        assert main(["plot", str(batch)]) == 0
    capsys.readouterr()


def test_files_in_a_folder_povsim_does_not_recognise_need_force(batch, capsys):
    manifest = json.loads((batch / "manifest.json").read_text())
    del manifest["format"]
    (batch / "manifest.json").write_text(json.dumps(manifest))
    (batch / "report.html").write_text("somebody's page")
    before = snapshot(batch)
    assert main(["report", str(batch)]) == 2
    msg = one_error(capsys)
    assert "report.html: file exists" in msg and "not recognised as a povsim batch" in msg
    assert snapshot(batch) == before
    assert main(["report", str(batch), "--force"]) == 0
    assert "<!DOCTYPE html>" in (batch / "report.html").read_text()[:200]


# ---- 2. an output that cannot be written: exit 2 up front --------------------------------------


def _bad_outs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "plain").write_text("a file\n")
    return {
        "proc": Path("/proc/povsim-x.csv"),
        "under a file": tmp_path / "plain" / "x.csv",
        "long name": tmp_path / ("a" * 300 + ".csv"),
    }


@pytest.mark.parametrize("kind", ["proc", "under a file", "long name"])
@pytest.mark.parametrize("command", ["compare", "targets"])
def test_unwritable_out_is_refused_up_front(batch, targets_file, tmp_path, capsys, command, kind):
    out = _bad_outs(tmp_path)[kind]
    extra = ["--targets", str(targets_file)] if command == "targets" else []
    before, around = snapshot(batch), sorted(p.name for p in tmp_path.iterdir())
    assert main([command, str(batch), *extra, "--out", str(out)]) == 2
    msg = one_error(capsys)
    assert "--out" in msg
    assert {"proc": "cannot write in /proc", "under a file": "is a file, not a folder",
            "long name": "longer than 255 bytes"}[kind] in msg  # fmt: skip
    assert snapshot(batch) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == around
    assert (tmp_path / "plain").read_text() == "a file\n"


@pytest.mark.parametrize("command", ["plot", "report", "targets", "discover"])
def test_figures_folder_that_is_a_file(batch, targets_file, capsys, command):
    shutil.rmtree(batch / "figures", ignore_errors=True)
    (batch / "figures").write_text("not a folder")
    extra = {"targets": ["--targets", str(targets_file)],
             "discover": ["--targets", str(targets_file), "--target", "pr"]}.get(command, [])  # fmt: skip
    before = snapshot(batch)
    assert main([command, str(batch), *extra]) == 2
    assert "figures is a file, not a folder" in one_error(capsys)
    assert snapshot(batch) == before


# ---- 3. a damaged results folder ---------------------------------------------------------------

COMMANDS = {
    "compare": [],
    "report": [],
    "plot": [],
    "targets": ["--targets", "PLAN"],
    "discover": ["--targets", "PLAN", "--target", "pr"],
}


@pytest.mark.parametrize("content", ["null", "[1, 2]", "garbage{", '{"levers": 3}', ""])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_manifest_is_one_message_naming_it(batch, targets_file, capsys, command, content):
    (batch / "manifest.json").write_text(content)
    before = snapshot(batch)
    args = [a.replace("PLAN", str(targets_file)) for a in COMMANDS[command]]
    assert main([command, str(batch), *args]) == 2
    assert f"{batch / 'manifest.json'}:" in one_error(capsys)
    assert snapshot(batch) == before


@pytest.mark.parametrize(
    "part, damage",
    [
        ("timeseries/part-00001.parquet", "truncate"),
        ("runs/part-00000.parquet", "garbage"),
        ("runs.parquet", "truncate"),
    ],
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_corrupt_part_is_one_message_naming_it(batch, targets_file, capsys, command, part, damage):
    path = batch / part
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not parquet")
    before = snapshot(batch)
    args = [a.replace("PLAN", str(targets_file)) for a in COMMANDS[command]]
    assert main([command, str(batch), *args]) == 2
    msg = one_error(capsys)
    assert f"{path}:" in msg and "corrupt or truncated" in msg
    assert snapshot(batch) == before


def test_load_results_errors_for_python_callers(batch, tmp_path):
    with pytest.raises(NoResults, match="not a povsim batch folder") as missing:
        load_results(tmp_path / "nothing")
    assert isinstance(missing.value, FileNotFoundError)
    (batch / "manifest.json").write_text("[]")
    with pytest.raises(ValueError, match="must be a JSON object, got list") as bad:
        load_results(batch)
    assert isinstance(bad.value, ResultsError)


# ---- 4. option values the batch does not have ---------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["plot", "--reference", "nosuch"], "--reference nosuch: not a strategy of this batch"),
        (["report", "--reference", "nosuch"], "--reference nosuch: not a strategy of this batch"),
        (["compare", "--reference", "nosuch"], "--reference nosuch: not a strategy of this batch"),
        (["compare", "--years", "99"], "--years 99: outside the batch's horizon (years 0..4)"),
        (["compare", "--years", "-1"], "outside the batch's horizon"),
        (["plot", "--heatmap", "a,b"], "not a numeric lever"),
        (["targets", "--targets", "PLAN", "--confidence", "0"], "must lie in [0.5, 1]"),
        (["targets", "--targets", "PLAN", "--confidence", "nan"], "must lie in [0.5, 1]"),
        (["discover", "--targets", "PLAN", "--target", "nope"], "no target of that name"),
    ],
)
def test_unknown_option_values_exit_2(batch, targets_file, capsys, args, message):
    before = snapshot(batch)
    argv = [args[0], str(batch), *(a.replace("PLAN", str(targets_file)) for a in args[1:])]
    assert main(argv) == 2
    msg = one_error(capsys)
    assert message in msg
    if "--reference" in args:
        assert "its strategies: status_quo, blood_making" in msg
    assert snapshot(batch) == before


# ---- 5, 7. targets files -----------------------------------------------------------------------

TARGET = 'name = "x"\nmetric = "poverty_rate"\nyear = 4\nop = "<="\nvalue = 0.2'


@pytest.mark.parametrize(
    "text, message",
    [
        ("target = []", "the list is empty"),
        (f"[[target]]\n{TARGET.replace('0.2', '1e300')}", "beyond any plan target"),
        (f"[[target]]\n{TARGET.replace('metric = ', 'metric = 3 #')}", "metric: must be text"),
        (f"[[target]]\n{TARGET.replace('<=', '≤')}", "unknown comparison '≤'"),
        (f"[[target]]\n{TARGET.replace('name = ', 'name = 5 #')}", "name: must be non-empty"),
        ('[[target]]\nname = "a\\u001b[31m"\n' + TARGET.split("\n", 1)[1], "control characters"),
        (f"[[target]]\n{TARGET.replace('year = 4', 'year = 99999999999')}", "outside the horizon"),
    ],
)
def test_bad_targets_files_exit_2_and_keep_targets_csv(batch, tmp_path, capsys, text, message):
    assert main(["targets", str(batch), "--targets", str(_write(tmp_path, TARGETS))]) == 0
    capsys.readouterr()
    before = snapshot(batch)
    plan = _write(tmp_path, text)
    assert main(["validate", str(plan)]) == 2
    assert message in capsys.readouterr().err
    assert main(["targets", str(batch), "--targets", str(plan)]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(batch) == before  # targets.csv and the figure untouched


def _write(folder: Path, text: str) -> Path:
    path = folder / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_target_named_in_chinese_is_fine(batch, tmp_path, capsys):
    plan = _write(tmp_path, TARGETS.replace('name = "pr"', 'name = "贫困发生率"'))
    assert main(["targets", str(batch), "--targets", str(plan)]) == 0
    assert "贫困发生率" in capsys.readouterr().out


# ---- 6. the report is safe to open --------------------------------------------------------------

HOSTILE = [
    "[x](javascript:alert(1))",
    "[x]( JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#58;alert(1))",
    "[x](&amp;#106;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](\\\\evil\\share)",
    "[x](\u200bjavascript:alert(1))",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_unsafe_links_are_text(text):
    out = inline_html(f"see {text} now")
    assert "<a " not in out and "href" not in out
    assert "[x](" in out  # shown as the text it is
    assert "\\[x\\]\\(" in safe_md(text)


@pytest.mark.parametrize(
    "url, href",
    [
        ("https://example.org/a?b=1&c=2", "https://example.org/a?b=1&amp;c=2"),
        ("HTTP://example.org", "HTTP://example.org"),
        ("../docs/ODD.md", "../docs/ODD.md"),
        ("figures/x.png#top", "figures/x.png#top"),
    ],
)
def test_http_and_relative_links_stay_links(url, href):
    assert safe_url(url) is not None
    assert f'<a href="{href}">label</a>' in inline_html(f"[label]({url})")


def test_text_is_escaped():
    out = inline_html('<script>alert(1)</script> <img src=x "onerror=alert(1)">')
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&quot;onerror=" in out
    assert "&lt;script>" in safe_md("<script>")


def test_hostile_experiment_description_in_the_report(batch):
    hostile = " ".join([*HOSTILE[:5], "<script>alert(2)</script>", '"onerror=alert(3)'])
    manifest = json.loads((batch / "manifest.json").read_text())
    text = manifest["experiment"]["text"]
    manifest["experiment"]["text"] = text.replace(
        'description = "Test fixture:', f"description = {json.dumps(hostile)[:-1]} Test fixture:"
    )
    assert manifest["experiment"]["text"] != text
    (batch / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(batch)]) == 0
    page = (batch / "report.html").read_text(encoding="utf-8")
    body = page.split("</style>", 1)[1]
    hrefs = re.findall(r"href=\"([^\"]*)\"", body)
    assert hrefs and all(h.startswith(("#", "http://", "https://", "..")) for h in hrefs), hrefs
    assert "<script" not in body.lower() and "&quot;onerror=alert(3)" in body  # text only
    assert "[x](javascript:alert(1))" in body  # the description is shown, as text
    md = (batch / "report.md").read_text(encoding="utf-8").split("<details>")[0]
    assert "\\[x\\]\\(javascript:alert(1))" in md
    assert "](javascript:" not in md and "<script>" not in md
