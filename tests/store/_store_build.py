"""Small timeline builders for store tests (only what each test needs)."""

from __future__ import annotations

from pathlib import Path

from ruxtrack.timeline import Event, Observation, Patient, Timeline

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "canonical"


def covid_patient(pid: str = "C1", crp: float = 142.0, n_obs: int = 3) -> Timeline:
    """An absolute-dated patient with an admission and ``n_obs`` CRP values (mg/L)."""
    return Timeline(
        patient=Patient(patient_id=pid, sex="male", age_years=60),
        events=(Event(patient_id=pid, event="admission", time="2020-04-06T10:00"),),
        observations=tuple(
            Observation(
                patient_id=pid, time=f"admission+{d}d", code="crp", value=crp + d, unit="mg/L"
            )
            for d in range(n_obs)
        ),
    )
