"""FHIR R4 in and out: Bundles and bulk NDJSON into timelines, a Bundle per patient out.

The mapping is data (``knowledge/fhir.yaml`` for drugs, conditions, procedures, bindings and
limits; ``knowledge/labs.yaml`` for LOINC codes and UCUM units); docs/fhir.md tabulates it.

Reading is all or nothing: every problem is named by resource type, id and element path
(``bundle.json, Observation/plt-3``, field ``Observation.valueQuantity.code``), and no
timeline is returned while there is one. Values go through the same validation as every
import (units converted or refused by :mod:`ruxtrack.units`, anchors, ranges).

Covered: Patient, Observation (catalogue labs by LOINC; a SARS-CoV-2 RNA test; ruxtrack's own
event and assessment codes), MedicationRequest, MedicationAdministration,
MedicationStatement, Condition, Procedure (transplant, intubation/extubation, respiratory
support) and Encounter (inpatient stays). Not covered (refused, or skipped with
``unmapped="skip"``): every other resource type except the ignored ones listed in
knowledge/fhir.yaml; Device/DeviceUseStatement for respiratory support.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._fhir_files import check_resources, documents_to_resources, load_path
from ruxtrack.sources._fhir_mapping import FhirMapping, load_fhir_mapping
from ruxtrack.sources._fhir_read import Located, Unmapped, resources_to_timelines
from ruxtrack.sources._fhir_write import bundle_from_timeline, write_fhir
from ruxtrack.sources._result import SourceResult, check_input_file, source_result

__all__ = [
    "FhirMapping",
    "SourceResult",
    "bundle_from_timeline",
    "load_fhir_mapping",
    "read_fhir",
    "timeline_from_fhir",
    "timelines_from_fhir",
    "write_fhir",
]


def _run(
    source: str, items: list[Located], problems: list[ImportProblem], unmapped: Unmapped,
    mapping: FhirMapping,
) -> SourceResult:  # fmt: skip
    problems = [*problems, *check_resources(items, mapping)]
    if problems:
        return SourceResult([], problems, source)
    timelines, found, locate = resources_to_timelines(items, unmapped=unmapped, mapping=mapping)
    return source_result(source, timelines, found, locate=locate)


def read_fhir(path: str | Path, *, unmapped: Unmapped = "problem") -> SourceResult:
    """Read a Bundle/resource JSON file, an NDJSON file, or a folder of them (a source reader).

    Parameters
    ----------
    path
        ``*.json`` (a Bundle of any type, or one resource), ``*.ndjson`` (bulk data: one
        resource per line), or a folder of such files (read together: references may cross
        files).
    unmapped
        ``"problem"`` (default): a resource of a type the mapping does not cover is a problem;
        ``"skip"``: it is left out.

    Returns
    -------
    SourceResult
        Timelines (one per Patient) and no problems, or no timelines and every problem, each
        located by file, NDJSON line, resource type/id and element path.

    Examples
    --------
    >>> res = read_fhir("tests/data/fhir/covid-day3-platelets45.json")
    >>> res.problems, [tl.patient.patient_id for tl in res.timelines]
    ([], ['covid-day3'])
    """
    mapping = load_fhir_mapping()
    shown = str(path)
    bad = check_input_file(Path(path), folder=Path(path).is_dir())
    if bad is not None:
        return SourceResult([], [bad], shown)
    items, problems = load_path(Path(path), mapping)
    return _run(shown, items, problems, unmapped, mapping)


def timelines_from_fhir(
    resources: Iterable[Mapping[str, Any]],
    *,
    unmapped: Unmapped = "skip",
    source: str = "FHIR resources",
) -> SourceResult:
    """FHIR resource dicts (and/or Bundles) -> timelines, one per Patient, plus problems."""
    mapping = load_fhir_mapping()
    problems: list[ImportProblem] = []
    items = documents_to_resources(list(resources), "", mapping, problems)
    return _run(source, items, problems, unmapped, mapping)


def timeline_from_fhir(
    resources: Iterable[Mapping[str, Any]],
    *,
    unmapped: Unmapped = "skip",
    source: str = "CDS Hooks prefetch",
) -> SourceResult:
    """One patient's FHIR resources (e.g. a CDS Hooks prefetch) -> one timeline plus problems.

    ``resources`` are resource dicts or Bundles (a prefetch value may be a searchset Bundle).
    Exactly one Patient must be among them; every other resource must refer to it. Resource
    types the mapping does not cover are skipped (``unmapped="skip"``); problems in mapped
    resources (an unknown unit, a missing time, a bad status) stop the timeline: the result
    then holds no timeline and names every problem (resource type/id, element path, reason).

    Returns
    -------
    SourceResult
        ``timelines`` holds exactly one timeline when ``problems`` is empty.

    Examples
    --------
    >>> res = timeline_from_fhir([{"resourceType": "Patient", "id": "p1", "gender": "female"}])
    >>> res.problems, res.timelines[0].patient.patient_id
    ([], 'p1')
    """
    result = timelines_from_fhir(resources, unmapped=unmapped, source=source)
    if not result.problems and len(result.timelines) != 1:
        n = len(result.timelines)
        reason = f"{n} patients in the input; one patient's resources are expected"
        return SourceResult([], [ImportProblem.at(source, reason, resource="Patient")], source)
    return result
