"""Figures as PNG and SVG (matplotlib, Agg backend; no display, no network).

* :func:`plot_course` — one patient's course in the style of Tomomasa 2021 Figure 2: drug swimlanes
  with doses, a respiratory-support band with FiO2, marker panels, days from a chosen anchor;
* :func:`plot_trajectories` — markers over the study's time points, each patient and the median;
* :func:`plot_swimmer` — respiratory support per patient from the index, with discharge and death;
* :func:`plot_cumulative_incidence` — Aalen–Johansen curves from an analysis result;
* :func:`plot_criteria_timeline` — criteria status / CTCAE grades over days.

Large cohorts: the swimmer and trajectories figures draw at most the figure's
``patients_drawn()`` patients one by one, a seeded random sample (:func:`sample_patients`, the
study's ``sample_seed``) named in the figure's subtitle; the summaries they show (medians, n per
time point, group sizes) always use every patient. Cohorts within the limit are drawn whole.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ruxtrack.cohort import AnalysisResult, FigureSpec, Study, TrajectoryData, sample_patients
from ruxtrack.timeline import KNOWN_EVENTS, SupportMode

__all__ = [
    "SUPPORT_COLOURS",
    "plot_course",
    "plot_criteria_timeline",
    "plot_cumulative_incidence",
    "plot_swimmer",
    "plot_trajectories",
    "sample_patients",
    "save_figure",
]

#: Least to most intensive support: low flow in greens, high flow in oranges, invasive in reds
#: (light to dark, so the order also reads in grey scale).
SUPPORT_COLOURS: dict[str, str] = {
    SupportMode.room_air.value: "#f0f0f0",
    SupportMode.nasal_cannula.value: "#c7e9c0",
    SupportMode.face_mask.value: "#74c476",
    SupportMode.hfnc.value: "#fd8d3c",
    SupportMode.niv.value: "#e6550d",
    SupportMode.imv.value: "#a50f15",
    SupportMode.ecmo.value: "#67000d",
}
SUPPORT_LABELS: dict[str, str] = {
    "room_air": "Room air",
    "nasal_cannula": "Nasal cannula",
    "face_mask": "Face mask",
    "hfnc": "HFNC",
    "niv": "NIV",
    "imv": "IMV",
    "ecmo": "ECMO",
}
GROUP_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
_RC: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "ruxtrack",
    "figure.dpi": 100,
}


_PLAIN = matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}")


def _log_axis(ax: Any) -> None:
    """Log y axis labelled in plain numbers at 1, 2 and 5 × 10^k; a narrow range (under about
    one decade) gets more labelled ticks, so an axis never shows only one or two numbers.
    Call after plotting (the ticks follow the data limits)."""
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    subs: tuple[float, ...] = (1.0, 2.0, 5.0)
    if lo > 0 and hi / lo < 12:
        subs = (
            (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0) if hi / lo < 4 else (1, 2, 3, 5, 7)
        )
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(_PLAIN)
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _unit(study: Study, code: str) -> str:
    try:
        m = study.marker(code)
    except KeyError:
        return ""
    return m.display_unit or m.unit


def _note(fig: Figure, lines: Sequence[str], height_in: float) -> float:
    """Notes under a figure, in words; returns the fraction of the height they take."""
    if not lines:
        return 0.0
    fig.text(0.01, 0.005, "\n".join(lines), ha="left", va="bottom", fontsize=7, color="#444")
    return (0.16 * len(lines) + 0.1) / height_in


def save_figure(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``name.png`` (200 dpi) and ``name.svg``; close the figure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, dpi=200, bbox_inches="tight", metadata={"Software": "ruxtrack"})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return [png, svg]


def _marker_name(study: Study, code: str) -> str:
    try:
        return study.marker(code).label
    except KeyError:
        return code


def _index_label(study: Study) -> str:
    name = study.index.partition("#")[0]
    return KNOWN_EVENTS.get(name, name.replace("_", " ")).capitalize()


def plot_trajectories(data: TrajectoryData, study: Study, spec: FigureSpec) -> Figure:
    """Each drawn patient's marker values at the time points (thin lines) and the median (bold).

    ``data`` comes from :func:`ruxtrack.cohort.trajectory_data`: above
    ``spec.patients_drawn()`` patients the thin lines are a seeded random sample (named in the
    subtitle); the medians and the n under each time point count every patient.
    """
    markers, tps = list(data.markers), list(data.time_points)
    left_out = [_marker_name(study, m) for m in data.left_out]
    ncol = min(3, len(markers))
    nrow = int(np.ceil(len(markers) / ncol))
    groups = [] if study.groups is None else [lv.value for lv in study.groups.levels]
    colours = {g: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(groups)}
    sample_note = data.sample_note
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.5 * nrow), squeeze=False)
        x = np.arange(len(tps))
        for ax, code in zip(axes.flat, markers, strict=False):
            m = study.marker(code)
            vals = data.lines[[f"{code}__{tp}" for tp in tps]].to_numpy(float) * m.display_factor
            for row, g in zip(vals, data.lines["group"], strict=True):
                ax.plot(
                    x,
                    row,
                    color=colours.get(str(g), "#999999"),
                    alpha=0.45,
                    lw=0.8,
                    marker="o",
                    ms=2.5,
                )
            med = np.asarray(data.medians[code], float) * m.display_factor
            ax.plot(x, med, color="black", lw=2.4, marker="s", ms=5, label="Median", zorder=5)
            if m.normal is not None and m.normal.high is not None:
                uln = m.normal.high * m.display_factor
                ax.axhline(uln, color="#b22222", ls="--", lw=1)
                # outside the plotting area, right of the axis: never on the line cloud
                ax.annotate(
                    f"ULN\n{uln:,.4g}",
                    xy=(1.0, uln),
                    xycoords=("axes fraction", "data"),
                    xytext=(3, 0),
                    textcoords="offset points",
                    ha="left",
                    va="center",
                    fontsize=7,
                    color="#b22222",
                    annotation_clip=False,
                )
            unit = m.display_unit or m.unit
            if spec.log_scale and data.positive[code]:
                _log_axis(ax)
                ax.set_ylabel(f"{unit} (log scale)")
            else:
                ax.set_ylabel(unit)
            n = data.n[code]
            ax.set_xticks(
                x,
                [
                    f"{textwrap.fill(study.time_point(tp).label, 10)}\nn = {k:,}"
                    for tp, k in zip(tps, n, strict=True)
                ],
            )
            ax.set_xlim(-0.3, len(tps) - 0.7)
            ax.set_title(m.label)
            ax.grid(axis="y", color="#eeeeee", lw=0.6)
        for ax in list(axes.flat)[len(markers) :]:
            ax.set_visible(False)
        handles: list[Any] = [Line2D([], [], color="black", lw=2.4, marker="s", label="Median")]
        if any(study.marker(c).normal is not None for c in markers):
            handles.append(
                Line2D([], [], color="#b22222", ls="--", lw=1, label="ULN (upper limit of normal)")
            )
        if study.groups is not None:
            handles += [
                Line2D([], [], color=colours[lv.value], lw=1, label=lv.label)
                for lv in study.groups.levels
            ]
        notes = [
            "Thin lines: one patient each, coloured by group; bold: median of the patients "
            "with a value; n under each time point."
        ]
        if left_out:
            notes.append("Not shown (no values recorded): " + ", ".join(left_out) + ".")
        bottom = _note(fig, notes, 3.3 * nrow)
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=min(4, len(handles)),
            bbox_to_anchor=(0.5, bottom),
            frameon=False,
        )
        if sample_note is None:
            fig.suptitle(spec.title, fontsize=11)
            fig.tight_layout(rect=(0, bottom + 0.06, 1, 0.97))
        else:
            fig.suptitle(
                f"{spec.title}\nthin lines: {sample_note}; median and n: all "
                f"{data.n_patients:,} patients",
                fontsize=11,
            )
            fig.tight_layout(rect=(0, bottom + 0.06, 1, 0.95))
    return fig


#: Swimmer marks: key -> (marker, legend text)
_SWIMMER_MARKS: dict[str, tuple[str, str]] = {
    "ongoing": (">", "no end recorded: running at the last known day (data cut)"),
    "clipped_left": ("<", "began before the left edge of the axis"),
    "clipped_right": ("|>", "goes on past the right edge of the axis"),
}


def _mark_style(sym: str) -> dict[str, Any]:
    if sym == ">":  # open: unknown or ongoing
        return {"marker": ">", "ms": 6, "mfc": "white", "mec": "#333", "mew": 1.0}
    if sym == "<":
        return {"marker": "<", "ms": 6, "mfc": "#333", "mec": "#333"}
    return {"marker": ">", "ms": 6, "mfc": "#333", "mec": "#333"}


def _support_bar(ax: Any, y: float, s: float, e: float, mode: str, *, height: float) -> None:
    """One respiratory-support episode as a bar in the colour of its mode."""
    ax.barh(
        y, e - s, left=s, height=height, color=SUPPORT_COLOURS.get(mode, "#ccc"),
        edgecolor="white", lw=0.4,
    )  # fmt: skip


def _episode_end(r: pd.Series, stop: float) -> float:
    """Where a support bar ends: its end (a whole day more when recorded as a date) or, when
    ongoing, the patient's last known day."""
    if pd.isna(r["end_day"]):
        return stop
    return float(r["end_day"]) + (1.0 if bool(r.get("end_is_date", False)) else 0.0)


