"""Observations: catalogue labs (LOINC), a SARS-CoV-2 test, ruxtrack's event and assessment
codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruxtrack.sources._fhir_base import Located, PatientData, ReaderBase, When, codings
from ruxtrack.units import load_catalogue

__all__ = ["ObservationReader"]


class ObservationReader(ReaderBase):
    """Observation -> lab value, event, assessment or ``covid_positive``."""

    def _r_Observation(self, loc: Located) -> None:
        pat = self.record_patient(loc)
        if pat is None:
            return
        res = loc.resource
        when, tpath = self._effective(loc)
        coded = codings(res.get("code"))
        for i, c in coded:
            if c.get("system") == self.sys_event:
                self._generic_event(loc, pat, c, i, when, tpath)
                return
            if c.get("system") == self.sys_assess:
                self._assessment(loc, pat, c, i, when, tpath)
                return
            if c.get("system") == self.loinc and c.get("code") == self.m.covid_test.loinc:
                self._covid(loc, pat, when)
                return
        code, cpath = self._lab_code(loc, coded)
        if code is None:
            return
        has_value = any(k.startswith("value") for k in res)
        if "dataAbsentReason" in res:
            if has_value:
                self.fail(
                    loc,
                    "dataAbsentReason",
                    None,
                    "a value and a dataAbsentReason "
                    "together (FHIR invariant obs-6): give one or the other",
                )
            return  # no value measured: nothing to record
        q = res.get("valueQuantity")
        if not isinstance(q, Mapping):
            if has_value:
                other = next(k for k in res if k.startswith("value"))
                self.fail(loc, other, None, "a lab value must be a valueQuantity")
            elif "component" in res:
                self.fail(
                    loc,
                    "component",
                    None,
                    "observations with components (panels) are "
                    "not mapped; send each analyte as its own Observation",
                )
            else:
                self.fail(loc, "value[x]", None, "missing: no value and no dataAbsentReason")
            return
        value = q.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(loc, "valueQuantity.value", value, "missing: a lab value needs a number")
            return
        unit, upath = self._unit(loc, q)
        if unit is None:
            return
        comparator = q.get("comparator")
        if not self.in_binding(loc, "valueQuantity.comparator", comparator, self.m.comparators,
                               "QuantityComparator"):  # fmt: skip
            return
        if when is None:
            return
        self.tables.add(
            "observations", loc,
            {"patient_id": pat.pid, "time": when.text, "code": code, "value": float(value),
             "unit": unit, "comparator": comparator,
             "provenance": self.extension_string(res, "provenance")},
            {"patient_id": "subject.reference", "time": tpath, "code": cpath,
             "value": "valueQuantity.value", "unit": upath,
             "comparator": "valueQuantity.comparator", "*": ""},
        )  # fmt: skip

    def _effective(self, loc: Located) -> tuple[When | None, str]:
        when, path, _ = self.when(loc)
        return when, path

    def _lab_code(
        self, loc: Located, coded: list[tuple[int, Mapping[str, Any]]]
    ) -> tuple[str | None, str]:
        cat = load_catalogue()
        seen = []
        for i, c in coded:
            system, code = c.get("system"), c.get("code")
            if system in (self.loinc, self.sys_lab) and isinstance(code, str):
                if code in cat:
                    return code, f"code.coding[{i}].code"
                seen.append((i, code))
        if seen:
            i, code = seen[0]
            self.fail(
                loc,
                f"code.coding[{i}].code",
                code,
                "LOINC code not in the lab catalogue "
                "(knowledge/labs.yaml); the timeline keeps catalogue labs only",
            )
        else:
            self.fail(
                loc,
                "code.coding",
                None,
                "no LOINC coding (http://loinc.org): the lab cannot be identified",
            )
        return None, ""

    def _unit(self, loc: Located, q: Mapping[str, Any]) -> tuple[str | None, str]:
        system, code, text = q.get("system"), q.get("code"), q.get("unit")
        if system is not None and system != self.ucum:
            self.fail(loc, "valueQuantity.system", system, f"units must be UCUM ({self.ucum})")
            return None, ""
        if isinstance(code, str):
            return code, "valueQuantity.code"
        if isinstance(text, str):
            return text, "valueQuantity.unit"
        return "", "valueQuantity.code"  # the catalogue decides whether a unit-less value is read

    def _generic_event(
        self, loc: Located, pat: PatientData, c: Mapping[str, Any], i: int,
        when: When | None, tpath: str,
    ) -> None:  # fmt: skip
        if when is None:
            return
        cells: dict[str, Any] = {"event": c.get("code"), "time": when.text}
        occ = self.extension_number(loc.resource, "occurrence")
        if occ is not None:
            cells["occurrence"] = int(occ)
        cells.update(self._transplant(loc.resource))
        cells["provenance"] = self.extension_string(loc.resource, "provenance")
        pat.events.append(
            (loc, cells, {"event": f"code.coding[{i}].code", "time": tpath, "*": ""}, when.instant)
        )

    def _assessment(
        self, loc: Located, pat: PatientData, c: Mapping[str, Any], i: int,
        when: When | None, tpath: str,
    ) -> None:  # fmt: skip
        res = loc.resource
        value = res.get("valueString")
        if not isinstance(value, str):
            self.fail(loc, "valueString", None, "missing: an assessment needs its finding as text")
            return
        if when is None:
            return
        self.tables.add(
            "assessments", loc,
            {"patient_id": pat.pid, "time": when.text, "kind": c.get("code"), "value": value,
             "code": self.extension_string(res, "about"),
             "provenance": self.extension_string(res, "provenance")},
            {"time": tpath, "kind": f"code.coding[{i}].code", "value": "valueString", "*": ""},
        )  # fmt: skip

    def _covid(self, loc: Located, pat: PatientData, when: When | None) -> None:
        ct = self.m.covid_test
        value = loc.resource.get("valueCodeableConcept")
        codes = {(c.get("system"), c.get("code")) for _, c in codings(value)}
        pos = (self.m.system(ct.positive.system), ct.positive.code)
        neg = (self.m.system(ct.negative.system), ct.negative.code)
        if pos in codes:
            if when is not None:
                pat.covid.append((loc, when))
        elif neg not in codes:
            self.fail(
                loc,
                "valueCodeableConcept",
                None,
                f"a SARS-CoV-2 test result must be "
                f"SNOMED CT {ct.positive.code} (detected) or {ct.negative.code} (not detected)",
            )
