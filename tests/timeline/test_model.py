"""The timeline model: anchors, resolution, queries (docs/data-model.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from ruxtrack.timeline import (
    NOMINAL_EPOCH,
    Assessment,
    DrugExposure,
    Event,
    Observation,
    Patient,
    SupportEpisode,
    Timeline,
    resolve_anchors,
)

P = "T1"


def _case_report() -> Timeline:
    """A patient recorded only in days from the 2nd transplant, as seed 000 is."""
    return Timeline(
        patient=Patient(patient_id=P, sex="female", age_years=11),
        events=(
            Event(patient_id=P, event="hsct", occurrence=1, time="hsct#2-65d"),
            Event(patient_id=P, event="hsct", occurrence=2, time="origin"),
            Event(patient_id=P, event="rux_start", time="day 74 after hsct#2"),
        ),
        observations=(
            Observation(patient_id=P, time="hsct#2+70d", code="ferritin", value=17509, unit="ug/L"),
            Observation(patient_id=P, time="hsct#2+80d", code="ferritin", value=900, unit="ug/L"),
        ),
        drugs=(
            DrugExposure(
                patient_id=P,
                drug="ruxolitinib",
                dose=20,
                unit="mg",
                frequency="QD",
                start="rux_start",
                end="hsct#2+130d",
            ),
        ),
        support=(
            SupportEpisode(
                patient_id=P, mode="nasal_cannula", start="hsct#2+57d", end="hsct#2+89d"
            ),
            SupportEpisode(
                patient_id=P, mode="hfnc", start="hsct#2+73d", end="hsct#2+85d", fio2=40
            ),
        ),
        assessments=(Assessment(patient_id=P, time="hsct#2+74d", kind="fever", value="true"),),
    )


def test_relative_only_patient_resolves_consistently() -> None:
    tl = _case_report()
    assert tl.time_basis == "relative"
    assert tl.anchor("hsct", 2) == NOMINAL_EPOCH
    assert tl.day("rux_start", "hsct", 2) == 74
    assert tl.day("rux_start", "hsct", 1) == 74 + 65


def test_day_74_after_anchor_equals_the_absolute_date() -> None:
    tl = Timeline(
        patient=Patient(patient_id=P),
        events=(
            Event(patient_id=P, event="hsct", occurrence=2, time="2019-06-01"),
            Event(patient_id=P, event="rux_start", time="hsct#2+74d"),
        ),
    )
    assert tl.anchor("rux_start") == datetime(2019, 6, 1) + timedelta(days=74)
    assert tl.at("2019-08-14") == tl.at("day 74 after hsct#2")


def test_latest_respects_time_and_freshness() -> None:
    tl = _case_report()
    at = tl.at("hsct#2+75d")
    t, obs = tl.latest("ferritin", at)  # type: ignore[misc]
    assert obs.value == 17509 and tl.day(t, "hsct", 2) == 70
    assert tl.latest("ferritin", at, max_age=timedelta(days=4)) is None
    assert tl.latest("ferritin", tl.at("hsct#2+69d")) is None


def test_support_on_returns_most_intensive_running_mode() -> None:
    tl = _case_report()
    assert tl.support_on(tl.at("hsct#2+80d")).mode == "hfnc"  # type: ignore[union-attr]
    assert tl.support_on(tl.at("hsct#2+88d")).mode == "nasal_cannula"  # type: ignore[union-attr]
    assert tl.support_on(tl.at("hsct#2+90d")) is None


def test_drugs_on_covers_inclusive_end_day() -> None:
    tl = _case_report()
    assert tl.drugs_on(tl.at("hsct#2+130d"), "ruxolitinib")
    assert not tl.drugs_on(tl.at("hsct#2+131d"), "ruxolitinib")
    assert tl.drugs[0].daily_dose == 20


def test_age_moves_with_time_from_its_anchor() -> None:
    tl = _case_report()
    age = tl.age_at(tl.at("hsct#2+365d"))
    assert age == pytest.approx(11 + (365 + 65) / 365.25)


def test_anchor_cycle_is_rejected_naming_the_cycle() -> None:
    with pytest.raises(ValidationError, match="anchor cycle: a -> b -> a"):
        Timeline(
            patient=Patient(patient_id=P),
            events=(
                Event(patient_id=P, event="a", time="b+1d"),
                Event(patient_id=P, event="b", time="a-1d"),
            ),
        )


def test_missing_anchor_duplicate_event_and_origin_rules_are_problems() -> None:
    events = [
        Event(patient_id=P, event="rux_start", time="admission+3d"),
        Event(patient_id=P, event="hsct", time="origin"),
        Event(patient_id=P, event="hsct", time="2020-01-01"),
        Event(patient_id=P, event="death", time="2020-02-01"),
        Event(patient_id=P, event="death", occurrence=2, time="2020-02-02"),
    ]
    _, problems = resolve_anchors(events)
    reasons = [r for _, r in problems]
    assert any("which this patient does not have" in r for r in reasons)
    assert any("duplicate event hsct" in r for r in reasons)
    assert any("cannot also have absolute dates" in r for r in reasons)
    assert any("more than one death" in r for r in reasons)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dose": -5}, "greater than or equal to 0"),
        ({"unit": "mg/day"}, "Input should be"),
        ({"frequency": "thrice"}, "Input should be"),
        ({"drug": "Rux olitinib"}, "String should match pattern"),
    ],
)
def test_drug_exposure_rejects_bad_fields(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = dict(
        patient_id=P, drug="ruxolitinib", dose=10, unit="mg", frequency="BID", start="2020-01-01"
    )
    base.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        DrugExposure(**base)  # type: ignore[arg-type]


def test_records_of_another_patient_are_rejected() -> None:
    with pytest.raises(ValidationError, match="record for patient T2"):
        Timeline(
            patient=Patient(patient_id=P),
            events=(Event(patient_id="T2", event="admission", time="2020-01-01"),),
        )


def test_timeline_json_round_trip_is_lossless() -> None:
    tl = _case_report()
    assert Timeline.model_validate_json(tl.model_dump_json()) == tl


def test_observation_value_must_be_finite() -> None:
    with pytest.raises(ValidationError, match="finite"):
        Observation(patient_id=P, time="2020-01-01", code="crp", value=float("nan"), unit="mg/L")


def test_assessment_boolean_reading() -> None:
    a = Assessment(patient_id=P, time="2020-01-01", kind="fever", value="Yes")
    assert a.as_bool() is True
    assert (
        Assessment(patient_id=P, time="2020-01-01", kind="finding", value="pancytopenia").as_bool()
        is None
    )
