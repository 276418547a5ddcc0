"""Forest plot and PRISMA 2020 flow diagram (matplotlib, Agg backend; PNG, SVG or PDF).

Rendering only: both functions draw a result object computed elsewhere.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch, Polygon

from ruxtrack.errors import AnalysisError
from ruxtrack.evidence._prisma import PrismaFlow
from ruxtrack.evidence._results import MetaAnalysis, Pooled, StudyRow

FORMATS = (".png", ".svg", ".pdf")
_BLUE = "#1f4e79"
_GREY = "#555555"


def _check_target(path: str | Path) -> Path:
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise AnalysisError(f"{target}: plot format must be one of {', '.join(FORMATS)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def _ci_text(est: float, lo: float, hi: float) -> str:
    return f"{_pct(est)} [{_pct(lo)}, {_pct(hi)}]"


def _het_text(p: Pooled, method: str) -> str:
    parts = []
    if method != "FE":
        parts.append(f"τ² = {p.tau2:.3g}")
    if p.i2 is not None:
        parts.append(f"I² = {p.i2:.1f}%")
    if p.q is not None and p.q_df > 0:
        qp = "p < 0.001" if (p.q_p or 0) < 0.001 else f"p = {p.q_p:.3f}"
        parts.append(f"Q({p.q_df}) = {p.q:.2f}, {qp}")
    return "; ".join(parts)


def render_forest(result: MetaAnalysis, path: str | Path, *, title: str | None = None) -> Path:
    """Draw a forest plot of back-transformed proportions (in %) and save it.

    Squares are sized by weight (inverse-variance models), lines are the per-study CIs, diamonds
    the pooled estimates with their CIs, and the bar under a diamond the prediction interval.
    """
    target = _check_target(path)
    rows: list[tuple[str, object]] = []  # (kind, payload)
    if result.subgroups:
        for g, pooled in result.subgroups.items():
            rows.append(("header", g))
            rows.extend(("study", s) for s in result.studies if s.group == g)
            rows.append(("pooled", (f"Subtotal: {g}", pooled)))
            rows.append(("gap", None))
    else:
        rows.extend(("study", s) for s in result.studies)
        rows.append(("gap", None))
    rows.append(("pooled", ("Overall", result.pooled)))
    n = len(rows)
    height = 2.1 + 0.3 * (n + 2)
    fig = plt.figure(figsize=(11.5, height))
    top = 1 - 0.75 / height
    bottom = 1.25 / height
    ax_l = fig.add_axes((0.01, bottom, 0.36, top - bottom))
    ax = fig.add_axes((0.38, bottom, 0.33, top - bottom))
    ax_r = fig.add_axes((0.72, bottom, 0.27, top - bottom))
    for a in (ax_l, ax_r):
        a.set_xlim(0, 1)
        a.axis("off")
    for a in (ax_l, ax, ax_r):
        a.set_ylim(n + 0.2, -1.2)
    lo, hi = forest_axis_limits(result)
    ax.set_xlim(lo, hi)
    weights = [s.weight for s in result.studies if s.weight is not None]
    wmax = max(weights) if weights else 1.0
    show_w = bool(weights)
    # column headings
    ax_l.text(0.0, -0.8, "Study", fontweight="bold", va="center")
    ax_l.text(0.74, -0.8, "Events", fontweight="bold", va="center", ha="right")
    ax_l.text(0.97, -0.8, "Total", fontweight="bold", va="center", ha="right")
    ax_r.text(0.02, -0.8, "Proportion, % [95% CI]", fontweight="bold", va="center")
    if show_w:
        ax_r.text(0.98, -0.8, "Weight", fontweight="bold", va="center", ha="right")
    for y, (kind, payload) in enumerate(rows):
        if kind == "header":
            ax_l.text(0.0, y, str(payload), fontweight="bold", style="italic", va="center")
        elif kind == "study":
            assert isinstance(payload, StudyRow)
            s = payload
            shown = s.study if len(s.study) <= 34 else s.study[:33] + "…"
            ax_l.text(0.02, y, shown, va="center")
            ax_l.text(0.74, y, str(s.events), va="center", ha="right")
            ax_l.text(0.97, y, str(s.total), va="center", ha="right")
            ax.plot([s.ci_low, s.ci_high], [y, y], color=_GREY, lw=1.1, zorder=2)
            size = 4 + 10 * ((s.weight or wmax) / wmax) ** 0.5
            ax.plot(
                s.proportion,
                y,
                marker="s",
                ms=size,
                color=_BLUE,
                zorder=3,
                mec="none",
                clip_on=False,
            )
            ax_r.text(0.02, y, _ci_text(s.proportion, s.ci_low, s.ci_high), va="center")
            if s.weight is not None:
                ax_r.text(0.98, y, f"{s.weight:.1f}%", va="center", ha="right")
        elif kind == "pooled":
            assert isinstance(payload, tuple)
            name: str = payload[0]
            p: Pooled = payload[1]
            bold = name == "Overall"
            ax_l.text(
                0.0 if bold else 0.02,
                y,
                f"{name} (k = {p.k})",
                fontweight="bold" if bold else "normal",
                va="center",
            )
            ax.add_patch(
                Polygon(
                    [(p.ci_low, y), (p.estimate, y - 0.32), (p.ci_high, y), (p.estimate, y + 0.32)],
                    closed=True,
                    color="#b22222" if bold else "#d9822b",
                    zorder=4,
                )
            )
            if p.pi_low is not None and p.pi_high is not None and p.k > 1 and result.method != "FE":
                ax.plot(
                    [p.pi_low, p.pi_high],
                    [y + 0.45, y + 0.45],
                    color="#b22222",
                    lw=2.2,
                    solid_capstyle="butt",
                    alpha=0.55,
                    zorder=3,
                )
            ax_r.text(
                0.02,
                y,
                _ci_text(p.estimate, p.ci_low, p.ci_high),
                fontweight="bold" if bold else "normal",
                va="center",
            )
            if show_w and bold:
                ax_r.text(0.98, y, "100%", va="center", ha="right", fontweight="bold")
            het = _het_text(p, result.method)
            if het:
                ax_l.text(0.04, y + 0.55, het, va="center", fontsize=7.5, color=_GREY)
    ax.axvline(result.pooled.estimate, color="#b22222", lw=0.8, ls="--", zorder=1)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:g}"))
    ax.set_xlabel("Proportion (%)")
    m = result.methods
    foot = [
        f"{m.model[:1].upper()}{m.model[1:]}; {m.transform}; CI: {m.ci}; "
        f"back-transform: {m.back_transform}."
    ]
    foot.append(f"Per-study CI: {m.study_ci}. Bar under a diamond: prediction interval.")
    if "separate" in result.between_test:
        b = result.between_test["separate"]
        pb = "p < 0.001" if b.p < 0.001 else f"p = {b.p:.3f}"
        foot.append(f"Test for subgroup differences: Q = {b.statistic:.2f}, df = {b.df}, {pb}.")
    fig.text(
        0.01,
        0.12 / height,
        "\n".join(textwrap.fill(t, 170) for t in foot),
        fontsize=7.5,
        color=_GREY,
        va="bottom",
    )
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", y=1 - 0.2 / height)
    fig.savefig(target, dpi=150)
    plt.close(fig)
    return target


def _n(v: int | None) -> str:
    return "not reported" if v is None else str(v)


def _box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    *,
    fill: str = "white",
    bold: bool = False,
    width_chars: int = 44,
) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0.0,rounding_size=0.8", fc=fill, ec="#333333", lw=1.0
        )
    )
    lines = []
    for para in text.split("\n"):
        lines.extend(textwrap.wrap(para, width_chars, subsequent_indent="  ") or [""])
    ax.text(
        x + 1.5,
        y + h / 2,
        "\n".join(lines),
        va="center",
        ha="left",
        fontsize=8.5,
        fontweight="bold" if bold else "normal",
    )


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 1.0},
    )


def render_prisma(flow: PrismaFlow, path: str | Path) -> Path:
    """Draw the PRISMA 2020 flow diagram (new review, databases and registers) and save it."""
    target = _check_target(path)
    fig, ax = plt.subplots(figsize=(10, 11))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 112)
    ax.axis("off")
    ax.text(50, 110, flow.title, ha="center", va="center", fontsize=11, fontweight="bold")
    # phase bands
    for y0, y1, label in ((84, 106, "Identification"), (22, 82, "Screening"), (2, 20, "Included")):
        ax.add_patch(
            FancyBboxPatch(
                (1, y0), 5, y1 - y0, boxstyle="round,pad=0,rounding_size=1", fc="#9dc3e6", ec="none"
            )
        )
        ax.text(
            3.5,
            (y0 + y1) / 2,
            label,
            rotation=90,
            ha="center",
            va="center",
            fontweight="bold",
            fontsize=9,
        )
    lx, lw_, rx, rw = 9, 42, 56, 42
    ident = "\n".join(f"{db} (n = {_n(v)})" for db, v in flow.identified.items())
    _box(ax, lx, 86, lw_, 18, f"Records identified from:\n{ident}", width_chars=46)
    removed = (
        "Records removed before screening:\n"
        f"Duplicate records removed (n = {_n(flow.duplicates_removed)})\n"
        f"Records marked as ineligible by automation tools (n = {_n(flow.automation_removed)})\n"
        f"Records removed for other reasons (n = {_n(flow.other_removed)})"
    )
    _box(ax, rx, 86, rw, 18, removed, width_chars=50)
    _arrow(ax, lx + lw_, 95, rx, 95)
    ys = {"screened": 70, "sought": 52, "assessed": 32}
    h = 10
    _box(ax, lx, ys["screened"], lw_, h, f"Records screened\n(n = {_n(flow.screened)})")
    _box(ax, lx, ys["sought"], lw_, h, f"Reports sought for retrieval\n(n = {_n(flow.sought)})")
    _box(
        ax,
        lx,
        ys["assessed"],
        lw_,
        h,
        f"Reports assessed for eligibility\n(n = {_n(flow.assessed)})",
    )
    _arrow(ax, lx + lw_ / 2, 86, lx + lw_ / 2, ys["screened"] + h)
    _arrow(ax, lx + lw_ / 2, ys["screened"], lx + lw_ / 2, ys["sought"] + h)
    _arrow(ax, lx + lw_ / 2, ys["sought"], lx + lw_ / 2, ys["assessed"] + h)
    _arrow(ax, lx + lw_ / 2, ys["assessed"], lx + lw_ / 2, 4 + 14)
    inc = (
        f"Studies included in review\n(n = {_n(flow.studies_included)})\n"
        f"Reports of included studies\n(n = {_n(flow.reports_included)})"
    )
    _box(ax, lx, 4, lw_, 14, inc, fill="#e2efda", bold=False)
    if flow.unstaged_exclusions is not None:
        u = flow.unstaged_exclusions
        reasons = "\n".join(f"{r} (n = {_n(v)})" for r, v in u.reasons.items())
        text = f"Records excluded, stage not reported\n(n = {_n(u.n)}):\n{reasons}"
        _box(ax, rx, ys["assessed"], rw, ys["screened"] + h - ys["assessed"], text, width_chars=50)
        for key in ys:
            _arrow(ax, lx + lw_, ys[key] + h / 2, rx, ys[key] + h / 2)
    else:
        _box(ax, rx, ys["screened"], rw, h, f"Records excluded\n(n = {_n(flow.screen_excluded)})")
        _box(ax, rx, ys["sought"], rw, h, f"Reports not retrieved\n(n = {_n(flow.not_retrieved)})")
        reasons = "\n".join(f"{r} (n = {_n(v)})" for r, v in flow.fulltext_reasons.items())
        rh = max(h, 4 + 2.2 * (len(flow.fulltext_reasons) + 1))
        _box(
            ax,
            rx,
            ys["assessed"] + h - rh,
            rw,
            rh,
            f"Reports excluded (n = {_n(flow.fulltext_excluded)}):\n{reasons}",
            width_chars=50,
        )
        for key in ys:
            _arrow(ax, lx + lw_, ys[key] + h / 2, rx, ys[key] + h / 2)
    ax.text(
        1,
        0.3,
        "Layout: PRISMA 2020 flow diagram for new systematic reviews (Page et al., "
        "BMJ 2021;372:n71).",
        fontsize=7,
        color=_GREY,
    )
    fig.savefig(target, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return target


def forest_axis_limits(result: MetaAnalysis) -> tuple[float, float]:
    """Proportion-axis limits spanning every interval a forest plot draws.

    Studies, subgroup subtotals and the overall estimate, with their prediction intervals, so
    no diamond or bar is cut at the axis edge; padded by 0.05 within [0, 1].
    """
    lows = [s.ci_low for s in result.studies]
    highs = [s.ci_high for s in result.studies]
    for pooled in [result.pooled, *(result.subgroups or {}).values()]:
        lows.append(pooled.ci_low)
        highs.append(pooled.ci_high)
        if pooled.pi_low is not None and pooled.pi_high is not None:
            lows.append(pooled.pi_low)
            highs.append(pooled.pi_high)
    return max(0.0, min(lows) - 0.05), min(1.0, max(highs) + 0.05)
