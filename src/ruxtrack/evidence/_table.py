"""The shipped evidence table (Tomomasa 2021, Table 2): loading, stated-range checks, pooling."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.evidence._data import ProportionData
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

TABLE_FILE = "evidence/tomomasa2021_table2.yaml"
Quantity = Literal["incidence", "mortality"]
Timeframe = Literal["longest", "shortest"]
Intensity = Literal["myeloablative", "nonmyeloablative", "mixed", "not_stated"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Number(_Frozen):
    """One transcribed number with the cell text it was read from and its provenance."""

    value: float
    decimals: int | None = None
    quote: str
    source: SourceRef


class Incidence(_Frozen):
    """IPS cases out of transplants, as printed."""

    ips_n: Number
    transplant_n: Number
    percent: Number


class Deaths(_Frozen):
    """Deaths among the IPS cases within a time frame (count may be missing)."""

    timeframe: str
    horizon_days: int | None
    n: Number | None
    of: Number
    percent: Number | None
    combined_with: str | None = None


class Survival(_Frozen):
    """An overall-survival percentage (an estimate, not a count)."""

    timeframe: str
    horizon_days: int | None
    percent: Number


class Ambiguity(_Frozen):
    """What is unclear in a row and how ruxtrack treats it."""

    field: str
    note: str


class Cohort(_Frozen):
    """One row (or arm) of the evidence table."""

    id: str
    author: str
    year: int
    reference_number: int
    reference: str
    arm: str | None = None
    age_group: Literal["paediatric", "adult"]
    design: Literal["retrospective", "prospective"]
    age: str
    disease: str
    hla: str
    donor_source: str
    conditioning: tuple[str, ...]
    conditioning_intensity: Intensity
    treatment: tuple[str, ...]
    gvhd_before_ips: str
    incidence: Incidence | None = None
    ips_n_only: Number | None = None
    deaths: tuple[Deaths, ...] = ()
    survival: tuple[Survival, ...] = ()
    ambiguities: tuple[Ambiguity, ...] = ()

    @property
    def label(self) -> str:
        """Short label, e.g. ``Fukuda 2003 (nonmyeloablative conditioning)``."""
        return f"{self.author} {self.year}" + (f" ({self.arm})" if self.arm else "")

    @property
    def ips_n(self) -> int:
        """Number of IPS cases in the row."""
        num = self.incidence.ips_n if self.incidence else self.ips_n_only
        if num is None:
            raise KnowledgeFileError(TABLE_FILE, f"cohort {self.id}: no IPS N")
        return int(num.value)


class StatedRange(_Frozen):
    """A range the paper states in its text."""

    id: str
    quantity: Quantity
    age_group: Literal["paediatric", "adult"]
    low: float
    high: float
    qualifier: str | None
    exclude_conditioning: tuple[Intensity, ...] = ()
    exclude_source: SourceRef | None = None
    source: SourceRef


class EvidenceTable(_Frozen):
    """A transcribed evidence table with per-number provenance."""

    id: str
    title: str
    sources: dict[str, Citation]
    source: SourceRef
    horizon_note: str
    cohorts: tuple[Cohort, ...]
    stated_ranges: tuple[StatedRange, ...]


def load_evidence_table(path: str | Path | None = None) -> EvidenceTable:
    """Load the shipped Table 2 of Tomomasa et al. 2021 (or another file of the same shape)."""
    target = Path(path) if path is not None else knowledge_path(TABLE_FILE)
    table = validate_knowledge(EvidenceTable, load_yaml(target), target)
    ids = [c.id for c in table.cohorts]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise KnowledgeFileError(str(target), f"duplicate cohort ids: {sorted(dup)}")
    for c in table.cohorts:
        for key in _source_keys(c):
            if key not in table.sources:
                raise KnowledgeFileError(str(target), f"cohort {c.id}: unknown source key {key!r}")
    return table


def _source_keys(c: Cohort) -> set[str]:
    nums: list[Number | None] = [c.ips_n_only]
    if c.incidence:
        nums += [c.incidence.ips_n, c.incidence.transplant_n, c.incidence.percent]
    for d in c.deaths:
        nums += [d.n, d.of, d.percent]
    nums += [s.percent for s in c.survival]
    return {n.source.key for n in nums if n is not None}


def _round(value: float, decimals: int) -> Decimal:
    q = Decimal(1).scaleb(-decimals)
    return Decimal(repr(value)).quantize(q, rounding=ROUND_HALF_UP)


def consistent_counts(percent: float, decimals: int, total: int) -> tuple[int, ...]:
    """Whole counts out of ``total`` whose percentage rounds (half up) to the printed value.

    Examples
    --------
    >>> consistent_counts(85, 0, 75)
    (64,)
    """
    target = _round(percent, decimals)
    return tuple(x for x in range(total + 1) if _round(100 * x / total, decimals) == target)


class DeathCount(_Frozen):
    """Deaths used for pooling, and whether the count was printed or derived."""

    cohort: str
    label: str
    age_group: str
    deaths: int
    of: int
    timeframe: str
    derived: bool


class Exclusion(_Frozen):
    """A row left out of a pooled analysis, and why."""

    cohort: str
    reason: str


def death_counts(
    table: EvidenceTable, timeframe: Timeframe = "longest"
) -> tuple[tuple[DeathCount, ...], tuple[Exclusion, ...]]:
    """One death count per cohort (the longest or shortest stated time frame).

    A printed count is used as is; a percentage without a count is turned into a count only when
    exactly one whole number is consistent with it (:func:`consistent_counts`), and marked derived.
    Time frames that are not stated sort after every stated one for ``longest``.
    """
    out: list[DeathCount] = []
    excl: list[Exclusion] = []
    for c in table.cohorts:
        if not c.deaths:
            why = (
                "overall survival only (an estimate, not a count)"
                if c.survival
                else "deaths not reported for this row (see its ambiguities)"
            )
            excl.append(Exclusion(cohort=c.label, reason=why))
            continue

        def key(d: Deaths) -> float:
            h = d.horizon_days
            return (1e9 if h is None else h) if timeframe == "longest" else (h or 1e9)

        d = max(c.deaths, key=key) if timeframe == "longest" else min(c.deaths, key=key)
        total = int(d.of.value)
        label = f"{c.author} {c.year} (both arms)" if d.combined_with else c.label
        if d.n is not None:
            out.append(
                DeathCount(
                    cohort=c.id,
                    label=label,
                    age_group=c.age_group,
                    deaths=int(d.n.value),
                    of=total,
                    timeframe=d.timeframe,
                    derived=False,
                )
            )
            continue
        if d.percent is None:
            excl.append(Exclusion(cohort=c.label, reason="neither count nor percentage"))
            continue
        counts = consistent_counts(d.percent.value, d.percent.decimals or 0, total)
        if len(counts) == 1:
            out.append(
                DeathCount(
                    cohort=c.id,
                    label=label + " †",
                    age_group=c.age_group,
                    deaths=counts[0],
                    of=total,
                    timeframe=d.timeframe,
                    derived=True,
                )
            )
        else:
            excl.append(
                Exclusion(
                    cohort=c.label,
                    reason=f"{d.percent.value:g}% of {total} fits {len(counts)} "
                    "whole counts; no count derived",
                )
            )
    return tuple(out), tuple(excl)


def table_proportions(
    table: EvidenceTable, quantity: Quantity, *, timeframe: Timeframe = "longest"
) -> tuple[ProportionData, tuple[Exclusion, ...], tuple[str, ...]]:
    """Counts of the table as :class:`ProportionData` grouped by age group.

    Returns the data, the rows left out (with reasons), and the time frame used per study
    (mortality; empty strings for incidence).
    """
    studies: list[str] = []
    events: list[int] = []
    totals: list[int] = []
    groups: list[str] = []
    frames: list[str] = []
    excl: list[Exclusion] = []
    if quantity == "incidence":
        for c in table.cohorts:
            if c.incidence is None:
                excl.append(Exclusion(cohort=c.label, reason="no transplant denominator"))
                continue
            studies.append(c.label)
            events.append(int(c.incidence.ips_n.value))
            totals.append(int(c.incidence.transplant_n.value))
            groups.append(c.age_group)
            frames.append("")
    else:
        counts, excl_d = death_counts(table, timeframe)
        excl.extend(excl_d)
        for d in counts:
            studies.append(d.label)
            events.append(d.deaths)
            totals.append(d.of)
            groups.append(d.age_group)
            frames.append(d.timeframe)
    data = ProportionData(
        studies=tuple(studies),
        events=tuple(events),
        totals=tuple(totals),
        groups=tuple(groups),
        group_column="age_group",
        source=f"{table.id} ({quantity})",
    )
    return data, tuple(excl), tuple(frames)


class Candidate(_Frozen):
    """One value of the table that a stated range could cover."""

    cohort: str
    value: float
    what: str
    inside: bool


class RangeCheck(_Frozen):
    """Whether the table supports a range the paper states."""

    id: str
    quantity: Quantity
    age_group: str
    low: float
    high: float
    quote: str | None
    qualifier: str | None
    candidates: tuple[Candidate, ...]
    low_matches: tuple[str, ...]
    high_matches: tuple[str, ...]
    verdict: Literal["supported", "partly supported", "not supported"]
    explanation: str


def _decimals(value: float) -> int:
    text = repr(float(value)).rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def _matches(candidate: float, stated: float) -> bool:
    """A printed value equals a stated end after rounding to the stated precision (70.1 -> 70)."""
    dec = _decimals(stated)
    return _round(candidate, dec) == _round(stated, dec)


def check_stated_ranges(table: EvidenceTable) -> tuple[RangeCheck, ...]:
    """Compare each stated range with the percentages printed in the table.

    Candidates are the printed percentages of the rows of that age group (every time frame for
    mortality, and 100 - overall survival, marked as such). A range is *supported* when both ends
    are printed values (after rounding to the stated precision) and no candidate lies outside;
    *partly supported* when at least one end is
    a printed value but some candidates lie outside (or one end has no match); otherwise *not
    supported*.
    """
    out: list[RangeCheck] = []
    tol = 1e-9
    for r in table.stated_ranges:
        cands: list[Candidate] = []
        for c in table.cohorts:
            if c.age_group != r.age_group or c.conditioning_intensity in r.exclude_conditioning:
                continue
            if r.quantity == "incidence":
                if c.incidence is not None:
                    v = c.incidence.percent.value
                    cands.append(
                        Candidate(
                            cohort=c.label,
                            value=v,
                            what="incidence as printed",
                            inside=r.low - tol <= v <= r.high + tol,
                        )
                    )
                continue
            for d in c.deaths:
                if d.percent is not None:
                    v = d.percent.value
                    cands.append(
                        Candidate(
                            cohort=c.label,
                            value=v,
                            what=f"died, {d.timeframe}",
                            inside=r.low - tol <= v <= r.high + tol,
                        )
                    )
            for s in c.survival:
                v = round(100 - s.percent.value, 6)
                cands.append(
                    Candidate(
                        cohort=c.label,
                        value=v,
                        what=f"100 - overall survival {s.timeframe}",
                        inside=r.low - tol <= v <= r.high + tol,
                    )
                )
        lows = tuple(c.cohort for c in cands if _matches(c.value, r.low))
        highs = tuple(c.cohort for c in cands if _matches(c.value, r.high))
        outside = [c for c in cands if not c.inside]
        verdict: Literal["supported", "partly supported", "not supported"]
        if lows and highs and not outside:
            verdict = "supported"
            why = "both ends are printed values and every value of the group lies inside"
        elif lows or highs:
            verdict = "partly supported"
            bits = []
            if not lows:
                bits.append(f"no printed value equals the lower end {r.low:g}%")
            if not highs:
                bits.append(f"no printed value equals the upper end {r.high:g}%")
            if outside:
                bits.append(
                    "outside: " + "; ".join(f"{c.cohort} {c.value:g}% ({c.what})" for c in outside)
                )
            why = "; ".join(bits)
        else:
            verdict = "not supported"
            why = "neither end of the range is a printed value"
        out.append(
            RangeCheck(
                id=r.id,
                quantity=r.quantity,
                age_group=r.age_group,
                low=r.low,
                high=r.high,
                quote=r.source.quote,
                qualifier=r.qualifier,
                candidates=tuple(cands),
                low_matches=lows,
                high_matches=highs,
                verdict=verdict,
                explanation=why,
            )
        )
    return tuple(out)
