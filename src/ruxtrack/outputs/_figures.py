"""Figures as PNG and SVG (matplotlib, Agg backend; no display, no network).

* :func:`plot_course` — one patient's course in the style of Tomomasa 2021 Figure 2: drug swimlanes
  with doses, a respiratory-support band with FiO2, marker panels, days from a chosen anchor;
* :func:`plot_trajectories` — markers over the study's time points, each patient and the median;
* :func:`plot_swimmer` — respiratory support per patient from the index, with discharge and death;
* :func:`plot_cumulative_incidence` — Aalen–Johansen curves from an analysis result;
* :func:`plot_criteria_timeline` — criteria status / CTCAE grades over days.
"""

from __future__ import annotations

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

from ruxtrack.cohort._results import AnalysisResult
from ruxtrack.cohort._study import FigureSpec, Study
from ruxtrack.timeline import SupportMode

__all__ = [
    "SUPPORT_COLOURS",
    "plot_course",
    "plot_criteria_timeline",
    "plot_cumulative_incidence",
    "plot_swimmer",
    "plot_trajectories",
    "save_figure",
]

#: Least to most intensive support, light to dark (sequential, readable in grey scale).
SUPPORT_COLOURS: dict[str, str] = {
    SupportMode.room_air.value: "#f7fbff",
    SupportMode.nasal_cannula.value: "#c6dbef",
    SupportMode.face_mask.value: "#9ecae1",
    SupportMode.hfnc.value: "#6baed6",
    SupportMode.niv.value: "#3182bd",
    SupportMode.imv.value: "#08519c",
    SupportMode.ecmo.value: "#08306b",
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


def save_figure(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``name.png`` (200 dpi) and ``name.svg``; close the figure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, dpi=200, bbox_inches="tight", metadata={"Software": "ruxtrack"})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return [png, svg]


def _marker_axis_label(study: Study, code: str) -> str:
    m = study.marker(code)
    return f"{m.label} ({m.display_unit or m.unit})"


def plot_trajectories(frame: pd.DataFrame, study: Study, spec: FigureSpec) -> Figure:
    """Each patient's marker values at the time points (thin lines) and the median (bold)."""
    markers = list(spec.markers)
    tps = [
        tp.name
        for tp in study.time_points
        if any(
            f"{m}__{tp.name}" in frame.columns and frame[f"{m}__{tp.name}"].notna().any()
            for m in markers
        )
    ]
    ncol = min(3, len(markers))
    nrow = int(np.ceil(len(markers) / ncol))
    groups = [] if study.groups is None else [lv.value for lv in study.groups.levels]
    colours = {g: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(groups)}
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.3 * nrow), squeeze=False)
        x = np.arange(len(tps))
        for ax, code in zip(axes.flat, markers, strict=False):
            m = study.marker(code)
            vals = frame[[f"{code}__{tp}" for tp in tps]].astype(float) * m.display_factor
            for i, row in vals.iterrows():
                g = frame.at[i, "group"] if "group" in frame.columns else None
                ax.plot(
                    x,
                    row.to_numpy(),
                    color=colours.get(str(g), "#999999"),
                    alpha=0.45,
                    lw=0.8,
                    marker="o",
                    ms=2.5,
                )
            med = vals.median(axis=0, skipna=True).to_numpy()
            ax.plot(x, med, color="black", lw=2.4, marker="s", ms=5, label="Median", zorder=5)
            if m.normal is not None and m.normal.high is not None:
                uln = m.normal.high * m.display_factor
                ax.axhline(uln, color="#b22222", ls="--", lw=1)
                ax.annotate(
                    f"ULN {m.normal.text}",
                    xy=(1.0, uln),
                    xycoords=("axes fraction", "data"),
                    xytext=(-2, 3),
                    textcoords="offset points",
                    ha="right",
                    va="bottom",
                    fontsize=7,
                    color="#b22222",
                )
            if spec.log_scale and (vals > 0).any().any():
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(_PLAIN)
                ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            n = vals.notna().sum(axis=0).to_numpy()
            ax.set_xticks(
                x, [f"{study.time_point(tp).label}\nn = {k}" for tp, k in zip(tps, n, strict=True)]
            )
            ax.set_xlim(-0.3, len(tps) - 0.7)
            ax.set_title(_marker_axis_label(study, code))
            ax.grid(axis="y", color="#eeeeee", lw=0.6)
        for ax in list(axes.flat)[len(markers) :]:
            ax.set_visible(False)
        handles: list[Any] = [Line2D([], [], color="black", lw=2.4, marker="s", label="Median")]
        if study.groups is not None:
            handles += [
                Line2D([], [], color=colours[lv.value], lw=1, label=lv.label)
                for lv in study.groups.levels
            ]
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=min(4, len(handles)),
            bbox_to_anchor=(0.5, -0.02),
            frameon=False,
        )
        fig.suptitle(spec.title, fontsize=11)
        fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def plot_swimmer(
    support: pd.DataFrame, frame: pd.DataFrame, study: Study, spec: FigureSpec
) -> Figure:
    """Respiratory support per patient (days from the index), with discharge and death marks.

    ``support`` has ``patient_id``, ``mode``, ``start_day``, ``end_day`` (NaN: ongoing).
    """
    order = frame.sort_values(["group", "day_death", "day_discharge"], na_position="last")
    pids = list(order["patient_id"])
    lo, hi = spec.days if spec.days is not None else (-14.0, float(study.extract.follow_up_days))
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(8.5, 0.32 * len(pids) + 1.8))
        for y, pid in enumerate(pids):
            rows = support[support["patient_id"] == pid]
            last = frame.loc[frame["patient_id"] == pid]
            stop_candidates = [
                last[c].iloc[0]
                for c in ("day_death", "day_discharge", "day_last_followup")
                if c in last
            ]
            stop = min([float(s) for s in stop_candidates if pd.notna(s)], default=hi)
            for _, r in rows.iterrows():
                s = max(float(r["start_day"]), lo)
                e = float(r["end_day"]) if pd.notna(r["end_day"]) else min(stop, hi)
                e = min(e + 1.0, hi)  # end day is inclusive
                if e <= s:
                    continue
                ax.barh(
                    y,
                    e - s,
                    left=s,
                    height=0.7,
                    color=SUPPORT_COLOURS.get(str(r["mode"]), "#ccc"),
                    edgecolor="white",
                    lw=0.3,
                )
            for col, marker, colour, label in (
                ("day_discharge", "^", "#1b9e77", "Discharge"),
                ("day_death", "X", "black", "Death"),
            ):
                if col in last and pd.notna(last[col].iloc[0]) and lo <= last[col].iloc[0] <= hi:
                    ax.plot(
                        float(last[col].iloc[0]),
                        y,
                        marker=marker,
                        color=colour,
                        ms=7,
                        ls="none",
                        label=label,
                        zorder=5,
                    )
        ax.set_yticks(range(len(pids)), pids)
        ax.invert_yaxis()
        ax.axvline(0, color="#444", lw=1)
        ax.set_xlim(lo, hi)
        ax.set_xlabel(f"Days from {spec.anchor_label or 'ruxolitinib start'}")
        ax.set_ylabel("Patient")
        if study.groups is not None:
            prev = None
            for y, pid in enumerate(pids):
                g = frame.loc[frame["patient_id"] == pid, "group"].iloc[0]
                if g != prev:
                    if y:
                        ax.axhline(y - 0.5, color="#888", lw=0.6, ls=":")
                    label = dict((lv.value, lv.label) for lv in study.groups.levels).get(
                        str(g), str(g)
                    )
                    ax.annotate(
                        label,
                        xy=(1.005, y - 0.4),
                        xycoords=("axes fraction", "data"),
                        fontsize=7,
                        va="top",
                        ha="left",
                        color="#333",
                    )
                    prev = g
        used = [m for m in SUPPORT_COLOURS if (support["mode"] == m).any()]
        handles: list[Any] = [
            Patch(facecolor=SUPPORT_COLOURS[m], edgecolor="#999", label=SUPPORT_LABELS[m])
            for m in used
        ]
        seen: dict[str, Any] = {}
        for h in ax.get_lines():
            if h.get_label() in ("Discharge", "Death"):
                seen.setdefault(str(h.get_label()), h)
        handles += list(seen.values())
        fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), frameon=False)
        ax.set_title(spec.title)
        fig.tight_layout(rect=(0, 0.5 / (0.32 * len(pids) + 1.8), 1, 1))
    return fig


