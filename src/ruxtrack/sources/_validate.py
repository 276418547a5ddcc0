"""Validate canonical tables column-wise and build timelines (all problems, then raise).

Checks run on whole columns (pandas) and on unique values (times, codes, (code, unit) groups
through :func:`ruxtrack.units.normalize_array`); only rows with a problem cost a Python object
for the message. Rows that pass become timeline records; the pydantic models then check what
they own (ranges, patterns) and any error they raise is reported against the same row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ValidationError

from ruxtrack.errors import TimelineError, UnitError
from ruxtrack.sources._load import RawTable
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._rows import parse_comorbidities, parse_conditioning, split_list
from ruxtrack.sources._units import FIO2_CODE, lab_codes, normalise_column
from ruxtrack.timeline import (
    NOMINAL_EPOCH,
    Assessment,
    Comparator,
    DoseUnit,
    DrugExposure,
    Event,
    Frequency,
    Observation,
    Patient,
    Route,
    SupportEpisode,
    SupportMode,
    Timeline,
    TimeRef,
    TransplantDetails,
    parse_time,
    resolve_anchors,
)

__all__ = ["RowMap", "build_timelines"]

M = TypeVar("M", bound=BaseModel)
Mask = npt.NDArray[np.bool_]

_PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_EVENT_REF = re.compile(r"^[a-z][a-z0-9_]*(#[1-9][0-9]*)?$")
_OCCURRENCE = re.compile(r"^[1-9][0-9]{0,5}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PREFIX = re.compile(r"^(<=|>=|≤|≥|<|>)\s*(.*)$")
_TRANSPLANT_COLUMNS = (
    "donor_type", "hla_match", "cell_source", "conditioning", "conditioning_intensity",
    "gvhd_prophylaxis",
)  # fmt: skip
_TRANSPLANT_EVENT = "hsct"

_SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown",
        "f": "female", "m": "male"}  # fmt: skip
_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_COMPARATORS = {c.value: c.value for c in Comparator} | {"≤": "<=", "≥": ">="}


def _ci(values: Any) -> dict[str, str]:
    """Case-insensitive spellings of an enum's values."""
    return {str(v.value).lower(): str(v.value) for v in values}


_FREQUENCY = _ci(Frequency)
_ROUTE = _ci(Route)
_MODE = _ci(SupportMode)
_DOSE_UNIT = {u.value: u.value for u in DoseUnit}


