"""Protocol commands: regimens, dose, replay, audit (docs/protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ruxtrack.cli._errors import cli_errors, make_console
from ruxtrack.cli._options import DbOption, store_target
from ruxtrack.errors import EvaluationError
from ruxtrack.protocol import (
    CATEGORIES,
    FINDINGS,
    Audit,
    Decision,
    Regimen,
    Replay,
    adhoc_inputs,
    audit,
    decide,
    decide_inputs,
    human,
    list_regimens,
    load_regimen,
    replay,
)

__all__ = ["register"]


def _console() -> Console:
    """A console made when a command runs, so that it reads the terminal width (``COLUMNS``)
    of that run; it never reads user text as markup."""
    return make_console()


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the JSON object (docs/protocol.md).")
]
DaysOption = Annotated[
    bool, typer.Option("--days", help="Show every day instead of episodes of alike days.")
]
UlnOption = Annotated[
    str | None,
    typer.Option(
        "--bilirubin-uln",
        help="Upper limit of normal of total bilirubin (mg/dL unless "
        "a unit is written, e.g. 20.5umol/L).",
    ),
]


@contextmanager
def _store(db: str | None) -> Iterator[Any]:
    """The store, for reading a stored patient (a missing SQLite file is an error)."""
    from ruxtrack.store import open_store

    with cli_errors():
        store = open_store(store_target(db), create=False)
    try:
        yield store
    finally:
        store.close()


def _day_on(tl: Any, text: str) -> date:
    """The day decided: an ISO date, or on a timeline recorded in relative days a time relative
    to one of its events (``hsct#2+131d``, ``day 131 after hsct#2``)."""
    from ruxtrack.errors import TimelineError
    from ruxtrack.protocol import TimeLabels
    from ruxtrack.timeline import parse_time

    labels = TimeLabels.of(tl)
    try:
        ref = parse_time(text)
    except TimelineError as exc:
        raise EvaluationError(f'--date "{text}": {exc}') from exc
    if ref.absolute is not None and labels.relative:
        raise EvaluationError(
            f"patient {tl.patient.patient_id} is recorded in days relative to "
            f"{labels.reference} only: give --date as e.g. {labels.reference}+131d"
        )
    if ref.absolute is None and not ref.is_relative:
        raise EvaluationError(f'--date "{text}": give a date (2020-05-03)')
    if ref.is_relative and not ref.date_only and ref.absolute is None:
        try:
            return tl.at(ref).date()  # type: ignore[no-any-return]
        except TimelineError as exc:
            raise EvaluationError(f"--date {text}: {exc}") from exc
    assert ref.absolute is not None
    return ref.absolute.date()


def _uln_umol(text: str | None) -> float | None:
    if text is None:
        return None
    from ruxtrack.protocol._inputs import _lab_adhoc

    r = _lab_adhoc("bili_xuln", text, "mg/dL", None)
    if r.status != "ok" or r.value is None:
        raise EvaluationError(f"--bilirubin-uln {text}: {r.detail or 'not usable'}")
    return r.value


def _adhoc_date(text: str | None) -> date | None:
    """``--date`` of an ad hoc decision: a calendar date written YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise EvaluationError(
            f'--date "{text}": not a calendar date; write it as YYYY-MM-DD (e.g. 2020-05-03)'
        ) from None


def _yes_no(text: str) -> bool:
    value = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}.get(
        text.strip().lower()
    )
    if value is None:
        raise ValueError("give yes or no")
    return value


def _number(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("give a finite number")
    return value


def _named(flag: str, items: Sequence[str], read: Callable[[str], Any]) -> dict[str, Any]:
    """``NAME=VALUE`` options (``--fact liver_gvhd=yes``) as a mapping; names are checked
    against the inputs catalogue by the input builder."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise EvaluationError(f'{flag} "{item}": write NAME=VALUE')
        try:
            out[name.strip()] = read(value)
        except ValueError as exc:
            raise EvaluationError(f'{flag} "{item}": {exc}') from None
    return out


_ADHOC_FLAG = {"plt": "--platelets", "anc": "--anc", "crcl": "--crcl", "bili_xuln": "--bilirubin"}


def _check_adhoc_numbers(
    *, day: int | None, age: float | None, liver_score: float | None = None
) -> None:
    if liver_score is not None and not 0 <= liver_score <= 4:
        raise EvaluationError(
            f"--liver-gvhd-score {liver_score:g}: a liver GVHD stage or score from 0 to 4 is needed"
        )
    if age is not None and not 0 <= age <= 130:
        raise EvaluationError(f"--age {age:g}: an age in years from 0 to 130 is needed")
    if day is not None and abs(day) > 10_000:
        raise EvaluationError(f"--day {day}: a course day within 10000 days of day 1 is needed")


def _refuse_unusable(x: Any, given: dict[str, str | None]) -> None:
    """A value the user typed that cannot be used is refused, not turned into a non-decision."""
    for code, flag in _ADHOC_FLAG.items():
        r = x.labs.get(code)
        typed = given.get(code) if code in given else None
        if r is None or r.status not in ("unconvertible",):
            continue
        if code != "bili_xuln" and typed is None:
            continue
        shown = typed if typed is not None else (r.received or "")
        raise EvaluationError(f"{flag} {shown}: {r.detail or 'not usable'}")


# -- rendering -----------------------------------------------------------------------------------


def render_decision(d: Decision, width: int | None = None) -> Text:
    """The bedside text of ``ruxtrack.outputs.render_decision_text`` as a rich renderable (no
    markup: rationales hold brackets such as "[UNVERIFIED: ...]" and "[arb'U]/mL")."""
    from ruxtrack.outputs import render_decision_text

    text = render_decision_text(d, width=width or _console().width)
    return Text(text.rstrip("\n"))


def _regimen_table() -> Table:
    t = Table(title="Regimens", header_style="bold")
    for col in ("id", "kind", "title", "rules", "source"):
        t.add_column(col)
    for rid in list_regimens():
        r = load_regimen(rid)
        t.add_row(r.id, r.kind, r.title, str(len(r.rules)), r.source.label())
    return t


def render_regimen(r: Regimen) -> Group:
    """Phases or levels, starting dose, rules with their sources."""
    parts: list[Any] = [
        Text(f"{r.title} ({r.id} v{r.version})", style="bold"),
        Text(f"{r.indication}\nEvidence: {r.evidence}\nSource: {r.source.label()}"),
    ]
    if r.population is not None:
        parts.append(Text(f"Population: {r.population.describe()} [{r.population.source.label()}]"))
    if r.schedule is not None:
        t = Table(title=f"Schedule (days from {r.schedule.anchor})", header_style="bold")
        for col in ("days", "dose", "mg/day", "source"):
            t.add_column(col)
        for p in r.schedule.phases:
            t.add_row(f"{p.first_day}-{p.last_day}", p.label, f"{p.daily_mg:g}", p.source.label())
        parts.append(t)
    if r.dose_levels:
        t = Table(title="Dose levels (top first)", header_style="bold")
        for col in ("level", "dose", "mg/day", "source"):
            t.add_column(col)
        for lv in r.dose_levels:
            t.add_row(lv.id, lv.label, f"{lv.daily_mg:g}", lv.source.label())
        parts.append(t)
        t = Table(title="Starting dose", header_style="bold")
        for col in ("age", "dose", "source"):
            t.add_column(col)
        for b in r.start:
            dose = b.level if b.mg_per_m2 is None else f"{b.mg_per_m2:g} mg/m2 x {len(b.slots)}/day"
            t.add_row(
                f"{b.min_age or '0'} to <{b.below_age or 'adult'}", str(dose), b.source.label()
            )
        parts.append(t)
    if r.required_labs:
        parts.append(
            Text(
                "Required labs: "
                + ", ".join(f"{q.code} (<= {q.max_age_days} d)" for q in r.required_labs)
            )
        )
    if r.eligibility:
        t = Table(title="Eligibility (before the first dose)", header_style="bold")
        t.add_column("criterion")
        t.add_column("source")
        for e in r.eligibility:
            t.add_row(e.text, e.source.label())
        parts.append(t)
    t = Table(title="Rules", header_style="bold")
    for col in ("id", "when", "effect", "source", "status"):
        t.add_column(col)
    for rule in r.rules:
        t.add_row(
            rule.id,
            rule.when.describe(),
            rule.effect,
            rule.source.label(),
            rule.source.status.value,
        )
    parts.append(t)
    for note in r.notes:
        parts.append(Text(f"- {note}", style="dim"))
    return Group(*parts)


def _render_replay(rp: Replay, every_day: bool = False) -> Group:
    dev = len(rp.deviations)
    where = f" (days after {rp.reference}; recorded in relative days)" if rp.reference else ""
    head = Text(
        f"Replay of {rp.patient_id} against {rp.regimen_id} v{rp.regimen_version}{where}: "
        f"{len(rp.days)} days, {dev} differ or cannot be checked",
        style="bold",
    )
    parts: list[Any] = [head]
    if every_day:
        t = Table(header_style="bold", show_lines=False)
        for col in ("day" if rp.reference else "date", "course day", "recorded", "regimen",
                    "category", "findings"):  # fmt: skip
            t.add_column(col)
        for d in rp.days:
            t.add_row(
                d.time,
                "" if d.day is None else str(d.day),
                "?" if d.recorded_daily_mg is None else f"{human(d.recorded_daily_mg)} mg",
                f"{d.action} {human(d.regimen_daily_mg)} mg"
                + ("" if d.base_daily_mg is None else f" (base {human(d.base_daily_mg)})"),
                d.category,
                "\n".join(d.reasons),
            )
        parts.append(t)
    else:
        for e in rp.episodes:
            colour = "green" if not e.deviates else "yellow"
            parts.append(Text(f"{'  ' if not e.deviates else '! '}{e.text}", style=colour))
        parts.append(Text("Episodes group alike days; --days shows every day.", style="dim"))
    s = rp.summary()
    parts.append(
        Text("Days by category: " + ", ".join(f"{k} {v}" for k, v in s.items()), style="dim")
    )
    return Group(*parts)


def _render_audit(a: Audit, every_day: bool = False) -> Group:
    parts: list[Any] = [
        Text(
            f"Audit against {a.regimen_id} v{a.regimen_version}: {a.patients} patients, "
            f"{a.patient_days} patient-days, {a.deviating_days} differ or cannot be checked",
            style="bold",
        )
    ]
    s = Table(title="Patient-days by category", header_style="bold", title_justify="left")
    s.add_column("category")
    s.add_column("days", justify="right")
    s.add_column("meaning")
    for k, v in a.by_category.items():
        s.add_row(k, str(v), CATEGORIES.get(k, ""))
    parts.append(s)
    f = Table(title="Patient-days by finding", header_style="bold", title_justify="left")
    f.add_column("finding")
    f.add_column("days", justify="right")
    f.add_column("meaning")
    for k, v in a.by_finding.items():
        f.add_row(k, str(v), FINDINGS.get(k, ""))
    parts.append(f)
    if a.outside_population:
        parts.append(
            Text("Outside the regimen's population (not audited day by day):", style="bold")
        )
        for o in a.outside_population:
            parts.append(Text(f"  {o.patient_id}: {o.reason} ({o.days} days)"))
    if every_day:
        t = Table(title="Every deviating patient-day", header_style="bold", title_justify="left")
        for col in ("patient", "day", "course day", "recorded", "regimen", "category", "reason"):
            t.add_column(col)
        for r in a.deviations:
            t.add_row(
                r.patient_id,
                r.time,
                "" if r.day is None else str(r.day),
                "?" if r.recorded_daily_mg is None else f"{human(r.recorded_daily_mg)}",
                f"{human(r.regimen_daily_mg)} ({r.action})",
                r.category,
                r.reason,
            )
        parts.append(t)
    else:
        parts.append(Text("Episodes that differ or cannot be checked:", style="bold"))
        shown = [e for e in a.episodes if e.deviates]
        for e in shown:
            parts.append(Text(f"  {e.patient_id} {e.text}", style="yellow"))
        if not shown:
            parts.append(Text("  none", style="green"))
        parts.append(Text("--days lists every deviating patient-day.", style="dim"))
    return Group(*parts)


# -- commands ------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add ``regimens``, ``dose``, ``replay`` and ``audit`` to the root app."""
    regimens = typer.Typer(
        help="List ruxolitinib regimens, or show one with its rules and sources.",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @regimens.callback()
    def _list(ctx: typer.Context, as_json: JsonOption = False) -> None:
        """List the packaged regimens."""
        if ctx.invoked_subcommand is not None:
            return
        if as_json:
            out = [
                {"id": r.id, "version": r.version, "kind": r.kind, "title": r.title}
                for r in map(load_regimen, list_regimens())
            ]
            typer.echo(json.dumps(out, indent=2))
        else:
            _console().print(_regimen_table())

    @regimens.command("show")
    def _show(
        regimen_id: Annotated[str, typer.Argument(help="Regimen id.")], as_json: JsonOption = False
    ) -> None:
        """Print a regimen: schedule or dose levels, start, rules with their sources."""
        with cli_errors():
            r = load_regimen(regimen_id)
        if as_json:
            typer.echo(json.dumps(r.model_dump(mode="json"), indent=2))
        else:
            _console().print(render_regimen(r))

    app.add_typer(regimens, name="regimens")

    @app.command("dose")
    def _dose(
        regimen: Annotated[str, typer.Option("--regimen", help="Regimen id (ruxtrack regimens).")],
        patient: Annotated[
            str | None, typer.Option("--patient", help="Patient id in the store.")
        ] = None,
        on: Annotated[
            str | None, typer.Option("--date", help="Day decided (ISO date; store form).")
        ] = None,
        db: DbOption = None,
        day: Annotated[
            int | None, typer.Option("--day", help="Day of the course (day 1 = first dose).")
        ] = None,
        current_dose: Annotated[
            str | None, typer.Option("--current-dose", help='e.g. "5 mg BID"')
        ] = None,
        platelets: Annotated[
            str | None,
            typer.Option("--platelets", help="10^9/L unless a unit is written (85000/uL)."),
        ] = None,
        anc: Annotated[
            str | None, typer.Option("--anc", help="10^9/L unless a unit is written.")
        ] = None,
        bilirubin: Annotated[
            str | None,
            typer.Option("--bilirubin", help="mg/dL unless a unit is written (51umol/L)."),
        ] = None,
        bilirubin_uln: UlnOption = None,
        liver_gvhd: Annotated[
            bool, typer.Option("--liver-gvhd", help="Liver GVHD present.")
        ] = False,
        liver_gvhd_score: Annotated[
            float | None,
            typer.Option(
                "--liver-gvhd-score",
                help="Liver GVHD stage (acute, 0-4) or NIH liver score (chronic, 0-3).",
            ),
        ] = None,
        crcl: Annotated[
            str | None, typer.Option("--crcl", help="Creatinine clearance, mL/min.")
        ] = None,
        dialysis: Annotated[bool, typer.Option("--dialysis", help="On haemodialysis.")] = False,
        age: Annotated[float | None, typer.Option("--age", help="Age in years.")] = None,
        weight: Annotated[
            str | None, typer.Option("--weight", help="kg unless a unit is written.")
        ] = None,
        height: Annotated[
            str | None, typer.Option("--height", help="cm unless a unit is written.")
        ] = None,
        drug: Annotated[
            list[str] | None,
            typer.Option("--drug", help="NAME[:DOSE], repeatable, e.g. fluconazole:200mg/day."),
        ] = None,
        pcr: Annotated[
            bool | None,
            typer.Option(
                "--covid-pcr/--no-covid-pcr", help="RT-PCR-confirmed SARS-CoV-2 (eligibility)."
            ),
        ] = None,
        who_pneumonia: Annotated[
            bool | None,
            typer.Option(
                "--who-pneumonia/--no-who-pneumonia", help="WHO viral pneumonia (eligibility)."
            ),
        ] = None,
        ventilated: Annotated[
            bool | None,
            typer.Option(
                "--ventilated/--not-ventilated", help="On invasive mechanical ventilation."
            ),
        ] = None,
        other_trial: Annotated[
            bool | None,
            typer.Option(
                "--other-trial/--no-other-trial",
                help="In another interventional trial (eligibility).",
            ),
        ] = None,
        fact: Annotated[
            list[str] | None,
            typer.Option(
                "--fact",
                help="NAME=yes|no for any yes/no fact of inputs.yaml, repeatable.",
            ),
        ] = None,
        score: Annotated[
            list[str] | None,
            typer.Option(
                "--score",
                help="NAME=N for any graded finding of inputs.yaml, repeatable.",
            ),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Today's dose and why: from the store (--patient --date) or ad hoc from typed values."""
        with cli_errors():
            reg = load_regimen(regimen)
            if patient is not None:
                adhoc = [
                    n
                    for n, v in (
                        ("--day", day),
                        ("--current-dose", current_dose),
                        ("--platelets", platelets),
                        ("--anc", anc),
                        ("--bilirubin", bilirubin),
                        ("--crcl", crcl),
                        ("--liver-gvhd-score", liver_gvhd_score),
                        ("--age", age),
                        ("--weight", weight),
                        ("--height", height),
                        ("--drug", drug),
                        ("--fact", fact),
                        ("--score", score),
                    )
                    if v
                ]
                if adhoc:
                    raise EvaluationError(
                        f"{', '.join(adhoc)}: with --patient the values come from the store; "
                        "drop them or drop --patient"
                    )
                if on is None:
                    raise EvaluationError("--patient needs --date (the day decided, ISO date)")
                uln = _uln_umol(bilirubin_uln)
                with _store(db) as store:
                    tl = store.timeline(patient)
                decision = decide(tl, reg, _day_on(tl, on), bilirubin_uln_umol_l=uln)
            else:
                when_adhoc = _adhoc_date(on)
                _check_adhoc_numbers(day=day, age=age, liver_score=liver_gvhd_score)
                x = adhoc_inputs(
                    reg,
                    day=day,
                    current_dose=current_dose,
                    platelets=platelets,
                    anc=anc,
                    bilirubin=bilirubin,
                    bilirubin_uln=bilirubin_uln,
                    liver_gvhd=liver_gvhd,
                    liver_gvhd_score=liver_gvhd_score,
                    crcl=crcl,
                    dialysis=dialysis,
                    age=age,
                    weight=weight,
                    height=height,
                    drugs=drug or (),
                    covid_pcr_confirmed=pcr,
                    who_viral_pneumonia=who_pneumonia,
                    invasive_ventilation=ventilated,
                    other_interventional_trial=other_trial,
                    on_date=when_adhoc,
                    facts=_named("--fact", fact or (), _yes_no),
                    scores=_named("--score", score or (), _number),
                )
                _refuse_unusable(x, {"plt": platelets, "anc": anc, "crcl": crcl})
                decision = decide_inputs(reg, x)
        if as_json:
            from ruxtrack.outputs import render_decision_json

            typer.echo(json.dumps(render_decision_json(decision), indent=2))
        else:
            _console().print(render_decision(decision))

    @app.command("replay")
    def _replay(
        patient: Annotated[str, typer.Option("--patient", help="Patient id in the store.")],
        regimen: Annotated[str, typer.Option("--regimen", help="Regimen id.")],
        db: DbOption = None,
        bilirubin_uln: UlnOption = None,
        every_day: DaysOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Replay a recorded course day by day against a regimen: episodes, categories, findings."""
        with cli_errors():
            reg = load_regimen(regimen)
            uln = _uln_umol(bilirubin_uln)
            with _store(db) as store:
                tl = store.timeline(patient)
            rp = replay(tl, reg, bilirubin_uln_umol_l=uln)
        if as_json:
            typer.echo(json.dumps(rp.to_dict(), indent=2))
        else:
            _console().print(_render_replay(rp, every_day))

    @app.command("audit")
    def _audit(
        regimen: Annotated[
            str | None,
            typer.Option(
                "--regimen",
                help="Regimen id (default: every packaged regimen that is not a recorded course).",
            ),
        ] = None,
        db: DbOption = None,
        bilirubin_uln: UlnOption = None,
        every_day: DaysOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Adherence audit over the store's cohort: days by category and finding, episodes."""
        with cli_errors():
            ids = (
                [regimen]
                if regimen
                else [r for r in list_regimens() if load_regimen(r).kind != "recorded_course"]
            )
            regs = [load_regimen(r) for r in ids]
            uln = _uln_umol(bilirubin_uln)
            results = []
            with _store(db) as store:
                for reg in regs:
                    results.append(audit(store.timelines(), reg, bilirubin_uln_umol_l=uln))
        if as_json:
            out: Any = results[0].to_dict() if regimen else [a.to_dict() for a in results]
            typer.echo(json.dumps(out, indent=2))
        else:
            for a in results:
                _console().print(_render_audit(a, every_day))