def plot_cumulative_incidence(result: AnalysisResult, spec: FigureSpec) -> Figure:
    """Step curves of cumulative incidence per event with pointwise CIs where given.

    ``result.values["curves"]`` maps an event name to ``{"time": [...], "estimate": [...],
    "lower": [...], "upper": [...]}``.
    """
    curves: Mapping[str, Mapping[str, Sequence[float]]] = result.values.get("curves", {})
    colours = ("#1b9e77", "#000000", "#7570b3", "#d95f02")
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(6.0, 4.2))
        for i, (name, c) in enumerate(curves.items()):
            t = np.asarray(c["time"], float)
            est = np.asarray(c["estimate"], float)
            colour = colours[i % len(colours)]
            ax.step(
                t, est, where="post", color=colour, lw=2, label=name.replace("_", " ").capitalize()
            )
            if c.get("lower") is not None and c.get("upper") is not None:
                ax.fill_between(
                    t,
                    np.asarray(c["lower"], float),
                    np.asarray(c["upper"], float),
                    step="post",
                    color=colour,
                    alpha=0.15,
                    lw=0,
                )
        ax.set_ylim(0, 1)
        ax.set_xlim(left=0)
        ax.set_xlabel(f"Days from {spec.anchor_label or 'ruxolitinib start'}")
        ax.set_ylabel("Cumulative incidence")
        ax.grid(color="#eeeeee", lw=0.6)
        ax.legend(frameon=False, loc="upper left")
        ax.set_title(spec.title)
        ax.annotate(
            f"n = {result.n}; {result.method}",
            xy=(0.99, 0.02),
            xycoords="axes fraction",
            ha="right",
            va="bottom",
            fontsize=7,
            color="#555",
            wrap=True,
        )
        fig.tight_layout()
    return fig