def plot_swimmer(
    support: pd.DataFrame,
    events: pd.DataFrame,
    frame: pd.DataFrame,
    study: Study,
    spec: FigureSpec,
) -> Figure:
    """Respiratory support per patient (days from the index's calendar day), with discharge
    and death, patients ordered by group, then death, then discharge.

    ``support`` and ``events`` come from :func:`ruxtrack.cohort.support_days` and
    :func:`ruxtrack.cohort.event_days` (the same day axis); ``frame`` gives the groups. Above
    ``spec.patients_drawn()`` patients a seeded random sample is drawn (named in the subtitle);
    the group sizes printed beside the lanes count every patient.
    """
    level_order = [] if study.groups is None else [lv.value for lv in study.groups.levels]
    group_labels = (
        {} if study.groups is None else {lv.value: lv.label for lv in study.groups.levels}
    )
    drawn_ids, sample_note = sample_patients(
        frame["patient_id"], spec.patients_drawn(), study.sample_seed
    )
    frame = frame.assign(group=frame["group"].astype(object).where(frame["group"].notna(), ""))
    group_total = frame["group"].value_counts(dropna=False)
    if sample_note is not None:
        keep = set(drawn_ids)
        frame = frame[frame["patient_id"].astype(str).isin(keep)]
        support = support[support["patient_id"].astype(str).isin(keep)]
        events = events[events["patient_id"].astype(str).isin(keep)]
    ev = events.pivot_table(index="patient_id", columns="event", values="day", aggfunc="min")
    info = frame[["patient_id", "group"]].set_index("patient_id")
    for col in ("death", "discharge", "last_followup"):
        info[col] = ev[col] if col in ev.columns else np.nan
    info["rank"] = [
        level_order.index(g) if g in level_order else len(level_order) for g in info["group"]
    ]
    info = info.sort_values(["rank", "death", "discharge"], na_position="last")
    pids = [str(p) for p in info.index]
    day_of: dict[str, dict[str, float]] = {
        col: {str(p): float(v) for p, v in info[col].items() if pd.notna(v)}
        for col in ("death", "discharge", "last_followup")
    }
    lo, hi = spec.days if spec.days is not None else (-14.0, float(study.extract.follow_up_days))
    marks: dict[str, list[tuple[float, float]]] = {k: [] for k in _SWIMMER_MARKS}
    height = 0.32 * len(pids) + 2.4
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(9.0, height))
        for y, pid in enumerate(pids):
            known = [
                day_of[c][pid] for c in ("death", "discharge", "last_followup") if pid in day_of[c]
            ]
            stop = min(known, default=hi)
            for _, r in support[support["patient_id"] == pid].iterrows():
                start, end = float(r["start_day"]), _episode_end(r, stop)
                s, e = max(start, lo), min(end, hi)
                if e <= s:
                    continue
                _support_bar(ax, y, s, e, str(r["mode"]), height=0.7)
                if start < lo:
                    marks["clipped_left"].append((lo, y))
                if end > hi:
                    marks["clipped_right"].append((hi, y))
                elif pd.isna(r["end_day"]):
                    marks["ongoing"].append((e, y))
            for col, marker, colour in (("discharge", "^", "#2171b5"), ("death", "X", "black")):
                day = day_of[col].get(pid)
                if day is not None and lo <= day <= hi:
                    ax.plot(
                        day,
                        y,
                        marker=marker,
                        color=colour,
                        markeredgecolor="white",
                        markeredgewidth=0.6,
                        ms=8,
                        ls="none",
                        zorder=5,
                    )
        for key, (sym, _label) in _SWIMMER_MARKS.items():
            if marks[key]:
                xs, ys = zip(*marks[key], strict=True)
                ax.plot(xs, ys, ls="none", zorder=6, **_mark_style(sym))
        ax.set_yticks(range(len(pids)), pids)
        ax.set_ylim(len(pids) - 0.5, -0.5)
        ax.axvline(0, color="#444", lw=1)
        ax.set_xlim(lo, hi)
        ax.set_xlabel(
            f"Days from {spec.anchor_label or 'ruxolitinib start'} (day 0 = day of the first dose)"
        )
        ax.set_ylabel("Patient")
        ax.grid(axis="x", color="#eeeeee", lw=0.6)
        ax.set_axisbelow(True)
        prev: object = None
        for y, pid in enumerate(pids):
            g = info["group"].get(pid)
            if g != prev and g != "":
                if y:
                    ax.axhline(y - 0.5, color="#666", lw=0.8, ls="--")
                n_group = int((info["group"] == g).sum())
                text = f"{group_labels.get(str(g), str(g))} (n = {n_group})"
                if sample_note is not None:
                    text = (
                        f"{group_labels.get(str(g), str(g))} "
                        f"(n = {int(group_total.get(g, 0)):,}; {n_group} shown)"
                    )
                ax.annotate(
                    text,
                    xy=(1.01, y - 0.45),
                    xycoords=("axes fraction", "data"),
                    fontsize=8,
                    fontweight="bold",
                    va="top",
                    ha="left",
                    color="#333",
                    wrap=True,
                )
                prev = g
        used = [m for m in SUPPORT_COLOURS if (support["mode"] == m).any()]
        handles: list[Any] = [
            Patch(facecolor=SUPPORT_COLOURS[m], edgecolor="#999", label=SUPPORT_LABELS[m])
            for m in used
        ]
        handles += [
            Line2D([], [], marker="^", color="#2171b5", ls="none", ms=8, label="Discharge"),
            Line2D([], [], marker="X", color="black", ls="none", ms=8, label="Death"),
        ]
        handles += [
            Line2D([], [], ls="none", label=label, **_mark_style(sym))
            for key, (sym, label) in _SWIMMER_MARKS.items()
            if marks[key]
        ]
        notes = [
            "Bars: the respiratory support recorded each day; a bar that goes on after the "
            "discharge mark is oxygen at home."
        ]
        if marks["ongoing"]:
            notes.append(
                "Open triangle: no end recorded; the bar runs to the patient's last known day "
                "(discharge, death or last follow-up, the data cut)."
            )
        bottom = _note(fig, notes, height)
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=min(5, len(handles)),
            frameon=False,
            bbox_to_anchor=(0.5, bottom),
        )
        ax.set_title(
            spec.title if sample_note is None else f"{spec.title}\n{sample_note}", loc="left"
        )
        rows = int(np.ceil(len(handles) / 5))
        fig.tight_layout(rect=(0, bottom + (0.3 * rows + 0.1) / height, 0.78, 1))
    return fig


