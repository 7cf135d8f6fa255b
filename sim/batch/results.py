"""The results store of a batch: Parquet parts, a run table and a manifest (docs/batch.md).

Layout of ``results/<name>/``::

    manifest.json               experiment text and hash, versions, seeds, status of every run
    runs.parquet                one row per planned run: levers, uncertainties, seed, status
    runs/part-00000.parquet     the run rows of one chunk of finished runs (the commit record)
    timeseries/part-00000.parquet   one row per run × year, with run_id
    households/part-00000.parquet   final household frames (only with outputs.households)

A chunk is written data first, then its ``runs/`` part; each file goes to a temporary name and
is renamed into place, so a part exists whole or not at all, and a chunk counts as done only
once its ``runs/`` part exists. ``runs.parquet`` and ``manifest.json`` are summaries rewritten
(atomically) after every chunk. :func:`load_results` reads the parts and sorts by run_id (and
year), so what it returns does not depend on the order in which runs finished, on the chunking,
or on whether the batch was interrupted and resumed.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.files import TMP_MARK, BadInput, input_problem, write_bytes_atomic, write_with

MANIFEST = "manifest.json"
RUNS = "runs.parquet"
RUN_PARTS = "runs"
TIMESERIES = "timeseries"
HOUSEHOLDS = "households"
FORMAT = "povsim-batch/1"
PART_RE = re.compile(r"^part-(\d+)\.parquet$")
STATUS_COLUMNS = ("status", "error", "wall_seconds", "part")


# ---------------------------------------------------------------------------------------------
# Atomic writes: sim.config.files owns them; these names stay importable from here


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=1, default=str) + "\n").encode())


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    write_with(path, lambda tmp: df.to_parquet(tmp, index=False))


def part_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


def part_files(folder: Path) -> dict[int, Path]:
    """Complete (renamed) part files of a folder, by part number."""
    if not folder.is_dir():
        return {}
    out = {}
    for p in folder.iterdir():
        m = PART_RE.match(p.name)
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------------------------
# The plan: one row per run, with typed lever and uncertainty columns


def _column(values: list[Any]) -> list[Any]:
    """Values that Parquet can store in one column; anything mixed or nested becomes JSON."""
    kinds = {type(v) for v in values}
    if kinds <= {int, float} or len(kinds) == 1 and kinds <= {bool, str, int, float}:
        return values
    return [json.dumps(v, sort_keys=True) for v in values]


def plan_frame(runs: Iterable, levers: list[str], uncertainties: list[str]) -> pd.DataFrame:
    """Every planned run with its levers, uncertainty values and seed, status ``pending``."""
    runs = list(runs)
    cols: dict[str, list[Any]] = {
        "run_id": [r.run_id for r in runs],
        "index": [r.index for r in runs],
        "lever_index": [r.lever_index for r in runs],
        "sample": [r.sample for r in runs],
        "replication": [r.replication for r in runs],
        "seed": [r.seed for r in runs],
        "strategy": [r.strategy for r in runs],
    }
    for name in levers:
        if name != "strategy":
            cols[name] = _column([r.levers[name] for r in runs])
    for name in uncertainties:
        cols[name] = _column([r.uncertainties[name] for r in runs])
    df = pd.DataFrame(cols)
    df["seed"] = df["seed"].astype("int64")
    df["status"] = "pending"
    df["error"] = ""
    df["wall_seconds"] = float("nan")
    df["part"] = -1
    return df


# ---------------------------------------------------------------------------------------------
# Writing


class ResultStore:
    """Writes a batch's parts and summaries under one folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def is_batch_folder(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())

    def create(self) -> None:
        """The part folders of a new batch. The folder itself is made (or staged, for
        ``--force``) and locked by :func:`sim.batch.runner.run_batch`; nothing is deleted here."""
        for sub in (RUN_PARTS, TIMESERIES):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def tidy(self, households: bool = False) -> tuple[int, list[str]]:
        """Before a resume: drop leftovers of an interrupted write (temporary files, data parts
        whose chunk never committed) and commit records that cannot be trusted: a ``runs/``
        part that is unreadable (truncated, corrupt), or whose ok runs are missing from its
        timeseries (or households) part. Their runs count as not run and run again.

        Returns the next free part number and one line per dropped commit record."""
        for folder in (self.root, *(self.root / s for s in (RUN_PARTS, TIMESERIES, HOUSEHOLDS))):
            if folder.is_dir():
                for p in folder.iterdir():
                    if TMP_MARK in p.name:
                        p.unlink(missing_ok=True)
        for sub in (RUN_PARTS, TIMESERIES):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        dropped = []
        for k, p in part_files(self.root / RUN_PARTS).items():
            reason = self._untrusted(k, p, households)
            if reason:
                dropped.append(f"{RUN_PARTS}/{p.name}: {reason}")
                p.unlink()
        committed = part_files(self.root / RUN_PARTS)
        for sub in (TIMESERIES, HOUSEHOLDS):
            for k, p in part_files(self.root / sub).items():
                if k not in committed:
                    p.unlink()
        return max(committed, default=-1) + 1, dropped

    def _untrusted(self, k: int, runs_part: Path, households: bool) -> str:
        """Why the commit record ``runs_part`` cannot be trusted, or ''."""
        try:
            rows = pd.read_parquet(runs_part, columns=["run_id", "status"])
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            return f"unreadable ({type(exc).__name__}); its runs will run again"
        ok = set(rows.loc[rows["status"] == "ok", "run_id"])
        if not ok:
            return ""
        subs = (TIMESERIES, HOUSEHOLDS) if households else (TIMESERIES,)
        for sub in subs:
            data = self.root / sub / part_name(k)
            if not data.is_file():
                return f"its {sub} part is missing; its runs will run again"
            try:
                have = set(pd.read_parquet(data, columns=["run_id"])["run_id"])
            except Exception as exc:
                return (
                    f"its {sub} part is unreadable ({type(exc).__name__}); its runs will run again"
                )
            if not ok <= have:
                return f"its {sub} part lacks {len(ok - have)} of its runs; they will run again"
        return ""

    def finished_runs(self) -> pd.DataFrame:
        """Run rows of every committed chunk."""
        parts = part_files(self.root / RUN_PARTS)
        if not parts:
            return pd.DataFrame(columns=["run_id", *STATUS_COLUMNS])
        return pd.concat([pd.read_parquet(p) for p in parts.values()], ignore_index=True)

    def write_part(
        self,
        k: int,
        runs: pd.DataFrame,
        timeseries: pd.DataFrame | None,
        households: pd.DataFrame | None,
    ) -> None:
        """Data first, the ``runs/`` part last: the chunk is committed when that file lands."""
        name = part_name(k)
        if timeseries is not None and len(timeseries):
            write_parquet_atomic(timeseries, self.root / TIMESERIES / name)
        if households is not None and len(households):
            (self.root / HOUSEHOLDS).mkdir(exist_ok=True)
            write_parquet_atomic(households, self.root / HOUSEHOLDS / name)
        write_parquet_atomic(runs, self.root / RUN_PARTS / name)

    def write_manifest(self, manifest: dict) -> None:
        write_json_atomic(self.manifest_path, manifest)


