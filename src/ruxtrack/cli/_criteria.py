"""``ruxtrack criteria``: evaluate a criterion, score, grade or formula (docs/criteria.md)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ruxtrack.cli._errors import cli_errors, make_console
from ruxtrack.cli._options import DbOption, store_target
from ruxtrack.criteria import (
    CriterionInfo,
    CriterionInputError,
    Evaluation,
    Status,
    describe,
    evaluate,
    evaluate_timeline,
    list_criteria,
)

__all__ = ["register", "render_evaluation"]

console = make_console()

_STATUS_STYLE = {Status.met: "green", Status.not_met: "red", Status.unknown: "yellow"}
_CONCLUSION_STYLE = {
    "established": "bold green",
    "excluded": "bold red",
    "undecidable": "bold yellow",
}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def _score(c: Any) -> str:
    for key, prefix in (("points", ""), ("grade", "G"), ("stage", "stage ")):
        v = getattr(c, key)
        if v is not None:
            return f"{prefix}{v}"
    if c.range is not None:
        return f"{c.range[0]}–{c.range[1]}"
    return ""


def render_evaluation(e: Evaluation, out: Console) -> None:
    """Print one evaluation as a table with each component, its status, value and source."""
    head = Text.assemble((e.name, "bold"), f" ({e.id})")
    when = f" at {e.at}" if e.at else ""
    if e.window:
        when = f" {e.mode} over {e.window[0]} … {e.window[1]}"
    out.print(Text.assemble(head, when))
    parts = []
    if e.total is not None:
        parts.append(f"total {_fmt(e.total)}")
    elif e.total_min is not None and e.total_max is not None:
        parts.append(f"total {_fmt(e.total_min)}–{_fmt(e.total_max)}")
    if e.value is not None:
        parts.append(f"value {_fmt(e.value)}")
    elif e.value_range is not None:
        parts.append(f"value {_fmt(e.value_range[0])}–{_fmt(e.value_range[1])}")
    if e.unit:
        parts.append(e.unit)
    style = _CONCLUSION_STYLE[e.conclusion.value]
    out.print(Text.assemble((e.conclusion.value, style), "  " + "  ".join(parts)))
    if e.probability is not None:
        out.print(f"probability {e.probability.text} ({e.probability.mapping})")
    table = Table(show_lines=False, pad_edge=False)
    for col in ("component", "status", "value", "time", "pts/grade", "threshold", "source"):
        table.add_column(col, overflow="fold")
    for c in e.components:
        shown = _fmt(c.value) + (f" {c.unit}" if c.unit and c.value is not None else "")
        value = Text(shown)
        if c.basis and c.basis != "input" and c.basis not in shown:
            value.append(f" ({c.basis})", style="dim")
        label = Text(c.label)
        if not c.counted:
            label.append(" (not counted)", style="dim")
        table.add_row(
            label,
            Text(c.status.value, style=_STATUS_STYLE[c.status]),
            value,
            c.time or "",
            _score(c),
            c.threshold or "",
            c.source or "",
        )
    out.print(table)
    notes = [f"{c.label}: {c.note}" for c in e.components if c.note]
    for line in (*e.alerts, *notes):
        out.print(f"• {line}")
    out.print(Text("Sources", style="bold"))
    for s in e.sources:
        out.print(f"  [{s.key}] {s.citation}" + (f" {s.url}" if s.url else ""))


def _render_list(items: tuple[CriterionInfo, ...], as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {"id": c.id, "name": c.name, "source": c.source, "status": c.status}
                    for c in items
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(pad_edge=False)
    for col in ("id", "name", "source"):
        table.add_column(col, overflow="fold")
    for c in items:
        table.add_row(c.id, c.name, c.source)
    console.print(table)


def _render_describe(info: CriterionInfo, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(info.to_dict(), ensure_ascii=False, indent=2))
        return
    console.print(Text.assemble((info.name, "bold"), f" ({info.id}) — {info.source}"))
    console.print(info.description)
    table = Table(pad_edge=False)
    for col in ("key", "kind", "unit / choices", "description"):
        table.add_column(col, overflow="fold")
    for i in info.inputs:
        table.add_row(i.key, i.kind, i.unit or " | ".join(i.choices), i.description)
    console.print(table)
    console.print(
        'An absent key is unknown (never normal). Lab values: "17509 ng/mL", '
        '{"value": 17509, "unit": "ng/mL"}, or a number in the unit shown.'
    )


def _read_input(path: str) -> Any:
    from ruxtrack.errors import KnowledgeFileError
    from ruxtrack.knowledge._files import decode_utf8, load_json_text, read_text

    try:
        if path == "-":
            text = decode_utf8(sys.stdin.buffer.read(), "standard input")
        else:
            text = read_text(Path(path), "JSON file")
        data = load_json_text(text, path)
    except KnowledgeFileError as exc:
        raise CriterionInputError("--input", f"{path} {exc.reason}") from exc
    if not isinstance(data, dict):
        raise CriterionInputError("--input", "the JSON must be an object of key: value")
    return data


def _emit(e: Evaluation, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(e.to_dict(), ensure_ascii=False, indent=2))
    else:
        render_evaluation(e, console)


def criteria_command(
    criterion_id: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="Criterion id (see --list).", show_default=False),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the criteria.")] = False,
    describe_: Annotated[
        bool, typer.Option("--describe", help="List the input keys the criterion accepts.")
    ] = False,
    input_: Annotated[
        str | None,
        typer.Option("--input", help="JSON file of inputs ('-' reads stdin).", show_default=False),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="Evaluate a patient of the store.", show_default=False),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Time on the timeline (2020-05-03, hsct#2+74d).", show_default=False
        ),
    ] = None,
    window_start: Annotated[
        str | None, typer.Option("--window-start", help="Start of a window.", show_default=False)
    ] = None,
    window_end: Annotated[
        str | None, typer.Option("--window-end", help="End of a window.", show_default=False)
    ] = None,
    worst: Annotated[
        bool, typer.Option("--worst", help="Most severe result in the window.")
    ] = False,
    first: Annotated[
        bool, typer.Option("--first", help="First time established in the window.")
    ] = False,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Evaluate a clinical criterion, score, grade or formula from inputs or a patient."""
    if list_:
        with cli_errors():
            _render_list(list_criteria(), as_json)
        return
    if criterion_id is None:
        raise typer.BadParameter("give a criterion ID, or --list", param_hint="ID")
    if describe_:
        with cli_errors():
            _render_describe(describe(criterion_id), as_json)
        return
    if (input_ is None) == (patient is None):
        raise typer.BadParameter("give exactly one of --input and --patient")
    if worst and first:
        raise typer.BadParameter("give --worst or --first, not both")
    if (window_start is None) != (window_end is None):
        raise typer.BadParameter("give both --window-start and --window-end")
    if input_ is not None:
        with cli_errors():
            e = evaluate(criterion_id, _read_input(input_))
        _emit(e, as_json)
        return
    from ruxtrack.store import open_store

    window = None if window_start is None else (window_start, window_end or "")
    mode: Literal["at", "worst", "first"] = "worst" if worst else "first" if first else "at"
    with cli_errors():
        with open_store(store_target(db), create=False) as store:
            tl = store.timeline(patient or "")
        for when in (at, window_start, window_end):
            _check_time_on(tl, when)
        e = evaluate_timeline(criterion_id, tl, at=at, window=window, mode=mode)
    _emit(e, as_json)