def plot_cumulative_incidence(result: AnalysisResult, spec: FigureSpec) -> Figure:
    """Step curves of cumulative incidence per cause (and group) with pointwise 95 % CIs.

    ``result.values`` is the ``to_dict()`` of a :class:`ruxtrack.stats.CumulativeIncidenceResult`
    (curves with ``cause``, ``group``, ``time``, ``estimate``, ``ci_low``, ``ci_high``, event
    counts) plus ``horizon_days``; every curve starts at 0 at day 0 and runs to the horizon.
    """
    curves: Sequence[Mapping[str, Any]] = result.values.get("curves", [])
    horizon = float(result.values.get("horizon_days") or 0.0)
    causes = list(dict.fromkeys(str(c["cause"]) for c in curves))
    groups = list(dict.fromkeys(c.get("group") for c in curves))
    colours = ("#1b9e77", "#000000", "#7570b3", "#d95f02")
    styles = ("-", "--", ":", "-.")
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(8.6, 4.4))
        end = max([horizon, *[max(c["time"], default=0.0) for c in curves]])
        for c in curves:
            i, j = causes.index(str(c["cause"])), groups.index(c.get("group"))
            colour, ls = colours[i % len(colours)], styles[j % len(styles)]
            t = np.asarray([0.0, *c["time"], end], float)
            est = np.asarray([0.0, *c["estimate"], (c["estimate"] or [0.0])[-1]], float)
            label = (
                f"{str(c['cause']).replace('_', ' ').capitalize()} ({c['n_events']} of {c['n']})"
            )
            if c.get("group") is not None:
                glabels = result.values.get("group_labels") or {}
                label = f"{glabels.get(str(c['group']), c['group'])}: {label}"
            ax.step(t, est, where="post", color=colour, ls=ls, lw=2, label=label)
            lo = [np.nan if v is None else v for v in c["ci_low"]]
            hi = [np.nan if v is None else v for v in c["ci_high"]]
            if lo:
                ax.fill_between(
                    t,
                    np.asarray([0.0, *lo, lo[-1]], float),
                    np.asarray([0.0, *hi, hi[-1]], float),
                    step="post",
                    color=colour,
                    alpha=0.12,
                    lw=0,
                )
        ax.set_ylim(0, 1)
        ax.set_xlim(0, end)
        ax.set_xlabel(f"Days from {spec.anchor_label or 'ruxolitinib start'}")
        ax.set_ylabel("Cumulative incidence")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.grid(color="#eeeeee", lw=0.6)
        # beside the axes, so that it never covers a curve or its confidence band
        ax.legend(
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            title="event (events of n)",
            alignment="left",
        )
        ax.set_title(spec.title, loc="left")
        tests = "".join(
            f"\nGray's test, {str(t['cause']).replace('_', ' ')}: chi-squared "
            f"{t['statistic']:.3g} on {t['df']} df, p = {t['p_value']:.3g}."
            if isinstance(t.get("statistic"), float) and isinstance(t.get("p_value"), float)
            else f"\nGray's test, {str(t['cause']).replace('_', ' ')}: {t.get('note')}."
            for t in result.values.get("tests") or []
        )
        fig.text(
            0.01,
            0.01,
            f"n = {result.n}; shaded: pointwise 95% CI (log(-log)); censored at the last "
            f"follow-up or day {horizon:g}.\nAalen-Johansen estimate, cmprsk variance.{tests}",
            ha="left",
            va="bottom",
            fontsize=7,
            color="#555",
        )
        fig.tight_layout(rect=(0, 0.07 + 0.035 * tests.count("\n"), 1, 1))
    return fig


