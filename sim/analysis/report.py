"""`povsim report`: one self-contained HTML page (and a Markdown twin) that answers the batch's
question with the compare table and every figure, each read in two lines generated from the
numbers, plus provenance and the assumptions that carry the most weight (docs/analysis.md).

The report is assembled once as a list of blocks (:class:`Doc`) and rendered twice, so the HTML
and the Markdown cannot drift apart. HTML embeds its figures as base64 PNG; Markdown links them.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.compare import (
    Comparison,
    compare,
    differences_frame,
    levels_frame,
    row_labels,
    write_csv,
)
from sim.analysis.plots import (
    FIGURES,
    INCOME_COMPONENTS,
    SkipFigure,
    cost_effectiveness,
    durability_bands,
    flow_bands,
    heatmap_data,
    income_composition,
    poverty_rate_bands,
    returns_by_trigger,
    save,
    series_of,
)
from sim.config.files import write_text_atomic

ROOT = Path(__file__).resolve().parents[2]
ODD = ROOT / "docs" / "ODD.md"
SENSITIVITY = "sensitivity"

# Defaults that carry the most weight (the poverty trap and the strategies), shown with their effective values.
KEY_DEFAULTS = [
    "economy.poverty_line",
    "economy.assets.trap",
    "economy.assets.threshold",
    "economy.assets.return_low",
    "economy.assets.return_high",
    "programme.start_year",
    "programme.phase_out_year",
    "programme.support_after_exit",
    "programme.targeting",
    "budget.yearly",
    "budget.unspent",
    "instruments.dibao.standing_after_phase_out",
]


# ---------------------------------------------------------------------------------------------
# A tiny document model rendered to Markdown and to HTML


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
SAFE_SCHEMES = ("http", "https")


def safe_url(url: str) -> str | None:
    """``url`` as it may appear in an href, or None if it is not an http(s) or relative link.

    Browsers decode character references in attributes and drop tabs, newlines and leading
    spaces in a scheme (``java&#x09;script:``, `` JaVaScRiPt:``), so the scheme is judged on
    the decoded text with every invisible character removed, and that decoded text is what is
    linked: ``javascript:``, ``data:``, ``vbscript:``, ``file:`` and any other scheme are refused.
    """
    decoded = html.unescape(url)
    for _ in range(3):  # entities that decode to entities (&amp;#106;)
        again = html.unescape(decoded)
        if again == decoded:
            break
        decoded = again
    bare = _INVISIBLE.sub("", decoded)
    if not bare or "\\" in bare:  # a backslash is a slash to browsers: refuse, do not guess
        return None
    m = _SCHEME.match(bare)
    if m and m.group(1).lower() not in SAFE_SCHEMES:
        return None
    if (
        not m and ":" in re.split(r"[/?#]", bare, maxsplit=1)[0]
    ):  # "x:y" is a scheme to some parsers
        return None
    return bare


def inline_html(text: str) -> str:
    """Escape ``text`` and turn `code`, **bold** and [links](url) into HTML; a link that is not
    http(s) or relative (see :func:`safe_url`) is shown as text."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        code, bold, label, url = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{html.escape(bold)}</strong>")
        elif (href := safe_url(url)) is not None:
            out.append(f'<a href="{html.escape(href, quote=True)}">{html.escape(label)}</a>')
        else:
            out.append(html.escape(m.group(0)))
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def safe_md(text: str) -> str:
    """Markdown text with unsafe links shown as text and raw HTML tags escaped (Markdown
    viewers render both)."""

    def link(m: re.Match) -> str:
        if safe_url(m.group(2)) is not None:
            return m.group(0)
        return f"\\[{m.group(1)}\\]\\({m.group(2)})"

    text = _LINK.sub(link, text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _md_cell(v) -> str:
    return safe_md(str(v)).replace("|", "\\|").replace("\n", " ")


@dataclass
class Doc:
    """Blocks appended once, rendered to both formats."""

    md: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    toc: list[tuple[str, str]] = field(default_factory=list)
    head: list[str] = field(default_factory=list)  # HTML above the table of contents

    def title(self, text: str, sub: str) -> None:
        self.md.append(f"# {safe_md(text)}\n\n{safe_md(sub)}\n")
        self.head.append(f'<h1>{inline_html(text)}</h1><p class="sub">{inline_html(sub)}</p>')

    def heading(self, level: int, text: str) -> None:
        anchor = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        if level == 2:
            self.toc.append((anchor, text))
        self.md.append(f"{'#' * level} {safe_md(text)}\n")
        self.html.append(f'<h{level} id="{anchor}">{inline_html(text)}</h{level}>')

    def para(self, text: str, css: str | None = None) -> None:
        self.md.append(f"{'> ' if css else ''}{safe_md(text)}\n")
        cls = f' class="{css}"' if css else ""
        self.html.append(f"<p{cls}>{inline_html(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        if not items:
            return
        self.md.append("\n".join(f"- {safe_md(i)}" for i in items) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>")

    def table(
        self, df: pd.DataFrame, index: bool = True, index_label: str = "", text: bool = False
    ) -> None:
        """A table; ``text`` tables are left-aligned and wrap, number tables align right.
        A newline in a cell is a line break."""
        cols = ([index_label] if index else []) + [str(c) for c in df.columns]
        rows = [
            ([str(i)] if index else []) + [str(v) for v in r]
            for i, r in zip(df.index, df.itertuples(index=False), strict=True)
        ]
        md = ["| " + " | ".join(_md_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        md += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
        self.md.append("\n".join(md) + "\n")
        head = "".join(f"<th>{inline_html(c)}</th>" for c in cols)

        def cell(k: int, c: str) -> str:
            tag = "th" if index and k == 0 else "td"
            return f"<{tag}>{'<br>'.join(inline_html(line) for line in c.split(chr(10)))}</{tag}>"

        body = "".join(
            "<tr>" + "".join(cell(k, c) for k, c in enumerate(r)) + "</tr>" for r in rows
        )
        css = ' class="text"' if text else ""
        self.html.append(
            f'<div class="scroll"><table{css}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )

    def figure(self, path: Path, rel: str, caption: str, reading: list[str]) -> None:
        self.md.append(f"![{safe_md(caption)}]({rel})\n")
        if reading:
            self.md.append("  \n".join(f"*{safe_md(line)}*" for line in reading) + "\n")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        lines = "<br>".join(inline_html(line) for line in reading)
        self.html.append(
            f'<figure><img alt="{html.escape(caption, quote=True)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{lines}</figcaption></figure>'
        )

    def pre(self, text: str, summary: str) -> None:
        runs = [len(r) for r in re.findall(r"`+", text)]
        fence = "`" * max(3, max(runs, default=0) + 1)  # the text cannot close the code block
        self.md.append(
            f"<details><summary>{html.escape(summary)}</summary>\n\n{fence}\n{text}\n{fence}"
            "\n\n</details>\n"
        )
        self.html.append(
            f"<details><summary>{html.escape(summary)}</summary><pre>{html.escape(text)}</pre></details>"
        )

    def render_md(self) -> str:
        return "\n".join(self.md)

    def render_html(self, title: str) -> str:
        toc = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.toc)
        body = "\n".join(self.html)
        top = "\n".join(self.head) + f"\n<nav><ol>{toc}</ol></nav>"
        return HTML_PAGE.format(title=html.escape(title), css=CSS, top=top, body=body)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
       sans-serif; color: #1a1a1a; line-height: 1.5; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: #fff; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; margin-top: 2.4rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
p.sub { color: #555; margin-top: 0; }
p.warning { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.5rem 0.8rem; }
p.note { background: #eef5fb; border-left: 4px solid #56B4E9; padding: 0.5rem 0.8rem; }
code { background: #f1f1f1; padding: 0 0.25rem; border-radius: 3px; font-size: 0.92em; }
nav ol { columns: 2; font-size: 0.95rem; }
div.scroll { overflow-x: auto; margin: 0.6rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.84rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
thead th { background: #f0f4f8; text-align: center; white-space: normal; }
tbody th { text-align: left; background: #fafafa; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fcfcfc; }
table.text td, table.text tbody th { text-align: left; white-space: normal; vertical-align: top; }
figure { margin: 1.2rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.95rem; color: #333; margin-top: 0.4rem; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
details { margin: 0.6rem 0; }
"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body><main>
{top}
{body}
</main></body>
</html>
"""


# ---------------------------------------------------------------------------------------------
# Number formatting for readings


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def pp(x: float) -> str:
    return f"{x * 100:+.1f} pp"


def num(x: float) -> str:
    return f"{x:,.0f}"


def myuan(x: float) -> str:
    m = x / 1e6
    return f"{m:,.0f} M yuan" if abs(m) >= 100 else f"{m:.3g} M yuan"


def _extremes(values: pd.Series) -> tuple[str, float, str, float]:
    """(label of the minimum, minimum, label of the maximum, maximum) of a labelled series."""
    v = values.dropna()
    return v.idxmin(), float(v.min()), v.idxmax(), float(v.max())


# ---------------------------------------------------------------------------------------------
# Readings: two lines per figure, computed from the same data the figure draws


def _phase_out(results) -> int | None:
    from sim.analysis.outcomes import phase_out_year

    series = series_of(results)
    years = sorted(set(phase_out_year(results, series.runs)))
    return int(years[0]) if years else None


def read_poverty_rate(results, **_) -> list[str]:
    b = poverty_rate_bands(results)
    last = int(b["year"].max())
    po = _phase_out(results)
    early = po if po is not None and 0 < po < last else max(1, last // 2)
    at = {y: b[b["year"] == y].set_index("series")["p50"] for y in (early, last)}
    lo_e, v_lo_e, hi_e, v_hi_e = _extremes(at[early])
    lo_l, v_lo_l, hi_l, v_hi_l = _extremes(at[last])
    when = "the last programme year" if early == po else "mid-horizon"
    first = (
        f"In year {early} ({when}) {lo_e} has the lowest median poverty rate ({pct(v_lo_e)}) "
        f"and {hi_e} the highest ({pct(v_hi_e)}); by year {last} {lo_l} is lowest "
        f"({pct(v_lo_l)}) and {hi_l} highest ({pct(v_hi_l)})."
    )
    change = (at[last] - at[early]).dropna()
    if len(change) > 1:
        up, v_up = change.idxmax(), change.max()
        down, v_down = change.idxmin(), change.min()
        second = (
            f"From year {early} to year {last} the median rate "
            f"{'rises' if v_up > 0 else 'falls'} by {abs(v_up) * 100:.1f} pp under {up} "
            f"(the largest {'rise' if v_up > 0 else 'change'}) and "
            f"{'falls' if v_down < 0 else 'rises'} by {abs(v_down) * 100:.1f} pp under {down}"
            + (
                f"; {lo_e} loses its lead to {lo_l} after the money stops."
                if lo_e != lo_l
                else f"; {lo_l} keeps the lowest rate."
            )
        )
    else:
        second = (
            f"From year {early} to year {last} the median rate changes by {pp(change.iloc[0])}."
        )
    return [first, second]


def read_exits_returns(results, **_) -> list[str]:
    flows = flow_bands(results)
    ex, ret = flows["exits"], flows["returns"]
    peak = ex.loc[ex["p50"].idxmax()]
    per_series_peak = ex.loc[ex.groupby("series")["p50"].idxmax()]
    years = sorted(set(per_series_peak["year"].astype(int)))
    peak_years = (
        f"exits peak in year {years[0]} under every strategy"
        if len(years) == 1
        else f"exits peak in years {', '.join(map(str, years))}"
    )
    first = (
        f"{peak_years.capitalize()}; the largest yearly number is {num(peak['p50'])} households "
        f"under {peak['series']} in year {int(peak['year'])} (median over runs)."
    )
    po = _phase_out(results)
    last = int(ret["year"].max())
    after = ret[ret["year"] > po] if po is not None and po < last else ret
    span = f"years {po + 1}–{last}" if po is not None and po < last else f"years 1–{last}"
    mean_after = after.groupby("series", sort=False)["p50"].mean()
    lo, v_lo, hi, v_hi = _extremes(mean_after)
    second = (
        f"In {span}{' (after the money stops)' if po is not None and po < last else ''} returns "
        f"are highest under {hi} ({num(v_hi)} households a year) and lowest under {lo} "
        f"({num(v_lo)} a year)."
    )
    return [first, second]


def read_cost_effectiveness(results, reference: str = "status_quo", **_) -> list[str]:
    d = cost_effectiveness(results, reference)
    last = int(d["year"].max())
    at = d[d["year"] == last].groupby("series", sort=False)[["spending", "reduction"]].mean()
    spent = at[at["spending"] > 0]
    if len(spent):
        per = spent["reduction"] / (spent["spending"] / 1e8)
        lo, v_lo, hi, v_hi = _extremes(per)
        first = (
            f"At year {last}, {hi} buys the largest fall in poverty per yuan against {reference}: "
            f"{v_hi * 100:.2f} pp per 100 M yuan ({pp(at.loc[hi, 'reduction'])[1:]} for "
            f"{myuan(at.loc[hi, 'spending'])})"
            + (
                f"; {lo} the smallest ({v_lo * 100:.2f} pp per 100 M yuan, "
                f"{pp(at.loc[lo, 'reduction'])[1:]} for {myuan(at.loc[lo, 'spending'])})."
                if lo != hi
                else "."
            )
        )
    else:
        first = f"No strategy spends more than {reference} by year {last}."
    years = sorted(d["year"].unique())
    if len(years) > 1:
        early = years[0]
        e = d[d["year"] == early].groupby("series", sort=False)["reduction"].mean()
        change = (at["reduction"] - e).dropna()
        lo_c = change.idxmin()
        second = (
            f"Between year {early} and year {last} the fall against {reference} shrinks most "
            f"under {lo_c} (from {e[lo_c] * 100:.1f} to {at.loc[lo_c, 'reduction'] * 100:.1f} pp)"
            f" and changes least under {change.abs().idxmin()} "
            f"({e[change.abs().idxmin()] * 100:.1f} to "
            f"{at.loc[change.abs().idxmin(), 'reduction'] * 100:.1f} pp)."
        )
    else:
        best = at["reduction"].idxmax()
        second = f"The largest fall is under {best} ({at.loc[best, 'reduction'] * 100:.1f} pp)."
    return [first, second]


def read_income_composition(results, **_) -> list[str]:
    comp = income_composition(results)
    last = int(comp["year"].max())
    cols = list(INCOME_COMPONENTS)
    comp["total"] = comp[cols].sum(axis=1)
    y0 = comp[comp["year"] == 0].set_index("series")
    yl = comp[comp["year"] == last].set_index("series")
    t0 = float(y0["total"].mean())
    share0 = float((y0["transfers"] / y0["total"]).mean())
    lo, v_lo, hi, v_hi = _extremes(yl["total"])
    first = (
        f"At year 0 the households registered then have {num(t0)} yuan per person, "
        f"{pct(share0)} of it transfers; by year {last} {hi} has raised it most "
        f"({num(v_hi)} yuan, {pct(yl.loc[hi, 'transfers'] / v_hi)} transfers) and {lo} least "
        f"({num(v_lo)} yuan, {pct(yl.loc[lo, 'transfers'] / v_lo)} transfers)."
    )
    gain_hi = (yl.loc[hi, cols] - y0.loc[hi, cols]).astype(float)
    gain_lo = (yl.loc[lo, cols] - y0.loc[lo, cols]).astype(float)
    short = {"wage": "local wages", "migrant": "migrant work", "property": "rent and interest"}
    top_hi, top_lo = gain_hi.idxmax(), gain_lo.idxmax()
    second = (
        f"Under {hi} the largest gain since year 0 is in {short.get(top_hi, top_hi)} income "
        f"(+{num(gain_hi[top_hi])} yuan per person); under {lo} in "
        f"{short.get(top_lo, top_lo)} (+{num(gain_lo[top_lo])})."
    )
    return [first, second]


def read_durability(results, **_) -> list[str]:
    b = durability_bands(results)
    b = b[b["k"] > 0]
    labels = b["series"].nunique()
    full = b.groupby("k")["series"].nunique()
    ks = sorted(full[full == labels].index)
    k1, kn = ks[0], ks[-1]
    at1 = b[b["k"] == k1].set_index("series")["p50"]
    atn = b[b["k"] == kn].set_index("series")["p50"]
    lo1, v_lo1, hi1, v_hi1 = _extremes(at1)
    lon, v_lon, hin, v_hin = _extremes(atn)
    first = (
        f"{k1} year{'s' if k1 > 1 else ''} after their first exit, {pct(v_hi1)} of households "
        f"have not returned to poverty under {hi1} (the most) and {pct(v_lo1)} under {lo1} "
        "(the fewest; medians over runs)."
    )
    second = (
        f"After {kn} years {hin} keeps the most ({pct(v_hin)}) and {lon} the fewest ({pct(v_lon)})"
    )
    second += f": {hi1} leads early, {hin} in the long run." if hin != hi1 else "."
    return [first, second]


def read_returns_by_trigger(results, **_) -> list[str]:
    d = returns_by_trigger(results)
    wide = d.pivot(index="series", columns="trigger", values="mean")
    total = wide.sum(axis=1)
    top = wide.idxmax(axis=1)
    name = lambda t: t.replace("_", " ")  # noqa: E731
    if top.nunique() == 1:
        t = top.iloc[0]
        shares = wide[t] / total
        first = (
            f"{name(t).capitalize()} is the main trigger of returns under every strategy "
            f"({pct(shares.min())}–{pct(shares.max())} of returns)."
        )
    else:
        first = "The main trigger differs: " + "; ".join(
            f"{s}: {name(t)} ({pct(wide.loc[s, t] / total[s])})" for s, t in top.items()
        )
        first += "."
    spread = (wide.max() - wide.min()).drop(index=top.iloc[0], errors="ignore")
    t = spread.idxmax() if len(spread) else top.iloc[0]
    lo, v_lo, hi, v_hi = _extremes(wide[t])
    last = int(results.timeseries["year"].max())
    second = (
        f"Besides it, {name(t)} differs most between strategies: {num(v_hi)} returns over years "
        f"1–{last} under {hi} against {num(v_lo)} under {lo} (means over runs)."
    )
    return [first, second]


def read_heatmap(results, levers: list[str], outcome: str, **_) -> list[str]:
    from sim.analysis.compare import format_value
    from sim.analysis.outcomes import outcome_unit
    from sim.analysis.plots import _short

    d = heatmap_data(results, levers, outcome)
    unit = outcome_unit(outcome)
    shown = "%" if unit.startswith("share") else " M yuan" if unit == "yuan" else ""

    def val(v: float, diff: bool = False) -> str:
        return format_value(v, unit, diff) + (" pp" if diff and shown == "%" else shown)

    def cell(r) -> str:
        where = ", ".join(f"{lv}={_short(r[lv])}" for lv in levers)
        return f"{r['strategy']} at {where} ({val(r[outcome])})"

    hi, lo = d.loc[d[outcome].idxmax()], d.loc[d[outcome].idxmin()]
    first = f"{outcome} is highest under {cell(hi)} and lowest under {cell(lo)}."
    effects = []
    for lv in levers:
        other = [c for c in ("strategy", *levers) if c != lv]
        wide = d.pivot_table(index=other, columns=lv, values=outcome)
        a, b = wide.columns.min(), wide.columns.max()
        effects.append(
            f"moving {lv} from {_short(a)} to {_short(b)} changes it by "
            f"{val((wide[b] - wide[a]).mean(), diff=True)}"
        )
    second = "On average over the other cells, " + "; ".join(effects) + "."
    return [first, second]


def read_compare(comparison: Comparison) -> list[str]:
    """The compare table's headline numbers: who is lowest, who keeps most exits, what it costs,
    and whether equal budgets meant equal spending."""
    from sim.analysis.compare import cost_column, level_column

    t = comparison.table.set_axis(row_labels(comparison))
    h, ref = comparison.horizon, comparison.reference
    rate = t[level_column(f"poverty_rate@{h}", "mean")]
    sust = t[level_column("sustained_exits", "mean")]
    spend = t[level_column("total_spending", "mean")]
    lines = [
        f"Lowest mean poverty rate in year {h}: {rate.idxmin()} ({pct(rate.min())}); "
        f"highest: {rate.idxmax()} ({pct(rate.max())}).",
        f"Most sustained exits (exited, never returned, out of poverty in year {h}): "
        f"{sust.idxmax()} ({num(sust.max())} households); fewest: {sust.idxmin()} "
        f"({num(sust.min())}).",
    ]
    cost = t[cost_column(ref, "ratio")].dropna()
    if len(cost):
        lines.append(
            f"Cheapest additional sustained exit against {ref}: {cost.idxmin()} "
            f"({num(cost.min())} yuan per household); dearest: {cost.idxmax()} "
            f"({num(cost.max())})."
        )
    spenders = spend[spend > 0]
    if len(spenders) > 1 and spenders.max() > 1.05 * spenders.min():
        lines.append(
            "Equal budgets are not equal spending (money not spent in a year is not carried "
            "over unless `budget.unspent` says so): "
            + ", ".join(f"{s} {myuan(v)}" for s, v in spenders.items())
            + " over the horizon."
        )
    return lines


READINGS: dict[str, Callable[..., list[str]]] = {
    "poverty_rate": read_poverty_rate,
    "exits_returns": read_exits_returns,
    "cost_effectiveness": read_cost_effectiveness,
    "income_composition": read_income_composition,
    "durability": read_durability,
    "returns_by_trigger": read_returns_by_trigger,
}


# ---------------------------------------------------------------------------------------------
# Making what is missing


def _stale(path: Path, results) -> bool:
    """Missing, or older than the batch's manifest (the batch changed since it was written)."""
    manifest = results.path / "manifest.json"
    if not path.is_file():
        return True
    return manifest.is_file() and path.stat().st_mtime < manifest.stat().st_mtime


@dataclass
class FigureStatus:
    slug: str
    question: str
    path: Path | None
    skipped: str | None = None
    extra: dict | None = None  # heatmap parameters


def ensure_figures(results, reference: str, notify: Callable[[str], None]) -> list[FigureStatus]:
    """The standard figures as PNG in RESULTS/figures/, drawn if missing or stale, then any
    other PNG already there (heatmaps made by `povsim plot --heatmap`)."""
    folder = results.path / "figures"
    folder.mkdir(exist_ok=True)
    out = []
    for spec in FIGURES:
        path = folder / f"{spec.slug}.png"
        if _stale(path, results):
            kwargs = {"reference": reference} if spec.slug == "cost_effectiveness" else {}
            try:
                fig = spec.draw(results, **kwargs)
            except SkipFigure as exc:
                notify(f"skipped {spec.slug}: {exc}")
                path.unlink(missing_ok=True)
                out.append(FigureStatus(spec.slug, spec.question, None, str(exc)))
                continue
            save(fig, folder / spec.slug, ("png",))
            notify(f"drew {path}")
        out.append(FigureStatus(spec.slug, spec.question, path))
    known = {spec.slug for spec in FIGURES}
    for path in sorted(folder.glob("*.png")):
        if path.stem in known or not path.is_file():  # not a folder or a pipe named *.png
            continue
        extra = _heatmap_meta(path.with_suffix(".json"))
        question = (
            f"How does {extra['outcome']} depend on {extra['levers'][0]} and {extra['levers'][1]}?"
            if extra
            else path.stem.replace("_", " ")
        )
        out.append(FigureStatus(path.stem, question, path, extra=extra))
    return out


def _heatmap_meta(path: Path) -> dict | None:
    """The levers and outcome `povsim plot --heatmap` recorded next to its figure, or None if
    the file is missing or not what plot writes (the figure is then shown without a reading)."""
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or set(meta) != {"levers", "outcome"}:
        return None
    levers, outcome = meta["levers"], meta["outcome"]
    if not (isinstance(levers, list) and len(levers) == 2 and isinstance(outcome, str)):
        return None
    return meta if all(isinstance(x, str) for x in levers) else None


def _reading(status: FigureStatus, results, reference: str) -> list[str]:
    try:
        if status.extra:
            return read_heatmap(results, **status.extra)
        fn = READINGS.get(status.slug)
        return fn(results, reference=reference) if fn else []
    except (SkipFigure, KeyError, ValueError, IndexError) as exc:
        return [f"(no reading: {exc})"]


# ---------------------------------------------------------------------------------------------
# Sections


def _experiment(results) -> dict:
    """The experiment file as the manifest recorded it; tables of the wrong type are dropped
    (the copy is informative: a hand-edited manifest must not break the report)."""
    text = (results.manifest.get("experiment") or {}).get("text")
    if not text or not isinstance(text, str):
        return {}
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return {}
    tables = ("experiment", "levers", "uncertainties", "constants", "sampling", "outputs")
    return {k: v for k, v in data.items() if k not in tables or isinstance(v, dict)}


def _scenario(results):
    """The batch's scenario (as the file reads now) and a note if it changed or is gone."""
    from sim.config import ConfigError, load_scenario

    info = results.manifest.get("scenario") or {}
    path = info.get("path")
    if not path or not isinstance(path, str):
        return None, "the manifest names no scenario file"
    p = Path(path)
    if not p.is_file():
        return None, f"the scenario file {path} is gone; defaults are shown"
    import hashlib

    note = None
    if info.get("sha256") and hashlib.sha256(p.read_bytes()).hexdigest() != info["sha256"]:
        note = f"the scenario file {path} has changed since the batch ran; values are from the current file"
    try:
        return load_scenario(p), note
    except ConfigError as exc:
        return None, f"the scenario file {path} no longer loads ({exc.problems[0]})"


def describe_distribution(spec) -> str:
    """An uncertainty's distribution as text: ``uniform 0.1–0.16``, ``one of 0.05, 0.15``."""
    if not isinstance(spec, dict):
        return str(spec)
    if "values" in spec:
        return "one of " + ", ".join(
            f"{v:g}" if isinstance(v, float | int) else str(v) for v in spec["values"]
        )
    d = spec.get("dist", "?")
    if d == "uniform":
        text = f"uniform {spec['low']:g}–{spec['high']:g}"
    elif d == "triangular":
        text = f"triangular {spec['low']:g}–{spec['high']:g}, mode {spec['mode']:g}"
    elif d == "normal":
        text = f"normal, mean {spec['mean']:g}, sd {spec['sd']:g}"
    elif d == "lognormal":
        text = f"lognormal, mean {spec['mean']:g}, sigma {spec['sigma']:g}"
    else:
        text = d + " " + ", ".join(f"{k} {v}" for k, v in spec.items() if k != "dist")
    if d in ("normal", "lognormal") and ("low" in spec or "high" in spec):
        text += f", truncated to [{spec.get('low', '-∞')}, {spec.get('high', '∞')}]"
    return text


def _param_info(paths: list[str], scenario) -> pd.DataFrame:
    from sim.config.params_table import params_frame

    df = params_frame(scenario).set_index("path")
    return df.reindex(paths)


def _fmt_value(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, int | float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"
    if isinstance(v, list):
        return ", ".join(_fmt_value(x) for x in v)
    return str(v)


def section_question(doc: Doc, exp: dict, scenario, strategies: list[str], horizon: int) -> None:
    """The batch's question, with its budget and programme years from the levers or the
    scenario (constants would override both; they are listed under the assumptions)."""
    levers = exp.get("levers", {})

    def setting(path: str, get) -> list:
        if path in levers:
            return list(levers[path])
        try:
            return [get(scenario)] if scenario is not None else []
        except AttributeError:
            return []

    budget = setting("budget.yearly", lambda sc: sc.budget.yearly)
    start = setting("programme.start_year", lambda sc: sc.programme.start_year)
    stop = setting("programme.phase_out_year", lambda sc: sc.programme.phase_out_year)
    money = ""
    if budget:
        money = " or ".join(myuan(b) for b in budget) + " a year"
        if len(start) == 1 and len(stop) == 1:
            money += f" in programme years {start[0]}–{stop[0]}"
        money = f"With the same programme money ({money}), which"
    doc.heading(2, "The question")
    names = ", ".join(f"`{s}`" for s in strategies)
    doc.para(
        f"{money or 'Which'} of {names} leaves fewer people poor by year {horizon}, and fewer "
        "households falling back into poverty (返贫) after the money stops? Transfusion (输血) "
        "lifts income while transfers last; blood-making (造血) builds capacity that should "
        "outlast the money."
    )
    desc = (exp.get("experiment") or {}).get("description")
    if desc:
        doc.para(f"Experiment: {desc}")


def section_setup(doc: Doc, results, exp: dict, scenario, horizon: int) -> None:
    doc.heading(2, "Scenario and experiment")
    ts = results.timeseries
    y0 = ts[ts["year"] == 0]
    m = results.manifest
    e = exp.get("experiment", {})
    items = []
    if scenario is not None:
        meta = scenario.meta
        items.append(
            f"Scenario **{meta.name}** (`{m.get('scenario', {}).get('path', '?')}`): "
            f"{scenario.population.households:,} households, {scenario.population.people:,} people, "
            f"{scenario.population.registered.households:,} registered poor households at year 0, "
            f"{scenario.villages.count} villages ({scenario.villages.poor} poor), "
            f"{len(scenario.enterprises)} leading enterprises; base year {meta.base_year}."
        )
    if len(y0):
        items.append(
            f"At year 0 (registration, the same in every run of a seed) the poverty rate is "
            f"{pct(y0['poverty_rate'].mean())} of persons "
            f"({y0['poverty_rate'].min() * 100:.1f}–{y0['poverty_rate'].max() * 100:.1f}% over runs), "
            f"with {y0['registered_households'].mean():,.0f} households on the register."
        )
    sampling = exp.get("sampling", m.get("sampling", {}))
    reps = sampling.get("replications", len(m.get("seeds", [])) or "?")
    items.append(
        f"Experiment **{e.get('name', m.get('experiment', {}).get('name', '?'))}** "
        f"(`{m.get('experiment', {}).get('path', '?')}`): horizon {horizon} years; "
        f"{m.get('total_runs', len(results.runs))} runs = lever combinations × "
        f"{sampling.get('samples', 1)} uncertainty samples ({sampling.get('method', 'lhs')}) × "
        f"{reps} replication seeds, the same seeds for every lever combination (paired)."
    )
    for name, values in (exp.get("levers") or {}).items():
        items.append(f"Lever `{name}`: {_fmt_value(values)}")
    doc.bullets(items)
    try:
        from sim.policies import available

        specs = available(scenario)
        strategies = list(dict.fromkeys(results.runs["strategy"]))
        doc.bullets([f"`{s}`: {specs[s].description}" for s in strategies if s in specs])
    except Exception:  # a strategy defined only in the experiment file: its name is enough
        pass
    text = (m.get("experiment") or {}).get("text")
    if text:
        doc.pre(text.strip(), "The experiment file, as run")


def section_compare(doc: Doc, comparison: Comparison) -> None:
    doc.heading(2, "Compare table")
    n = comparison.table["runs"]
    runs = f"{n.min()}" if n.min() == n.max() else f"{n.min()}–{n.max()}"
    doc.para(
        f"Each cell is the **mean** over the {runs} runs of a lever combination with, in brackets, "
        "the **5th and 95th percentiles of the run values** — a 90% interval across replication "
        "seeds and uncertainty samples (how much the outcome varies with what nobody controls, not "
        "the uncertainty of the mean). Shares are in %, spending in million yuan. Written to "
        "`compare.csv` with every column's unit in its header."
    )
    doc.table(levels_frame(comparison), index_label="outcome")
    doc.bullets(read_compare(comparison))
    diffs = differences_frame(comparison, two_lines=True)
    if diffs.shape[1]:
        ref = comparison.reference
        doc.heading(3, f"Paired differences against {ref}")
        doc.para(
            f"Each run minus the `{ref}` run with the same uncertainty sample and seed (the same "
            "households and shocks): mean [5th, 95th percentile] over pairs in percentage points "
            "(pp) for shares, then the share of pairs in which the difference has the favourable "
            "sign. The cost per additional sustained exit is mean Δspending / mean Δsustained "
            "exits over pairs (a ratio of means) with a 90% bootstrap interval over pairs; ∞ "
            "means that some resamples add no sustained exit."
        )
        doc.table(diffs, index_label="outcome (better if)")
    missing = [
        o for o in comparison.outcomes if comparison.runs[o].isna().all() if o in comparison.runs
    ]
    if missing:
        doc.para(
            "Not recorded by this batch (shown as –): " + ", ".join(f"`{o}`" for o in missing),
            css="warning",
        )


def section_figures(
    doc: Doc, results, figures: list[FigureStatus], reference: str, odd_link: str
) -> None:
    doc.heading(2, "Figures")
    doc.para(
        "Lines are medians over runs; the darker band holds the middle 50% of runs and the lighter "
        "band the middle 90% (5th–95th percentiles). Colours are the Okabe–Ito palette."
    )
    skipped = []
    for k, status in enumerate(figures, 1):
        if status.path is None:
            skipped.append(f"{status.question} (`{status.slug}`): {status.skipped}")
            continue
        doc.heading(3, f"{k}. {status.question}")
        doc.figure(
            status.path,
            f"figures/{status.path.name}",
            status.question,
            _reading(status, results, reference),
        )
    if skipped:
        doc.para("Figures not drawn because the batch did not record their data:", css="warning")
        doc.bullets(skipped)


def section_sensitivity(doc: Doc, results) -> None:
    folder = results.path / SENSITIVITY
    csv = folder / "indices.csv"
    if not csv.is_file():
        return
    doc.heading(2, "Sensitivity")
    try:
        df = pd.read_csv(csv)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        doc.para(f"`sensitivity/indices.csv` could not be read: {exc}", css="warning")
        return
    needed = {"outcome", "factor", "method", "index", "value"}
    if not needed <= set(df.columns):
        doc.para(
            "`sensitivity/indices.csv` lacks the columns "
            + ", ".join(sorted(needed - set(df.columns))),
            css="warning",
        )
        return
    doc.para(
        "Indices written by `povsim sensitivity`: how much each factor moves each outcome "
        "(confidence bounds in brackets where the method gives them)."
    )
    for (outcome, method), g in df.groupby(["outcome", "method"], sort=False):
        cells = g.assign(
            cell=[
                f"{v:.3g}" + (f" [{lo:.3g}, {hi:.3g}]" if pd.notna(lo) and pd.notna(hi) else "")
                for v, lo, hi in zip(
                    g["value"], g.get("conf_low", np.nan), g.get("conf_high", np.nan), strict=False
                )
            ]
        )
        wide = cells.pivot_table(index="factor", columns="index", values="cell", aggfunc="first")
        vals = g.pivot_table(index="factor", columns="index", values="value", aggfunc="first")
        key = next(
            (c for c in ("ST", "mu_star", "S1", "delta") if c in vals.columns), vals.columns[0]
        )
        order = vals[key].sort_values(ascending=False)
        wide = wide.reindex(order.index)
        doc.heading(3, f"{outcome} ({method})")
        top = order.index[:2]
        reading = f"By {key}, `{top[0]}` moves {outcome} most ({order.iloc[0]:.3g})"
        reading += f", then `{top[1]}` ({order.iloc[1]:.3g})." if len(top) > 1 else "."
        doc.para(reading)
        doc.table(wide.fillna(""), index_label="factor")
    for path in sorted((folder / "figures").glob("*.png")):
        doc.figure(path, f"{SENSITIVITY}/figures/{path.name}", path.stem.replace("_", " "), [])


def section_assumptions(
    doc: Doc, results, exp: dict, scenario, note: str | None, odd_link: str
) -> None:
    doc.heading(2, "Assumptions that carry the most weight")
    doc.para(
        f"The model is described in [docs/ODD.md]({odd_link}); every parameter has a unit and a "
        "source in `sim/config/parameters/defaults.toml` (`povsim params`)."
    )
    if note:
        doc.para(note, css="warning")
    unc = exp.get("uncertainties") or {}
    levers = exp.get("levers") or {}
    consts = exp.get("constants") or {}
    paths = [*unc, *(p for p in levers if p != "strategy"), *consts, *KEY_DEFAULTS]
    info = _param_info(list(dict.fromkeys(paths)), scenario)
    rows = []
    for p, spec in unc.items():
        rows.append(
            (
                "uncertainty",
                p,
                describe_distribution(spec),
                info.loc[p, "unit"],
                info.loc[p, "description"],
            )
        )
    for p, values in levers.items():
        if p == "strategy":
            continue
        rows.append(
            ("lever", p, _fmt_value(values), info.loc[p, "unit"], info.loc[p, "description"])
        )
    for p, value in consts.items():
        rows.append(
            ("constant", p, _fmt_value(value), info.loc[p, "unit"], info.loc[p, "description"])
        )
    varied = set(unc) | set(levers) | set(consts)
    for p in KEY_DEFAULTS:
        if p in varied or p not in info.index or pd.isna(info.loc[p, "unit"]):
            continue
        rows.append(
            (
                "default",
                p,
                _fmt_value(info.loc[p, "value"]),
                info.loc[p, "unit"],
                info.loc[p, "description"],
            )
        )
    table = pd.DataFrame(rows, columns=["kind", "parameter", "value or range", "unit", "meaning"])
    table = table.fillna("")
    table["parameter"] = "`" + table["parameter"] + "`"
    doc.table(table, index=False, text=True)


def section_provenance(doc: Doc, results) -> None:
    m = results.manifest
    doc.heading(2, "Provenance")
    versions = m.get("versions", {})
    counts = m.get("counts", {})
    items = [
        f"Batch folder: `{results.path}`; status **{m.get('status', '?')}**; runs: "
        + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("ok", "failed", "pending"))
        + f" of {m.get('total_runs', len(results.runs))}.",
        f"Started {m.get('started', '?')}, finished {m.get('finished') or '(not finished)'} (UTC).",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"Experiment file `{m.get('experiment', {}).get('path', '?')}`, sha256 "
        f"`{m.get('experiment', {}).get('sha256', '?')}`.",
        f"Scenario file `{m.get('scenario', {}).get('path', '?')}`, sha256 "
        f"`{m.get('scenario', {}).get('sha256', '?')}`.",
        f"Master seed {m.get('master_seed', '?')}; sampling {json.dumps(m.get('sampling', {}))}.",
        "Replication seeds (the same for every lever combination and sample): "
        + ", ".join(str(s) for s in m.get("seeds", [])),
    ]
    for s in m.get("sessions", []):
        items.append(
            f"Session {s.get('started', '?')} – {s.get('ended', '?')}: {s.get('runs', '?')} runs on "
            f"{s.get('backend', '?')} with {s.get('workers', '?')} workers."
        )
    doc.bullets(items)
    runs = results.runs
    failed = runs[runs["status"] == "failed"] if "status" in runs else runs.iloc[:0]
    if len(failed):
        doc.heading(3, "Failed runs")
        cols = [
            c
            for c in ("run_id", "strategy", "sample", "replication", "seed", "error")
            if c in failed
        ]
        doc.table(failed[cols].astype(str), index=False, text=True)


def warnings_of(results, comparison: Comparison | None, figures: list[FigureStatus]) -> list[str]:
    """What a reader must know before reading the numbers."""
    out = []
    runs = results.runs
    status = runs["status"] if "status" in runs else pd.Series("ok", index=runs.index)
    n_failed, n_pending = int((status == "failed").sum()), int((status == "pending").sum())
    if n_failed:
        out.append(
            f"{n_failed} of {len(runs)} runs failed; every number below uses the "
            f"{int((status == 'ok').sum())} finished runs (see Provenance for the errors). Pairs "
            "whose reference or comparison run failed are dropped."
        )
    if n_pending:
        out.append(
            f"The batch is incomplete ({results.manifest.get('status', '?')}): {n_pending} runs have "
            "not run; finish it with `povsim batch EXPERIMENT --out DIR --resume`."
        )
    skipped = [f.slug for f in figures if f.path is None]
    if skipped:
        out.append(
            f"Missing outcomes: figures {', '.join(skipped)} could not be drawn (see Figures)."
        )
    if comparison is not None:
        missing = [
            o
            for o in comparison.outcomes
            if o in comparison.runs and comparison.runs[o].isna().all()
        ]
        if missing:
            out.append("Missing outcomes in the compare table: " + ", ".join(missing) + ".")
    return out


# ---------------------------------------------------------------------------------------------
# The report


def resolve_reference(results, reference: str | None) -> str:
    """The given reference, else status_quo if the batch has it, else its first strategy."""
    ok = results.runs[results.runs["status"] == "ok"] if "status" in results.runs else results.runs
    strategies = list(dict.fromkeys(ok["strategy"]))
    if reference:
        return reference
    return "status_quo" if "status_quo" in strategies else strategies[0]


def build_report(
    results, reference: str | None = None, notify: Callable[[str], None] = print
) -> Doc:
    """Assemble the report; makes compare.csv and the figures first if missing or stale."""
    reference = resolve_reference(results, reference)
    comparison = compare(results, reference=reference)
    csv = results.path / "compare.csv"
    if _stale(csv, results):
        write_csv(comparison, csv)
        notify(f"wrote {csv}")
    figures = ensure_figures(results, reference, notify)
    exp = _experiment(results)
    scenario, note = _scenario(results)
    odd_link = os.path.relpath(ODD, results.path.resolve())
    name = results.manifest.get("experiment", {}).get("name", results.path.name)
    strategies = list(dict.fromkeys(comparison.table["strategy"]))

    doc = Doc()
    when = results.manifest.get("finished") or results.manifest.get("updated", "")
    doc.title(
        f"{name}: what the strategies buy",
        f"povsim batch report · batch of {when} · reference strategy `{reference}`",
    )
    for w in warnings_of(results, comparison, figures):
        doc.para(w, css="warning")
    section_question(doc, exp, scenario, strategies, comparison.horizon)
    section_setup(doc, results, exp, scenario, comparison.horizon)
    section_compare(doc, comparison)
    section_figures(doc, results, figures, reference, odd_link)
    section_sensitivity(doc, results)
    section_assumptions(doc, results, exp, scenario, note, odd_link)
    section_provenance(doc, results)
    return doc


def write_report(
    results, reference: str | None = None, notify: Callable[[str], None] = print
) -> tuple[Path, Path]:
    """Write RESULTS/report.html (self-contained) and RESULTS/report.md; returns their paths."""
    doc = build_report(results, reference, notify)
    name = results.manifest.get("experiment", {}).get("name", results.path.name)
    html_path, md_path = results.path / "report.html", results.path / "report.md"
    page, text = doc.render_html(f"{name} — povsim report"), doc.render_md()
    write_text_atomic(html_path, page)
    write_text_atomic(md_path, text)
    return html_path, md_path
