"""The files analysis writes: CSV tables (whole or not at all, through sim.config.files) and the
file-name-safe form of a name (figures named after a target or an outcome)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sim.config.files import write_text_atomic


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV without its index, whole or not at all."""
    write_text_atomic(path, frame.to_csv(index=False))


def slug(name: str, default: str = "") -> str:
    """``name`` with every run of characters other than letters, digits, ``_ . -`` turned into
    ``_`` and no ``_`` or ``.`` at either end; ``default`` if nothing is left."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or default


def write_generated(out: str | Path, build) -> int:
    """A generated document (docs/calibration.md, docs/validation.md): ``build()`` returns its
    text, written atomically to ``out``. Bad input (a ``ConfigError``) is one line per problem
    and exit 2, nothing written. Returns the exit code."""
    import sys

    from sim.config import ConfigError

    try:
        text = build()
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)
    print(f"wrote {out}")
    return 0