def _dose_text(row: pd.Series) -> str:
    dose = float(row["dose"])
    text = f"{dose:g} {row['unit']}"
    freq = str(row.get("frequency") or "")
    return f"{text} {freq}".strip()


def _unit_panels(panels: Sequence[tuple[str, ...]], study: Study) -> list[tuple[str, ...]]:
    """Split each panel so that one axis carries one unit (CRP in mg/dL and ferritin in ng/mL
    never share an axis); panels keep their order, markers theirs."""
    out: list[tuple[str, ...]] = []
    for panel in panels:
        by_unit: dict[str, list[str]] = {}
        for code in panel:
            by_unit.setdefault(_unit(study, code), []).append(code)
        out += [tuple(codes) for codes in by_unit.values()]
    return out


def _course_range(
    spec: FigureSpec, drugs: pd.DataFrame, support: pd.DataFrame, obs: pd.DataFrame
) -> tuple[float, float]:
    """The x-range: the figure's days widened to the start of anything drawn that reaches into
    them (an oxygen episode from day 9 in a figure from day 16), or the data's own range."""
    starts = pd.concat([drugs["start_day"], support["start_day"], obs["day"]]).dropna()
    ends = pd.concat(
        [
            drugs["end_day"].fillna(drugs["start_day"]),
            support["end_day"].fillna(support["start_day"]),
            obs["day"],
        ]
    ).dropna()
    if spec.days is None:
        if not len(starts):
            return 0.0, 30.0
        return float(starts.min()) - 1, float(ends.max()) + 2
    lo, hi = float(spec.days[0]), float(spec.days[1])
    both = pd.concat(
        [
            drugs[["start_day", "end_day"]].rename(columns={"start_day": "s", "end_day": "e"}),
            support[["start_day", "end_day"]].rename(columns={"start_day": "s", "end_day": "e"}),
        ]
    )
    reaching = both[(both["s"] < lo) & (both["e"].fillna(both["s"]) >= lo)]
    if len(reaching):
        lo = min(lo, float(np.floor(reaching["s"].min())) - 1)
    return lo, hi