def merge_status(plan: pd.DataFrame, finished: pd.DataFrame | None) -> pd.DataFrame:
    """The plan with the status columns of finished runs filled in; sorted by run_id."""
    done_ids = finished["run_id"] if finished is not None else pd.Series([], dtype=object)
    pending = plan[~plan["run_id"].isin(done_ids)].copy()
    pending["status"] = "pending"
    pending["error"] = ""
    pending["wall_seconds"] = float("nan")
    pending["part"] = -1
    frames = [pending] if len(pending) else []
    if finished is not None and len(finished):
        frames.insert(0, finished.reindex(columns=plan.columns))
    if not frames:
        return plan.iloc[:0].copy()
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return out.sort_values("run_id", ignore_index=True).astype(plan.dtypes.to_dict())


# ---------------------------------------------------------------------------------------------
# Reading


class ResultsError(BadInput, ValueError):
    """A batch folder that cannot be read: one line naming the file and what is wrong with it.

    A :class:`sim.config.files.BadInput` (the command line exits 2) and a ``ValueError`` for Python
    callers."""

    def __init__(self, problem: str):
        super().__init__([problem])


class NoResults(ResultsError, FileNotFoundError):
    """The folder is missing, or holds no manifest.json: not a batch folder (yet)."""


# Fields of the manifest that other code reads, and the JSON type each must have if present.
_MANIFEST_TYPES = {
    "format": str,
    "levers": list,
    "uncertainties": list,
    "experiment": dict,
    "scenario": dict,
    "versions": dict,
    "sampling": dict,
    "counts": dict,
    "seeds": list,
    "sessions": list,
}
_JSON_NAMES = {str: "text", list: "a list", dict: "an object"}


