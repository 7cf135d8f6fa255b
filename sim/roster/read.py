"""Reading a roster file (CSV, Excel .xlsx, Parquet) into households and persons.

Only the format's columns are read (sim.roster.format): a name column is never asked for, so no
name enters memory. ID numbers become salted 64-bit hashes as soon as they are read; the salt is
drawn per process and never written, so a hash means nothing outside this process. Every type
problem is reported at once, one line each naming the file, the row and the column (BadInput).
Conversions are vectorised (Arrow and numpy): a million persons read in seconds.
"""

from __future__ import annotations

import codecs
import csv
import io
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.config.files import BadInput, input_problem
from sim.roster.format import (
    BY_NAME,
    CODES,
    COLUMNS,
    FLAG,
    FLOAT,
    HOUSEHOLD,
    INT,
    SECRET,
    TEXT,
    VOCABULARIES,
    aliases,
    label,
)

MAX_ROSTER_BYTES = 4 * 1024**3  # a prefecture's register is a few hundred MB as CSV
MAX_MESSAGES_PER_COLUMN = 20  # then one line says how many more rows have the same problem
MISSING = -999  # a code, flag or number left empty (numbers use NaN)
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet"}
_SALT = secrets.token_hex(8)  # 16 characters: the key of pandas' SipHash; never written
SEPARATORS = r"[、,，;；/|\s]+"


@dataclass
class Roster:
    """A roster as read: ``households`` one row per household (household fields from its first
    row), ``persons`` one row per person in household order (``hh`` its household's row,
    ``row`` its row in the file), ``id_hash`` the salted hashes of the ID numbers (0 missing)."""

    source: str
    households: pd.DataFrame
    persons: pd.DataFrame
    present: frozenset[str]
    id_hash: np.ndarray = field(repr=False)

    @property
    def rows_of(self) -> np.ndarray:
        """Where each household's persons start in ``persons`` (length households + 1)."""
        return np.concatenate([[0], np.cumsum(self.households["members"].to_numpy())])


def member_rows(start: np.ndarray, households: np.ndarray) -> np.ndarray:
    """The person rows of ``households`` (in that order), given where each household's persons
    start (``start``, one longer than the households)."""
    households = np.asarray(households, dtype=np.int64)
    n = start[households + 1] - start[households]
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return np.repeat(start[households], n) + offsets


def read_roster(path: str | Path) -> Roster:
    """Read and type-check a roster, or raise BadInput with every problem found."""
    path = Path(path)
    problem = input_problem(path, "roster file", MAX_ROSTER_BYTES)
    if problem:
        raise BadInput([problem])
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadInput(
            [f"{path}: unknown roster format {path.suffix!r}; use .csv, .xlsx or .parquet"]
        )
    reader = {"csv": _read_csv, "xlsx": _read_excel, "parquet": _read_parquet}[kind]
    table, first_row, problems = reader(path)
    if table is None:
        raise BadInput(problems)
    row = first_row + np.arange(table.num_rows, dtype=np.int64)
    if "row" in table.column_names:  # CSV rows skipped as malformed keep the numbering honest
        row = table.column("row").to_numpy()
        table = table.drop(["row"])
    values, present = {}, frozenset(table.column_names)
    for name in table.column_names:
        values[name], column_problems = _convert(path, name, table.column(name), row)
        problems += column_problems
    if table.num_rows == 0:
        problems.append(f"{path}: the roster has no rows")
    if problems:
        raise BadInput(problems)
    return _assemble(str(path), values, row, present)


def map_headers(path: Path, headers: list) -> tuple[dict[str, str], list[str]]:
    """{header in the file: column name} for the format's columns, and the problems: a column
    given twice, a required one missing. Other headers (names among them) are left unread."""
    known = aliases()
    mapping: dict[str, str] = {}
    problems = []
    for h in headers:
        name = known.get(str(h).replace("\ufeff", "").strip().lower()) if h is not None else None
        if name is None:
            continue
        if name in mapping.values():
            problems.append(f"{path}: column {label(name)} is given twice (header {h!r})")
            continue
        mapping[h] = name
    problems += [
        f"{path}: required column {label(c.name)} is missing"
        for c in COLUMNS
        if c.required and c.name not in mapping.values()
    ]
    return mapping, problems


