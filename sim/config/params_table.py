"""The parameter table (path, value, unit, description, source) that researchers audit."""

from __future__ import annotations

import pandas as pd

from sim.config.parameters import iter_params


def _get(tree: dict, path: str):
    node = tree
    for part in path.split("."):
        node = node[part]
    return node


def params_frame(scenario=None) -> pd.DataFrame:
    """Every parameter; with a scenario, its effective value and whether the scenario set it."""
    rows = []
    tree = scenario._tree if scenario is not None else None
    for p in iter_params():
        value = p.value
        changed = False
        if tree is not None:
            try:
                value = _get(tree, p.path)
            except (KeyError, TypeError):
                value = p.value
            changed = value != p.value
        rows.append(
            {
                "path": p.path,
                "value": value,
                "default": p.value,
                "changed": changed,
                "unit": p.unit,
                "description": p.description,
                "source": p.source,
            }
        )
    df = pd.DataFrame(rows)
    if scenario is None:
        df = df.drop(columns=["default", "changed"])
    return df


def to_markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [str(v).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
