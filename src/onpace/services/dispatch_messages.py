"""Write the outbox's events as messages people read: titles, text, figures in their units, links.

Each event becomes a title, a plain text and a link (:func:`describe`); alerts carry their
figures as a table in an HTML alternative (:func:`alert_html`); a digest gathers one person's
events of a day (:func:`digest_notification`). Names, not ids; dates as people read them; times
in the organisation's time zone.
"""

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from onpace.domain.model import Model
from onpace.domain.units import uom_of
from onpace.notifiers.base import Notification
from onpace.reports.format import format_day, format_moment, format_value
from onpace.services.case_evidence import readable_moments
from onpace.services.review_parts import figure, percent
from onpace.services.routing import Delivery

DIGEST = "digest"
CHANNEL_DISABLED = "channel_disabled"
# A unit's weekly review pack is ready (written by ``onpace.services.review_mail``).
REVIEW_READY = "review_ready"


def person_name(model: Model, person_id: object) -> str:
    person = model.person(person_id) if isinstance(person_id, str) else None
    return person.name if person is not None else str(person_id or "nobody")


_KIND_WORDS = {
    "red": "is red",
    "amber": "is amber",
    "at_risk": "is at risk of missing its target",
    "threatened": "is threatened by an off-track KPI",
    "mirage": "was reported better than its data shows",
    "stale": "has stopped receiving data",
    "dependency_late": "is late",
    "hygiene": "has a model hygiene finding",
}
_FIGURES = (
    ("plan_to_date", "Planned to date"),
    ("actual_to_date", "Actual to date"),
    ("variance_pct", "Variance"),
    ("forecast_end", "Forecast at cycle end"),
    ("plan_end", "Plan at cycle end"),
    ("weeks_to_red", "Red in"),
)


_IN_UNITS = frozenset({"plan_to_date", "actual_to_date", "forecast_end", "plan_end"})


_DEADLINES = (("explain_due", "Explain by"), ("act_due", "Act by"))


def _figure_text(key: str, value: float, uom: str | None) -> str:
    if key == "variance_pct":
        return percent(value, signed=True)
    if key == "weeks_to_red":
        count = int(value)
        return f"{count} week" if count == 1 else f"{count} weeks"
    if uom and key in _IN_UNITS:
        return format_value(value, uom)
    return figure(value)


def figure_rows(
    detail: Mapping[str, Any], uom: str | None = None, timezone: str = "UTC"
) -> list[tuple[str, str]]:
    """Return the figures of an event as (label, value) pairs people read: "Variance", "+17.6 %"."""
    rows = []
    for key, label in _DEADLINES:
        due = detail.get(key)
        if isinstance(due, str):
            with contextlib.suppress(ValueError):  # a deadline that is not a moment is left out
                rows.append((label, format_moment(dt.datetime.fromisoformat(due), timezone)))
    for key, label in _FIGURES:
        value = detail.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if key == "weeks_to_red" and detail.get("status") == "red":
                continue  # already red: "red in 0 weeks" says nothing
            rows.append((label, _figure_text(key, float(value), uom)))
    return rows


def figure_lines(detail: Mapping[str, Any], uom: str | None = None, timezone: str = "UTC") -> list[str]:
    lines = [f"{label}: {value}" for label, value in figure_rows(detail, uom, timezone)]
    for finding in detail.get("findings") or ():
        if isinstance(finding, Mapping) and finding.get("message"):
            lines.append(str(finding["message"]))
    return lines


def alert_html(lead: str, rows: Sequence[tuple[str, str]]) -> str:
    """Return an alert's HTML body: the lead sentence, then its figures as a small table."""
    table = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in rows
    )
    return f"<p>{escape(lead)}</p>" + (f"<table>{table}</table>" if table else "")