def _sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), or GB18030 as Chinese spreadsheets save CSV."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _read_csv(path: Path):
    import pyarrow.csv as pacsv

    encoding = _sniff_encoding(path)
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        headers = next(csv.reader(io.StringIO(fh.readline())), [])
    mapping, problems = map_headers(path, headers)
    if problems:
        return None, 0, problems
    bad_rows: list[str] = []

    def skip(row) -> str:  # the row's text is not echoed: it may hold a name
        where = f"row {row.number:,}" if row.number is not None else "a row"
        bad_rows.append(
            f"{path}: {where}: expected {row.expected_columns} fields, got {row.actual_columns}"
        )
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                include_columns=[h.lstrip("\ufeff") for h in mapping],
                column_types={h.lstrip("\ufeff"): pa.string() for h in mapping},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).split(":")[0]  # Arrow's message may quote the row: keep its kind only
        return None, 0, [f"{path}: cannot read the CSV: {reason}"]
    if bad_rows:  # Arrow reads in parallel and may not know the row: find them (an error path)
        return None, 0, _ragged_rows(path, encoding, len(headers)) or bad_rows
    return table.rename_columns([mapping[h] for h in mapping]), 2, []


def _ragged_rows(path: Path, encoding: str, fields: int) -> list[str]:
    """Rows whose number of fields differs from the header's (counted row by row: only called
    when Arrow found some)."""
    out = []
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        for number, values in enumerate(csv.reader(fh), start=1):
            if len(values) != fields and values:
                out.append(f"{path}: row {number:,}: expected {fields} fields, got {len(values)}")
    return out


def _read_excel(path: Path):
    """The first sheet, header in its first row: only the format's columns are kept."""
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        return (
            None,
            0,
            [f"{path}: cannot read the workbook ({type(exc).__name__}): not an .xlsx file?"],
        )
    try:
        sheet = wb.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        headers = list(next(rows, ()))
        mapping, problems = map_headers(path, headers)
        if problems:
            return None, 0, problems
        keep = [i for i, h in enumerate(headers) if h in mapping]
        columns: list[list] = [[] for _ in keep]
        for values in rows:  # openpyxl gives rows one by one; only the kept cells are stored
            for out, i in zip(columns, keep, strict=True):
                v = values[i] if i < len(values) else None
                out.append("" if v is None else _cell_text(v))
    except Exception as exc:  # a damaged sheet: openpyxl raises many kinds
        return None, 0, [f"{path}: cannot read sheet 1 ({type(exc).__name__})"]
    finally:
        wb.close()
    names = [mapping[headers[i]] for i in keep]
    return (
        pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)}),
        2,
        [],
    )


def _cell_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    try:
        headers = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        return None, 0, [f"{path}: cannot read the Parquet file: {str(exc).split(':')[0]}"]
    mapping, problems = map_headers(path, headers)
    if problems:
        return None, 0, problems
    try:
        table = pq.read_table(path, columns=list(mapping))
    except (pa.ArrowInvalid, OSError) as exc:
        return None, 0, [f"{path}: cannot read the Parquet file: {str(exc).split(':')[0]}"]
    return table.rename_columns([mapping[h] for h in table.column_names]), 1, []


# ---- conversion ------------------------------------------------------------------------------
def _strings(arr) -> pa.Array:
    """Trimmed text, empty cells as nulls."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _numbers(arr) -> tuple[np.ndarray, np.ndarray]:
    """Floats (NaN where empty) and where a cell is not a finite number."""
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        return values, ~np.isfinite(values) & ~pc.is_null(arr).to_numpy(zero_copy_only=False)
    text = pc.replace_substring(_strings(arr), ",", "")  # 12,000 as Excel shows it
    empty = pc.is_null(text).to_numpy(zero_copy_only=False)
    try:
        values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # some cell is not a number: find which, column by column
        values = pd.to_numeric(pd.Series(text.to_pandas()), errors="coerce").to_numpy(float)
    values = np.where(empty, np.nan, values)
    return values, ~empty & ~np.isfinite(values)


def _codes(arr, vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Codes (MISSING where empty) and where a cell is not a known value."""
    if pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.string())
    text = pc.utf8_lower(_strings(arr))
    enc = pc.dictionary_encode(text)
    words = enc.dictionary.to_pylist()
    lookup = np.array([vocabulary.get(w, MISSING - 1) for w in words] + [MISSING], dtype=np.int64)
    idx = enc.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
    codes = lookup[idx]
    return codes, codes == MISSING - 1


