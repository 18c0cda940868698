"""Decide where an outbox event goes: the model's notify routes plus each person's own email.

A pure function of the event's payload (the public shape of DESIGN.md §5), the model and the
settings-level SMTP URL; no database, no clock.

- **Routes.** A route takes an event when its ``events`` name it (a route with no events takes
  ``case_opened``, as in the model file) and, when it lists ``units`` or ``people``, the event
  concerns one of them. An event concerns the unit of its subject (a KPI's unit, a KR's or
  objective's unit, both units of a dependency, the units of the KPIs a source feeds) and the
  units and ids of its people. A route with neither units nor people takes every such event.
- **People.** The people of an event are its owner, its participants and, for an escalation,
  the person it went to. Each of them with an email address gets the events of
  :data:`PERSONAL_EVENTS` by mail, through ``ONPACE_SMTP_URL`` with ``to=`` their address.
- **Digest.** A route with ``digest: true`` does not send each event: its events are gathered
  into one message per person (the event's owner) per day (the event's ``created_at`` date in UTC).

Each :class:`Delivery` has a ``key`` that names it within its outbox row (channel, plus the
person for a digest); the delivery's idempotency key is the outbox row's key and this key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from onpace.domain.model import Model, NotifyRoute
from onpace.modelfile.sections import ONE_ADDRESS

#: Events a person's own email receives (status changes and workflow notes go to routes only);
#: ``review_ready`` brings a unit head their unit's weekly review pack.
PERSONAL_EVENTS = ("case_opened", "case_escalated", "case_resolved", "channel_disabled", "review_ready")
#: The events a route with no ``events`` takes, as in the model file.
DEFAULT_ROUTE_EVENTS = ("case_opened",)
#: Prefix of the channel id of a person's own email (``email:maria``).
EMAIL_CHANNEL_PREFIX = "email:"
NO_PERSON = "-"


@dataclass(frozen=True)
class Delivery:
    """One message to send for one event: on which channel, to whom, now or in the daily digest.

    ``channel`` is the channel id (a route id, or ``email:<person>``); ``url`` and ``secret`` may
    still read ``env:VAR``. ``recipient`` is the person the message is for (the addressee of a
    personal email, the person a digest groups by), or None for a route's ordinary message.
    """

    channel: str
    url: str
    secret: str | None = None
    recipient: str | None = None
    digest: bool = False

    @property
    def key(self) -> str:
        """Return the name of this delivery within its event (recorded on each attempt)."""
        if self.digest:
            return f"{self.channel}#digest:{self.recipient or NO_PERSON}"
        return self.channel


def email_channel(person_id: str) -> str:
    """Return the channel id of a person's own email."""
    return EMAIL_CHANNEL_PREFIX + person_id


def personal_mail_url(smtp_url: str, email: str) -> str:
    """Return ``smtp_url`` (an Apprise ``mailto://`` or ``mailtos://`` URL) addressed to ``email``.

    Any ``to=`` already in the URL is replaced, so the settings URL may name a test address.
    """
    parts = urlsplit(smtp_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "to"]
    query.append(("to", email))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="@:/"), ""))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def people_of(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the people an event concerns: owner, participants, and whom an escalation went to."""
    detail = payload.get("detail") or {}
    found = [_text(payload.get("owner"))]
    found += [_text(p) for p in payload.get("participants") or ()]
    if payload.get("event") == "case_escalated":
        found.append(_text(detail.get("to")))
    return tuple(dict.fromkeys(p for p in found if p))


def subject_units(model: Model, subject: str, level: str | None) -> set[str]:
    """Return the units a subject belongs to (empty when it names no unit)."""
    units: set[str | None] = set()
    if level in (None, "kpi"):
        units |= {k.unit for k in model.kpis if k.id == subject}
    if level in (None, "kr", "objective"):
        for objective in model.objectives:
            if objective.id == subject or any(kr.id == subject for kr in objective.key_results):
                units.add(objective.unit)
    if level in (None, "dependency"):
        for dep in model.dependencies:
            if dep.id == subject:
                units |= {dep.provider.unit, dep.consumer.unit}
    if level in (None, "source"):
        units |= {k.unit for k in model.kpis if k.source == subject}
    if level == "channel":
        units |= {unit for route in model.notify if route.id == subject for unit in route.units}
    if level == "unit":
        units |= {u.id for u in model.units if u.id == subject}
    return {u for u in units if u}


def units_of(payload: Mapping[str, Any], model: Model) -> set[str]:
    """Return the units an event concerns: its subject's and its people's."""
    detail = payload.get("detail") or {}
    level = _text(detail.get("subject_level"))
    units = subject_units(model, str(payload.get("subject", "")), level)
    people = {p.id: p for p in model.people}
    units |= {u for pid in people_of(payload) if (u := people[pid].unit if pid in people else None)}
    return units


def route_takes(route: NotifyRoute, event: str, units: Iterable[str], people: Iterable[str]) -> bool:
    """Return whether ``route`` takes an event of this name concerning these units and people."""
    if event not in (route.events or DEFAULT_ROUTE_EVENTS):
        return False
    if not route.units and not route.people:
        return True
    return bool(set(route.units) & set(units)) or bool(set(route.people) & set(people))


def deliveries_for(
    payload: Mapping[str, Any], model: Model, *, smtp_url: str | None = None
) -> list[Delivery]:
    """Return the deliveries of one outbox event, routes first, then personal emails, in model order.

    ``payload`` is the outbox row's payload. Without ``smtp_url`` nobody gets personal email.
    A person named twice (owner and participant) gets one email.
    """
    event = str(payload.get("event", ""))
    people = people_of(payload)
    units = units_of(payload, model)
    found: list[Delivery] = []
    for route in model.notify:
        if not route_takes(route, event, units, people):
            continue
        if route.digest:
            owner = _text(payload.get("owner"))
            found.append(Delivery(route.id, route.url, route.secret, owner, digest=True))
        else:
            found.append(Delivery(route.id, route.url, route.secret))
    if smtp_url and event in PERSONAL_EVENTS:
        directory = {p.id: p for p in model.people}
        for person_id in people:
            person = directory.get(person_id)
            # A stored address that is a list (a@x,b@y) would mail everyone on it: skip it.
            if person is not None and person.email and ONE_ADDRESS.fullmatch(person.email):
                url = personal_mail_url(smtp_url, person.email)
                found.append(Delivery(email_channel(person_id), url, recipient=person_id))
    return found
