"""Turn model values (plans, tolerances, policy, source options) into JSON documents and back.

The store keeps these as JSON columns. Encoding is canonical (same value, same document), so
comparing two encoded documents tells whether a plan or policy changed. Decoding accepts missing
keys (taking the model's defaults), so documents written by older versions still load.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, cast, get_args

from onpace.domain.model import (
    CaseKind,
    Plan,
    Policy,
    Sla,
    Threshold,
    Tolerance,
)
from onpace.errors import UserError

Json = dict[str, Any]


class CodecError(UserError, ValueError):
    """A value cannot be stored as JSON; the message names the value and why."""


def _finite(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise CodecError(f"{what} must be a finite number, not {value!r}")
    return number


def encode_plan(plan: Plan) -> Json:
    """Return the JSON document of ``plan``; raise :class:`CodecError` for NaN or inf."""
    return {
        "baseline": _finite(plan.baseline, "plan baseline"),
        "target": _finite(plan.target, "plan target"),
        "phasing": plan.phasing,
        "points": [[day.isoformat(), _finite(value, f"plan point {day}")] for day, value in plan.points],
        "per_bucket": _finite(plan.per_bucket, "plan per_bucket"),
        "band": None
        if plan.band is None
        else [_finite(plan.band[0], "plan band"), _finite(plan.band[1], "plan band")],
        "seasonal_from": plan.seasonal_from,
        "growth": _finite(plan.growth, "plan growth"),
    }


def decode_plan(doc: Mapping[str, Any]) -> Plan:
    """Return the :class:`Plan` stored as ``doc``."""
    band = doc.get("band")
    return Plan(
        baseline=doc.get("baseline"),
        target=doc.get("target"),
        phasing=doc.get("phasing", "linear"),
        points=tuple((dt.date.fromisoformat(day), float(value)) for day, value in doc.get("points", ())),
        per_bucket=doc.get("per_bucket"),
        band=None if band is None else (float(band[0]), float(band[1])),
        seasonal_from=doc.get("seasonal_from"),
        growth=float(doc.get("growth") or 0.0),
    )


def _encode_threshold(threshold: Threshold) -> Json:
    return {"value": _finite(threshold.value, "tolerance"), "relative": threshold.relative}


def _decode_threshold(doc: Mapping[str, Any]) -> Threshold:
    return Threshold(float(doc["value"]), bool(doc["relative"]))


def encode_tolerance(tolerance: Tolerance) -> Json:
    """Return the JSON document of ``tolerance``."""
    return {"amber": _encode_threshold(tolerance.amber), "red": _encode_threshold(tolerance.red)}


def decode_tolerance(doc: Mapping[str, Any]) -> Tolerance:
    """Return the :class:`Tolerance` stored as ``doc``."""
    return Tolerance(_decode_threshold(doc["amber"]), _decode_threshold(doc["red"]))


def encode_policy(policy: Policy) -> Json:
    """Return the JSON document of ``policy``; durations are stored in seconds."""
    return {
        "open_case_on": list(policy.open_case_on),
        "default_tolerance": encode_tolerance(policy.default_tolerance),
        "sla": {
            "explain_seconds": policy.sla.explain.total_seconds(),
            "act_seconds": policy.sla.act.total_seconds(),
        },
        "escalation": list(policy.escalation),
        "auto_resolve_after": policy.auto_resolve_after,
        "threat_weight": _finite(policy.threat_weight, "policy threat_weight"),
        "stale_after": policy.stale_after,
        "at_risk_on": policy.at_risk_on,
        "approve_manual": policy.approve_manual,
        "review_weekday": policy.review_weekday,
        "at_risk_after": policy.at_risk_after,
        "checkin_valid_for_seconds": policy.checkin_valid_for.total_seconds(),
    }


def decode_policy(doc: Mapping[str, Any]) -> Policy:
    """Return the :class:`Policy` stored as ``doc``; absent keys take the policy's defaults."""
    default = Policy()
    sla_doc = doc.get("sla")
    sla = (
        Sla(
            explain=dt.timedelta(seconds=sla_doc.get("explain_seconds", default.sla.explain.total_seconds())),
            act=dt.timedelta(seconds=sla_doc.get("act_seconds", default.sla.act.total_seconds())),
        )
        if sla_doc is not None
        else default.sla
    )
    known_kinds = set(get_args(CaseKind))
    open_case_on = tuple(
        cast(CaseKind, kind) for kind in doc.get("open_case_on", default.open_case_on) if kind in known_kinds
    )
    tolerance_doc = doc.get("default_tolerance")
    return Policy(
        open_case_on=open_case_on,
        default_tolerance=decode_tolerance(tolerance_doc) if tolerance_doc else default.default_tolerance,
        sla=sla,
        escalation=tuple(doc.get("escalation", default.escalation)),
        auto_resolve_after=int(doc.get("auto_resolve_after", default.auto_resolve_after)),
        threat_weight=float(doc.get("threat_weight", default.threat_weight)),
        stale_after=int(doc.get("stale_after", default.stale_after)),
        at_risk_on=doc.get("at_risk_on", default.at_risk_on),
        approve_manual=bool(doc.get("approve_manual", default.approve_manual)),
        review_weekday=str(doc.get("review_weekday", default.review_weekday)),
        at_risk_after=int(doc.get("at_risk_after", default.at_risk_after)),
        checkin_valid_for=dt.timedelta(
            seconds=doc.get("checkin_valid_for_seconds", default.checkin_valid_for.total_seconds())
        ),
    )


def encode_options(options: Mapping[str, object], where: str) -> Json:
    """Return source options as a JSON object; tuples become lists, dates ISO strings.

    Raise :class:`CodecError` naming ``where`` and the key for a value JSON cannot hold.
    """
    return {str(key): _jsonable(value, f"{where}: option {key!r}") for key, value in options.items()}


def _jsonable(value: object, where: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return _finite(value, where)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item, where) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item, where) for key, item in value.items()}
    raise CodecError(f"{where} has a value of type {type(value).__name__} that cannot be stored")