def _dose_text(row: pd.Series) -> str:
    dose = float(row["dose"])
    text = f"{dose:g} {row['unit']}"
    freq = str(row.get("frequency") or "")
    return f"{text} {freq}".strip()


def plot_course(
    data: Mapping[str, pd.DataFrame],
    study: Study,
    spec: FigureSpec,
    patient_id: str,
    anchor_label: str,
) -> Figure:
    """One patient's course (drugs with doses, respiratory support with FiO2, marker panels).

    ``data`` holds the patient's ``drugs`` (``drug``, ``dose``, ``unit``, ``frequency``,
    ``start_day``, ``end_day``), ``support`` (``mode``, ``fio2``, ``start_day``, ``end_day``) and
    ``observations`` (``code``, ``value``, ``day``), days counted from the figure's anchor.
    """
    drugs = data["drugs"]
    support = data["support"]
    obs = data["observations"]
    drug_names = [d for d in spec.drugs if (drugs["drug"] == d).any()] or sorted(
        drugs["drug"].unique()
    )
    panels = [tuple(p) for p in spec.panels] or [tuple(spec.markers)]
    all_days = pd.concat(
        [drugs["start_day"], drugs["end_day"], support["start_day"], support["end_day"], obs["day"]]
    ).dropna()
    lo, hi = (
        spec.days
        if spec.days is not None
        else (
            float(all_days.min()) - 1 if len(all_days) else 0.0,
            float(all_days.max()) + 1 if len(all_days) else 30.0,
        )
    )
    heights = [max(1.0, 0.45 * len(drug_names)), 0.7] + [2.0] * len(panels)
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, axes = plt.subplots(
            len(heights),
            1,
            figsize=(9, sum(heights) + 1.2),
            sharex=True,
            gridspec_kw={"height_ratios": heights},
        )
        ax_d, ax_s = axes[0], axes[1]
        for y, name in enumerate(drug_names):
            rows = drugs[drugs["drug"] == name].sort_values("start_day")
            for _, r in rows.iterrows():
                s = float(r["start_day"])
                e = (float(r["end_day"]) if pd.notna(r["end_day"]) else hi) + 1.0
                s_c, e_c = max(s, lo), min(e, hi)
                if e_c <= s_c:
                    continue
                ax_d.barh(
                    y, e_c - s_c, left=s_c, height=0.6, color="#fdae6b", edgecolor="#e6550d", lw=0.6
                )
                if (e_c - s_c) >= 0.06 * (hi - lo):
                    ax_d.text(
                        s_c + 0.3,
                        y,
                        _dose_text(r),
                        va="center",
                        ha="left",
                        fontsize=7,
                        clip_on=True,
                    )
                else:
                    ax_d.text(
                        s_c,
                        y - 0.42,
                        _dose_text(r),
                        va="bottom",
                        ha="left",
                        fontsize=6,
                        clip_on=True,
                        color="#7f2704",
                    )
        ax_d.set_yticks(range(len(drug_names)), [n.replace("_", " ") for n in drug_names])
        ax_d.set_ylim(len(drug_names) - 0.4, -0.7)
        ax_d.set_title(spec.title if spec.patients else f"{spec.title} — patient {patient_id}")
        for _, r in support.sort_values("start_day").iterrows():
            s = max(float(r["start_day"]), lo)
            e = min((float(r["end_day"]) if pd.notna(r["end_day"]) else hi) + 1.0, hi)
            if e <= s:
                continue
            ax_s.barh(
                0,
                e - s,
                left=s,
                height=0.8,
                color=SUPPORT_COLOURS.get(str(r["mode"]), "#ccc"),
                edgecolor="white",
                lw=0.5,
            )
            label = SUPPORT_LABELS.get(str(r["mode"]), str(r["mode"]))
            if pd.notna(r.get("fio2")):
                label += f"\nFiO₂ {float(r['fio2']):.0f}%"
            if (e - s) >= 0.05 * (hi - lo):
                dark = str(r["mode"]) in ("niv", "imv", "ecmo", "hfnc")
                ax_s.text(
                    (s + e) / 2,
                    0,
                    label,
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if dark else "black",
                    clip_on=True,
                )
        ax_s.set_yticks([0], ["O₂ support"])
        ax_s.set_ylim(-0.5, 0.5)
        ax_s.spines["left"].set_visible(False)
        markers_colours = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
        for ax, panel in zip(axes[2:], panels, strict=True):
            if not obs["code"].isin(panel).any():
                ax.set_yticks([])
                ax.text(
                    0.5,
                    0.5,
                    "no values recorded: " + ", ".join(panel),
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    color="#777",
                    fontsize=8,
                )
                continue
            for i, code in enumerate(panel):
                pts = obs[obs["code"] == code].sort_values("day")
                if pts.empty:
                    continue
                try:
                    m = study.marker(code)
                    factor, label = m.display_factor, _marker_axis_label(study, code)
                except KeyError:
                    factor, label = 1.0, code
                ax.plot(
                    pts["day"],
                    pts["value"] * factor,
                    marker="o",
                    ms=3,
                    lw=1.3,
                    color=markers_colours[i % len(markers_colours)],
                    label=label,
                )
            if spec.log_scale and (obs[obs["code"].isin(panel)]["value"] > 0).any():
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(_PLAIN)
            ax.grid(color="#eeeeee", lw=0.6)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(frameon=False, loc="upper right", ncol=min(3, len(panel)))
        for ax in axes:
            ax.axvline(0, color="#444", lw=0.8, ls="--")
        axes[-1].set_xlim(lo, hi)
        axes[-1].set_xlabel(f"Days from {anchor_label}")
        used = [m for m in SUPPORT_COLOURS if (support["mode"] == m).any()]
        if used:
            ax_s.legend(
                handles=[
                    Patch(facecolor=SUPPORT_COLOURS[m], edgecolor="#999", label=SUPPORT_LABELS[m])
                    for m in used
                ],
                loc="upper left",
                bbox_to_anchor=(1.0, 1.2),
                frameon=False,
                fontsize=7,
            )
        fig.tight_layout()
    return fig