def _bar_labels(ax: Any, items: list[tuple[float, float, str, float]], span: float) -> None:
    """Dose labels in a lane: inside a bar when it fits, else right of it when there is room
    before the next bar, else above it, staggered so that no two labels overlap."""
    char = span / 150  # about one character of 7 pt text on a 9-inch axis
    last_end = -np.inf
    for i, (s, e, text, y) in enumerate(items):
        width = len(text) * char
        nxt = items[i + 1][0] if i + 1 < len(items) else np.inf
        if e - s >= width + 2 * char:
            ax.text(s + char, y, text, va="center", ha="left", fontsize=7, clip_on=True)
            continue
        if nxt - e >= width + 2 * char:
            ax.text(e + char / 2, y, text, va="center", ha="left", fontsize=6.5, color="#3f007d")
            continue
        x = max(s, last_end + char)
        ax.text(x, y - 0.36, text, va="bottom", ha="left", fontsize=6.5, color="#3f007d")
        last_end = x + width


def _drug_lane(
    ax: Any,
    rows: pd.DataFrame,
    y: float,
    lo: float,
    hi: float,
    unknown: list[str],
    past: list[str],
) -> None:
    """One drug's exposures; an exposure without a recorded end fades out (its end is
    unknown, not ongoing) and is listed in ``unknown``; a bar past the axis gets an arrow and
    is listed in ``past``."""
    fade = 0.06 * (hi - lo)
    labels: list[tuple[float, float, str, float]] = []
    for _, r in rows.sort_values("start_day").iterrows():
        s = float(r["start_day"])
        known = pd.notna(r["end_day"])
        e = float(r["end_day"]) + 1.0 if known else s + 1.0
        s_c, e_c = max(s, lo), min(e, hi)
        if known and e_c > s_c:
            ax.barh(
                y, e_c - s_c, left=s_c, height=0.6, color="#bcbddc", edgecolor="#756bb1", lw=0.6
            )
        if not known and s < hi:
            steps = 12
            for k in range(steps):  # fades from the real start; only what is in view is drawn
                x0, x1 = s + k * fade / steps, s + (k + 1) * fade / steps
                x0, x1 = max(x0, lo), min(x1, hi)
                if x1 <= x0:
                    continue
                ax.barh(y, x1 - x0, left=x0, height=0.6, color="#bcbddc", alpha=1 - k / steps, lw=0)
            unknown.append(f"{str(r['drug']).replace('_', ' ')} {_dose_text(r)} from day {s:g}")
            e_c = min(s + fade, hi)
            if e_c > s_c:
                labels.append((s_c, e_c, f"{_dose_text(r)}, end not recorded", y))
            continue
        if known and e > hi and s < hi:
            ax.plot(hi, y, marker=">", ms=6, color="#756bb1", clip_on=False, zorder=5)
            past.append(f"{str(r['drug']).replace('_', ' ')} {_dose_text(r)} to day {e - 1:g}")
        if e_c > s_c:
            labels.append((s_c, e_c, _dose_text(r), y))
    _bar_labels(ax, labels, hi - lo)


