"""A small deterministic cohort in the store's resolved shape, shaped like seed 004.

Eighteen adults: admission, first positive test, ruxolitinib start, markers at admission / start /
+8 / +15 falling in responders, respiratory support, imaging and swab assessments, response groups
10 / 5 / 3 as in Sarmiento 2021 Table 3, deaths in the progression group.
Synthetic; no real patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

GROUPS = ["complete_response"] * 10 + ["late_responder"] * 5 + ["progression"] * 3
MARKERS = {  # code: (unit, admission median, start factor, +8 factor, +15 factor)
    "ferritin": ("ug/L", 2500.0),
    "crp": ("mg/L", 120.0),
    "ldh": ("U/L", 400.0),
    "ddimer_unspecified": ("ug/L", 1100.0),
    "il6": ("pg/mL", 150.0),
    "wbc": ("10*9/L", 8.0),
    "anc": ("10*9/L", 6.0),
    "lymph": ("10*9/L", 0.63),
    "plt": ("10*9/L", 184.0),
}


def toy_frames(n: int = 18, seed: int = 4) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pats, evs, obs, drugs, sup, asm = [], [], [], [], [], []
    for i in range(n):
        pid = f"S{i + 1:02d}"
        group = GROUPS[i % len(GROUPS)]
        adm = datetime(2020, 4, 1) + timedelta(days=int(rng.integers(0, 60)), hours=8)
        pos = adm - timedelta(days=int(rng.integers(0, 4)))
        delay = (
            int(rng.integers(2, 6)) if group == "complete_response" else int(rng.integers(8, 20))
        )
        start = pos + timedelta(days=delay, hours=2)
        pats.append(
            {
                "patient_id": pid,
                "sex": "female" if i % 6 == 0 else "male",
                "age_years": float(rng.integers(29, 80))
                if group == "complete_response"
                else float(rng.integers(61, 80)),
                "age_at": None,
                "birth_date": None,
                "blood_group": [None, "A", "B", "AB", "O", "A"][i % 6],
                "comorbidities": "hypertension=ICD10:I10; obesity"
                if i % 3 == 0
                else ("diabetes_mellitus" if i % 3 == 1 else None),
            }
        )
        evs += [
            {"patient_id": pid, "event": "admission", "occurrence": 1, "t": adm},
            {"patient_id": pid, "event": "covid_positive", "occurrence": 1, "t": pos},
            {"patient_id": pid, "event": "rux_start", "occurrence": 1, "t": start},
        ]
        if group == "progression":
            evs.append(
                {
                    "patient_id": pid,
                    "event": "death",
                    "occurrence": 1,
                    "t": start + timedelta(days=int(rng.integers(3, 40))),
                }
            )
        elif group == "complete_response":
            evs.append(
                {
                    "patient_id": pid,
                    "event": "discharge",
                    "occurrence": 1,
                    "t": start + timedelta(days=int(rng.integers(10, 30))),
                }
            )
        else:
            evs.append(
                {
                    "patient_id": pid,
                    "event": "discharge",
                    "occurrence": 1,
                    "t": start + timedelta(days=int(rng.integers(40, 100))),
                }
            )
        fall = {"complete_response": 0.3, "late_responder": 0.55, "progression": 0.9}[group]
        for code, (unit, med) in MARKERS.items():
            if code == "il6" and i % 2 == 1:
                continue  # IL-6 measured in about half the patients, as in the seed
            base = med * float(np.exp(rng.normal(0, 0.4)))
            seq = [(adm + timedelta(hours=2), base), (start - timedelta(hours=3), base * 1.3)]
            if group != "progression" or i % 2 == 0:
                seq += [
                    (start + timedelta(days=8), base * 1.3 * fall**0.5),
                    (start + timedelta(days=15), base * 1.3 * fall),
                ]
            for t, v in seq:
                obs.append(
                    {"patient_id": pid, "t": t, "code": code, "value": round(v, 2), "unit": unit}
                )
        drugs.append(
            {
                "patient_id": pid,
                "drug": "dexamethasone",
                "dose": 6.0,
                "unit": "mg",
                "frequency": "QD",
                "t_start": adm,
                "t_end": start + timedelta(days=5),
            }
        )
        if i % 4 == 0:
            drugs.append(
                {
                    "patient_id": pid,
                    "drug": "tocilizumab",
                    "dose": 8.0,
                    "unit": "mg/kg",
                    "frequency": "once",
                    "t_start": adm + timedelta(days=1),
                    "t_end": adm + timedelta(days=1),
                }
            )
        drugs += [
            {
                "patient_id": pid,
                "drug": "ruxolitinib",
                "dose": 10.0,
                "unit": "mg",
                "frequency": "BID",
                "t_start": start,
                "t_end": start + timedelta(days=6),
            },
            {
                "patient_id": pid,
                "drug": "ruxolitinib",
                "dose": 5.0,
                "unit": "mg",
                "frequency": "BID",
                "t_start": start + timedelta(days=7),
                "t_end": start + timedelta(days=12),
            },
            {
                "patient_id": pid,
                "drug": "ruxolitinib",
                "dose": 5.0,
                "unit": "mg",
                "frequency": "QD",
                "t_start": start + timedelta(days=13),
                "t_end": start + timedelta(days=14),
            },
        ]
        mode = "hfnc" if i % 10 < 7 else "face_mask"
        sup.append(
            {
                "patient_id": pid,
                "mode": "nasal_cannula",
                "t_start": adm,
                "t_end": start - timedelta(days=1),
                "fio2": 32.0,
            }
        )
        sup.append(
            {
                "patient_id": pid,
                "mode": mode,
                "t_start": start - timedelta(days=1),
                "t_end": start + timedelta(days=10),
                "fio2": 60.0 if mode == "hfnc" else 30.0,
            }
        )
        if group == "progression":
            sup.append(
                {
                    "patient_id": pid,
                    "mode": "imv",
                    "t_start": start + timedelta(days=1),
                    "t_end": None,
                    "fio2": 80.0,
                }
            )
        elif group == "late_responder":
            sup.append(
                {
                    "patient_id": pid,
                    "mode": "imv",
                    "t_start": start + timedelta(days=11),
                    "t_end": start + timedelta(days=70),
                    "fio2": 40.0,
                }
            )
        asm += [
            {
                "patient_id": pid,
                "t": adm,
                "kind": "imaging",
                "value": "diffuse_covid" if i % 10 < 7 else "lobar_pneumonia",
                "code": None,
            },
            {
                "patient_id": pid,
                "t": start + timedelta(days=56),
                "kind": "imaging",
                "value": {
                    "complete_response": "resolution",
                    "late_responder": "progression",
                    "progression": "organizing_pneumonia",
                }[group],
                "code": None,
            },
            {
                "patient_id": pid,
                "t": start + timedelta(days=50),
                "kind": "infection_workup",
                "value": "negative" if group != "progression" else "positive",
                "code": "sars_cov_2_pcr",
            },
            {
                "patient_id": pid,
                "t": start + timedelta(days=30),
                "kind": "response_group",
                "value": group,
                "code": None,
            },
            {
                "patient_id": pid,
                "t": start + timedelta(days=5),
                "kind": "ctcae_grade",
                "value": str(i % 4),
                "code": "platelet_count_decreased",
            },
        ]
    return {
        "patients": pd.DataFrame(pats),
        "events": pd.DataFrame(evs),
        "observations": pd.DataFrame(obs),
        "drugs": pd.DataFrame(drugs),
        "support": pd.DataFrame(sup),
        "assessments": pd.DataFrame(asm),
    }
