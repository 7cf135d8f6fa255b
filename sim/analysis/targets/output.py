"""What ``povsim targets`` prints and writes: the verdict text, the CSVs and the figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.targets.evaluation import Evaluation
from sim.analysis.targets.register import cost_lines
from sim.analysis.targets.spec import format_margin, format_value
from sim.analysis.targets.verdicts import VERDICTS
from sim.config.files import write_with


def thresholds_text(confidence: float) -> str:
    c = f"{confidence:.0%}" if round(confidence * 100) == confidence * 100 else f"{confidence:g}"
    return f"realistic: P(met) >= {c}; stretch: 50% <= P(met) < {c}; over-ambitious: P(met) < 50%"


def format_evaluation(ev: Evaluation, results_path: str = "") -> str:
    """The printed report: header with thresholds, one block per target, then the warnings."""
    c = ev.confidence
    cpct = f"{c:.0%}"
    f = ev.frame
    strategies = list(dict.fromkeys(f["strategy"])) if len(f) else []
    lines = [
        f"targets {ev.targets.path} on {results_path}: {ev.n_ok} of {ev.n_total} runs ok, "
        f"years 0..{ev.horizon}, {len(strategies)} strategies",
        f"verdicts   {thresholds_text(c)}",
        f"achievable the level met in >= {cpct} of runs (caps <=, <: the {cpct} quantile of the "
        f"run values; floors >=, >: the {1 - c:.0%} quantile), inverted CDF",
        "margin     target minus achievable for caps, achievable minus target for floors: "
        f"negative = the target asks more than is met at {cpct}",
        "P(met)     share of runs (uncertainty samples x seeds) meeting the target; "
        "[95% Wilson interval]",
        "layer      register targets read the register (exits, returns, registered households: "
        "officials' status), income targets the incomes against the line",
        *ev.plan_lines,
        "",
    ]
    header = ("strategy", "P(met)", "95% CI", "verdict", f"achievable@{cpct}", "margin")
    widths = [max(12, *(len(s) for s in strategies)) if strategies else 12, 7, 14, 15, 16, 14]
    for t in ev.targets.targets:
        sub = f[f["target"] == t.name]
        lines.append(f"{t.name}: {t.label}  [{t.layer} target]")
        if t.note:
            lines.append(f"  {t.note}")
        if sub.empty:
            lines.append("  (no runs of the strategies it applies to)")
            lines.append("")
            continue
        lines.append(
            "  "
            + "  ".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(header, widths, strict=True))
            )
        )
        for r in sub.itertuples(index=False):
            cells = (
                r.strategy,
                f"{r.probability:.0%}",
                f"[{r.ci_low:.0%}, {r.ci_high:.0%}]",
                r.verdict,
                format_value(r.achievable, r.unit),
                format_margin(r.margin, r.unit),
            )
            lines.append(
                "  "
                + "  ".join(
                    str(x).ljust(w) if i == 0 else str(x).rjust(w)
                    for i, (x, w) in enumerate(zip(cells, widths, strict=True))
                )
            )
        if (
            t.layer == "register"
            and sub["paper_exits_met"].notna().any() | sub["paper_exits_missed"].notna().any()
        ):
            lines += cost_lines(sub, t, ev.horizon, widths[0])
        lines.append("")
    counts = f["verdict"].value_counts() if len(f) else pd.Series(dtype=int)
    lines.append(
        "summary: "
        + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
        + f" (strategy x target pairs, confidence {cpct})"
    )
    if ev.issues:
        lines.append("")
        lines.append(f"plan consistency: {len(ev.issues)} warning(s)")
        for i in ev.issues:
            lines.append(f"  warning [{i.check}]: {i.message}")
    else:
        lines.append("plan consistency: no problems found")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Files


_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666"]


def plot_targets(ev: Evaluation, path: Path) -> None:
    """Probability per strategy × target with Wilson intervals; the verdict bands drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    f = ev.frame
    targets = [t for t in ev.targets.targets if (f["target"] == t.name).any()]
    strategies = list(dict.fromkeys(f["strategy"]))
    n_s = max(1, len(strategies))
    fig = Figure(figsize=(10, 1.6 + 0.17 * max(1, len(targets)) * (n_s + 1)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    c = ev.confidence
    for lo, hi, colour, text in (
        (0, 0.5, "#f4cccc", "over-ambitious"),
        (0.5, c, "#fff2cc", "stretch"),
        (c, 1, "#d9ead3", "realistic"),
    ):
        ax.axvspan(lo, hi, color=colour, alpha=0.6, lw=0)
        ax.text((lo + hi) / 2, -0.55, text, ha="center", va="bottom", fontsize=8, color="#444")
    ax.axvline(0.5, color="#999", lw=1, ls="--")
    ax.axvline(c, color="#555", lw=1, ls="--")
    for j, s in enumerate(strategies):
        sub = f[f["strategy"] == s].set_index("target")
        rows = [(i, sub.loc[t.name]) for i, t in enumerate(targets) if t.name in sub.index]
        if not rows:
            continue
        ax.errorbar(
            [r["probability"] for _, r in rows],
            [i + (j - (n_s - 1) / 2) * 0.8 / n_s for i, _ in rows],
            xerr=[
                [max(0.0, r["probability"] - r["ci_low"]) for _, r in rows],
                [max(0.0, r["ci_high"] - r["probability"]) for _, r in rows],
            ],
            fmt="o",
            color=_COLOURS[j % len(_COLOURS)],
            ms=5,
            capsize=2,
            label=s,
            clip_on=False,
        )
    ax.set_yticks(range(len(targets)))
    ax.set_yticklabels([f"{t.name}\n{t.label}" for t in targets], fontsize=7)
    for i in range(1, len(targets)):
        ax.axhline(i - 0.5, color="white", lw=1.5)
    ax.set_ylim(len(targets) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "probability that the target is met across uncertainty samples x seeds "
        "(dot; bar: 95% Wilson interval)",
        fontsize=8,
    )
    ax.set_title(
        f"Plan targets: realistic if P >= {c:.0%}, over-ambitious if P < 50%",
        fontsize=10,
        pad=16,
    )
    ax.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.035),
        ncol=n_s,
        fontsize=8,
        frameon=False,
        handletextpad=0.2,
    )
    import warnings

    with warnings.catch_warnings():  # a name in a script the font lacks: boxes, not noise
        warnings.filterwarnings("ignore", "Glyph .* missing", UserWarning)
        warnings.filterwarnings("ignore", "Tight layout not applied", UserWarning)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_with(path, lambda p: fig.savefig(p, dpi=120, format="png"))