def plot_course(
    data: Mapping[str, pd.DataFrame],
    study: Study,
    spec: FigureSpec,
    patient_id: str,
    anchor_label: str,
    *,
    title: str | None = None,
) -> Figure:
    """One patient's course (drugs with doses, respiratory support with FiO2, marker panels).

    ``data`` holds the patient's ``drugs`` (``drug``, ``dose``, ``unit``, ``frequency``,
    ``start_day``, ``end_day``), ``support`` (``mode``, ``fio2``, ``start_day``, ``end_day``) and
    ``observations`` (``code``, ``value``, ``day``), days counted from the figure's anchor.

    What the figure states: a drug without a recorded end fades out with a "?" (its end is
    unknown) and is named in the notes; a bar that runs past the axis ends in an arrow; each
    marker axis carries one unit and says when it is logarithmic; panels without values are
    left out and named in the notes; the x-range reaches back to the start of anything that
    runs into the figure's days. ``title`` defaults to the figure's title.
    """
    drugs = data["drugs"]
    support = data["support"]
    obs = data["observations"]
    drug_names = [d for d in spec.drugs if (drugs["drug"] == d).any()] or sorted(
        drugs["drug"].unique()
    )
    drugs = drugs[drugs["drug"].isin(drug_names)]
    requested = _unit_panels([tuple(p) for p in spec.panels] or [tuple(spec.markers)], study)
    panels = [p for p in requested if obs["code"].isin(p).any()]
    left_out = [_marker_name(study, c) for p in requested if p not in panels for c in p]
    lo, hi = _course_range(spec, drugs, support, obs)
    heights = [max(1.0, 0.5 * len(drug_names)), 0.7] + [1.8] * len(panels)
    unknown: list[str] = []
    past: list[str] = []
    notes: list[str] = []
    fig_h = sum(heights) + 1.9
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, grid = plt.subplots(
            len(heights),
            1,
            figsize=(9, fig_h),
            sharex=True,
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
        )
        axes: list[Any] = list(grid[:, 0])
        ax_d, ax_s = axes[0], axes[1]
        for y, name in enumerate(drug_names):
            _drug_lane(ax_d, drugs[drugs["drug"] == name], y, lo, hi, unknown, past)
        ax_d.set_yticks(range(len(drug_names)), [n.replace("_", " ") for n in drug_names])
        ax_d.set_ylim(len(drug_names) - 0.4, -0.7)
        ax_d.set_title(title or spec.title, pad=16)
        _support_lane(ax_s, support, lo, hi, unknown, past)
        markers_colours = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
        for ax, panel in zip(axes[2:], panels, strict=True):
            _marker_panel(ax, obs, panel, study, spec, markers_colours)
        for ax in axes:
            ax.axvline(0, color="#444", lw=0.8, ls="--")
        _event_lines(axes, data.get("events"), study, spec, lo, hi)
        axes[-1].set_xlim(lo, hi)
        zero = " (day 0, dashed line)" if lo <= 0 <= hi else ""
        axes[-1].set_xlabel(f"Days from {anchor_label}{zero}")
        if unknown:
            notes.append(
                "Faded bar: end not recorded (from that day; when it stopped is unknown): "
                + "; ".join(unknown)
                + "."
            )
        if past:
            notes.append("Arrow: goes on past the axis: " + "; ".join(past) + ".")
        if left_out:
            notes.append("Not shown (no values recorded): " + ", ".join(left_out) + ".")
        if spec.days is not None and lo < spec.days[0]:
            notes.append(
                f"The axis reaches back to day {lo + 1:g}, before the figure's day "
                f"{spec.days[0]:g}, to show an episode that began earlier."
            )
        bottom = _note(fig, notes, fig_h)
        fig.tight_layout(rect=(0, bottom, 1, 1))
    return fig