def _code_sets(arr, vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Bit flags of a list of codes in one cell (因病、缺技术), 0 where empty."""
    text = pc.utf8_lower(_strings(arr))
    parts = pc.split_pattern_regex(text.fill_null(""), SEPARATORS)
    flat = pc.list_flatten(parts)
    parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    codes, bad = _codes(flat, vocabulary)
    codes = np.where(codes < 0, 0, codes)
    flags = np.zeros(len(text), dtype=np.int64)
    np.bitwise_or.at(flags, parent, codes)
    bad_rows = np.zeros(len(text), dtype=bool)
    bad_rows[parent[bad]] = True
    return flags, bad_rows


def _hashes(arr) -> np.ndarray:
    """Salted 64-bit hashes of the ID numbers (upper-cased: the check digit X), 0 where empty."""
    text = pc.utf8_upper(_strings(arr))
    missing = pc.is_null(text).to_numpy(zero_copy_only=False)
    values = text.fill_null("").to_numpy(zero_copy_only=False).astype(object)
    hashes = pd.util.hash_array(values, hash_key=_SALT, categorize=False)
    hashes[hashes == 0] = 1  # 0 means "no ID number"
    return np.where(missing, np.uint64(0), hashes)


def _convert(path: Path, name: str, arr, row: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One column as numpy, and a line for each cell of the wrong type (capped per column)."""
    col = BY_NAME[name]
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    why = ""
    if col.kind == TEXT:
        text = _strings(arr)
        bad = np.zeros(len(arr), dtype=bool)
        values = text
    elif col.kind == SECRET:
        return _hashes(arr), []
    elif col.kind in (INT, FLOAT):
        values, bad = _numbers(arr)
        why = "is not a number"
        if col.kind == INT:
            fractional = np.isfinite(values) & (values != np.round(values))
            bad |= fractional
            why = "is not a whole number"
    elif col.kind == CODES:
        values, bad = _code_sets(arr, VOCABULARIES[col.codes])
        why = f"holds a value that is not one of {_allowed(col.codes)}"
    else:
        vocab = VOCABULARIES["flag" if col.kind == FLAG else col.codes]
        values, bad = _codes(arr, vocab)
        why = f"is not one of {_allowed('flag' if col.kind == FLAG else col.codes)}"
    problems = _cell_problems(path, name, arr, bad, row, why)
    if col.required:
        empty = pc.is_null(_strings(arr)).to_numpy(zero_copy_only=False)
        problems += _cell_problems(path, name, None, empty, row, "is required and empty")
    return values, problems


def _allowed(vocab: str) -> str:
    words = VOCABULARIES[vocab]
    english = [w for w in words if w.isascii() and len(w) > 1]
    chinese = [w for w in words if not w.isascii()]
    return ", ".join(english + chinese)


def _cell_problems(path, name, arr, bad: np.ndarray, row: np.ndarray, why: str) -> list[str]:
    where = np.flatnonzero(bad)
    out = []
    for i in where[:MAX_MESSAGES_PER_COLUMN]:
        shown = ""
        if arr is not None:
            v = str(arr[int(i)].as_py())
            shown = f" {v[:30]!r}"
        out.append(f"{path}: row {row[i]:,}, column {label(name)}:{shown} {why}")
    if len(where) > MAX_MESSAGES_PER_COLUMN:
        more = len(where) - MAX_MESSAGES_PER_COLUMN
        out.append(f"{path}: column {label(name)}: {more:,} more rows where the value {why}")
    return out


def _assemble(source: str, values: dict, row: np.ndarray, present: frozenset[str]) -> Roster:
    """Persons grouped by household (households in the order they first appear); each household's
    fields from its first row."""
    keys = values["household_id"].to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(keys, sort=False)
    order = np.argsort(codes, kind="stable")
    hh_of = codes[order].astype(np.int32)
    first = np.concatenate([[0], np.flatnonzero(np.diff(hh_of)) + 1])
    members = np.diff(np.append(first, len(order)))
    households = {"household_id": np.asarray(uniques, dtype=object)}
    persons: dict[str, np.ndarray] = {"hh": hh_of, "row": row[order]}
    id_hash = np.zeros(len(order), dtype=np.uint64)
    for c in COLUMNS:
        if c.name == "household_id":
            continue
        if c.name not in values:
            fill = {INT: np.nan, FLOAT: np.nan, CODES: 0, TEXT: None}.get(c.kind, MISSING)
            v = np.full(len(order), fill, dtype=object if c.kind == TEXT else None)
        else:
            v = values[c.name]
            v = v.to_numpy(zero_copy_only=False) if isinstance(v, pa.Array) else np.asarray(v)
            v = v[order]
        if c.kind == SECRET:
            id_hash = v.astype(np.uint64) if c.name in values else id_hash
        elif c.level == HOUSEHOLD:
            households[c.name] = v[first]
        else:
            persons[c.name] = v
    households["members"] = members
    households["first_row"] = row[order][first]
    return Roster(source, pd.DataFrame(households), pd.DataFrame(persons), present, id_hash)
