"""Where povsim touches the file system: inputs are regular files of bounded size, and outputs
never delete or overwrite what povsim did not write.

Every command goes through these few functions, so the promises of docs/reliability.md hold in
one place:

* an input is read only if it is a regular file (not a FIFO, a device or ``/proc`` pseudo-file)
  no larger than :data:`MAX_INPUT_BYTES`;
* a single output file is written to a temporary sibling and renamed into place, and an
  existing path is replaced only with ``--force``;
* an output folder is built in a sibling staging folder and swapped in when it is complete;
  ``--force`` replaces only a folder that povsim wrote (recognised by its record file) and that
  holds nothing but povsim's own names, so a failed ``--force`` leaves the old results intact.

Problems are raised as :class:`BadInput` (one line each, naming the path and what is allowed);
the command line turns them into exit code 2.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

MAX_INPUT_BYTES = 16 * 1024 * 1024  # a scenario, experiment or targets file is a few kB
STAGING_MARK = ".povsim-new-"
RETIRED_MARK = ".povsim-old-"
TMP_MARK = ".tmp-"
LOCK_NAME = ".povsim.lock"


class BadInput(Exception):
    """Bad input: carries every problem found, each naming its file or option and field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# ---------------------------------------------------------------------------------------------
# Inputs


def input_problem(
    path: str | Path, what: str = "file", max_bytes: int = MAX_INPUT_BYTES
) -> str | None:
    """Why ``path`` cannot be read as an input file of at most ``max_bytes``, or None. Never
    opens it (a FIFO would block)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return f"{p}: {what} not found"
    except NotADirectoryError:
        return f"{p}: {what} not found (a part of the path is a file, not a folder)"
    except OSError as exc:
        return f"{p}: cannot read the {what}: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode):
        return f"{p}: is a folder, expected a {what}"
    if not stat.S_ISREG(st.st_mode):
        return f"{p}: is not a regular file (a pipe, device or special file); expected a {what}"
    if st.st_size > max_bytes:
        return (
            f"{p}: {st.st_size:,} bytes is too large for a {what} "
            f"(at most {max_bytes // (1024 * 1024)} MiB)"
        )
    if not os.access(p, os.R_OK):
        return f"{p}: cannot read the {what} (permission denied)"
    return None


def read_input_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of a regular input file (see :func:`input_problem`), or :class:`BadInput`."""
    problem = input_problem(path, what)
    if problem:
        raise BadInput([problem])
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise BadInput([f"{path}: cannot read the {what}: {exc.strerror or exc}"]) from None
    if len(data) > MAX_INPUT_BYTES:  # /proc files report size 0 but may be long
        raise BadInput([f"{path}: too large for a {what}"])
    return data


def read_input_text(path: str | Path, what: str = "file") -> str:
    """A regular input file as UTF-8 text, or :class:`BadInput`."""
    data = read_input_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput([f"{path}: not UTF-8 text; a {what} is a UTF-8 TOML file"]) from None