def _check_time_on(tl: Any, when: str | None) -> None:
    """Say why a time cannot be evaluated on this patient, instead of an all-unknown result."""
    if when is None:
        return
    from ruxtrack.errors import EvaluationError
    from ruxtrack.timeline import parse_time

    pid = tl.patient.patient_id
    ref = parse_time(when)
    if ref.absolute is not None and tl.time_basis == "relative":
        raise EvaluationError(
            f"patient {pid} is recorded in days relative to events, not calendar dates: give "
            f"the time relative to an event (e.g. admission+3d), not {when}"
        )
    instant = tl.at(ref)
    times = [tl.at(r.time) for r in (*tl.events, *tl.observations, *tl.assessments)]
    times += [tl.at(d.start) for d in (*tl.drugs, *tl.support)]
    if not times:
        raise EvaluationError(f"patient {pid} has no records to evaluate")
    first, last = min(times), max(times)
    if not first - timedelta(days=1) <= instant <= last + timedelta(days=1):
        shown = (lambda t: t.date().isoformat()) if tl.time_basis == "absolute" else str
        raise EvaluationError(
            f"{when} is outside the follow-up of patient {pid} (records from {shown(first)} to "
            f"{shown(last)}): every input would be unknown"
        )


def register(app: typer.Typer) -> None:
    """Add ``ruxtrack criteria`` to the root app."""
    app.command("criteria", help="Evaluate clinical criteria, scores, grades and formulas.")(
        criteria_command
    )