def _support_lane(
    ax: Any, support: pd.DataFrame, lo: float, hi: float, unknown: list[str], past: list[str]
) -> None:
    """Support episodes; one without a recorded end fades out like a drug (listed in
    ``unknown``), one past the axis ends in an arrow (listed in ``past``)."""
    fade = 0.06 * (hi - lo)
    for _, r in support.sort_values("start_day").iterrows():
        start = float(r["start_day"])
        name = SUPPORT_LABELS.get(str(r["mode"]), str(r["mode"]))
        if pd.isna(r["end_day"]):
            for k in range(12):
                x0 = max(start + k * fade / 12, lo)
                x1 = min(start + (k + 1) * fade / 12, hi)
                if x1 > x0:
                    ax.barh(
                        0,
                        x1 - x0,
                        left=x0,
                        height=0.8,
                        color=SUPPORT_COLOURS.get(str(r["mode"]), "#ccc"),
                        alpha=1 - k / 12,
                        lw=0,
                    )
            unknown.append(f"{name.lower()} from day {start:g}")
            continue
        end = _episode_end(r, hi)
        s, e = max(start, lo), min(end, hi)
        if e <= s:
            continue
        if end > hi:
            ax.plot(hi, 0, marker=">", ms=6, color="#555", clip_on=False, zorder=5)
            past.append(f"{name.lower()} to day {float(r['end_day']):.0f}")
        _support_bar(ax, 0, s, e, str(r["mode"]), height=0.8)
        label = SUPPORT_LABELS.get(str(r["mode"]), str(r["mode"]))
        if pd.notna(r.get("fio2")):
            label += f"\nFiO₂ {float(r['fio2']):.0f}%"
        if (e - s) >= 0.07 * (hi - lo):
            dark = str(r["mode"]) in ("niv", "imv", "ecmo")
            ax.text(
                (s + e) / 2,
                0,
                label,
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if dark else "black",
                clip_on=True,
            )
    ax.set_yticks([0], ["O₂ support"])
    ax.set_ylim(-0.5, 0.5)
    ax.spines["left"].set_visible(False)
    used = [m for m in SUPPORT_COLOURS if (support["mode"] == m).any()]
    if used:
        ax.legend(
            handles=[
                Patch(facecolor=SUPPORT_COLOURS[m], edgecolor="#999", label=SUPPORT_LABELS[m])
                for m in used
            ],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.2),
            frameon=False,
            fontsize=7,
        )


def _marker_panel(
    ax: Any,
    obs: pd.DataFrame,
    panel: tuple[str, ...],
    study: Study,
    spec: FigureSpec,
    colours: Sequence[str],
) -> None:
    """One axis, one unit: each marker's values over days, sparse series labelled."""
    for i, code in enumerate(panel):
        pts = obs[obs["code"] == code].sort_values("day")
        if pts.empty:
            continue
        try:
            factor = study.marker(code).display_factor
        except KeyError:
            factor = 1.0
        colour = colours[i % len(colours)]
        ax.plot(
            pts["day"],
            pts["value"] * factor,
            marker="o",
            ms=3,
            lw=1.3,
            color=colour,
            label=_marker_name(study, code),
        )
        if len(pts) <= 3:  # a sparse series: print the values beside the points
            for d, v in zip(pts["day"], pts["value"] * factor, strict=True):
                ax.annotate(
                    f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}",
                    xy=(float(d), float(v)),
                    xytext=(4, 4),
                    textcoords="offset points",
                    fontsize=7,
                    color=colour,
                )
    unit = _unit(study, panel[0]) or "value"
    if spec.log_scale and (obs[obs["code"].isin(panel)]["value"] > 0).all():
        _log_axis(ax)
        ax.set_ylabel(f"{unit}\n(log scale)", fontsize=8)
    else:
        ax.set_ylabel(unit, fontsize=8)
    ax.grid(color="#eeeeee", lw=0.6)
    # beside the panel, like the support legend, so it never hides a point or label
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.005, 1.0))


def _event_lines(
    axes: list[Any],
    events: pd.DataFrame | None,
    study: Study,
    spec: FigureSpec,
    lo: float,
    hi: float,
) -> None:
    """Discharge, death and (when the anchor is elsewhere) the study's index as dotted lines,
    named above the top panel."""
    marks = {"discharge": ("Discharge", "#2171b5"), "death": ("Death", "black")}
    if spec.anchor != "index":  # the anchor is elsewhere: mark the study's index too
        marks[study.index.partition("#")[0]] = (_index_label(study), "#756bb1")
    if events is None:
        return
    for _, r in events[events["event"].isin(list(marks))].iterrows():
        day = float(r["day"])
        if not lo <= day <= hi:
            continue
        text, colour = marks[str(r["event"])]
        for ax in axes:
            ax.axvline(day, color=colour, lw=1.0, ls=":")
        axes[0].annotate(
            f"{text} (day {day:g})",
            xy=(day, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2),
            textcoords="offset points",
            fontsize=7,
            color=colour,
            ha="center",
            va="bottom",
        )


