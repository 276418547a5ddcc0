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

from collections.abc import Iterable, Mapping, Sequence
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

from ruxtrack.cohort import AnalysisResult, FigureSpec, Study
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
    """Log y axis labelled at 1, 2 and 5 × 10^k in plain numbers (no 6 × 10² labels)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(_PLAIN)
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


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


def _marker_axis_label(study: Study, code: str) -> str:
    m = study.marker(code)
    return f"{m.label} ({m.display_unit or m.unit})"


def sample_patients(
    patient_ids: Iterable[object], limit: int | None, seed: int
) -> tuple[list[str], str | None]:
    """The patients a figure draws one by one, and the subtitle that says so.

    Within ``limit`` (or with no limit) every patient, in the given order, and no subtitle;
    above it a simple random sample of ``limit`` patients without replacement
    (``numpy.random.default_rng(seed)``), kept in the given order, and a subtitle such as
    "random sample of 60 of 100,000 patients, seed 1". The same ids, limit and seed always give
    the same sample.

    Examples
    --------
    >>> ids = [f"P{i}" for i in range(1000)]
    >>> chosen, note = sample_patients(ids, 3, seed=1)
    >>> len(chosen), note
    (3, 'random sample of 3 of 1,000 patients, seed 1')
    >>> sample_patients(ids[:2], 3, seed=1)
    (['P0', 'P1'], None)
    """
    ids = [str(p) for p in patient_ids]
    if limit is None or len(ids) <= limit:
        return ids, None
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(ids), size=limit, replace=False))
    return [ids[i] for i in picked], (
        f"random sample of {limit:,} of {len(ids):,} patients, seed {seed}"
    )


def plot_trajectories(frame: pd.DataFrame, study: Study, spec: FigureSpec) -> Figure:
    """Each patient's marker values at the time points (thin lines) and the median (bold).

    Above ``spec.patients_drawn()`` patients the thin lines are a seeded random sample (named
    in the subtitle); the medians and the n under each time point use every patient.
    """
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
        drawn_ids, sample_note = sample_patients(
            frame["patient_id"], spec.patients_drawn(), study.sample_seed
        )
        drawn = frame["patient_id"].astype(str).isin(drawn_ids).to_numpy()
        for ax, code in zip(axes.flat, markers, strict=False):
            m = study.marker(code)
            vals = frame[[f"{code}__{tp}" for tp in tps]].astype(float) * m.display_factor
            for i, row in vals[drawn].iterrows():
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
                _log_axis(ax)
            n = vals.notna().sum(axis=0).to_numpy()
            ax.set_xticks(
                x,
                [f"{study.time_point(tp).label}\nn = {k:,}" for tp, k in zip(tps, n, strict=True)],
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
        if sample_note is None:
            fig.suptitle(spec.title, fontsize=11)
            fig.tight_layout(rect=(0, 0.06, 1, 0.97))
        else:
            fig.suptitle(
                f"{spec.title}\nthin lines: {sample_note}; median and n: all "
                f"{len(frame):,} patients",
                fontsize=11,
            )
            fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


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
    height = 0.32 * len(pids) + 1.9
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(9.0, height))
        for y, pid in enumerate(pids):
            known = [
                day_of[c][pid] for c in ("death", "discharge", "last_followup") if pid in day_of[c]
            ]
            stop = min(known, default=hi)
            for _, r in support[support["patient_id"] == pid].iterrows():
                s = max(float(r["start_day"]), lo)
                e = min(_episode_end(r, stop), hi)
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
            if g != prev:
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
        fig.legend(handles=handles, loc="lower center", ncol=min(7, len(handles)), frameon=False)
        ax.set_title(
            spec.title if sample_note is None else f"{spec.title}\n{sample_note}", loc="left"
        )
        fig.tight_layout(rect=(0, 0.55 / height, 0.78, 1))
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
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
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
                label = f"{c['group']}: {label}"
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
        ax.legend(frameon=False, loc="center right", title="event (events of n)")
        ax.set_title(spec.title, loc="left")
        fig.text(
            0.01,
            0.01,
            f"n = {result.n}; shaded: pointwise 95% CI (log(-log)); censored at the last "
            f"follow-up or day {horizon:g}.\nAalen-Johansen estimate, cmprsk variance.",
            ha="left",
            va="bottom",
            fontsize=7,
            color="#555",
        )
        fig.tight_layout(rect=(0, 0.07, 1, 1))
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
    has_values = [bool(obs["code"].isin(panel).any()) for panel in panels]
    heights = [max(1.0, 0.45 * len(drug_names)), 0.7] + [2.0 if v else 0.5 for v in has_values]
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
                    y, e_c - s_c, left=s_c, height=0.6, color="#bcbddc", edgecolor="#756bb1", lw=0.6
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
                        color="#3f007d",
                    )
        ax_d.set_yticks(range(len(drug_names)), [n.replace("_", " ") for n in drug_names])
        ax_d.set_ylim(len(drug_names) - 0.4, -0.7)
        ax_d.set_title(spec.title if spec.patients else f"{spec.title} — patient {patient_id}")
        for _, r in support.sort_values("start_day").iterrows():
            s = max(float(r["start_day"]), lo)
            e = min(_episode_end(r, hi), hi)
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
                dark = str(r["mode"]) in ("niv", "imv", "ecmo")
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
                    ", ".join(_marker_name(study, c) for c in panel)
                    + ": no numeric values in the data",
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
                colour = markers_colours[i % len(markers_colours)]
                ax.plot(
                    pts["day"],
                    pts["value"] * factor,
                    marker="o",
                    ms=3,
                    lw=1.3,
                    color=colour,
                    label=label,
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
            if spec.log_scale and (obs[obs["code"].isin(panel)]["value"] > 0).any():
                _log_axis(ax)
            ax.grid(color="#eeeeee", lw=0.6)
            if ax.get_legend_handles_labels()[0]:
                # Beside the panel, like the support legend, so it never hides a point or label.
                ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.005, 1.0))
        for ax in axes:
            ax.axvline(0, color="#444", lw=0.8, ls="--")
        events = data.get("events")
        marks = {"discharge": ("Discharge", "#2171b5"), "death": ("Death", "black")}
        if spec.anchor != "index":  # the anchor is elsewhere: mark the study's index too
            marks[study.index.partition("#")[0]] = (_index_label(study), "#756bb1")
        if events is not None:
            for _, r in events[events["event"].isin(list(marks))].iterrows():
                day = float(r["day"])
                if not lo <= day <= hi:
                    continue
                text, colour = marks[str(r["event"])]
                for ax in axes:
                    ax.axvline(day, color=colour, lw=1.0, ls=":")
                ax_d.annotate(
                    text,
                    xy=(day, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -2),
                    textcoords="offset points",
                    fontsize=7,
                    color=colour,
                    va="top",
                )
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
    ``kind`` (``grade``: a CTCAE grade 0–5 recorded that day; ``status``: 1 met / 0 not met,
    NaN unknown, evaluated for that day)."""
    crits = list(dict.fromkeys(grid["criterion"]))
    days = np.sort(grid["day"].unique())
    lo, hi = (
        spec.days
        if spec.days is not None
        else ((float(days.min()), float(days.max()) + 1) if len(days) else (0.0, 1.0))
    )
    grade_width = max(1.0, (hi - lo) / 120)  # a one-day grade stays visible on a long axis
    height = 0.42 * len(crits) + 1.9
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(10, height))
        cmap = plt.get_cmap("YlOrRd", 6)
        for y, c in enumerate(crits):
            sub = grid[grid["criterion"] == c]
            for _, r in sub.iterrows():
                colour: Any
                width = 1.0
                if pd.isna(r["level"]):
                    colour = "#dddddd"
                elif r.get("kind") == "status":
                    colour = "#762a83" if r["level"] >= 1 else "#a6dba0"
                else:
                    colour = cmap(float(r["level"]) / 5.0)
                    width = grade_width
                ax.barh(
                    y, width, left=float(r["day"]), height=0.75, color=colour, lw=0, align="center"
                )
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
        ax.set_title(f"{spec.title} — patient {patient_id}", loc="left")
        handles = []
        if (grid["kind"] == "status").any():
            handles += [
                Patch(facecolor="#762a83", label="criterion met"),
                Patch(facecolor="#a6dba0", label="not met"),
                Patch(facecolor="#dddddd", label="unknown (no data, never assumed normal)"),
            ]
        if (grid["kind"] == "grade").any():
            handles += [
                Patch(facecolor=cmap(g / 5.0), label=f"CTCAE grade {g}") for g in range(1, 5)
            ]
        fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False)
        fig.tight_layout(rect=(0, 0.75 / height, 1, 1))
    return fig