def _check_manifest(path: Path, manifest: dict) -> None:
    for key, kind in _MANIFEST_TYPES.items():
        if key in manifest and not isinstance(manifest[key], kind):
            raise ResultsError(
                f"{path}: field {key!r} must be {_JSON_NAMES[kind]}, "
                f"got {type(manifest[key]).__name__}; not a manifest written by povsim batch"
            )
    fmt = manifest.get("format")
    if fmt is not None and not fmt.startswith("povsim-batch/"):
        raise ResultsError(f"{path}: format {fmt!r} is not a povsim batch ({FORMAT})")
    if fmt is not None and fmt != FORMAT:
        raise ResultsError(
            f"{path}: format {fmt!r} is not one this povsim reads ({FORMAT}); "
            "it was written by another version of povsim"
        )
    for key in ("levers", "uncertainties"):
        if not all(isinstance(v, str) for v in manifest.get(key, [])):
            raise ResultsError(f"{path}: field {key!r} must be a list of names")


def _read_manifest(path: Path) -> dict:
    """The manifest as a dict. Not :func:`sim.config.files.read_json_object`: a manifest lists every
    run (about 80 bytes each), so a batch of a few 100,000 runs outgrows its 16 MiB bound."""
    problem = input_problem(path, "batch manifest")
    if problem and "too large" not in problem:
        raise ResultsError(problem)
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ResultsError(
            f"{path}: cannot read the batch manifest: {exc.strerror or exc}"
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = str(exc)[:200] if not isinstance(exc, RecursionError) else "nested too deeply"
        raise ResultsError(f"{path}: batch manifest is not valid JSON ({reason})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(
            f"{path}: batch manifest must be a JSON object, got {type(manifest).__name__}"
        )
    _check_manifest(path, manifest)
    return manifest


def _read_part(
    path: Path, what: str, needs: tuple[str, ...] = (), chunk: bool = True
) -> pd.DataFrame:
    """One Parquet file of the batch, or :class:`ResultsError` naming it (corrupt, truncated,
    not a regular file, lacking a column povsim writes)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ResultsError(f"{path}: the {what} is not a regular file")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own errors for truncated or garbled files
        reason = str(exc).split("\n")[0][:200]
        hint = (
            f"remove {path.parent.parent / RUN_PARTS / path.name} (the chunk's commit record) "
            "and run `povsim batch EXPERIMENT --out FOLDER --resume` to re-run that chunk"
            if chunk
            else "re-run the batch"
        )
        raise ResultsError(
            f"{path}: the {what} is corrupt or truncated ({type(exc).__name__}: {reason}); {hint}"
        ) from None
    missing = [c for c in needs if c not in df.columns]
    if missing:
        raise ResultsError(f"{path}: the {what} lacks the column(s) {', '.join(missing)}")
    return df


def _concat(frames: list[pd.DataFrame], root: Path, what: str) -> pd.DataFrame:
    try:
        return pd.concat(frames, ignore_index=True)
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"{root}: the {what} parts do not fit together ({exc})") from None


@dataclass
class Results:
    """A batch's results as pandas objects.

    ``runs``: one row per planned run (status ``ok``, ``failed`` or ``pending``) with its levers,
    uncertainty values and seed. ``timeseries``: one row per run × year, keyed by ``run_id`` —
    :meth:`joined` adds the run columns. ``households``: final household frames (``None`` unless
    the experiment kept them; read on first access). ``manifest``: the manifest as a dict.
    """

    path: Path
    manifest: dict
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    _households: pd.DataFrame | None = field(default=None, repr=False)
    _household_parts: list[Path] = field(default_factory=list, repr=False)

    @property
    def levers(self) -> list[str]:
        return list(self.manifest.get("levers", []))

    @property
    def uncertainties(self) -> list[str]:
        return list(self.manifest.get("uncertainties", []))

    @property
    def households(self) -> pd.DataFrame | None:
        if self._households is None and self._household_parts:
            parts = [
                _read_part(p, "households part", ("run_id", "household"))
                for p in self._household_parts
            ]
            df = _concat(parts, self.path, "households")
            self._households = df.sort_values(["run_id", "household"], ignore_index=True)
        return self._households

    def joined(self) -> pd.DataFrame:
        """The timeseries with each run's strategy, levers, uncertainty values and seed."""
        keep = ["run_id", "strategy", "seed", "sample", "replication"]
        keep += [c for c in self.levers + self.uncertainties if c not in keep]
        return self.timeseries.merge(self.runs[keep], on="run_id", how="left", validate="m:1")

    def __getitem__(self, key: str):  # dict-style access: res["runs"], res["timeseries"], ...
        if key not in ("runs", "timeseries", "households", "manifest"):
            raise KeyError(key)
        return getattr(self, key)

    def keys(self) -> list[str]:
        return ["runs", "timeseries", "households", "manifest"]


def load_results(path: str | Path) -> Results:
    """Read a batch folder written by ``povsim batch`` (complete, running or interrupted).

    Only committed chunks are read; rows are sorted by run_id (and year, household), so the
    data are the same whatever the number of workers, the backend or any resume in between.

    Raises :class:`NoResults` (a ``FileNotFoundError``) for a folder without a manifest and
    :class:`ResultsError` (a ``ValueError`` and a :class:`sim.config.files.BadInput`) for a manifest or
    a part that cannot be read; each names the file.
    """
    root = Path(path)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "folder not found"
        raise NoResults(f"{root}: {what}; not a povsim batch folder")
    manifest_path = root / MANIFEST
    if not manifest_path.exists():
        raise NoResults(f"{root}: not a povsim batch folder (no {MANIFEST})")
    manifest = _read_manifest(manifest_path)
    committed = part_files(root / RUN_PARTS)
    frames = [_read_part(p, "runs part", ("run_id",)) for p in committed.values()]
    if frames:
        finished = _concat(frames, root, "runs")
    else:
        finished = pd.DataFrame(columns=["run_id", *STATUS_COLUMNS])
    plan_path = root / RUNS
    if plan_path.exists():
        plan = _read_part(plan_path, "run table", ("run_id",), chunk=False)
        try:
            runs = merge_status(plan, finished)
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsError(
                f"{plan_path}: the run table does not match the runs/ parts ({exc})"
            ) from None
    else:
        runs = finished.sort_values("run_id", ignore_index=True)
    ts_parts = [
        _read_part(p, "timeseries part", ("run_id", "year"))
        for k, p in part_files(root / TIMESERIES).items()
        if k in committed
    ]
    if ts_parts:
        ts = _concat(ts_parts, root, "timeseries")
        ts = ts.sort_values(["run_id", "year"], ignore_index=True)
    else:
        ts = pd.DataFrame(columns=["run_id", "year"])
    hh_parts = [p for k, p in part_files(root / HOUSEHOLDS).items() if k in committed]
    return Results(
        path=root, manifest=manifest, runs=runs, timeseries=ts, _household_parts=hh_parts
    )