def read_json_object(path: Path, what: str) -> dict:
    """A JSON file that must hold an object (a manifest, a run record), or :class:`BadInput`."""
    try:
        data = json.loads(read_input_text(path, what))
    except ValueError as exc:
        raise BadInput([f"{path}: {what} is not valid JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise BadInput([f"{path}: {what} must be a JSON object, got {type(data).__name__}"])
    return data


# ---------------------------------------------------------------------------------------------
# Single output files


def _writable_parent(path: Path, option: str) -> str | None:
    """Why no file can be created at ``path`` (its parent), or None; creates no folder."""
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists():  # the first existing ancestor must be a writable folder
        if probe == probe.parent:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return f"{option} {path}: {probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{option} {path}: cannot write in {probe} (permission denied)"
    if len(path.name.encode()) > 255:
        return f"{option} {path}: file name longer than 255 bytes"
    if probe.is_dir():  # os.access says yes to root everywhere, even in /proc: try it
        try:
            fd, name = tempfile.mkstemp(prefix=f".povsim-probe{TMP_MARK}", dir=probe)
        except OSError as exc:
            return f"{option} {path}: cannot write in {probe} ({exc.strerror or exc})"
        os.close(fd)
        os.unlink(name)
    return None


def check_new_file(path: str | Path, force: bool, option: str = "--out") -> list[str]:
    """Problems with writing one output file at ``path``, before anything is computed."""
    p = Path(path)
    if len(p.name.encode()) > 255:
        return [f"{option} {p}: file name longer than 255 bytes"]
    try:
        if p.is_dir():
            return [f"{option} {p}: is a folder; give a file name"]
        if p.exists() or p.is_symlink():
            if not p.is_file():
                return [f"{option} {p}: exists and is not a regular file"]
            if not force:
                return [
                    f"{option} {p}: file exists; use --force to overwrite it, or another {option}"
                ]
        problem = _writable_parent(p, option)
    except OSError as exc:  # a path too long, a loop of links, ...
        return [f"{option} {p}: cannot write there ({exc.strerror or exc})"]
    return [problem] if problem else []


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write to a temporary sibling and rename: the file exists whole or not at all."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_with(path: str | Path, writer) -> None:
    """``writer(tmp_path)`` writes the file (``df.to_parquet``, ``fig.savefig``); then rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}{path.suffix}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Output folders


class FolderKind:
    """What povsim writes in one kind of output folder: the record that proves the folder is
    povsim's, and the only names it may hold (anything else is the user's and stops --force)."""

    def __init__(self, label: str, record: str, check, names: Iterable[str]):
        self.label, self.record, self._check = label, record, check
        self.names = frozenset(names) | {LOCK_NAME}

    @classmethod
    def of_command(cls, command: str, record: str, names: Iterable[str]) -> FolderKind:
        """The folder a command writes, proved by ``"command": command`` in its record."""
        return cls(command, record, lambda d: d.get("command") == command, names)

    def owns(self, folder: Path) -> bool:
        rec = folder / self.record
        if input_problem(rec) is not None:
            return False
        try:
            data = json.loads(rec.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and bool(self._check(data))

    def foreign(self, folder: Path) -> list[str]:
        """Entries of ``folder`` that povsim does not write in this kind of folder."""
        return sorted(
            p.name for p in folder.iterdir() if p.name not in self.names and TMP_MARK not in p.name
        )


RUN_FOLDER = FolderKind.of_command(
    "povsim run", "run.json", ("run.json", "timeseries.csv", "households.parquet")
)
BATCH_FOLDER = FolderKind(
    "povsim batch",
    "manifest.json",
    lambda d: str(d.get("format", "")).startswith("povsim-batch/"),
    (
        "manifest.json",
        "runs.parquet",
        "runs",
        "timeseries",
        "households",
        "figures",
        "sensitivity",
        "report.html",
        "report.md",
        "compare.csv",
        "targets.csv",
        "targets_consistency.csv",
    ),
)


def _is_cwd_or_above(path: Path) -> bool:
    try:
        here = Path.cwd().resolve()
    except OSError:
        return False
    target = path.resolve()
    return target == here or target in here.parents


def check_out_folder(
    out: str | Path, kind: FolderKind, force: bool, resume: bool = False
) -> list[str]:
    """Problems with writing a ``kind`` folder at ``out``, before anything is computed.

    An empty or missing folder is fine. An occupied one needs ``--force`` (or ``--resume``) and
    must be povsim's own: its record file names it, and it holds nothing else.
    """
    out = Path(out)
    try:
        return _out_folder_problems(out, kind, force, resume)
    except OSError as exc:  # a name too long, a loop of links, an unreadable parent, ...
        return [f"--out {out}: unusable as an output folder: {exc.strerror or exc}"]


def _out_folder_problems(out: Path, kind: FolderKind, force: bool, resume: bool) -> list[str]:
    if _is_cwd_or_above(out):
        return [
            f"--out {out}: is the current folder or one that contains it; "
            "name a new folder for the results"
        ]
    if out.exists() and not out.is_dir():
        return [f"--out {out}: exists and is not a folder"]
    if not out.exists():
        problem = _writable_parent(out / "x", "--out")
        return [problem.replace(f"{out / 'x'}", str(out))] if problem else []
    if len(out.name.encode()) > 255:
        return [f"--out {out}: folder name longer than 255 bytes"]
    try:
        entries = [p.name for p in out.iterdir() if p.name != LOCK_NAME]
    except OSError as exc:
        return [f"--out {out}: cannot read the folder: {exc.strerror or exc}"]
    if not os.access(out, os.W_OK | os.X_OK) or not os.access(out.parent, os.W_OK | os.X_OK):
        return [f"--out {out}: cannot write here (permission denied)"]
    if not entries:
        return []
    if not (force or resume):
        hint = "--resume to finish it, or --force" if kind is BATCH_FOLDER else "--force"
        return [f"--out {out}: folder exists and is not empty; use {hint} to replace it"]
    if not kind.owns(out):
        return [
            f"--out {out}: folder is not empty and was not written by {kind.label} "
            f"(no {kind.record} of povsim's); povsim never deletes or writes into "
            "a folder it did not create: choose a new --out"
        ]
    foreign = kind.foreign(out)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        return [
            f"--out {out}: holds files povsim did not write ({shown}); move them away or "
            "choose a new --out"
        ]
    return []


def staging_folder(out: Path) -> Path:
    """A new empty sibling of ``out`` to build the next version in (same file system)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name[:100]}{STAGING_MARK}", dir=out.parent))