def plot_criteria_timeline(
    grid: pd.DataFrame, spec: FigureSpec, anchor_label: str, patient_id: str
) -> Figure:
    """A strip per criterion over days: ``grid`` has ``criterion``, ``day``, ``level`` and
    ``kind`` (``grade``: a CTCAE grade 0–5; ``status``: 1 met / 0 not met); NaN is unknown."""
    crits = list(dict.fromkeys(grid["criterion"]))
    days = np.sort(grid["day"].unique())
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(crits) + 1.6))
        cmap = plt.get_cmap("YlOrRd", 6)
        for y, c in enumerate(crits):
            sub = grid[grid["criterion"] == c]
            for _, r in sub.iterrows():
                colour: Any
                if pd.isna(r["level"]):
                    colour = "#dddddd"
                elif r.get("kind") == "status":
                    colour = "#c0392b" if r["level"] >= 1 else "#a6d96a"
                else:
                    colour = cmap(float(r["level"]) / 5.0)
                ax.barh(y, 1.0, left=float(r["day"]) - 0.5, height=0.8, color=colour, lw=0)
        ax.set_yticks(range(len(crits)), crits)
        ax.invert_yaxis()
        if len(days):
            ax.set_xlim(float(days.min()) - 0.5, float(days.max()) + 0.5)
        ax.set_xlabel(f"Days from {anchor_label}")
        ax.set_title(f"{spec.title} — patient {patient_id}")
        handles = [Patch(facecolor=cmap(g / 5.0), label=f"CTCAE grade {g}") for g in range(0, 5)]
        if "kind" in grid and (grid["kind"] == "status").any():
            handles += [
                Patch(facecolor="#c0392b", label="criterion met"),
                Patch(facecolor="#a6d96a", label="not met"),
            ]
        handles.append(Patch(facecolor="#dddddd", label="unknown"))
        fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False)
        fig.tight_layout(rect=(0, 0.9 / (0.45 * len(crits) + 1.6), 1, 1))
    return fig
