"""The bedside panel shows rationale text verbatim and names an unverified source once."""

from __future__ import annotations

from ruxtrack.outputs import render_decision_text
from ruxtrack.protocol import adhoc_inputs, decide_inputs, load_regimen


def _panel_text() -> str:
    reg = load_regimen("jakafi-us-agvhd")
    x = adhoc_inputs(
        reg, day=10, current_dose="10 mg BID", platelets=40, anc=1.2, bilirubin=1.0,
        bilirubin_uln=1.2, crcl=90, age=40,
    )  # fmt: skip
    return render_decision_text(decide_inputs(reg, x), width=400)


def test_unverified_rule_keeps_its_bracketed_warning() -> None:
    # ruxolitinib.md marks US Table 7 [U]: the rationale must say so, brackets and all
    assert "[UNVERIFIED: this rule rests on a fact not confirmed against the label" in _panel_text()


def test_unverified_status_is_named_once_per_source() -> None:
    lines = _panel_text().splitlines()
    i = next(k for k, line in enumerate(lines) if "thrombocytopenia_clinically_significant" in line)
    assert " ".join(lines[i : i + 3]).count("UNVERIFIED)") == 1
