"""Import -> export -> import is lossless for everything the mapping covers.

On synthetic timelines (hypothesis), on the demo data and through the command line into a
real SQLite store.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fhir_helpers import COVID_DAY3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_folder, resolved_rows
from ruxtrack.sources.fhir import (
    bundle_from_timeline,
    load_fhir_mapping,
    timeline_from_fhir,
    timelines_from_fhir,
)
from ruxtrack.timeline import (
    Assessment,
    Comorbidity,
    ConditioningAgent,
    DrugExposure,
    Event,
    Observation,
    Patient,
    SupportEpisode,
    Timeline,
    TransplantDetails,
)
from ruxtrack.units import load_catalogue


def _rows(tl: Timeline, drop: tuple[str, ...] = ()) -> dict[str, list[str]]:
    out = {}
    for table, rows in resolved_rows(tl).items():
        out[table] = sorted(
            json.dumps({k: str(v) for k, v in r.items() if k != "seq" and k not in drop})
            for r in rows
        )
    return out


# -- synthetic timelines -------------------------------------------------------------------------
PID = "SYN-RT-1"
T0 = datetime(2021, 5, 1, 8, 0)
CAT = [e for e in load_catalogue() if e.code not in ("fio2",)]
DRUGS = [(d.drug, d.rxnorm) for d in load_fhir_mapping().drugs] + [("ceftriaxone", None)]
times = st.integers(min_value=0, max_value=60 * 24 * 40).map(lambda m: T0 + timedelta(minutes=m))
days = st.integers(min_value=0, max_value=40).map(lambda d: (T0 + timedelta(days=d)).date())
ident = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    e = draw(st.sampled_from(CAT))
    v = draw(st.floats(min_value=e.plausible.low, max_value=e.plausible.high, allow_nan=False))
    v = round(v, 3)
    return Observation(
        patient_id=PID, time=draw(times), code=e.code, value=v, unit=e.canonical_unit,
        comparator=draw(st.sampled_from([None, "<", ">"])), source_value=v,
        source_unit=e.canonical_unit, provenance=draw(st.sampled_from([None, "lab report 3"])),
    )  # fmt: skip


@st.composite
def drugs(draw: st.DrawFn) -> DrugExposure:
    name, rxnorm = draw(st.sampled_from(DRUGS))
    start = draw(days)
    end = draw(st.sampled_from([None, start, start + timedelta(days=6)]))
    return DrugExposure(
        patient_id=PID, drug=name, rxnorm=rxnorm,
        dose=draw(st.sampled_from([0.5, 5.0, 10.0, 25.0])),  # within every label maximum
        unit=draw(st.sampled_from(["mg", "mg/kg", "mg/m2", "ug"])),
        frequency=draw(st.sampled_from(["QD", "BID", "TID", "q8h", "q12h", "weekly", "once",
                                        "PRN", "continuous", "QOD"])),
        route=draw(st.sampled_from(["oral", "iv", "sc", "enteral_tube", "other"])),
        start=start, end=end, reason=draw(st.sampled_from([None, "start", "taper"])),
    )  # fmt: skip


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    adm = T0 - timedelta(days=3)
    events = [Event(patient_id=PID, event="admission", time=adm)]
    if draw(st.booleans()):
        events.append(Event(
            patient_id=PID, event="hsct", time=adm - timedelta(days=200),
            transplant=TransplantDetails(
                donor_type="mud", hla_match="8/8", cell_source="pb",
                conditioning=(ConditioningAgent(agent="Flu", dose=150, unit="mg/m2"),),
                conditioning_intensity="ric", gvhd_prophylaxis=("tacrolimus", "methotrexate"),
            ),
        ))  # fmt: skip
    for name in draw(st.sets(st.sampled_from(["rux_start", "intubation", "icu_admission",
                                              "covid_positive", "my_event"]))):  # fmt: skip
        events.append(Event(patient_id=PID, event=name, time=draw(times)))
    if draw(st.booleans()):
        events.append(Event(patient_id=PID, event="discharge", time=T0 + timedelta(days=45)))
    if draw(st.booleans()):
        events.append(Event(patient_id=PID, event="death", time=T0 + timedelta(days=50),
                            provenance="registry"))  # fmt: skip
    age = draw(st.booleans())
    patient = Patient(
        patient_id=PID, sex=draw(st.sampled_from(["female", "male", "other", "unknown"])),
        age_years=60.0 if age else None, age_at="admission" if age else None,
        birth_date=None if age else date(1960, 2, 29),
        blood_group=draw(st.sampled_from([None, "AB-", "O+"])),
        comorbidities=tuple(draw(st.lists(st.sampled_from([
            Comorbidity(name="hypertension", code="I10", system="ICD10"),
            Comorbidity(name="obesity"),
            Comorbidity(name="asthma", code="195967001", system="SNOMED"),
        ]), unique=True, max_size=3))),
        synthetic=draw(st.booleans()),
    )  # fmt: skip
    support = [
        SupportEpisode(
            patient_id=PID, mode=m, start=T0 + timedelta(hours=i * 30),
            end=draw(st.sampled_from([None, T0 + timedelta(hours=i * 30 + 20)])),
            fio2=draw(st.sampled_from([None, 21.0, 40.0, 100.0])),
            flow_l_min=draw(st.sampled_from([None, 2.0, 60.0])),
        )
        for i, m in enumerate(draw(st.lists(st.sampled_from(
            ["room_air", "nasal_cannula", "face_mask", "hfnc", "niv", "imv", "ecmo"]),
            max_size=3)))
    ]  # fmt: skip
    assessments = [
        Assessment(patient_id=PID, time=draw(times), kind=k, value=v,
                   code=draw(st.sampled_from([None, "plt"])))
        for k, v in draw(st.lists(st.tuples(st.sampled_from(
            ["fever", "who_viral_pneumonia", "ctcae_grade", "diagnosis"]),
            st.sampled_from(["true", "3", "covid19", "hlh", "ips", "pancytopenia"])),
            max_size=4, unique=True))
    ]  # fmt: skip
    obs = draw(st.lists(observations(), max_size=6, unique_by=lambda o: (o.time, o.code)))
    drug_list = draw(st.lists(drugs(), max_size=4, unique_by=lambda d: (d.drug, d.start)))
    return Timeline(
        patient=patient, events=tuple(events), observations=tuple(obs),
        drugs=tuple(drug_list), support=tuple(support), assessments=tuple(assessments),
    )  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_synthetic_timelines_survive_export_and_import(tl: Timeline) -> None:
    result = timeline_from_fhir([bundle_from_timeline(tl)], unmapped="problem")
    assert result.problems == [], [str(p) for p in result.problems]
    assert _rows(result.timelines[0]) == _rows(tl)


# -- demo data -----------------------------------------------------------------------------------
def test_demo_bundles_read_back_unchanged_but_for_rxnorm_filled_in() -> None:
    tls = read_folder(demo_datasets()["sarmiento-2021-synthetic"])
    result = timelines_from_fhir([bundle_from_timeline(tl) for tl in tls], unmapped="problem")
    assert result.problems == []
    assert [t.patient.patient_id for t in result.timelines] == [t.patient.patient_id for t in tls]
    for a, b in zip(tls, result.timelines, strict=True):
        assert _rows(a, drop=("rxnorm",)) == _rows(b, drop=("rxnorm",))
    again = timelines_from_fhir([bundle_from_timeline(t) for t in result.timelines])
    for a, b in zip(result.timelines, again.timelines, strict=True):
        assert _rows(a) == _rows(b)


def test_one_patient_prefetch_gives_one_timeline() -> None:
    res = timeline_from_fhir([{"resourceType": "Patient", "id": "p1", "gender": "female"}])
    assert res.problems == []
    assert res.timelines[0].patient.patient_id == "p1"


def test_two_patients_are_not_one_prefetch() -> None:
    res = timeline_from_fhir([
        {"resourceType": "Patient", "id": "p1"}, {"resourceType": "Patient", "id": "p2"}
    ])  # fmt: skip
    assert res.timelines == []
    assert "2 patients in the input" in res.problems[0].reason


# -- command line, SQLite --------------------------------------------------------------------------
def _run(*args: str) -> str:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _files(folder: Path) -> dict[str, Any]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))}


def test_cli_fhir_import_export_import_changes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rt.db'}"
    _run("import", str(COVID_DAY3), "--format", "fhir", "--db", db)
    _run("export", str(tmp_path / "out1"), "--format", "fhir", "--db", db)
    out = _run("import", str(tmp_path / "out1"), "--format", "fhir", "--db", db)
    assert "Nothing changed" in out
    _run("export", str(tmp_path / "out2"), "--format", "fhir", "--db", db)
    assert _files(tmp_path / "out1") == _files(tmp_path / "out2")  # stable ids and content


def test_cli_demo_export_is_stable_through_a_second_store(tmp_path: Path) -> None:
    db1, db2 = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    _run("import", str(demo_datasets()["sarmiento-2021-synthetic"]), "--db", db1)
    _run("export", str(tmp_path / "a"), "--format", "fhir", "--db", db1)
    _run("import", str(tmp_path / "a"), "--format", "fhir", "--db", db2)
    _run("export", str(tmp_path / "b"), "--format", "fhir", "--db", db2)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 18
    assert a == b