def swap_into_place(staging: Path, out: Path) -> None:
    """Put the finished ``staging`` folder at ``out``; the earlier ``out`` (checked by
    :func:`check_out_folder`) is moved aside first and removed only once the new one is in place."""
    retired = None
    if out.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out.name[:100]}{RETIRED_MARK}", dir=out.parent))
        os.rmdir(retired)
        os.rename(out, retired)
    try:
        os.rename(staging, out)
    except OSError:
        if retired is not None:
            os.rename(retired, out)  # put the old results back
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def discard_leftovers(out: Path) -> list[Path]:
    """Remove staging and retired siblings of ``out`` that a killed povsim left behind (their
    names carry povsim's marks and nobody holds their lock). Call it holding ``out``'s lock."""
    removed = []
    if not out.parent.is_dir():
        return removed
    prefixes = tuple(f".{out.name[:100]}{mark}" for mark in (STAGING_MARK, RETIRED_MARK))
    for p in out.parent.iterdir():
        if p.name.startswith(prefixes) and p.is_dir() and not p.is_symlink():
            if lock_holder(p) is None:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def discard(staging: Path | None) -> None:
    if staging is not None and staging.exists():
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Names from files


NAME_PATTERN = r"^[^\W_][\w.-]{0,79}$"
NAME_RULE = (
    "1-80 letters, digits, '_', '-' or '.', starting with a letter or digit "
    "(it becomes a folder name under results/)"
)


def check_name(value: str) -> str:
    """A name that becomes a folder: letters, digits and ``_.-`` only, so it cannot escape."""
    if not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(f"must be {NAME_RULE}")
    return value


# ---------------------------------------------------------------------------------------------
# One writer per output folder


class FolderLock:
    """An exclusive ``fcntl.flock`` on ``folder/LOCK_NAME``, held for as long as this object
    lives. The file records the holder (pid, host, start time, command) for the message the
    next writer gets. The kernel drops a flock when its holder dies, so a lock file left behind
    by a killed process is simply taken over; the lock follows the file's inode, so it stays
    held when its folder is renamed (a staging folder swapped into place)."""

    def __init__(self, folder: Path, fd: int):
        self.folder, self.fd = folder, fd

    @classmethod
    def acquire(cls, folder: str | Path, option: str = "--out") -> FolderLock:
        """Take the lock (creating the file) or raise :class:`BadInput` naming the holder."""
        import fcntl

        folder = Path(folder)
        path = folder / LOCK_NAME
        for _ in range(10):  # retried only if the file was replaced while we waited
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise BadInput(
                    [f"{option} {folder}: cannot write here: {exc.strerror or exc}"]
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise BadInput([busy_message(folder, option)]) from None
            except OSError as exc:
                os.close(fd)
                raise BadInput([f"{option} {folder}: cannot lock: {exc.strerror or exc}"]) from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                lock = cls(folder, fd)
                lock._record()
                return lock
            os.close(fd)  # the previous holder removed or replaced the file: try again
        raise BadInput([busy_message(folder, option)])

    def _record(self) -> None:
        import socket
        import sys
        from datetime import UTC, datetime

        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv[:1] + sys.argv[1:])[:500],
        }
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (json.dumps(info) + "\n").encode(), 0)

    @property
    def path(self) -> Path:
        return self.folder / LOCK_NAME

    def moved(self, folder: Path) -> None:
        """The folder was renamed (the lock went with it)."""
        self.folder = folder

    def release(self, remove: bool = True) -> None:
        """Remove the file (while still holding it) and drop the lock."""
        if self.fd < 0:
            return
        if remove:
            try:
                if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                    os.unlink(self.path)
            except OSError:
                pass
        os.close(self.fd)
        self.fd = -1


def lock_holder(folder: str | Path) -> dict | None:
    """Who holds ``folder``'s lock (its recorded pid, host, start), or None if nobody does.
    Creates nothing: a stale lock file (holder dead) reads as free."""
    import fcntl

    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            except (OSError, ValueError):
                info = {}
            return info if isinstance(info, dict) else {}
        except OSError:
            return None
        return None
    finally:
        os.close(fd)


def busy_message(folder: Path, option: str = "--out") -> str:
    info = lock_holder(folder) or {}
    who = f"process {info.get('pid', '?')} on {info.get('host', '?')}"
    if info.get("started"):
        who += f", started {info['started']}"
    if info.get("command"):
        who += f": {info['command']}"
    return (
        f"{option} {folder}: another povsim is writing this folder ({who}); wait for it to "
        "finish or stop it, or choose another --out"
    )


def make_out_folder(out: Path, option: str = "--out") -> bool:
    """Create ``out`` (and parents) for writing; True if it was created here. An OSError (a
    read-only or pseudo file system such as /proc) becomes :class:`BadInput`."""
    if out.is_dir():
        return False
    try:
        out.mkdir(parents=True)
    except FileExistsError:
        if out.is_dir():
            return False
        raise BadInput([f"{option} {out}: exists and is not a folder"]) from None
    except OSError as exc:
        raise BadInput(
            [f"{option} {out}: cannot create the folder: {exc.strerror or exc}"]
        ) from None
    return True