def describe(payload: Mapping[str, Any], model: Model, base_url: str) -> tuple[str, str, str | None]:
    """Return the title, text and link of an outbox event, in words its readers know."""
    event = str(payload.get("event", ""))
    kind = str(payload.get("kind", ""))
    subject = str(payload.get("subject", ""))
    detail: Mapping[str, Any] = payload.get("detail") or {}
    name = model.title(subject)
    words = _KIND_WORDS.get(kind, kind)
    owner = person_name(model, payload.get("owner"))
    as_of = readable_day(payload.get("as_of"))
    if event == "case_opened":
        title = f"{name} {words}"
        lead = f"A case was opened for {owner} as of {as_of}."
    elif event == "case_escalated":
        title = f"Escalated: {name} {words}"
        lead = f"The case went to {person_name(model, detail.get('to'))} (level {payload.get('level')})"
        lead += f": {readable_moments(str(detail['reason']))}." if detail.get("reason") else "."
    elif event == "case_resolved":
        title = f"Resolved: {name}"
        lead = f"The case of {owner} on {name} is resolved as of {as_of}."
    elif event == "status_changed":
        title = f"{name}: {detail.get('from', '?')} → {detail.get('to', kind)}"
        lead = f"Status changed as of {as_of}; owner {owner}."
    elif event == REVIEW_READY:
        return _describe_review(payload, model, base_url)
    elif event == CHANNEL_DISABLED:
        title = f"Notification channel {subject} was disabled"
        lead = (
            f"{detail.get('reason', 'it failed permanently')}. It receives nothing until someone fixes it "
            "and enables it again."
        )
    else:
        title = f"{event.replace('_', ' ').capitalize()}: {name}"
        lead = f"As of {as_of}."
    text = "\n".join([lead, *figure_lines(detail, uom_of(model, subject), model.calendar.timezone)])
    case_id = detail.get("case")
    url = f"{base_url.rstrip('/')}/cases/{case_id}" if isinstance(case_id, int) else None
    return title, text, url


def readable_day(value: object) -> str:
    """Return an ISO date of an event as people read it (``3 Nov 2026``); anything else as it is."""
    try:
        return format_day(dt.date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def _describe_review(payload: Mapping[str, Any], model: Model, base_url: str) -> tuple[str, str, str | None]:
    """Return the title, text (the Markdown pack) and link of a ``review_ready`` event."""
    detail: Mapping[str, Any] = payload.get("detail") or {}
    unit = payload.get("subject")
    found = model.unit(unit) if isinstance(unit, str) else None
    scope = found.name if found is not None else str(detail.get("unit_name") or unit or model.org)
    new = detail.get("new_breaches")
    count = f": {new} new breach(es), {detail.get('items', 0)} item(s)" if isinstance(new, int) else ""
    title = f"Weekly review for {scope} as of {readable_day(payload.get('as_of'))}{count}"
    root = base_url.rstrip("/")
    url = f"{root}/review?unit={unit}" if isinstance(unit, str) and unit else f"{root}/review"
    text = str(detail.get("markdown") or f"The weekly review of {scope} is ready.")
    return title, text, url


def notification_for(row: Mapping[str, Any], delivery: Delivery, model: Model, base_url: str) -> Notification:
    """Return the message of one outbox row for one delivery (its idempotency key included)."""
    payload: Mapping[str, Any] = row["payload"]
    title, text, url = describe(payload, model, base_url)
    detail = payload.get("detail") or {}
    html_body = detail.get("html") if payload.get("event") == REVIEW_READY else None
    if html_body is None:
        lead = text.splitlines()[0] if text else title
        subject = str(payload.get("subject", ""))
        html_body = alert_html(lead, figure_rows(detail, uom_of(model, subject), model.calendar.timezone))
    return Notification(
        event=str(payload.get("event", row.get("event", ""))),
        subject=str(payload.get("subject", "")),
        kind=str(payload.get("kind", "")),
        owner=payload.get("owner"),
        participants=tuple(payload.get("participants") or ()),
        title=title,
        text=text,
        url=url,
        idempotency_key=f"{row['idempotency_key']}:{delivery.key}",
        detail={k: v for k, v in detail.items() if k != "html"}
        | {"as_of": payload.get("as_of"), "level": payload.get("level")},
        html=str(html_body),
    )


def digest_notification(
    org_id: int,
    delivery: Delivery,
    *,
    day: dt.date,
    rows: Sequence[Mapping[str, Any]],
    model: Model,
    base_url: str,
) -> Notification:
    """Return one message gathering the events of ``rows`` for one person and day."""
    person = person_name(model, delivery.recipient) if delivery.recipient else "unowned subjects"
    lines = []
    for row in rows:
        title, _, url = describe(row["payload"], model, base_url)
        lines.append(f"- {title}" + (f" ({url})" if url else ""))
    first, last = rows[0]["id"], rows[-1]["id"]
    return Notification(
        event=DIGEST,
        subject=delivery.recipient or delivery.channel,
        kind=DIGEST,
        owner=delivery.recipient,
        participants=(),
        title=f"Daily digest for {person}, {format_day(day)}: {len(rows)} event(s)",
        text="\n".join(lines),
        url=base_url,
        idempotency_key=f"{DIGEST}:{org_id}:{delivery.key}:{day.isoformat()}:{first}-{last}",
        detail={"day": day.isoformat(), "events": [dict(r["payload"]) for r in rows]},
    )
