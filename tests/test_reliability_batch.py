"""`povsim batch` never loses a user's file (issue 13): --force swaps a finished batch in, one
writer per folder, no orphan processes, a bounded Dask connection, and work bounded up front.

Runs experiments/small_test.toml (8 runs of a few hundredths of a second) or variants of it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

import sim.batch.backends
import sim.batch.execution
import sim.batch.limits
from sim.batch.experiments import count_runs, load_experiment
from sim.batch.results import RUN_PARTS, TIMESERIES, ResultStore, load_results, part_files
from sim.batch.runner import run_batch
from sim.cli import main
from sim.config import build_scenario, files, read_toml

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "experiments" / "small_test.toml"
TINY = ROOT / "scenarios" / "tiny.toml"
POVSIM = [sys.executable, "-m", "sim"]
VOLATILE = ["wall_seconds", "part"]


def small_text(**subs: str) -> str:
    text = SMALL.read_text().replace('"../scenarios/tiny.toml"', json.dumps(str(TINY)))
    for old, new in subs.items():
        assert old in text
        text = text.replace(old, new)
    return text


def snapshot(folder: Path) -> dict:
    """Every file's bytes, but the lock (held by whoever is writing the folder)."""
    return {
        p.relative_to(folder): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != files.LOCK_NAME
    }


def same(a, b) -> None:
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(
        a.runs.drop(columns=VOLATILE), b.runs.drop(columns=VOLATILE), check_exact=True
    )


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}"))


@pytest.fixture(scope="module")
def design():
    return load_experiment(SMALL)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, design):
    out = tmp_path_factory.mktemp("ref") / "out"
    assert run_batch(design, out, workers=1, quiet=True).exit_code == 0
    return load_results(out)


# ---- --force: staged, swapped in when ready, old results kept if it fails ------------------


def test_force_keeps_the_old_batch_until_the_new_one_is_ready(design, reference, tmp_path):
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True)
    before = snapshot(out)
    seen = []

    def check_old_is_intact(outcome, summary):
        seen.append(snapshot(out) == before)  # mid-run: the old folder has not been touched

    s = run_batch(
        design, out, workers=1, quiet=True, force=True, flush_every=2, on_run=check_old_is_intact
    )
    assert s.exit_code == 0 and all(seen) and len(seen) == design.total
    same(reference, load_results(out))
    assert siblings(out) == []  # no staging or retired folder left behind
    assert not (out / files.LOCK_NAME).exists()


