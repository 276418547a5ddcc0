"""Inputs declared once (knowledge/inputs.yaml): the schema, the input builders and the command
line read the catalogue, so a new yes/no fact or graded finding is one entry."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_helpers import TimelineBuilder, day
from pydantic import ValidationError
from typer.testing import CliRunner

import ruxtrack.protocol._inputs as inputs_module
from ruxtrack.cli import app
from ruxtrack.errors import EvaluationError
from ruxtrack.protocol import adhoc_inputs, inputs_from_timeline, load_regimen
from ruxtrack.protocol._schema import (
    FACT_CODES,
    SCORE_CODES,
    Condition,
    InputCatalogue,
    condition_model,
    load_inputs,
)


def test_every_fact_and_score_of_the_catalogue_is_a_rule_clause() -> None:
    cat = load_inputs()
    assert set(FACT_CODES) == {i.name for i in cat.inputs if i.kind == "fact"}
    assert set(SCORE_CODES) == {i.name for i in cat.inputs if i.kind == "score"}
    for name in FACT_CODES:
        assert Condition(**{name: True}).fact_clauses() == [(name, True)]
    for name in SCORE_CODES:
        assert [n for n, _ in Condition(**{name: {"ge": 1}}).numeric_clauses()] == [name]
    with pytest.raises(ValidationError):
        Condition(not_declared=True)


def _with(extra: dict[str, Any]) -> InputCatalogue:
    data = load_inputs().model_dump(mode="json")
    data["inputs"].append(extra)
    return InputCatalogue.model_validate(data)


ECMO = {
    "name": "on_ecmo",
    "kind": "fact",
    "label": "on ECMO",
    "timeline": {"assessments": ["ecmo_flag"]},
    "source": {"key": "PJ", "status": "project_judgement"},
}


def test_one_catalogue_entry_is_a_new_rule_clause() -> None:
    model = condition_model(_with(ECMO))
    assert model(on_ecmo=True).fact_clauses() == [("on_ecmo", True)]


def test_one_catalogue_entry_is_read_from_the_timeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs_module, "load_inputs", lambda: _with(ECMO))
    b = TimelineBuilder(age=40).event("rux_start", 3).cbc(2, 150, 3).fact("ecmo_flag", 1, "yes")
    x = inputs_from_timeline(b.build(), load_regimen("jakavi-eu-agvhd"), day(3))
    assert x.facts["on_ecmo"] is True


def test_one_catalogue_entry_can_be_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs_module, "load_inputs", lambda: _with(ECMO))
    x = adhoc_inputs(load_regimen("jakavi-eu-agvhd"), day=1, facts={"on_ecmo": True})
    assert x.facts["on_ecmo"] is True


def test_unknown_or_derived_inputs_are_refused_when_typed() -> None:
    reg = load_regimen("jakavi-eu-agvhd")
    with pytest.raises(EvaluationError, match="cannot be typed"):
        adhoc_inputs(reg, facts={"nonsense": True})
    with pytest.raises(EvaluationError, match="cannot be typed"):
        adhoc_inputs(reg, facts={"taper_in_progress": True})
    with pytest.raises(EvaluationError, match="outside 0 to 4"):
        adhoc_inputs(reg, scores={"liver_gvhd_score": 7})


def test_the_command_line_takes_any_catalogue_fact_and_score() -> None:
    args = ["dose", "--regimen", "jakafi-us-cgvhd", "--day", "1", "--age", "40",
            "--platelets", "150", "--anc", "3", "--bilirubin", "0.5", "--bilirubin-uln", "1",
            "--crcl", "10", "--fact", "dialysis=yes", "--fact", "liver_gvhd=yes",
            "--score", "liver_gvhd_score=3", "--json"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert '"slot": "after_dialysis"' in res.output and "liver_cgvhd_score_3" in res.output
    bad = CliRunner().invoke(app, [*args[:-7], "--fact", "dialysis=perhaps"])
    assert bad.exit_code == 1 and "give yes or no" in bad.output
