"""The main job behind ``ruxtrack demo``: what each part of ruxtrack shows on the demo data.

It loads the shipped demo datasets (done by the registry command), then, through the same
renderers as the individual commands: a dose decision for a demo patient with its rationale
(``ruxtrack dose``), the HLH-2004 criteria and CTCAE grades of the published case
(``ruxtrack criteria``), and the cohort report of the Sarmiento 2021 study on the synthetic
cohort (``ruxtrack report``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from ruxtrack.cli._output import staged_output
from ruxtrack.store import Store

__all__ = ["run_main_job"]

#: The synthetic patient, regimen and course day shown by the demo's dose decision: SYN-007's
#: platelets fall below 100 x10^9/L on day 3, so the seed 004 rule halves the dose.
DEMO_DOSE_PATIENT = "SYN-007"
DEMO_DOSE_REGIMEN = "sarmiento-2021-covid"
DEMO_DOSE_COURSE_DAY = 3
#: The published case whose criteria the demo evaluates (seed 000, day 74 after the 2nd HSCT),
#: and the window of its CTCAE grades (ruxolitinib start to the reduction on day 131).
DEMO_CASE_PATIENT = "TOMOMASA-2021"
DEMO_CASE_AT = "hsct#2+74d"
DEMO_CASE_CTCAE_WINDOW = ("hsct#2+74d", "hsct#2+131d")


def run_main_job(store: Store, out: Path, console: Console) -> None:
    """Show a dose decision, evaluate criteria and write the cohort report into ``out``."""
    from ruxtrack.cli._criteria import render_evaluation
    from ruxtrack.cli._protocol import render_decision
    from ruxtrack.criteria import evaluate_timeline
    from ruxtrack.outputs import build_report
    from ruxtrack.protocol import decide

    # 1. A dose decision at the bedside.
    pid = DEMO_DOSE_PATIENT
    tl = store.timeline(pid)
    start = tl.anchor("rux_start")
    console.print(Rule(f"Dose decision: {pid} (synthetic), {DEMO_DOSE_REGIMEN}"))
    if start is None:
        console.print(f"{pid} has no ruxolitinib start in the demo data.")
    else:
        on = start + timedelta(days=DEMO_DOSE_COURSE_DAY - 1)
        console.print(
            f"$ ruxtrack dose --regimen {DEMO_DOSE_REGIMEN} --patient {pid} "
            f"--date {on.date().isoformat()}",
            markup=False,
        )
        console.print(render_decision(decide(tl, DEMO_DOSE_REGIMEN, on.date())))

    # 2. Criteria on the published case.
    cid = DEMO_CASE_PATIENT
    case = store.timeline(cid)
    console.print(Rule(f"Criteria: {cid} (Tomomasa et al. 2021)"))
    console.print(f"$ ruxtrack criteria hlh2004 --patient {cid} --at {DEMO_CASE_AT}", markup=False)
    render_evaluation(evaluate_timeline("hlh2004", case, at=DEMO_CASE_AT), console)
    w0, w1 = DEMO_CASE_CTCAE_WINDOW
    console.print(
        f"$ ruxtrack criteria ctcae --patient {cid} --window-start {w0} --window-end {w1} --worst",
        markup=False,
    )
    ctcae = evaluate_timeline("ctcae", case, window=(w0, w1), mode="worst")
    graded = [c for c in ctcae.components if c.grade is not None]
    console.print(f"CTCAE v5.0, worst grade between {w0} and {w1}:")
    for c in graded:
        console.print(f"  {c.label}: {c.value} at {c.time}", markup=False)
    unknown = [c.label for c in ctcae.components if c.grade is None]
    if unknown:
        console.print(f"  not gradable with the data recorded: {', '.join(unknown)}", markup=False)

    # 3. The cohort report.
    console.print(Rule("Cohort report: sarmiento-2021 on the synthetic demo cohort"))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def step(message: str, done: int, total: int) -> None:
            bar.update(task, description=message, completed=done, total=total)

        with staged_output(out) as stage:
            run, files = build_report(
                "sarmiento-2021",
                store.engine.url.render_as_string(hide_password=False),
                stage,
                progress=step,
            )
            report_file = out / files.report.relative_to(stage)
    r = run.results
    console.print(
        f"sarmiento-2021: {r.n_included} of {r.n_read} patients in the store included"
        " (the study's population: adults with COVID-19; synthetic data)"
    )
    console.print(f"wrote {len(files.all())} files to {out}; open {report_file}", soft_wrap=True)