@dataclass
class _Table:
    """A raw table being checked: ``ok`` marks rows without a problem so far."""

    raw: RawTable
    problems: Problems
    ok: Mask = field(init=False)

    def __post_init__(self) -> None:
        self.ok = np.ones(len(self.raw), dtype=bool)
        self._lists: dict[str, list[Any]] = {}

    @property
    def file(self) -> str:
        return self.raw.file

    def col(self, name: str) -> pd.Series:
        return self.raw.cells[name]

    def v(self, name: str) -> list[Any]:
        """The column as a list (fast positional access in row loops)."""
        cached = self._lists.get(name)
        if cached is None:
            cached = self._lists[name] = self.raw.cells[name].tolist()
        return cached

    def present(self, name: str) -> Mask:
        return np.asarray(self.col(name) != "", dtype=bool)

    def fail(self, mask: Mask, column: str, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.problems.add_mask(self.file, self.raw.rows, mask, column, self.col(column), reason)
            self.ok &= ~mask

    def fail_row(self, i: int, column: str | None, reason: str) -> None:
        value = None if column is None else str(self.v(column)[i])
        self.problems.add(self.file, self.row(i), column, value, reason)
        self.ok[i] = False

    def row(self, i: int) -> int:
        rows = self._lists.get("\x00rows")
        if rows is None:
            rows = self._lists["\x00rows"] = self.raw.rows.tolist()
        return int(rows[i])

    # -- column checks ----------------------------------------------------------------------
    def required(self, *names: str) -> None:
        for name in names:
            self.fail(~self.present(name), name, "required value is missing")

    def pattern(self, name: str, regex: re.Pattern[str], reason: str) -> None:
        s = self.col(name)
        bad = self.present(name) & ~np.asarray(s.str.fullmatch(regex.pattern), dtype=bool)
        self.fail(bad, name, reason)

    def choice(self, name: str, spellings: Mapping[str, str], what: str) -> pd.Series:
        """Map spellings to canonical values; unknown ones are problems. Empty stays ''."""
        s = self.col(name)
        key = s if spellings is _DOSE_UNIT else s.str.lower()
        mapped = key.map(spellings)
        bad = self.present(name) & np.asarray(mapped.isna(), dtype=bool)
        choices = ", ".join(dict.fromkeys(spellings.values()))
        self.fail(bad, name, f"unknown {what}; expected one of {choices}")
        return mapped.fillna("")

    def numbers(
        self, name: str, what: str = "a number", text: pd.Series | None = None
    ) -> pd.Series:
        """Parse a numeric column; empty cells are NaN, anything else not a number a problem.

        ``text`` replaces the column's cells for parsing (messages still quote the cell).
        """
        s = self.col(name) if text is None else text
        present = self.present(name)
        num = pd.to_numeric(s.where(present, None), errors="coerce").astype("float64")
        finite = np.isfinite(num.to_numpy())
        bad = present & ~finite
        if bad.any():
            comma = np.asarray(s.str.fullmatch(r"[+-]?\d+,\d+"), dtype=bool)
            reason = pd.Series(f"not {what}", index=s.index).where(
                ~comma, f"not {what} (use a decimal point, not a comma)"
            )
            self.fail(bad, name, reason)
        return num

    def times(self, name: str, cache: dict[str, TimeRef | str]) -> list[TimeRef | None]:
        """Parse a time column (unique texts once); problems for bad texts; None if empty."""
        s = self.col(name)
        present = self.present(name)
        uniques = pd.unique(s[present])
        for text in uniques:
            if text not in cache:
                cache[text] = _parse_time(str(text))
        parsed = s.map(lambda v: cache.get(v) if v else None)
        bad = np.asarray(parsed.map(lambda v: isinstance(v, str)), dtype=bool)
        if bad.any():
            self.fail(bad, name, parsed.where(bad, ""))
            parsed = parsed.where(~bad, None)
        return parsed.tolist()

    def known_patients(self, known: set[str]) -> None:
        s = self.col("patient_id")
        bad = self.present("patient_id") & ~np.asarray(s.isin(known), dtype=bool)
        self.fail(bad, "patient_id", "unknown patient: not in patients file")


def _parse_time(text: str) -> TimeRef | str:
    try:
        return parse_time(text)
    except TimelineError as exc:
        return str(exc)
    except ValidationError as exc:
        return "; ".join(e["msg"] for e in exc.errors())


def _construct(
    t: _Table, i: int, model: type[M], columns: Mapping[str, str], **kwargs: Any
) -> M | None:
    """Build a validated model for row ``i``; map a ValidationError to that row's cells."""
    try:
        return model(**kwargs)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            column = columns.get(loc[0], loc[0]) if loc else None
            if column not in t.raw.spec.column_names:
                column = None
            msg = err["msg"].removeprefix("Value error, ")
            t.fail_row(i, column, msg)
        return None


# -- per-patient context ------------------------------------------------------------------------
@dataclass
class _PatientCtx:
    patient: Patient
    row: int
    events: list[tuple[int, Event]] = field(default_factory=list)
    anchors: dict[tuple[str, int], datetime] = field(default_factory=dict)
    relative: bool = False
    #: events whose row has a problem (reported there); references to them are not reported again
    broken: set[tuple[str, int]] = field(default_factory=set)
    records: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    #: the file row of each record in ``records`` (and of each event), for later messages
    rows: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    event_rows: dict[int, int] = field(default_factory=dict)


def _resolve(ctx: _PatientCtx, ref: TimeRef) -> datetime | None:
    if ref.absolute is not None:
        return ref.absolute
    if ref.origin:
        return NOMINAL_EPOCH
    base = ctx.anchors.get((str(ref.anchor), ref.occurrence))
    return None if base is None else base + ref.offset


def _time_problem(ctx: _PatientCtx, ref: TimeRef) -> str | None:
    if ref.absolute is not None and ctx.relative:
        return (
            f"patient {ctx.patient.patient_id} is recorded in relative days (an event is the "
            "origin): absolute dates cannot be mixed in; write this time relative to an event"
        )
    if ref.origin and not ctx.relative:
        return (
            f"origin is the reference of a patient recorded only in relative days, and patient "
            f"{ctx.patient.patient_id} has no event at origin; write it relative to an event"
        )
    if ref.anchor is not None and (ref.anchor, ref.occurrence) not in ctx.anchors:
        label = ref.anchor if ref.occurrence == 1 else f"{ref.anchor}#{ref.occurrence}"
        if any(e.key == (ref.anchor, ref.occurrence) for _, e in ctx.events):
            return f"event {label} of patient {ctx.patient.patient_id} could not be resolved"
        return f"patient {ctx.patient.patient_id} has no event {label} in the events file"
    return None


# -- files ---------------------------------------------------------------------------------------
def _patients(raw: RawTable, problems: Problems) -> tuple[dict[str, _PatientCtx], set[str]]:
    t = _Table(raw, problems)
    t.required("patient_id", "sex")
    t.pattern(
        "patient_id", _PATIENT_ID,
        "patient id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter "
        "or digit",
    )  # fmt: skip
    pid = t.col("patient_id")
    dup = np.asarray(pid.duplicated(keep="first"), dtype=bool) & t.present("patient_id")
    if dup.any():
        first = {v: t.row(i) for i, v in reversed(list(enumerate(pid)))}
        t.fail(
            dup, "patient_id", pid.map(lambda v: f"duplicate patient id (first in row {first[v]})")
        )
    sex = t.choice("sex", _SEX, "sex")
    synthetic = t.choice("synthetic", {k: str(v).lower() for k, v in _BOOL.items()}, "value "
                         "for synthetic (true/false)")  # fmt: skip
    age = t.numbers("age_years")
    both = t.present("birth_date") & t.present("age_years")
    t.fail(both, "age_years", "give birth_date or age_years, not both")
    t.pattern("birth_date", _ISO_DATE, "not an ISO date (YYYY-MM-DD)")
    t.pattern("age_at", _EVENT_REF, "age_at names an event, e.g. admission or hsct#2")
    out: dict[str, _PatientCtx] = {}
    birth = t.v("birth_date")
    pid_l, sex_l, age_l, syn_l = pid.tolist(), sex.tolist(), age.tolist(), synthetic.tolist()
    for i in np.flatnonzero(t.ok).tolist():
        born: date | None = None
        if birth[i]:
            try:
                born = date.fromisoformat(birth[i])
            except ValueError:
                t.fail_row(i, "birth_date", "not a valid calendar date")
                continue
        try:
            comorbidities = parse_comorbidities(t.v("comorbidities")[i])
        except (ValueError, ValidationError) as exc:
            t.fail_row(i, "comorbidities", _msg(exc))
            continue
        p = _construct(
            t, i, Patient, {},
            patient_id=pid_l[i],
            sex=sex_l[i],
            birth_date=born,
            age_years=None if np.isnan(age_l[i]) else float(age_l[i]),
            age_at=t.v("age_at")[i] or None,
            blood_group=t.v("blood_group")[i] or None,
            comorbidities=comorbidities,
            synthetic=syn_l[i] == "true",
        )  # fmt: skip
        if p is not None:
            out[p.patient_id] = _PatientCtx(p, t.row(i))
    known = set(pid[t.present("patient_id")])
    return out, known


def _msg(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def _events(
    raw: RawTable, problems: Problems, ctxs: dict[str, _PatientCtx], known: set[str],
    cache: dict[str, TimeRef | str],
) -> None:  # fmt: skip
    t = _Table(raw, problems)
    t.required("patient_id", "event", "time")
    t.known_patients(known)
    t.pattern(
        "event", _IDENT,
        "event name must be lower-case letters, digits and '_', starting with a letter "
        "(e.g. rux_start)",
    )  # fmt: skip
    t.pattern("occurrence", _OCCURRENCE, "occurrence must be a whole number 1, 2, 3, ...")
    times = t.times("time", cache)
    is_tx = np.asarray(t.col("event") == _TRANSPLANT_EVENT, dtype=bool)
    for col in _TRANSPLANT_COLUMNS:
        t.fail(
            t.present(col) & ~is_tx, col,
            f"transplant details belong on {_TRANSPLANT_EVENT} events only",
        )  # fmt: skip
    occ_s = t.col("occurrence").where(t.present("occurrence"), "1")
    occ = occ_s.tolist()
    key = t.col("patient_id") + "\x00" + t.col("event") + "\x00" + occ_s
    dup = np.asarray(key.duplicated(keep="first"), dtype=bool) & t.ok
    if dup.any():
        first = {v: t.row(i) for i, v in reversed(list(enumerate(key)))}
        reason = pd.Series(
            [
                f"duplicate event {e if o == '1' else f'{e}#{o}'} for patient {p} "
                f"(first in row {first[k]}); number repeats with the occurrence column"
                for p, e, o, k in zip(t.v("patient_id"), t.v("event"), occ, key, strict=True)
            ],
            index=key.index,
        )
        t.fail(dup, "event", reason)
    for i in np.flatnonzero(~t.ok).tolist():
        ctx = ctxs.get(t.v("patient_id")[i])
        if ctx is not None and _OCCURRENCE.match(occ[i]):
            ctx.broken.add((t.v("event")[i], int(occ[i])))
    for i in np.flatnonzero(t.ok).tolist():
        pid = t.v("patient_id")[i]
        ctx = ctxs.get(pid)
        if ctx is None:
            continue  # the patient row itself has a problem, reported there
        transplant = None
        if is_tx[i] and any(t.v(c)[i] for c in _TRANSPLANT_COLUMNS):
            try:
                conditioning = parse_conditioning(t.v("conditioning")[i])
            except (ValueError, ValidationError) as exc:
                t.fail_row(i, "conditioning", _msg(exc))
                ctx.broken.add((t.v("event")[i], int(occ[i])))
                continue
            transplant = _construct(
                t, i, TransplantDetails, {},
                donor_type=t.v("donor_type")[i] or None,
                hla_match=t.v("hla_match")[i] or None,
                cell_source=t.v("cell_source")[i] or None,
                conditioning=conditioning,
                conditioning_intensity=t.v("conditioning_intensity")[i] or None,
                gvhd_prophylaxis=tuple(split_list(t.v("gvhd_prophylaxis")[i])),
            )  # fmt: skip
            if transplant is None:
                ctx.broken.add((t.v("event")[i], int(occ[i])))
                continue
        ev = _construct(
            t, i, Event, {"transplant": "donor_type"},
            patient_id=pid,
            event=t.v("event")[i],
            occurrence=int(occ[i]),
            time=times[i],
            transplant=transplant,
            provenance=t.v("provenance")[i] or None,
        )  # fmt: skip
        if ev is not None:
            ctx.events.append((i, ev))
            ctx.event_rows[i] = t.row(i)
        else:
            ctx.broken.add((t.v("event")[i], int(occ[i])))
    for ctx in ctxs.values():
        _drop_broken_references(t, ctx)
        evs = [e for _, e in ctx.events]
        anchors, found = resolve_anchors(evs)
        for idx, why in found:
            t.fail_row(ctx.events[idx][0], "time", why)
        ctx.anchors = anchors
        ctx.broken |= {e.key for e in evs if e.key not in anchors}
        ctx.relative = any(e.time.origin for e in evs)


def _drop_broken_references(t: _Table, ctx: _PatientCtx) -> None:
    """Set aside events anchored (directly or through others) on an event with a problem."""
    changed = True
    while changed and ctx.broken:
        changed = False
        kept = []
        for i, ev in ctx.events:
            ref = ev.time
            if ref.anchor is not None and (ref.anchor, ref.occurrence) in ctx.broken:
                ctx.broken.add(ev.key)
                t.ok[i] = False  # its cause is reported on the broken event's row
                changed = True
            else:
                kept.append((i, ev))
        ctx.events = kept


def _patient_links(raw: RawTable, problems: Problems, ctxs: dict[str, _PatientCtx]) -> None:
    """Checks of the patients file that need the events: age_at, birth date on relative days."""
    for ctx in ctxs.values():
        p = ctx.patient
        if p.age_at is not None:
            name, _, occ = p.age_at.partition("#")
            key = (name, int(occ or 1))
            if key not in ctx.anchors and key not in ctx.broken:
                problems.add(
                    raw.file, ctx.row, "age_at", p.age_at,
                    f"patient {p.patient_id} has no event {p.age_at} in the events file",
                )  # fmt: skip
        if p.birth_date is not None and ctx.relative:
            problems.add(
                raw.file, ctx.row, "birth_date", p.birth_date.isoformat(),
                f"patient {p.patient_id} is recorded in relative days (origin): a birth date "
                "cannot be placed; give age_years at an event instead",
            )  # fmt: skip


def _timed_rows(
    t: _Table,
    ctxs: dict[str, _PatientCtx],
    columns: tuple[str, ...],
    times: Mapping[str, list[TimeRef | None]],
) -> None:
    """Check every time of every still-valid row against its patient's anchors."""
    pids = t.v("patient_id")
    for col in columns:
        series = times[col]
        for i in np.flatnonzero(t.ok).tolist():
            ref = series[i]
            ctx = ctxs.get(pids[i])
            if ref is None or ctx is None:
                continue
            if ref.anchor is not None and (ref.anchor, ref.occurrence) in ctx.broken:
                t.ok[i] = False  # the event it refers to has a problem, reported there
                continue
            reason = _time_problem(ctx, ref)
            if reason is not None:
                t.fail_row(i, col, reason)


def _end_not_before_start(
    t: _Table,
    ctxs: dict[str, _PatientCtx],
    times: Mapping[str, list[TimeRef | None]],
    by_day: bool,
) -> None:
    pids = t.v("patient_id")
    for i in np.flatnonzero(t.ok).tolist():
        end, start = times["end"][i], times["start"][i]
        ctx = ctxs.get(pids[i])
        if end is None or start is None or ctx is None:
            continue
        s = _resolve(ctx, start)
        e = _resolve(ctx, end)
        if s is None or e is None:
            continue
        day_precision = by_day or _day_only(end) or _day_only(start)
        if (e.date() < s.date()) if day_precision else (e < s):
            t.fail_row(i, "end", f"end ({end}) is before start ({start})")


def _day_only(ref: TimeRef) -> bool:
    return ref.date_only or (
        ref.anchor is not None and ref.offset % timedelta(days=1) == timedelta(0)
    )


def _observations(
    raw: RawTable, problems: Problems, ctxs: dict[str, _PatientCtx], known: set[str],
    cache: dict[str, TimeRef | str],
) -> None:  # fmt: skip
    t = _Table(raw, problems)
    t.required("patient_id", "time", "code", "value")
    t.known_patients(known)
    times = t.times("time", cache)
    # a censored value may carry its comparator in front of the number ("<0.5")
    value_text = t.col("value")
    prefix = value_text.str.extract(_PREFIX.pattern)
    has_prefix = np.asarray(prefix[0].notna(), dtype=bool)
    comparator = t.choice("comparator", _COMPARATORS, "comparator")
    if has_prefix.any():
        from_value = prefix[0].map(_COMPARATORS)
        clash = (
            has_prefix & t.present("comparator") & np.asarray(comparator != from_value, dtype=bool)
        )
        t.fail(clash, "comparator", "differs from the comparator written in the value")
        comparator = comparator.where(~has_prefix, from_value)
    number_text = value_text.where(~has_prefix, prefix[1].fillna(""))
    numbers = t.numbers(
        "value", "a number (qualitative findings go to the assessments file)", number_text
    )
    codes = t.col("code")
    _, unknown = lab_codes(pd.unique(codes[t.present("code")]))
    t.fail(
        np.asarray(codes.isin(list(unknown)), dtype=bool), "code",
        codes.map(lambda c: unknown.get(c, "")),
    )  # fmt: skip
    canonical = np.full(len(t.raw), np.nan)
    canon_code = pd.Series("", index=codes.index, dtype=object)
    canon_unit = pd.Series("", index=codes.index, dtype=object)
    units = t.col("unit")
    ok_idx = np.flatnonzero(t.ok)
    if len(ok_idx):
        sub = pd.DataFrame({"code": codes.iloc[ok_idx], "unit": units.iloc[ok_idx]})
        for (code, unit), group in sub.groupby(["code", "unit"], sort=False):
            pos = group.index.to_numpy()
            result = normalise_column(str(code), str(unit), numbers.to_numpy()[pos])
            if result.error is not None:
                field_name, reason = result.error
                t.fail(_mask(len(t.raw), pos), field_name, reason)
                continue
            for j, (field_name, reason) in result.row_errors.items():
                t.fail_row(int(pos[j]), field_name, reason)
            if result.row_errors:
                continue
            canonical[pos] = result.values
            canon_code.iloc[pos] = result.code
            canon_unit.iloc[pos] = result.unit
    _timed_rows(t, ctxs, ("time",), {"time": times})
    pids = t.v("patient_id")
    prov = t.v("provenance")
    comparator_l, numbers_l, units_l = comparator.tolist(), numbers.tolist(), units.tolist()
    canon_code_l, canon_unit_l = canon_code.tolist(), canon_unit.tolist()
    for i in np.flatnonzero(t.ok).tolist():
        ctx = ctxs.get(pids[i])
        if ctx is None:
            continue
        # every field was checked column-wise above (ids, times against anchors, catalogue
        # code, finite canonical value, unit, comparator): skip a second per-row validation
        when = times[i]
        assert when is not None  # required, checked above
        obs = Observation.model_construct(
            patient_id=pids[i],
            provenance=prov[i] or None,
            time=when,
            code=canon_code_l[i],
            value=float(canonical[i]),
            unit=canon_unit_l[i],
            comparator=Comparator(comparator_l[i]) if comparator_l[i] else None,
            source_value=float(numbers_l[i]),
            source_unit=units_l[i] or None,
        )
        if obs is not None:
            ctx.records["observations"].append(obs)
            ctx.rows["observations"].append(t.row(i))


def _mask(n: int, pos: npt.NDArray[np.intp]) -> Mask:
    m = np.zeros(n, dtype=bool)
    m[pos] = True
    return m


def _drugs(
    raw: RawTable, problems: Problems, ctxs: dict[str, _PatientCtx], known: set[str],
    cache: dict[str, TimeRef | str],
) -> None:  # fmt: skip
    t = _Table(raw, problems)
    t.required("patient_id", "drug", "dose", "unit", "frequency", "start")
    t.known_patients(known)
    t.pattern(
        "drug", _IDENT,
        "drug must be a lower-case name with '_' for spaces (e.g. ruxolitinib, "
        "methylprednisolone)",
    )  # fmt: skip
    dose = t.numbers("dose")
    unit = t.choice("unit", _DOSE_UNIT, "dose unit")
    freq = t.choice("frequency", _FREQUENCY, "frequency")
    route = t.choice("route", _ROUTE, "route")
    times = {c: t.times(c, cache) for c in ("start", "end")}
    _timed_rows(t, ctxs, ("start", "end"), times)
    _end_not_before_start(t, ctxs, times, by_day=True)
    dose_l, unit_l, freq_l, route_l = dose.tolist(), unit.tolist(), freq.tolist(), route.tolist()
    pids = t.v("patient_id")
    for i in np.flatnonzero(t.ok).tolist():
        ctx = ctxs.get(pids[i])
        if ctx is None:
            continue
        rec = _construct(
            t, i, DrugExposure, {},
            patient_id=pids[i],
            drug=t.v("drug")[i],
            rxnorm=t.v("rxnorm")[i] or None,
            dose=float(dose_l[i]),
            unit=unit_l[i],
            frequency=freq_l[i],
            route=route_l[i] or Route.oral.value,
            start=times["start"][i],
            end=times["end"][i],
            reason=t.v("reason")[i] or None,
            provenance=t.v("provenance")[i] or None,
        )  # fmt: skip
        if rec is not None:
            ctx.records["drugs"].append(rec)
            ctx.rows["drugs"].append(t.row(i))


def _support(
    raw: RawTable, problems: Problems, ctxs: dict[str, _PatientCtx], known: set[str],
    cache: dict[str, TimeRef | str],
) -> None:  # fmt: skip
    t = _Table(raw, problems)
    t.required("patient_id", "mode", "start")
    t.known_patients(known)
    mode = t.choice("mode", _MODE, "support mode")
    fio2_raw = t.numbers("fio2")
    flow = t.numbers("flow_l_min")
    fio2 = np.full(len(t.raw), np.nan)
    pos = np.flatnonzero(t.ok & t.present("fio2"))
    if len(pos):
        # FiO2 as % (21-100) or as a fraction: read through the lab catalogue's FiO2 entry
        result = normalise_column(FIO2_CODE, "", fio2_raw.to_numpy()[pos])
        if result.error is not None:
            t.fail(_mask(len(t.raw), pos), "fio2", result.error[1])
        else:
            for j, (_, reason) in result.row_errors.items():
                t.fail_row(int(pos[j]), "fio2", reason)
            if not result.row_errors:
                fio2[pos] = result.values
    times = {c: t.times(c, cache) for c in ("start", "end")}
    _timed_rows(t, ctxs, ("start", "end"), times)
    _end_not_before_start(t, ctxs, times, by_day=False)
    mode_l, flow_l = mode.tolist(), flow.tolist()
    pids = t.v("patient_id")
    for i in np.flatnonzero(t.ok).tolist():
        ctx = ctxs.get(pids[i])
        if ctx is None:
            continue
        rec = _construct(
            t, i, SupportEpisode, {},
            patient_id=pids[i],
            mode=mode_l[i],
            start=times["start"][i],
            end=times["end"][i],
            fio2=None if np.isnan(fio2[i]) else float(fio2[i]),
            flow_l_min=None if np.isnan(flow_l[i]) else float(flow_l[i]),
            provenance=t.v("provenance")[i] or None,
        )  # fmt: skip
        if rec is not None:
            ctx.records["support"].append(rec)
            ctx.rows["support"].append(t.row(i))


def _assessments(
    raw: RawTable, problems: Problems, ctxs: dict[str, _PatientCtx], known: set[str],
    cache: dict[str, TimeRef | str],
) -> None:  # fmt: skip
    t = _Table(raw, problems)
    t.required("patient_id", "time", "kind", "value")
    t.known_patients(known)
    t.pattern(
        "kind", _IDENT,
        "kind must be lower-case letters, digits and '_', starting with a letter "
        "(e.g. gvhd_stage_lower_gi)",
    )  # fmt: skip
    times = t.times("time", cache)
    _timed_rows(t, ctxs, ("time",), {"time": times})
    pids = t.v("patient_id")
    for i in np.flatnonzero(t.ok).tolist():
        ctx = ctxs.get(pids[i])
        if ctx is None:
            continue
        rec = _construct(
            t, i, Assessment, {},
            patient_id=pids[i],
            time=times[i],
            kind=t.v("kind")[i],
            value=t.v("value")[i],
            code=t.v("code")[i] or None,
            provenance=t.v("provenance")[i] or None,
        )  # fmt: skip
        if rec is not None:
            ctx.records["assessments"].append(rec)
            ctx.rows["assessments"].append(t.row(i))


_RECORD_READERS: dict[
    str,
    Callable[
        [RawTable, Problems, dict[str, _PatientCtx], set[str], dict[str, TimeRef | str]], None
    ],
] = {
    "observations": _observations,
    "drugs": _drugs,
    "support": _support,
    "assessments": _assessments,
}


#: Where each record of a built timeline came from: (patient id, kind, index) -> (file, row);
#: index -1 is the patient's own row.
RowMap = dict[tuple[str, str, int], tuple[str, int]]


def build_timelines(
    tables: Mapping[str, RawTable], problems: Problems, where: RowMap | None = None
) -> list[Timeline]:
    """Validate loaded tables and build one timeline per patient (in patients-file order).

    Problems are added to ``problems``; when there is any, the returned list is empty.
    ``where`` (when given) is filled with the file and row of every record built.
    """
    if "patients" not in tables:
        return []
    ctxs, known = _patients(tables["patients"], problems)
    if not known and not problems:
        problems.add(
            tables["patients"].file, None, None, None, "no patients: the file has no data rows"
        )
    cache: dict[str, TimeRef | str] = {}
    if "events" in tables:
        _events(tables["events"], problems, ctxs, known, cache)
    _patient_links(tables["patients"], problems, ctxs)
    for name, reader in _RECORD_READERS.items():
        if name in tables:
            reader(tables[name], problems, ctxs, known, cache)
    if problems:
        return []
    out = []
    for ctx in ctxs.values():
        if where is not None:
            _fill_rows(where, tables, ctx)
        try:
            out.append(
                Timeline(
                    patient=ctx.patient,
                    events=tuple(e for _, e in ctx.events),
                    observations=tuple(ctx.records["observations"]),
                    drugs=tuple(ctx.records["drugs"]),
                    support=tuple(ctx.records["support"]),
                    assessments=tuple(ctx.records["assessments"]),
                )
            )
        except (ValidationError, UnitError, TimelineError) as exc:  # pragma: no cover - defence
            problems.add(tables["patients"].file, ctx.row, None, ctx.patient.patient_id, _msg(exc))
    return [] if problems else out


def _fill_rows(where: RowMap, tables: Mapping[str, RawTable], ctx: _PatientCtx) -> None:
    pid = ctx.patient.patient_id
    where[(pid, "patients", -1)] = (tables["patients"].file, ctx.row)
    if "events" in tables:
        for k, (i, _) in enumerate(ctx.events):
            where[(pid, "events", k)] = (tables["events"].file, ctx.event_rows[i])
    for kind, rows in ctx.rows.items():
        for k, row in enumerate(rows):
            where[(pid, kind, k)] = (tables[kind].file, row)
