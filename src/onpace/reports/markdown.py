"""Render a weekly review pack as Markdown: for mail bodies, chat and files kept next to the minutes.

The text reads top to bottom as the meeting runs: what changed since the last pack, then each
section in pack order with its items ranked by impact. Every section is printed, an empty one in
a single line, so the reader knows it was checked. Charts are left to the HTML and PDF packs;
an item with a chart gets a one-line text sparkline of its actuals against plan.
"""

from __future__ import annotations

import re

from onpace.domain.review import SECTION_TITLES, ActionLine, Change, Chart, ReviewItem, ReviewPack, Section
from onpace.domain.review_merge import summarise
from onpace.reports.format import format_day, format_moment

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")
_BARS = "▁▂▃▄▅▆▇█"
_CHANGE_WORDS = {"new": "New", "changed": "Changed", "gone": "Gone"}
_STATUS_WORDS = {"at_risk": "at risk", "no_data": "no data"}


def escape(text: str) -> str:
    """Return ``text`` with the characters Markdown would read as markup escaped."""
    return _SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def case_link(case_id: int, base_url: str | None) -> str:
    """Return a Markdown link to a case page (relative to the site when no ``base_url``)."""
    root = base_url.rstrip("/") if base_url else ""
    return f"[case #{case_id}]({root}/cases/{case_id})"


def sparkline(chart: Chart) -> str | None:
    """Return the actuals to date as block characters, scaled with the plan, or None without two actuals."""
    pairs = [(a, p) for a, p in zip(chart.actual, chart.plan, strict=False) if a is not None]
    if len(pairs) < 2:
        return None
    values = [v for pair in pairs for v in pair if v is not None]
    low, high = min(values), max(values)
    span = high - low or 1.0

    def bar(value: float) -> str:
        return _BARS[round((value - low) / span * (len(_BARS) - 1))]

    actual = "".join(bar(a) for a, _ in pairs)
    planned = "".join(bar(p) if p is not None else " " for _, p in pairs)
    return f"`{actual}` actual · `{planned}` plan"


def _status(value: str | None) -> str:
    return _STATUS_WORDS.get(value or "", value or "")


def _action_line(action: ActionLine) -> str:
    box = "[x]" if action.done else "[ ]"
    who = f" — {escape(action.owner)}" if action.owner else ""
    mark = " **overdue**" if action.overdue else ""
    return f"  - {box} {escape(action.title)}{who}, due {format_day(action.due)}{mark}"


def render_item(item: ReviewItem, *, base_url: str | None = None) -> list[str]:
    """Return the lines of one item: title, headline, then who, since when, the case and what was said and done."""
    lines = [f"### {escape(item.title)} (`{item.subject}`)", "", escape(item.headline), ""]
    who = []
    if item.status:
        who.append(f"status {_status(item.status)}")
    if item.owner_name or item.owner:
        who.append(f"owner {escape(item.owner_name or item.owner or '')}")
    if item.holder_name and item.holder_name != item.owner_name:
        who.append(f"held by {escape(item.holder_name)}")
    if item.since is not None:
        who.append(f"since {format_day(item.since)}")
    if item.case_id is not None:
        who.append(case_link(item.case_id, base_url))
    if who:
        lines.append("- " + " · ".join(who))
    if item.explanation or item.cause:
        cause = f" ({escape(item.cause)})" if item.cause else ""
        said = escape(item.explanation) if item.explanation else "no text given"
        lines.append(f"- Explained{cause}: {said}")
    elif item.case_id is not None:
        lines.append("- Not explained yet")
    for note in item.also:
        lines.append(f"- Also: {escape(note)}")
    for cause_line in item.causes:
        lines.append(f"- Cause: {escape(cause_line)}")
    if item.actions:
        lines.append("- Actions:")
        lines.extend(_action_line(action) for action in item.actions)
    elif item.case_id is not None:
        lines.append("- No corrective action committed")
    for name, value in item.facts.items():
        lines.append(f"- {escape(name.capitalize())}: {escape(value)}")
    trend = sparkline(item.chart) if item.chart is not None else None
    if trend:
        lines.append(f"- Trend: {trend}")
    lines.append("")
    return lines


def render_section(section: Section, number: int, *, base_url: str | None = None) -> list[str]:
    """Return the lines of one section; an empty section says so in one line."""
    count = len(section.items)
    lines = [f"## {number}. {escape(section.title)} ({count})", ""]
    if not section.items:
        return [*lines, "Nothing this week.", ""]
    for item in section.items:
        lines.extend(render_item(item, base_url=base_url))
    return lines


def _change_line(change: Change) -> str:
    where = SECTION_TITLES[change.section]
    head = f"- **{_CHANGE_WORDS[change.kind]}** in {escape(where)}: {escape(change.title)}"
    if change.kind == "new":
        return head + (f" — {escape(change.after)}" if change.after else "")
    if change.kind == "changed":
        worse = " (worse)" if change.worse else ""
        return head + f"{worse} — {escape(change.before or '?')} → {escape(change.after or '?')}"
    gone = f" — was: {escape(change.before)}" if change.before else ""
    moved = f"; {escape(change.after)}" if change.after else "; no longer in the pack"
    return head + gone + moved


def render_changes(pack: ReviewPack) -> list[str]:
    """Return the "what changed" part: one line per change, or one line saying why there is none."""
    if pack.previous_as_of is None:
        return [
            "## What changed",
            "",
            "This is the first pack of its scope: nothing to compare with yet.",
            "",
        ]
    lines = [f"## What changed since {format_day(pack.previous_as_of)}", ""]
    if not pack.changes:
        return [*lines, "Nothing changed.", ""]
    return [*lines, *(_change_line(change) for change in pack.changes), ""]


def render_markdown(pack: ReviewPack, *, base_url: str | None = None) -> str:
    """Return the pack as a Markdown document.

    ``base_url`` (the web app's public address) makes case links absolute, as a mail needs;
    without it they are relative to the site.
    """
    scope = f" — {escape(pack.unit_name or pack.unit or '')}" if pack.unit else ""
    number = f" · pack #{pack.id}" if pack.id is not None else ""
    generated = format_moment(pack.generated_at)
    summary = summarise(pack)
    lines = [
        f"# Weekly review: {escape(pack.org)}{scope}",
        "",
        f"As of {format_day(pack.as_of)} · generated {generated}{number}",
        "",
        f"**{summary.decisions} decision(s) needed** · {summary.new} new · {summary.worsening} worse"
        f" · {summary.overdue} overdue · {summary.escalated} escalated",
        "",
    ]
    lines.extend(render_changes(pack))
    for number_, section in enumerate(pack.sections, start=1):
        lines.extend(render_section(section, number_, base_url=base_url))
    return "\n".join(lines).rstrip() + "\n"
