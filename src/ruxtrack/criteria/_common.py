"""Pieces every criterion module uses: the registry entry, component builders, source lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ruxtrack.criteria._knowledge import CriterionFile, Threshold
from ruxtrack.criteria._model import (
    Component,
    Conclusion,
    CriterionInfo,
    Evaluation,
    InputSpec,
    SourceInfo,
    Status,
)
from ruxtrack.criteria._values import Inputs, Measured, Tri, test
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

__all__ = [
    "Criterion",
    "flag_component",
    "int_bounds",
    "lab_component",
    "lab_value",
    "sources_of",
    "status_of",
]


def int_bounds(c: Component, attr: str) -> tuple[int, int]:
    """(lowest, highest) points/grade/stage of a component: its value, or its range."""
    v = getattr(c, attr)
    if v is not None:
        return int(v), int(v)
    if c.range is None:
        return 0, 0
    return int(c.range[0]), int(c.range[1])


def status_of(t: Tri) -> Status:
    """met / not_met / unknown from a three-valued answer."""
    if t is None:
        return Status.unknown
    return Status.met if t else Status.not_met


def sources_of(f: CriterionFile, keys: Sequence[str] | None = None) -> tuple[SourceInfo, ...]:
    """The file's citations (all, or the keys named) as result sources."""
    chosen = f.sources if keys is None else {k: f.sources[k] for k in keys if k in f.sources}
    return tuple(SourceInfo(key=k, citation=c.citation, url=c.url) for k, c in chosen.items())


def lab_value(m: Measured) -> float | str:
    """A component's value: the number, or the censored text ("<0.5 10*9/L")."""
    return float(m.value) if m.comparator is None else m.text()


def lab_component(
    name: str,
    label: str,
    inputs: Inputs,
    key: str,
    threshold: Threshold,
    source: SourceRef | None,
    *,
    note: str | None = None,
) -> Component:
    """A component met when the lab value satisfies ``threshold``; unknown without the value."""
    m = inputs.lab(key)
    src = None if source is None else source.label()
    if m is None:
        return Component(
            name=name,
            label=label,
            status=Status.unknown,
            threshold=threshold.text(),
            source=src,
            note=note,
        )
    return Component(
        name=name,
        label=label,
        status=status_of(test(m, threshold)),
        value=lab_value(m),
        unit=m.unit,
        time=inputs.time_of(key),
        threshold=threshold.text(),
        source=src,
        basis=inputs.basis_of(key),
        note=note,
    )


def flag_component(
    name: str,
    label: str,
    inputs: Inputs,
    key: str,
    source: SourceRef | None,
    *,
    met_when: bool = True,
    threshold: str | None = None,
) -> Component:
    """A component met when a yes/no finding equals ``met_when``; unknown when not recorded."""
    v = inputs.flag(key)
    src = None if source is None else source.label()
    return Component(
        name=name,
        label=label,
        status=status_of(None if v is None else v is met_when),
        value=v,
        time=inputs.time_of(key),
        threshold=threshold or ("present" if met_when else "absent"),
        source=src,
        basis=inputs.basis_of(key),
    )


@dataclass(frozen=True)
class Criterion:
    """A registered criterion: its vocabulary, pure evaluator and timeline reader."""

    id: str
    name: str
    description: str
    inputs: Callable[[], tuple[InputSpec, ...]]
    evaluate: Callable[[Inputs], Evaluation]
    knowledge: Callable[[], CriterionFile]
    gather: Callable[[Timeline, datetime, Any], Inputs] | None = None
    severity: Callable[[Evaluation], tuple[float, ...]] | None = None
    per_component_worst: bool = False
    cumulative: bool = False
    codes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    source_keys: tuple[str, ...] | None = field(default=None)

    def info(self) -> CriterionInfo:
        f = self.knowledge()
        return CriterionInfo(
            id=self.id,
            name=self.name,
            source=f.source.label(),
            status=f.source.status.value,
            description=self.description,
            inputs=self.inputs(),
            sources=sources_of(f, self.source_keys),
        )


def conclude_by_count(met: int, unknown: int, needed: int) -> Conclusion:
    """established when met >= needed; excluded when even all unknowns could not reach it."""
    if met >= needed:
        return Conclusion.established
    if met + unknown < needed:
        return Conclusion.excluded
    return Conclusion.undecidable


def conclude_by_range(lo: float, hi: float, cutoff: float) -> Conclusion:
    """established when the lowest possible total reaches the cut-off; excluded when the
    highest cannot."""
    if lo >= cutoff:
        return Conclusion.established
    if hi < cutoff:
        return Conclusion.excluded
    return Conclusion.undecidable
