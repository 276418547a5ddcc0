"""Medications: MedicationRequest, MedicationStatement and MedicationAdministration -> drug
exposures (what was given beats what was stated beats what was ordered)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from ruxtrack.sources._fhir_base import (
    Drug,
    Located,
    PatientData,
    ReaderBase,
    codings,
    get,
    slug,
)  # fmt: skip

__all__ = ["MedicationReader"]

#: administrations per calendar day -> frequency of the aggregated exposure
_PER_DAY = {1: "QD", 2: "BID", 3: "TID", 4: "QID"}
#: resource type -> (its dosage list element, the record source it gives)
_DOSAGE_LIST = {
    "MedicationRequest": ("dosageInstruction", "request"),
    "MedicationStatement": ("dosage", "statement"),
}


class MedicationReader(ReaderBase):
    """The three medication resources -> drug exposures."""

    def _r_MedicationRequest(self, loc: Located) -> None:
        self._dosed(loc)

    def _r_MedicationStatement(self, loc: Located) -> None:
        self._dosed(loc)

    def _dosed(self, loc: Located) -> None:
        """A request or statement: one dosage (list element) over an interval."""
        if loc.rtype == "MedicationRequest" and not self.status_ok(loc, "intent"):
            return  # a proposal or plan was not given
        pat = self.record_patient(loc)
        if pat is None:
            return
        res = loc.resource
        key, source = _DOSAGE_LIST[loc.rtype]
        named = self._drug_name(loc)
        dosages = res.get(key) or []
        if len(dosages) > 1:
            self.fail(loc, f"{key}[1]", None, f"more than one dosage is not mapped; send one "
                      f"{loc.rtype} per dose")  # fmt: skip
            return
        dose = self._dosage(loc, get(dosages, 0), f"{key}[0]")
        if named is None or dose is None:
            return
        cells, paths = dose
        reason = get(res, "reasonCode", 0, "text")
        self._drug(loc, pat, source, named, cells, paths, reason)

    def _drug_name(self, loc: Located) -> tuple[str, str | None, str] | None:
        res = loc.resource
        concept = res.get("medicationCodeableConcept")
        path = "medicationCodeableConcept"
        if concept is None:
            ref = get(res, "medicationReference", "reference")
            path = "medicationReference"
            if isinstance(ref, str) and ref.startswith("#"):
                contained = [c for c in res.get("contained") or []
                             if isinstance(c, Mapping) and c.get("id") == ref[1:]]  # fmt: skip
                med = contained[0] if contained else None
            else:
                med = self.medications.get(str(ref)) if ref is not None else None
            if med is None:
                self.fail(
                    loc,
                    "medicationReference.reference",
                    ref,
                    "refers to a Medication that is not in the input",
                )
                return None
            concept = med.get("code")
        rxnorm = None
        known = None
        for _, c in codings(concept):
            known = known or self.drug_by_code.get((str(c.get("system")), str(c.get("code"))))
            code = c.get("code")
            if c.get("system") == self.m.system("rxnorm") and isinstance(code, str):
                rxnorm = rxnorm or code
        if known is not None:
            return known, rxnorm, path
        text = get(concept, "text")
        display = next((c.get("display") for _, c in codings(concept) if c.get("display")), None)
        label = text if isinstance(text, str) else display
        name = slug(label) if isinstance(label, str) else ""
        if name and name != label:
            # free text ("Fluconazole 200 MG Oral Tablet"): a drug of the mapping named in it
            words = set(name.split("_"))
            named_in = [d.drug for d in self.m.drugs if d.drug in words]
            if len(named_in) == 1:
                return named_in[0], rxnorm, path
        if not name:
            self.fail(
                loc,
                path,
                None,
                "the drug cannot be identified: no known RxNorm/ATC coding, no text",
            )
            return None
        return name, rxnorm, path

    def _dosage(
        self, loc: Located, dosage: Any, path: str, with_timing: bool = True
    ) -> tuple[dict[str, Any], dict[str, str]] | None:
        cells: dict[str, Any] = {}
        paths: dict[str, str] = {}
        if not isinstance(dosage, Mapping):
            self.fail(loc, path, None, "missing: the dose, unit and frequency are needed")
            return None
        q = get(dosage, "doseAndRate", 0, "doseQuantity")
        qpath = f"{path}.doseAndRate[0].doseQuantity"
        if q is None:
            q, qpath = dosage.get("dose"), f"{path}.dose"
        if not isinstance(q, Mapping) or not isinstance(q.get("value"), int | float):
            self.fail(loc, qpath, None, "missing: the dose as a Quantity (value and unit)")
            return None
        cells["dose"] = float(q["value"])
        cells["unit"] = q.get("code") if isinstance(q.get("code"), str) else q.get("unit")
        paths.update({"dose": f"{qpath}.value", "unit": f"{qpath}.code"})
        for _, c in codings(dosage.get("route")):
            if c.get("system") == self.snomed and c.get("code") in self.route_by_snomed:
                cells["route"] = self.route_by_snomed[c["code"]]
                break
        else:
            if dosage.get("route") is not None:
                cells["route"] = "other"
        paths["route"] = f"{path}.route"
        if with_timing:
            freq = self._frequency(dosage)
            if freq is None:
                self.fail(
                    loc,
                    f"{path}.timing",
                    None,
                    "the frequency cannot be read: give "
                    "timing.code (BID, TID, QD, ...) or timing.repeat",
                )
                return None
            cells["frequency"] = freq
            paths["frequency"] = f"{path}.timing"
        return cells, paths

    def _frequency(self, dosage: Mapping[str, Any]) -> str | None:
        if dosage.get("asNeededBoolean") is True:
            return "PRN"
        timing = dosage.get("timing")
        for _, c in codings(get(timing, "code")):
            if c.get("code") in self.gts:
                return self.gts[c["code"]]
        text = get(timing, "code", "text")
        if isinstance(text, str) and text in self.gts:
            return self.gts[text]
        if isinstance(text, str) and any(text == f.frequency for f in self.m.frequencies):
            return text
        rep = get(timing, "repeat")
        if isinstance(rep, Mapping):
            probe = {k: rep[k] for k in ("frequency", "period", "periodUnit", "count") if k in rep}
            for f in self.m.frequencies:
                if (
                    f.repeat is not None
                    and {k: probe.get(k) for k in f.repeat} == f.repeat
                    and (set(probe) <= set(f.repeat))
                ):
                    return f.frequency
        return None

    def _r_MedicationAdministration(self, loc: Located) -> None:
        pat = self.record_patient(loc)
        if pat is None:
            return
        res = loc.resource
        named = self._drug_name(loc)
        dose = self._dosage(loc, res.get("dosage"), "dosage", with_timing=False)
        if named is None or dose is None:
            return
        cells, paths = dose
        when, path, _ = self.when(loc, what="the time of the administration")
        if when is None:
            return
        name, rxnorm, npath = named
        cells.update({"patient_id": pat.pid, "drug": name, "rxnorm": rxnorm})
        paths.update({"drug": npath, "rxnorm": npath, "start": path, "end": path, "*": ""})
        pat.drugs.append(Drug(loc, "administration", cells, paths, when.instant))

    def _drug(
        self, loc: Located, pat: PatientData, source: str, named: tuple[str, str | None, str],
        cells: dict[str, Any], paths: dict[str, str], reason: Any,
    ) -> None:  # fmt: skip
        s, spath, _ = self.when(loc, what="the start of the drug")
        e, epath, ok = self.when(loc, "end")
        if s is None or not ok:
            return
        name, rxnorm, npath = named
        cells.update({
            "patient_id": pat.pid, "drug": name, "rxnorm": rxnorm, "start": s.text,
            "end": None if e is None else e.text,
            "reason": reason if isinstance(reason, str) else None,
            "provenance": self.extension_string(loc.resource, "provenance"),
        })  # fmt: skip
        paths.update({"drug": npath, "rxnorm": npath, "start": spath, "end": epath, "*": ""})
        pat.drugs.append(Drug(loc, source, cells, paths, s.instant))

    def _drugs(self, pat: PatientData) -> None:
        by_drug: dict[str, dict[str, list[Drug]]] = defaultdict(lambda: defaultdict(list))
        for d in pat.drugs:
            by_drug[d.cells["drug"]][d.source].append(d)
        for kinds in by_drug.values():
            # what was given beats what was stated beats what was ordered (docs/fhir.md)
            if kinds.get("administration"):
                rows = self._aggregate(kinds["administration"])
            else:
                rows = kinds.get("statement") or kinds.get("request") or []
            for d in rows:
                self.tables.add("drugs", d.loc, d.cells, d.paths)

    def _aggregate(self, admins: list[Drug]) -> list[Drug]:
        """Administrations -> one exposure per run of days with the same dose and count."""
        groups: dict[tuple[Any, ...], list[Drug]] = defaultdict(list)
        for a in admins:
            c = a.cells
            groups[(c["dose"], c.get("unit"), c.get("route"), c.get("rxnorm"))].append(a)
        out: list[Drug] = []
        for members in groups.values():
            members.sort(key=lambda a: a.instant or datetime.min)
            days: dict[date, list[Drug]] = defaultdict(list)
            for a in members:
                assert a.instant is not None
                days[a.instant.date()].append(a)
            runs: list[list[date]] = []
            for day in sorted(days):
                n = len(days[day])
                if n not in _PER_DAY:
                    for a in days[day]:
                        cells = dict(a.cells)
                        t = a.instant.isoformat(timespec="seconds") if a.instant else ""
                        cells.update({"frequency": "once", "start": t, "end": day.isoformat()})
                        out.append(Drug(a.loc, "administration", cells, a.paths, a.instant))
                    continue
                last = runs[-1] if runs else None
                if last and day - last[-1] == timedelta(days=1) and len(days[last[-1]]) == n:
                    last.append(day)
                else:
                    runs.append([day])
            for run in runs:
                first = days[run[0]][0]
                cells = dict(first.cells)
                cells.update(
                    {
                        "frequency": _PER_DAY[len(days[run[0]])],
                        "start": run[0].isoformat(),
                        "end": run[-1].isoformat(),
                    }
                )
                out.append(Drug(first.loc, "administration", cells, first.paths, first.instant))
        return out
