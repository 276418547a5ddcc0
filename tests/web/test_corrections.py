"""Corrections with a reason keep the previous version; the page shows the record as it stood."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from ruxtrack.store import Store

from .conftest import csrf_of, sign_in


def test_correction_needs_a_reason_and_keeps_the_previous_version(
    client: TestClient[Any], store: Store
) -> None:
    sign_in(client, "data-manager")
    rec = next(r for r in store.records("SYN-005", "observations") if r.record.code == "crp")
    old = rec.record.value
    day = store.timeline("SYN-005").at(rec.record.time).date().isoformat()
    page = client.get(f"/patients/SYN-005?day={day}")
    assert page.status_code == 200 and f"records/observations/{rec.seq}" in page.text
    url = f"/patients/SYN-005/records/observations/{rec.seq}"
    token = csrf_of(page.text)
    r = client.post(url, data={"value": "12", "unit": "mg/L", "reason": "", "_csrf_token": token})
    assert r.status_code == 422 and "reason" in r.text
    before = datetime.now(UTC).replace(tzinfo=None)
    time.sleep(0.05)
    r = client.post(
        url,
        data={"value": "12", "unit": "mg/L", "reason": "transcription error", "_csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text
    now = next(x for x in store.records("SYN-005", "observations") if x.seq == rec.seq)
    assert now.record.value == 12
    assert any(
        h.reason == "transcription error" and h.seq == rec.seq for h in store.history("SYN-005")
    )
    # the page as it stood before the correction shows the old value, read only
    then = client.get(f"/patients/SYN-005?day={day}&as_of={before.isoformat()}")
    assert then.status_code == 200, then.text[-600:]
    assert "as it stood" in then.text and "Save lab value" not in then.text
    api_old = [o for o in store.timeline("SYN-005", as_of=before).observations if o.code == "crp"]
    assert any(o.value == old for o in api_old)


def test_bad_as_of_is_a_400(client: TestClient[Any]) -> None:
    sign_in(client, "clinician")
    assert client.get("/patients/SYN-005?as_of=yesterday").status_code == 400