_MET, _NOT_MET, _UNKNOWN = "#762a83", "#a6dba0", "#e8e8e8"


def plot_criteria_timeline(
    grid: pd.DataFrame,
    spec: FigureSpec,
    anchor_label: str,
    patient_id: str,
    *,
    title: str | None = None,
    freshness: Sequence[str] = (),
) -> Figure:
    """A strip per criterion over days.

    ``grid`` (from :func:`ruxtrack.cohort.criteria_grid`) has ``criterion``, ``day``, ``level``,
    ``kind`` (``grade``: a CTCAE grade 0–5 recorded that day; ``status``: 1 met / 0 not met,
    NaN unknown, evaluated for that day) and ``observed`` (the deciding value was recorded that
    day). A status carried forward from an earlier record — the criterion's freshness window,
    not an observed duration — is drawn pale and hatched; a day with a record is drawn solid
    with a tick. ``freshness`` names each criterion's windows in words (from
    :func:`ruxtrack.cohort.freshness_notes`).
    """
    crits = list(dict.fromkeys(grid["criterion"]))
    days = np.sort(grid["day"].unique())
    lo, hi = (
        spec.days
        if spec.days is not None
        else ((float(days.min()), float(days.max()) + 1) if len(days) else (0.0, 1.0))
    )
    grade_width = max(1.0, (hi - lo) / 120)  # a one-day grade stays visible on a long axis
    height = 0.42 * len(crits) + 2.6
    observed = grid["observed"] if "observed" in grid.columns else pd.Series(True, grid.index)
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(10, height))
        cmap = plt.get_cmap("YlOrRd", 6)
        carried = False
        for y, c in enumerate(crits):
            sub = grid[grid["criterion"] == c]
            for i, r in sub.iterrows():
                seen = bool(observed.get(i, True))
                colour: Any
                width = 1.0
                style: dict[str, Any] = {"lw": 0}
                if r.get("kind") == "grade":
                    colour = cmap(float(r["level"]) / 5.0)
                    width = grade_width
                elif pd.isna(r["level"]):
                    colour = _UNKNOWN
                else:
                    colour = _MET if r["level"] >= 1 else _NOT_MET
                    if not seen:
                        carried = True
                        style = {"alpha": 0.35, "hatch": "////", "edgecolor": colour, "lw": 0}
                ax.barh(
                    y,
                    width,
                    left=float(r["day"]),
                    height=0.75,
                    color=colour,
                    align="center",
                    **style,
                )
                if r.get("kind") == "status" and seen and pd.notna(r["level"]):
                    ax.plot(float(r["day"]) + 0.5, y, marker="|", ms=12, mew=2, color="black")
                if r.get("kind") == "grade":
                    ax.annotate(
                        f"grade {float(r['level']):g}",
                        xy=(float(r["day"]) + width, y),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=7,
                    )
        ax.set_yticks(range(len(crits)), crits)
        ax.set_ylim(len(crits) - 0.5, -0.5)
        ax.set_xlim(lo, hi)
        ax.grid(axis="x", color="#eeeeee", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel(f"Days from {anchor_label}")
        ax.set_title(title or f"{spec.title}, patient {patient_id}", loc="left")
        handles: list[Any] = []
        if (grid["kind"] == "status").any():
            handles += [
                Patch(facecolor=_MET, label="met: a record that day (black tick)"),
                Patch(
                    facecolor=_MET,
                    alpha=0.35,
                    hatch="////",
                    edgecolor=_MET,
                    label="met: carried forward within the freshness window (no new record)",
                ),
                Patch(facecolor=_NOT_MET, label="not met"),
                Patch(facecolor=_UNKNOWN, label="unknown (no data in the window; never normal)"),
            ]
        if (grid["kind"] == "grade").any():
            handles += [
                Patch(facecolor=cmap(g / 5.0), label=f"CTCAE grade {g}") for g in range(1, 5)
            ]
        notes = []
        if carried:
            notes.append(
                "Hatched days repeat the last record until the criterion's freshness window "
                "ends: how long a value is trusted, not how long the finding was observed."
            )
            notes += [f"Freshness window, {f}." for f in freshness]
        bottom = _note(fig, notes, height)
        fig.legend(
            handles=handles, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, bottom)
        )
        rows = int(np.ceil(len(handles) / 2))
        fig.tight_layout(rect=(0, bottom + (0.2 * rows + 0.15) / height, 1, 1))
    return fig