def test_force_that_fails_part_way_leaves_the_old_results(
    design, reference, tmp_path, monkeypatch, capsys
):
    """The reported bug: a --force that failed part-way deleted timeseries parts but kept the
    runs/ commit records, and a later --resume reported a complete batch with no rows."""
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True)
    before = snapshot(out)
    real = ResultStore.write_part
    calls = []

    def failing(self, k, *args):
        calls.append(k)
        if len(calls) == 2:
            raise OSError(errno.EPERM, "Operation not permitted", str(self.root / "runs"))
        return real(self, k, *args)

    monkeypatch.setattr(ResultStore, "write_part", failing)
    rc = main(["batch", str(SMALL), "--out", str(out), "--force", "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "the earlier results in" in err and "unchanged" in err
    assert snapshot(out) == before and siblings(out) == []
    monkeypatch.undo()
    assert main(["batch", str(SMALL), "--out", str(out), "--resume", "--quiet"]) == 0
    same(reference, load_results(out))


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr")
def test_force_over_an_immutable_part_folder(design, reference, tmp_path):
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True)
    runs_dir = out / RUN_PARTS
    if subprocess.run(["chattr", "+i", str(runs_dir)], capture_output=True).returncode:
        pytest.skip("file system without the immutable attribute")
    try:
        s = run_batch(design, out, workers=1, quiet=True, force=True)
        assert s.exit_code == 0
        same(reference, load_results(out))  # the new batch is whole: every timeseries row
        assert len(load_results(out).timeseries) == len(reference.timeseries)
    finally:
        for p in tmp_path.rglob(RUN_PARTS):
            subprocess.run(["chattr", "-i", str(p)], capture_output=True)


def test_resume_reruns_orphaned_and_corrupt_commit_records(design, reference, tmp_path, capsys):
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True, flush_every=3)  # parts of 3, 3, 2 runs
    parts = part_files(out / RUN_PARTS)
    assert len(parts) == 3
    (out / TIMESERIES / parts[0].name).unlink()  # a commit record without its data
    data = parts[1].read_bytes()
    parts[1].write_bytes(data[: len(data) // 2])  # a truncated commit record
    rc = main(["batch", str(SMALL), "--out", str(out), "--resume", "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err
    assert "runs/part-00000.parquet: its timeseries part is missing" in err
    assert "runs/part-00001.parquet: unreadable" in err
    same(reference, load_results(out))


@pytest.mark.parametrize("where", ["proc", "under_a_file", "cwd"])
def test_unwritable_out_exits_2_and_writes_nothing(where, tmp_path, monkeypatch, capsys):
    if where == "proc":
        out = Path("/proc/povsim-test")
    elif where == "under_a_file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    else:
        monkeypatch.chdir(tmp_path)
        out = Path(".")
    before = sorted(tmp_path.rglob("*"))
    rc = main(["batch", str(SMALL), "--out", str(out), "--force", "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and f"--out {out}" in err
    assert sorted(tmp_path.rglob("*")) == before and not Path("/proc/povsim-test").exists()


# ---- one writer ------------------------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from sim.config.files import FolderLock
lock = FolderLock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_writer_is_refused_and_a_dead_holder_is_taken_over(design, tmp_path, capsys):
    out = tmp_path / "out"
    run_batch(design, out, workers=1, quiet=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        for flag in ("--resume", "--force"):
            rc = main(["batch", str(SMALL), "--out", str(out), flag, "--quiet"])
            err = capsys.readouterr().err
            assert rc == 2 and f"process {holder.pid} on {socket.gethostname()}" in err, err
            assert "another povsim is writing" in err
    finally:
        holder.kill()
        holder.wait()
    assert (out / files.LOCK_NAME).exists()  # left behind by the killed holder: stale
    assert files.lock_holder(out) is None
    assert main(["batch", str(SMALL), "--out", str(out), "--force", "--quiet"]) == 0
    # a lock file with garbage in it and no holder does not stop a batch either
    (out / files.LOCK_NAME).write_text("not json")
    assert main(["batch", str(SMALL), "--out", str(out), "--resume", "--quiet"]) == 0


def test_the_lock_follows_its_folder_through_a_rename(tmp_path):
    staging = tmp_path / ".out.povsim-new-x"
    staging.mkdir()
    lock = files.FolderLock.acquire(staging)
    out = tmp_path / "out"
    os.rename(staging, out)
    lock.moved(out)
    assert files.lock_holder(out)["pid"] == os.getpid()
    with pytest.raises(files.BadInput, match="another povsim is writing"):
        files.FolderLock.acquire(out)
    lock.release()
    assert not (out / files.LOCK_NAME).exists() and files.lock_holder(out) is None


# ---- no orphans ------------------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(d))
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def alive(pid: int) -> bool:
    return sim.batch.execution.process_start(pid) is not None


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_a_batch_leaves_no_processes(sig, tmp_path):
    exp = tmp_path / "long.toml"
    exp.write_text(small_text(**{"replications = 2": "replications = 300"}))
    out = tmp_path / "out"
    cmd = [*POVSIM, "batch", str(exp), "--workers", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the workers, the forkserver and the resource tracker
        seen |= descendants(proc.pid)
        if len(seen) >= 4 and part_files(out / RUN_PARTS):
            break
        time.sleep(0.2)
    assert len(seen) >= 4 and proc.poll() is None, "the batch ended before it could be killed"
    os.kill(proc.pid, sig)
    t0 = time.monotonic()
    rc = proc.wait(30)
    while any(alive(p) for p in seen) and time.monotonic() - t0 < 10:
        time.sleep(0.2)
    left = [p for p in seen if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"{len(left)} processes outlived the batch by 10 s"
    if sig == signal.SIGTERM:
        assert rc == 143 and "terminated:" in proc.stderr.read()
        res = load_results(out)
        assert res.manifest["status"] == "interrupted"
        assert set(res.timeseries["run_id"]) == set(res.runs.query("status == 'ok'")["run_id"])


# ---- Dask scheduler address that is not a scheduler ------------------------------------------


def test_scheduler_that_is_not_dask_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sim.batch.backends, "DASK_CONNECT_SECONDS", 3.0)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # Dask's handshake is a bad HTTP request: not news
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    garbage = socket.create_server(("127.0.0.1", 0))

    def spew():
        while True:
            try:
                conn, _ = garbage.accept()
            except OSError:
                return
            try:
                while True:
                    conn.sendall(os.urandom(1 << 16))
            except OSError:
                conn.close()

    threading.Thread(target=http.serve_forever, daemon=True).start()
    threading.Thread(target=spew, daemon=True).start()
    try:
        for server in (http.server_address, garbage.getsockname()):
            out = tmp_path / f"out{server[1]}"
            t0 = time.monotonic()
            rc = main(
                ["batch", str(SMALL), "--scheduler", f"tcp://127.0.0.1:{server[1]}"]
                + ["--out", str(out), "--quiet"]
            )
            err = capsys.readouterr().err
            assert rc == 2 and time.monotonic() - t0 < 8, (rc, err)
            assert "cannot reach a Dask scheduler" in err and "Traceback" not in err
            assert not out.exists()
    finally:
        http.shutdown()
        garbage.close()


# ---- bounded work ----------------------------------------------------------------------------


def test_a_huge_design_is_refused_at_once(tmp_path, capsys):
    levers = ", ".join(str(0.01 + i / 10000) for i in range(50))
    text = small_text(
        **{
            "samples = 2": "samples = 100000",
            "replications = 2": "replications = 1000",
            '"programme.phase_out_year" = [3]': f'"shocks.illness.chronic_onset" = [{levers}]',
        }
    )
    f = tmp_path / "huge.toml"
    f.write_text(text)
    for cmd in (["validate", str(f)], ["batch", str(f), "--out", str(tmp_path / "o")]):
        t0 = time.perf_counter()
        assert main(cmd) == 2
        assert time.perf_counter() - t0 < 0.5
        err = capsys.readouterr().err
        assert "10,000,000,000 runs" in err and "--max-runs 100,000" in err
    assert not (tmp_path / "o").exists()


def test_run_count_is_arithmetic(tmp_path):
    d = load_experiment(SMALL)
    assert count_runs(d.spec, d.levers, {"a": {}, "b": {}})[0] == d.total
    f = tmp_path / "fact.toml"
    f.write_text(small_text(**{'method = "lhs"': 'method = "factorial"'}))
    d = load_experiment(f)  # factorial: 2 levels of the uniform x 2 listed values
    assert (
        d.total == 2 * 4 * 2 == count_runs(d.spec, d.levers, {"x": {}, "y": {"values": [1, 2]}})[0]
    )


def test_limits_on_runs_hours_and_memory(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "o")
    assert main(["batch", str(SMALL), "--out", out, "--max-runs", "7"]) == 2
    assert "8 runs" in capsys.readouterr().err
    assert main(["batch", str(SMALL), "--out", out, "--workers", "1", "--max-hours", "1e-6"]) == 2
    err = capsys.readouterr().err
    assert "would take about" in err and "--max-hours" in err
    monkeypatch.setattr(sim.batch.limits, "available_memory", lambda: 1024**3)
    assert main(["batch", str(SMALL), "--out", out, "--workers", "8"]) == 2
    err = capsys.readouterr().err
    assert "of memory" in err and "use --workers 2" in err
    assert not Path(out).exists()


def test_check_run_memory_refuses_a_huge_scenario():
    data = read_toml(TINY, "scenario")
    tiny = build_scenario(data, str(TINY))
    assert sim.batch.limits.check_run_memory(tiny) == []
    huge = tiny.model_copy(deep=True)
    huge.population.households, huge.population.people = 2 * 10**9, 6 * 10**9
    problems = sim.batch.limits.check_run_memory(huge, where="scenarios/huge.toml")
    assert len(problems) == 1 and "2,000,000,000" in problems[0] and "GiB" in problems[0]
