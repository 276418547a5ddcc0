"""Evaluate a criterion over a patient's timeline: at a time, or the worst / first in a window.

At one time, each input is the latest record at or before it within the criterion's freshness
window. Over a window, the criterion is evaluated at every time something relevant was
recorded (and at both ends); ``worst`` keeps the most severe result (for CTCAE, the worst grade
of each term separately), ``first`` the earliest time the conclusion is ``established``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from ruxtrack.criteria import _ctcae, _steroids
from ruxtrack.criteria._common import Criterion
from ruxtrack.criteria._gather import Context
from ruxtrack.criteria._model import Conclusion, Evaluation
from ruxtrack.criteria._registry import get_criterion
from ruxtrack.errors import EvaluationError
from ruxtrack.timeline import Timeline, TimeRef, format_offset, parse_time

__all__ = ["evaluate_days", "evaluate_timeline"]

Mode = Literal["at", "worst", "first"]
When = datetime | TimeRef | str


def _resolve(tl: Timeline, when: When) -> tuple[datetime, str]:
    if isinstance(when, datetime):
        return when, _label(tl, when)
    ref = parse_time(when) if isinstance(when, str) else when
    return tl.at(ref), str(ref)


def _anchor_of(when: When | None) -> tuple[str, int] | None:
    if when is None or isinstance(when, datetime):
        return None
    ref = parse_time(when) if isinstance(when, str) else when
    return None if ref.anchor is None else (ref.anchor, ref.occurrence)


def _label(tl: Timeline, when: datetime, prefer: tuple[str, int] | None = None) -> str:
    """A time as the user reads it: ISO for real dates, ``event+Nd`` for relative timelines
    (relative to ``prefer`` when given, else to the latest anchor before it)."""
    if prefer is None and tl.time_basis == "absolute":
        return when.isoformat(timespec="minutes")
    if prefer is not None and prefer in tl.anchors:
        t, (event, occ) = tl.anchors[prefer], prefer
    else:
        before = [(t, k) for k, t in tl.anchors.items() if t <= when]
        if not before:
            return when.isoformat(timespec="minutes")
        t, (event, occ) = max(before, key=lambda p: p[0])
    name = event if occ == 1 else f"{event}#{occ}"
    return f"{name}{format_offset(when - t)}"


def _last_time(tl: Timeline) -> datetime:
    times = list(tl.anchors.values()) + [tl.at(o.time) for o in tl.observations]
    times += [tl.at(a.time) for a in tl.assessments]
    if not times:
        raise EvaluationError(f"patient {tl.patient.patient_id} has no dated record")
    return max(times)


def _candidates(crit: Criterion, tl: Timeline, start: datetime, end: datetime) -> list[datetime]:
    times = {start, end}
    for code in crit.codes:
        times.update(t for t, _ in tl.in_window(code, start, end))
    for kind in crit.kinds:
        times.update(t for t, _ in tl.assessments_of(kind) if start <= t <= end)
    for ep in tl.support:
        s, e = tl.interval(ep.start, ep.end)
        times.update(t for t in (s, e) if t is not None and start <= t <= end)
    for d in tl.drugs:
        s = tl.at(d.start)
        if start <= s <= end:
            times.add(s)
    times.update(t for t in tl.anchors.values() if start <= t <= end)
    return sorted(times)


def _at(crit: Criterion, tl: Timeline, when: datetime, label: str, ctx: Context) -> Evaluation:
    assert crit.gather is not None
    e = crit.evaluate(crit.gather(tl, when, ctx))
    return e.model_copy(update={"at": label, "mode": "at"})


def evaluate_timeline(
    criterion_id: str,
    timeline: Timeline,
    at: When | None = None,
    window: tuple[When, When] | None = None,
    mode: Mode = "at",
    *,
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    baseline_at: When | None = None,
) -> Evaluation:
    """Evaluate a criterion on a patient's timeline.

    Parameters
    ----------
    criterion_id
        A criterion id (see :func:`~ruxtrack.criteria.list_criteria`).
    timeline
        The patient's :class:`~ruxtrack.timeline.Timeline`.
    at
        With ``mode="at"``: the time (datetime, or text such as ``"hsct#2+74d"``); default the
        last recorded time.
    window
        ``(start, end)`` for ``worst`` and ``first``, and the exposure window of
        ``steroid_equivalent``.
    mode
        ``at``, ``worst`` (most severe result in the window) or ``first`` (earliest time it is
        established in the window).
    limits
        Local (LLN, ULN) per lab code in the canonical unit, for CTCAE.
    baseline_at
        When CTCAE baselines are read (default: ruxolitinib start).

    Returns
    -------
    Evaluation
        With ``at`` (or ``window``) and ``mode`` set; each component carries the time of the
        record it used.

    Raises
    ------
    EvaluationError
        Unknown criterion, a window mode without a window, or a criterion with no order of
        severity asked for ``worst``/``first``.
    """
    crit = get_criterion(criterion_id)
    if mode not in ("at", "worst", "first"):
        raise EvaluationError(f"mode {mode!r} is not at, worst or first")
    win: tuple[datetime, datetime] | None = None
    win_labels: tuple[str, str] | None = None
    if window is not None:
        (s, s_label), (e, e_label) = _resolve(timeline, window[0]), _resolve(timeline, window[1])
        if e < s:
            raise EvaluationError(f"window ends ({e_label}) before it starts ({s_label})")
        win, win_labels = (s, e), (s_label, e_label)
    base = None if baseline_at is None else _resolve(timeline, baseline_at)[0]
    ctx = Context(limits=dict(limits or {}), baseline_at=base, window=win)

    if crit.cumulative:
        if win is None:
            when, label = _resolve(timeline, at) if at is not None else (_last_time(timeline), None)
            day0 = datetime.combine(when.date(), datetime.min.time())
            ev = _steroids.evaluate_window(timeline, day0, day0)
            return ev.model_copy(update={"at": label or _label(timeline, when), "mode": "at"})
        assert win_labels is not None
        ev = _steroids.evaluate_window(timeline, *win)
        return ev.model_copy(update={"window": win_labels, "mode": "window"})

    if mode == "at":
        if at is None and win is not None:
            when, label = win[1], win_labels[1]  # type: ignore[index]
        elif at is None:
            when = _last_time(timeline)
            label = _label(timeline, when)
        else:
            when, label = _resolve(timeline, at)
        return _at(crit, timeline, when, label, ctx)

    if win is None or win_labels is None:
        raise EvaluationError(f"mode {mode!r} needs a window (start, end)")
    if crit.severity is None and not crit.per_component_worst:
        raise EvaluationError(f"{criterion_id} has no order of severity: use mode 'at'")
    prefer = _anchor_of(window[0]) if window is not None else None
    evals = [
        _at(crit, timeline, t, _label(timeline, t, prefer), ctx)
        for t in _candidates(crit, timeline, *win)
    ]
    update = {"window": win_labels, "mode": mode}
    if mode == "first":
        for ev in evals:
            if ev.conclusion is Conclusion.established:
                return ev.model_copy(update=update)
    if crit.per_component_worst:
        names = [c.name for c in evals[0].components]
        worst = [_ctcae.worst_component(ev.component(n) for ev in evals) for n in names]
        result = _ctcae.from_components(worst)
        result = result.model_copy(update=update)
    else:
        assert crit.severity is not None
        best = evals[0]
        for ev in evals[1:]:
            if crit.severity(ev) > crit.severity(best):
                best = ev
        result = best.model_copy(update=update)
    if mode == "first":
        result = result.model_copy(
            update={
                "alerts": (
                    *result.alerts,
                    "not established at any time in the window; the worst result is shown",
                )
            }
        )
    return result


def evaluate_days(
    criterion_id: str,
    timeline: Timeline,
    start: When,
    end: When,
    mode: Mode = "worst",
    **options: Mapping[str, tuple[float | None, float | None]] | When | None,
) -> list[Evaluation]:
    """One evaluation per day from ``start`` to ``end`` (e.g. the daily WHO CPS level).

    Each day is the 24 hours from ``start`` + k days; ``mode`` is ``worst`` (default: the most
    severe state of the day), ``first``, or ``at`` (the state at the end of the day).
    """
    s, _ = _resolve(timeline, start)
    e, _ = _resolve(timeline, end)
    out = []
    day = s
    while day <= e:
        last = day + timedelta(days=1) - timedelta(microseconds=1)
        if mode == "at":
            ev = evaluate_timeline(criterion_id, timeline, at=last, mode="at", **options)  # type: ignore[arg-type]
        else:
            ev = evaluate_timeline(criterion_id, timeline, window=(day, last), mode=mode, **options)  # type: ignore[arg-type]
        out.append(ev.model_copy(update={"at": _label(timeline, day, _anchor_of(start))}))
        day += timedelta(days=1)
    return out
