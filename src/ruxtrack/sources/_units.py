"""The bridge to :mod:`ruxtrack.units`: codes and units checked in bulk, errors per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ruxtrack.errors import ImportProblem, ImportValidationError, UnitError
from ruxtrack.timeline import Observation, Timeline
from ruxtrack.units import (
    ImplausibleValuesError,
    UnknownLabCodeError,
    load_catalogue,
    normalize,
    normalize_array,
)

__all__ = ["FIO2_CODE", "NormalisedColumn", "lab_codes", "normalise_column", "normalise_timelines"]

#: The catalogue quantity read for ``support.fio2`` (% or a fraction, by the catalogue's rules).
FIO2_CODE = "fio2"


def lab_codes(codes: Iterable[object]) -> tuple[dict[str, str], dict[str, str]]:
    """Split codes into known (code -> catalogue code) and unknown (code -> reason)."""
    cat = load_catalogue()
    known: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for code in codes:
        text = str(code)
        try:
            known[text] = cat.get(text).code
        except UnknownLabCodeError as exc:
            unknown[text] = str(exc)
    return known, unknown


@dataclass
class NormalisedColumn:
    """Result of one (code, unit) group: canonical values, or the problems found.

    ``error`` is a problem of the whole group (``(field, reason)``, e.g. an unknown unit);
    ``row_errors`` maps positions in the group to ``(field, reason)``.
    """

    code: str = ""
    unit: str = ""
    values: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    error: tuple[str, str] | None = None
    row_errors: dict[int, tuple[str, str]] = field(default_factory=dict)


def normalise_column(code: str, unit: str, values: npt.NDArray[np.float64]) -> NormalisedColumn:
    """Convert one (code, unit) group to the canonical unit with :func:`normalize_array`.

    A rejected unit rejects the group; implausible values are reported row by row, each with
    the reason :func:`ruxtrack.units.normalize` gives for it (naming the probable unit).
    """
    unit_arg = unit or None
    try:
        entry = load_catalogue().get(code)
    except UnknownLabCodeError as exc:
        return NormalisedColumn(error=("code", str(exc)))
    try:
        out = normalize_array(code, values, unit_arg)
    except ImplausibleValuesError as exc:
        errors: dict[int, tuple[str, str]] = {}
        for j in exc.indices.tolist():
            errors[int(j)] = ("value", _row_reason(code, float(values[j]), unit_arg))
        return NormalisedColumn(row_errors=errors)
    except UnitError as exc:
        return NormalisedColumn(error=("unit", exc.reason))
    return NormalisedColumn(code=entry.code, unit=entry.canonical_unit, values=out)


def _row_reason(code: str, value: float, unit: str | None) -> str:
    try:
        normalize(code, value, unit)
    except UnitError as exc:
        return exc.reason
    return "value rejected by the lab catalogue"  # pragma: no cover - normalize agrees


ProblemAt = Callable[[Timeline, int, str, str], ImportProblem]


def normalise_timelines(
    timelines: Sequence[Timeline], *, problem: ProblemAt | None = None
) -> list[Timeline]:
    """Check every observation against the catalogue and put it in the canonical unit.

    Timelines read by :func:`ruxtrack.sources.read_folder` are canonical already and come back
    unchanged. Observations built in code in another accepted unit (or under a LOINC code)
    are converted, keeping what was given in ``source_value`` / ``source_unit``.

    Raises
    ------
    ImportValidationError
        Naming patient, record and reason for every observation the catalogue refuses
        (located by ``problem(timeline, observation_index, field, reason)`` when given).
    """
    make = problem or _problem
    groups: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for ti, tl in enumerate(timelines):
        for oi, o in enumerate(tl.observations):
            groups[(o.code, o.unit)].append((ti, oi))
    problems: list[ImportProblem] = []
    updates: dict[tuple[int, int], Observation] = {}
    for (code, unit), members in groups.items():
        values = np.array(
            [timelines[ti].observations[oi].value for ti, oi in members], dtype=np.float64
        )
        result = normalise_column(code, unit, values)
        if result.error is not None:
            fld, reason = result.error
            for ti, oi in members:
                problems.append(make(timelines[ti], oi, fld, reason))
            continue
        for j, (fld, reason) in result.row_errors.items():
            ti, oi = members[j]
            problems.append(make(timelines[ti], oi, fld, reason))
        if result.row_errors or (result.code == code and result.unit == unit):
            continue
        for j, (ti, oi) in enumerate(members):
            o = timelines[ti].observations[oi]
            given = o.source_value is None
            updates[(ti, oi)] = o.model_copy(
                update={
                    "code": result.code,
                    "value": float(result.values[j]),
                    "unit": result.unit,
                    "source_value": o.value if given else o.source_value,
                    "source_unit": o.unit if given else o.source_unit,
                }
            )
    if problems:
        raise ImportValidationError(problems)
    if not updates:
        return list(timelines)
    touched = {ti for ti, _ in updates}
    out = []
    for ti, tl in enumerate(timelines):
        if ti not in touched:
            out.append(tl)
            continue
        obs = tuple(updates.get((ti, oi), o) for oi, o in enumerate(tl.observations))
        out.append(tl.model_copy(update={"observations": obs}))
    return out


def _problem(tl: Timeline, index: int, fld: str, reason: str) -> ImportProblem:
    o = tl.observations[index]
    value = f"{o.value:g}" if fld == "value" else (o.unit if fld == "unit" else o.code)
    return ImportProblem(
        f"timeline {tl.patient.patient_id}", index + 1, f"observations.{fld}", value, reason
    )
