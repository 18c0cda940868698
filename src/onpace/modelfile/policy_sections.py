"""Read the `sources`, `policy` and `notify` sections of a model file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TypeVar

from yaml.nodes import Node, SequenceNode

from onpace.domain.model import (
    CASE_KINDS,
    WEEKDAYS,
    NotifyRoute,
    Policy,
    Sla,
    Source,
)
from onpace.modelfile import schema
from onpace.modelfile.draft import Draft, item_id
from onpace.modelfile.records import Record, Sink, did_you_mean, read_record
from onpace.modelfile.tolerances import read_tolerance
from onpace.modelfile.yamltree import construct
from onpace.notifiers.schemes import route_url_problem

T = TypeVar("T", bound=str)

# One mailbox, nothing a mail library could read as a list: a@x,b@y or "A" <a@x> are refused.
ONE_ADDRESS = re.compile(r"[^@\s,;<>()\[\]\"':\\]+@[^@\s,;<>()\[\]\"':\\]+\.[^@\s,;<>()\[\]\"':\\.]+")


def read_source(draft: Draft, rec: Record) -> None:
    """Read one item of `sources` into the draft."""
    _check_source_options(rec)
    options = {key: construct(node) for key, node in rec.values.items() if key not in schema.SOURCE_FIELDS}
    source = Source(item_id(rec), rec.text("kind") or "", rec.duration("every"), options)
    draft.sources.append((source, rec))


def _check_source_options(rec: Record) -> None:
    """Report an unknown kind, or an option the source's kind does not read (at its line)."""
    kind = rec.text("kind")
    if kind is None:
        return
    known = schema.SOURCE_OPTIONS.get(schema.SOURCE_KIND_ALIASES.get(kind, kind))
    if known is None:
        kinds = sorted(schema.SOURCE_OPTIONS)
        rec.problem(
            "kind", f"unknown source kind `{kind}` (known: {', '.join(kinds)}){did_you_mean(kind, kinds)}"
        )
        return
    for key in rec.values:
        if key not in schema.SOURCE_FIELDS and key not in known:
            allowed = ", ".join(known) or "none"
            rec.problem(
                key,
                f"unknown option `{key}` for a source of kind {kind} (it reads: {allowed})"
                f"{did_you_mean(key, known)}",
            )


def read_policy(draft: Draft, sink: Sink, node: Node) -> None:
    """Read the `policy` mapping into the draft (defaults for what it leaves out)."""
    rec = read_record(sink, node, "policy", "`policy`", schema.POLICY, what="`policy`")
    if rec is None:
        return
    draft.policy_record = rec
    defaults = Policy()
    open_case_on = tuple(_choices(rec, "open_case_on", CASE_KINDS, "[red, at_risk]"))
    tolerance = None
    if rec.has("default_tolerance"):
        tolerance = read_tolerance(sink, rec.values["default_tolerance"], "`policy`")
    sla = defaults.sla
    if rec.has("sla"):
        sla_rec = read_record(sink, rec.values["sla"], "sla", "`policy.sla`", schema.SLA, what="`policy.sla`")
        if sla_rec is not None:
            sla = Sla(
                explain=sla_rec.duration("explain") or defaults.sla.explain,
                act=sla_rec.duration("act") or defaults.sla.act,
            )
    escalation = tuple(_choices(rec, "escalation", schema.ESCALATION_RUNGS, "[owner, unit_head]"))
    ladder = rec.values.get("escalation")
    if isinstance(ladder, SequenceNode) and not ladder.value:
        rec.problem("escalation", "`escalation` of `policy` is empty; list at least `owner`")
    counts: dict[str, int] = {}
    for key in ("auto_resolve_after", "stale_after", "at_risk_after"):
        count = rec.integer(key)
        if count is not None and count < 1:
            rec.problem(key, f"`{key}` of `policy` is {count}; it must be 1 or more")
        elif count is not None:
            counts[key] = count
    threat_weight = rec.number("threat_weight")
    if threat_weight is not None and not 0 < threat_weight <= 1:
        rec.problem(
            "threat_weight",
            f"`threat_weight` of `policy` is {threat_weight:g}; it must be above 0 and at most 1",
        )
        threat_weight = None
    approve_manual = rec.boolean("approve_manual")
    valid_for = rec.duration("checkin_valid_for")
    if valid_for is not None and valid_for <= dt.timedelta(0):
        rec.problem(
            "checkin_valid_for", "`checkin_valid_for` of `policy` must be longer than zero, like `14d`"
        )
        valid_for = None
    draft.policy = Policy(
        open_case_on=open_case_on if rec.has("open_case_on") else defaults.open_case_on,
        default_tolerance=tolerance or defaults.default_tolerance,
        sla=sla,
        escalation=escalation if rec.has("escalation") else defaults.escalation,
        auto_resolve_after=counts.get("auto_resolve_after", defaults.auto_resolve_after),
        threat_weight=threat_weight if threat_weight is not None else defaults.threat_weight,
        stale_after=counts.get("stale_after", defaults.stale_after),
        at_risk_on=rec.choice("at_risk_on", schema.AT_RISK_ON) or defaults.at_risk_on,
        approve_manual=approve_manual if approve_manual is not None else defaults.approve_manual,
        review_weekday=rec.choice("review_weekday", WEEKDAYS) or defaults.review_weekday,
        at_risk_after=counts.get("at_risk_after", defaults.at_risk_after),
        checkin_valid_for=valid_for or defaults.checkin_valid_for,
    )


def _choices(rec: Record, key: str, choices: Sequence[T], example: str) -> list[T]:
    """Return the items of a list field that are among ``choices``, noting each that is not."""
    picked: list[T] = []
    for word, line in rec.words(key, example):
        match = next((choice for choice in choices if choice == word), None)
        if match is not None:
            picked.append(match)
        else:
            rec.sink.add(
                line,
                f"`{word}` in `{key}` of {rec.what} is not one of {', '.join(choices)}"
                + did_you_mean(word, choices),
            )
    return picked


def read_route(draft: Draft, rec: Record) -> None:
    """Read one item of `notify` into the draft, checking its URL scheme."""
    events = _choices(rec, "events", schema.NOTIFY_EVENTS, "[case_opened]")
    route = NotifyRoute(
        id=item_id(rec),
        url=rec.text("url") or "",
        units=tuple(name for name, _ in rec.words("units", "[ops]")),
        people=tuple(name for name, _ in rec.words("people", "[maria]")),
        events=tuple(events),
        digest=bool(rec.boolean("digest")),
        secret=rec.text("secret"),
    )
    if route.url:
        problem = route_url_problem(route.url)
        if problem is not None:
            rec.problem("url", f"`url` of notification route `{route.id}`: {problem}")
    draft.notify.append((route, rec))
