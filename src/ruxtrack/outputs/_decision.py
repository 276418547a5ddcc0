"""One decision, every face: terminal text, an HTML fragment, JSON and a CDS Hooks 2.0 card.

The decision (:class:`ruxtrack.protocol.Decision`) is data; every word a person reads about it is
written here. All four faces say the same things in the same order: the headline (what the
regimen gives today, or why it cannot say), alerts, actions for the team, the rules that fired
with the inputs they read and their sources, the rules checked that did not apply, monitoring,
and every source key expanded to its citation.

Only the standard library is imported: the faces are cheap to import (the CLI and the web app
call them on every request).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable
from typing import Any

from ruxtrack.protocol import Decision, RationaleEntry, human

__all__ = [
    "decision_headline",
    "render_decision_card",
    "render_decision_html",
    "render_decision_json",
    "render_decision_text",
]

_VERB = {
    "start": "START",
    "continue": "CONTINUE",
    "reduce": "REDUCE",
    "resume": "RESUME",
    "hold": "HOLD",
    "discontinue": "DISCONTINUE",
    "complete": "COURSE COMPLETE",
    "not_eligible": "NOT ELIGIBLE",
    "no_recommendation": "CANNOT RECOMMEND A DOSE",
}
_SLOT = {
    "once_daily": "once daily",
    "morning": "morning",
    "evening": "evening",
    "after_dialysis": "after each dialysis session",
}
_STATUS = {
    "confirmed": "confirmed",
    "confirmed_secondary": "confirmed from a secondary source",
    "unverified": "UNVERIFIED",
    "project_judgement": "project judgement",
}
_SUMMARY_MAX = 140


# -- what every face says ------------------------------------------------------------------------


def _doses(d: Decision) -> str:
    return " + ".join(
        f"{human(a.dose_mg)} mg {_SLOT.get(a.slot, a.slot.replace('_', ' '))}"
        for a in d.administrations
    )


def _dose_notes(d: Decision) -> list[str]:
    return list(dict.fromkeys(a.note for a in d.administrations if a.note))


def _before_course(d: Decision) -> str | None:
    """``1 day before day 1 of the course: no dose is due yet`` when the day is before it."""
    if d.day is None or d.day >= 1:
        return None
    n = -d.day
    return f"{n} day{'s' if n != 1 else ''} before day 1 of the course: no dose is due yet"


def _off_day(d: Decision) -> bool:
    return any(r.rule == "alternate_off_day" for r in d.rationale)


def decision_headline(d: Decision) -> str:
    """One line: what the regimen gives today, or why it gives nothing.

    Never an order where the engine cannot decide: "CANNOT RECOMMEND A DOSE: a clinician
    decides" names no dose and no hold.
    """
    verb = _VERB[d.action]
    before = _before_course(d)
    if before is not None:
        return f"NOT STARTED · {before}"
    if d.action == "no_recommendation":
        return f"{verb}: a clinician decides (what is missing is listed below)"
    if d.action == "complete":
        return f"{verb}: the regimen's schedule has ended; it gives no further dose"
    if d.action == "not_eligible":
        return f"{verb} for this regimen today: it gives no dose"
    if d.action in ("hold", "discontinue"):
        return f"{verb}: no ruxolitinib today"
    if not d.administrations:
        if _off_day(d):
            return f"{verb} · OFF DAY of the alternate-day schedule: no dose is due today"
        return f"{verb} · no dose is due today"
    return f"{verb}: {_doses(d)} (total {human(d.daily_total_mg)} mg/day)"


def _context(d: Decision) -> str:
    sub = []
    if d.day is not None:
        if d.day > 0:
            sub.append(f"course day {d.day}")
        else:
            sub.append(f"course day {d.day} (day 1 is the first dose; there is no day 0)")
    if d.scheduled_daily_mg is not None and d.action != "no_recommendation":
        sub.append(f"regimen base {human(d.scheduled_daily_mg)} mg/day")
    if d.current_daily_mg is not None:
        sub.append(f"current {human(d.current_daily_mg)} mg/day")
    return " · ".join(sub)


def _title(d: Decision) -> str:
    title = f"{d.regimen_id} v{d.regimen_version}"
    if d.patient_id:
        title += f" · patient {d.patient_id}"
    if d.time:
        title += f" · {d.time}"
    return title


def _status(r: RationaleEntry) -> str:
    return _STATUS.get(r.status.value, r.status.value)


def _source_text(label: str) -> str:
    """``S2, §2.4 (unverified)`` without the status, which is shown on its own."""
    return label.removesuffix(" (unverified)")


_STATEMENT_EFFECTS = frozenset({"info", "monitor", "option"})


def _fired(d: Decision) -> list[RationaleEntry]:
    """Rules of the regimen that fired and act on the dose (or withhold it)."""
    return [r for r in d.rationale if r.fired and r.effect not in _STATEMENT_EFFECTS]


def _context_entries(d: Decision) -> list[RationaleEntry]:
    """How the dose was reached, and the statements (monitoring, options) that apply today."""
    return [r for r in d.rationale if not r.fired or r.effect in _STATEMENT_EFFECTS]


def _inputs(r: RationaleEntry) -> str:
    return "; ".join(i.text() for i in r.inputs)


# -- terminal ------------------------------------------------------------------------------------


def _wrap(text: str, width: int, indent: str = "", hang: str | None = None) -> list[str]:
    hang = indent + "  " if hang is None else hang
    return textwrap.wrap(
        text,
        width=max(width, 30),
        initial_indent=indent,
        subsequent_indent=hang,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]


def render_decision_text(decision: Decision, width: int = 80) -> str:
    """Plain text for a terminal ``width`` columns wide (no markup, no colour codes)."""
    d = decision
    out: list[str] = []
    out += _wrap(_title(d), width)
    out.append("=" * min(width, 80))
    out += _wrap(decision_headline(d), width)
    ctx = _context(d)
    if ctx:
        out += _wrap(ctx, width)
    for note in _dose_notes(d):
        out += _wrap(f"note: {note}", width)
    crit = [a for a in d.alerts if a.severity != "info"]
    if crit:
        out += ["", "Alerts"]
        for a in crit:
            mark = "!!" if a.severity == "critical" else "! "
            out += _wrap(f"{mark} {a.text}", width, "  ", "     ")
    if d.actions:
        out += ["", "For the team"]
        for t in d.actions:
            mark = "-" if t.kind == "action" else "? (option)"
            out += _wrap(f"{mark} {t.text} [{t.source}]", width, "  ", "    ")
    fired = _fired(d)
    out += ["", "Rules that fired" if fired else "Rules that fired: none"]
    for r in fired:
        out += _rationale_lines(r, width)
    ctx_entries = _context_entries(d)
    if ctx_entries:
        out += ["", "How the dose was reached, and what else applies"]
        for r in ctx_entries:
            out += _rationale_lines(r, width)
    if d.checked_rules:
        out += [""]
        out += _wrap(
            "Rules checked that did not apply: " + ", ".join(d.checked_rules), width, "", "  "
        )
    if d.monitoring:
        out += ["", "Monitoring"]
        for m in d.monitoring:
            out += _wrap(f"- {m.what}: {m.due} [{m.source}]", width, "  ", "    ")
    info = [a for a in d.alerts if a.severity == "info"]
    if info:
        out += ["", "Notes"]
        for a in info:
            out += _wrap(f"- {a.text}", width, "  ", "    ")
    if d.sources:
        out += ["", "Sources"]
        for s in d.sources:
            out += _wrap(
                f"{s.key}: {s.citation}{' ' + s.url if s.url else ''}", width, "  ", "    "
            )
    return "\n".join(line.rstrip() for line in out) + "\n"


def _rationale_lines(r: RationaleEntry, width: int) -> list[str]:
    lines = _wrap(f"* {r.rule}: {r.text}", width, "  ", "    ")
    used = _inputs(r)
    if used:
        lines += _wrap(f"inputs: {used}", width, "    ", "      ")
    lines += _wrap(f"source: {_source_text(r.source)} ({_status(r)})", width, "    ", "      ")
    return lines


# -- HTML ----------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _li(items: Iterable[str], cls: str) -> str:
    body = "".join(items)
    return f'<ul class="{cls}">{body}</ul>' if body else ""


def render_decision_html(decision: Decision) -> str:
    """An escaped HTML fragment: semantic elements and CSS classes only (no style, no script).

    The root is ``<article class="rux-decision rux-severity-… rux-action-…">`` with a heading,
    the headline in a ``role="status"`` paragraph, then one ``<section>`` per part, each with
    its own heading, so that a screen reader can jump between them.
    """
    d = decision
    parts = [
        f'<article class="rux-decision rux-severity-{d.severity} rux-action-{d.action}">',
        f'<h2 class="rux-decision-title">{_e(_title(d))}</h2>',
        f'<p class="rux-headline" role="status"><strong>{_e(decision_headline(d))}</strong></p>',
    ]
    ctx = _context(d)
    if ctx:
        parts.append(f'<p class="rux-context">{_e(ctx)}</p>')
    for n in _dose_notes(d):
        parts.append(f'<p class="rux-dose-note">{_e(n)}</p>')
    if d.administrations:
        rows = "".join(
            f'<tr><th scope="row">{_e(_SLOT.get(a.slot, a.slot))}</th>'
            f'<td class="rux-num">{human(a.dose_mg)} mg</td></tr>'
            for a in d.administrations
        )
        parts.append(
            '<table class="rux-doses"><caption>Doses today</caption>'
            '<thead><tr><th scope="col">when</th><th scope="col">dose</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    crit = [a for a in d.alerts if a.severity != "info"]
    if crit:
        parts.append('<section class="rux-alerts"><h3>Alerts</h3>')
        parts.append(
            _li(
                (
                    f'<li class="rux-alert rux-alert-{a.severity}">'
                    f'<span class="rux-visually-hidden">{_e(a.severity)}: </span>{_e(a.text)}</li>'
                    for a in crit
                ),
                "rux-alert-list",
            )
        )
        parts.append("</section>")
    if d.actions:
        parts.append('<section class="rux-team"><h3>For the team</h3>')
        parts.append(
            _li(
                (
                    f'<li class="rux-team-{t.kind}">'
                    f"{'Option: ' if t.kind == 'option' else ''}{_e(t.text)} "
                    f'<cite class="rux-source">{_e(t.source)}</cite></li>'
                    for t in d.actions
                ),
                "rux-team-list",
            )
        )
        parts.append("</section>")
    fired = _fired(d)
    parts.append('<section class="rux-fired"><h3>Rules that fired</h3>')
    parts.append(
        _li((_rationale_html(r, "rux-rule-fired") for r in fired), "rux-rationale")
        or "<p>None.</p>"
    )
    parts.append("</section>")
    ctx_entries = _context_entries(d)
    if ctx_entries:
        parts.append(
            '<section class="rux-steps"><h3>How the dose was reached, and what else applies</h3>'
        )
        parts.append(
            _li((_rationale_html(r, "rux-rule-step") for r in ctx_entries), "rux-rationale")
        )
        parts.append("</section>")
    if d.checked_rules:
        parts.append('<section class="rux-checked"><h3>Rules checked that did not apply</h3>')
        parts.append(
            _li(
                (
                    f'<li class="rux-rule-checked"><code>{_e(c)}</code></li>'
                    for c in d.checked_rules
                ),
                "rux-checked-list",
            )
        )
        parts.append("</section>")
    if d.monitoring:
        parts.append('<section class="rux-monitoring"><h3>Monitoring</h3>')
        parts.append(
            _li(
                (
                    f"<li>{_e(m.what)}: {_e(m.due)} "
                    f'<cite class="rux-source">{_e(m.source)}</cite></li>'
                    for m in d.monitoring
                ),
                "rux-monitoring-list",
            )
        )
        parts.append("</section>")
    info = [a for a in d.alerts if a.severity == "info"]
    if info:
        parts.append('<section class="rux-notes"><h3>Notes</h3>')
        parts.append(_li((f"<li>{_e(a.text)}</li>" for a in info), "rux-note-list"))
        parts.append("</section>")
    if d.sources:
        parts.append('<section class="rux-sources"><h3>Sources</h3><dl class="rux-source-list">')
        for s in d.sources:
            link = (
                f' <a href="{_e(s.url)}" rel="noopener noreferrer">{_e(s.url)}</a>'
                if s.url and s.url.startswith(("https://", "http://"))
                else ""
            )
            parts.append(f"<dt>{_e(s.key)}</dt><dd>{_e(s.citation)}{link}</dd>")
        parts.append("</dl></section>")
    parts.append("</article>")
    return "\n".join(parts)


def _rationale_html(r: RationaleEntry, cls: str) -> str:
    used = _inputs(r)
    return (
        f'<li class="{cls} rux-status-{r.status.value}">'
        f'<code class="rux-rule-id">{_e(r.rule)}</code> {_e(r.text)}'
        + (f' <span class="rux-inputs">Inputs: {_e(used)}</span>' if used else "")
        + f' <cite class="rux-source">{_e(_source_text(r.source))}</cite>'
        f' <span class="rux-status">({_e(_status(r))})</span></li>'
    )


# -- JSON ----------------------------------------------------------------------------------------


def render_decision_json(decision: Decision) -> dict[str, Any]:
    """The documented JSON object (docs/protocol.md): stable codes and parameters, plain types."""
    out = decision.to_dict()
    out["headline"] = decision_headline(decision)
    return out


# -- CDS Hooks card ------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _md(text: str) -> str:
    """Escape the characters markdown would read as formatting."""
    out = []
    for ch in text:
        if ch in "\\`*_{}[]<>#|":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _card_detail(d: Decision) -> str:
    lines = [f"**{_md(decision_headline(d))}**", ""]
    ctx = _context(d)
    if ctx:
        lines += [_md(ctx), ""]
    crit = [a for a in d.alerts if a.severity != "info"]
    if crit:
        lines += ["**Alerts**", ""] + [f"- {_md(a.text)}" for a in crit] + [""]
    if d.actions:
        lines += ["**For the team**", ""]
        lines += [
            f"- {'Option: ' if t.kind == 'option' else ''}{_md(t.text)} ({_md(t.source)})"
            for t in d.actions
        ]
        lines.append("")
    fired = _fired(d)
    lines += ["**Rules that fired**", ""]
    if fired:
        for r in fired:
            lines.append(
                f"- `{r.rule}`: {_md(r.text)} ({_md(_source_text(r.source))}; {_status(r)})"
            )
    else:
        lines.append("- none")
    lines.append("")
    if d.checked_rules:
        lines += ["Checked, did not apply: " + ", ".join(f"`{c}`" for c in d.checked_rules), ""]
    if d.monitoring:
        lines += ["**Monitoring**", ""]
        lines += [f"- {_md(m.what)}: {_md(m.due)}" for m in d.monitoring]
        lines.append("")
    if d.sources:
        lines += ["**Sources**", ""]
        for s in d.sources:
            cite = _md(s.citation)
            lines.append(f"- {s.key}: [{cite}]({s.url})" if s.url else f"- {s.key}: {cite}")
    return "\n".join(lines).strip()


def render_decision_card(decision: Decision, *, source_url: str | None = None) -> dict[str, Any]:
    """A CDS Hooks 2.0 card: summary (<= 140 characters), indicator, source, markdown detail.

    ``indicator`` is the decision's severity (info, warning, critical). ``source.url`` is
    ``source_url`` when given (e.g. the web page of this decision), else the link of the
    regimen's own source. No element is null or empty.
    """
    d = decision
    url = source_url
    if url is None and d.sources and d.sources[0].url:
        url = d.sources[0].url
    source: dict[str, Any] = {
        "label": _clip(f"ruxtrack · {d.regimen_id} v{d.regimen_version}", 140)
    }
    if url:
        source["url"] = url
    card: dict[str, Any] = {
        "summary": _clip(f"Ruxolitinib: {decision_headline(d)}", _SUMMARY_MAX),
        "indicator": d.severity,
        "source": source,
        "detail": _card_detail(d),
    }
    return card
