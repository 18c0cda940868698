"""Build the demo: the example organisation moved to the present and replayed through the real loop.

:mod:`onpace.services.demo_present` moves the example organisation's dates to the present and
writes the moved files to ``DATA_DIR/org/``, so a visitor can read exactly what was loaded.
Then :func:`build_demo` saves the model and replays the weeks with
:func:`onpace.services.replay.replay_into` — ingest, check-ins, evaluate, govern, as of the end
of each past week and, last, as of now — so every status, case, escalation and outbox event is
decided by the code a real organisation runs. People's scripted decisions go through the same
services: the check-ins of ``checkins.csv`` and one re-baseline (:data:`REBASELINES`). It writes
the systems the model's sources pull from (:mod:`onpace.services.demo_sources`), so that every
pull of the served demo works. Finally it adds two logins with random passwords: an admin, and
an owner — the owner of the most striking open case, so that "my desk" has something on it.
The folder rules are :mod:`onpace.services.demo_folder`'s; the tour is :mod:`onpace.services.demo_tour`'s.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day
from onpace.domain.cases import Case
from onpace.domain.model import Model
from onpace.errors import UserError
from onpace.modelfile import load_model_file
from onpace.services.account_changes import add_user
from onpace.services.cases import list_cases
from onpace.services.checkins import read_checkins_csv
from onpace.services.demo_folder import (
    DATABASE,
    MAIL_FOLDER,
    ORG_FOLDER,
    WORKER_LOG,
    claim_folder,
    secret_key,
)
from onpace.services.demo_present import as_of_steps, write_present_org
from onpace.services.demo_sources import write_source_systems
from onpace.services.demo_tour import Login, TourStop, striking_order, tour_of
from onpace.services.dispatch_messages import person_name
from onpace.services.ingest import IngestError, read_actuals_csv
from onpace.services.rebaseline import approve_rebaseline, plan_from_text, request_rebaseline, shift_size
from onpace.services.replay import ReplayStep, replay_into
from onpace.services.review_mail import publish_reviews
from onpace.storage.db import make_engine, upgrade
from onpace.storage.repositories import outbox_repo

ACTOR = "demo"


Say = Callable[[str], None]


@dataclass(frozen=True)
class ScriptedRebaseline:
    """A plan change someone in the example organisation asks for, and who approves it, in a given week."""

    week: int
    subject: str
    plan: str
    reason: str
    by: str
    approver: str


#: The re-baseline of the story: the pilot's budget is raised after its costly May (a goalpost shift).
REBASELINES: tuple[ScriptedRebaseline, ...] = (
    ScriptedRebaseline(
        week=9,
        subject="fulfilment_spend",
        plan="per_bucket=46000",
        reason="The Riverside pilot now runs Sunday shifts too; the leadership team agreed the extra cost",
        by="ana",
        approver="grace",
    ),
)


@dataclass(frozen=True)
class DemoStore:
    """What :func:`build_demo` made: where, which organisation, the logins and what to look at."""

    folder: Path
    org: str
    model: Model
    weeks_shifted: int
    logins: tuple[Login, ...]
    tour: tuple[TourStop, ...]
    open_cases: int
    outbox: int
    secret_key: str
    rebuilt: bool

    @property
    def database_url(self) -> str:
        """Return the SQLAlchemy URL of the demo's store."""
        return f"sqlite:///{(self.folder / DATABASE).resolve()}"

    @property
    def mail_folder(self) -> Path:
        """Return the folder the demo's mailbox writes .eml files to."""
        return self.folder / MAIL_FOLDER

    @property
    def worker_log(self) -> Path:
        """Return the file the demo's worker logs to."""
        return self.folder / WORKER_LOG


# ---------------------------------------------------------------------------------------------
# the build


def _step_line(step: ReplayStep, week: int, model: Model) -> str:
    counts = Counter(e.public_event for e in step.events)
    points = step.ingested.accepted if step.ingested is not None else 0
    line = f"  week {week:>2}  as of {step.as_of}  {points:>4} points"
    if step.checkins:
        line += f", {step.checkins} check-in(s)"
    opened = [e for e in step.events if e.public_event == "case_opened"]
    if opened:
        line += "; opened: " + ", ".join(f"{e.kind} {e.subject}" for e in opened)
    others = [
        f"{counts[name]} {name.removeprefix('case_')}"
        for name in ("case_escalated", "case_resolved")
        if counts[name]
    ]
    if others:
        line += "; " + ", ".join(others)
    return line


def _rebaseline(
    session: Session, org_id: int, model: Model, script: ScriptedRebaseline, step: ReplayStep
) -> str:
    """Ask for and approve one scripted re-baseline at the step's time; return a line saying so."""
    plan = plan_from_text(script.plan)
    old = next((k.plan for k in model.kpis if k.id == script.subject), None)
    request = request_rebaseline(
        session,
        org_id,
        model,
        subject=script.subject,
        plan=plan,
        reason=script.reason,
        effective=step.as_of + dt.timedelta(days=1),
        by=script.by,
        now=step.now,
    )
    approve_rebaseline(session, org_id, model, request.id, by=script.approver, now=step.now)
    session.commit()
    size = shift_size(old, plan)
    change = f" ({size:+.1%})" if size is not None else ""
    return (
        f"  re-baseline: {person_name(model, script.by)} changed the plan of {script.subject}{change}, "
        f"approved by {person_name(model, script.approver)}"
    )


def demo_domain(model: Model) -> str:
    """Return the mail domain most of the organisation's people use (the demo's addresses use it too)."""
    domains = Counter(p.email.rsplit("@", 1)[1] for p in model.people if p.email and "@" in p.email)
    return domains.most_common(1)[0][0] if domains else "demo.invalid"


def _add_logins(
    session: Session, model: Model, cases: Sequence[Case], now: dt.datetime, new_password: Callable[[], str]
) -> tuple[Login, ...]:
    admin = Login("admin", f"admin@{demo_domain(model)}", new_password(), None, "Demo admin")
    logins = [admin]
    owners = (model.person(c.owner) for c in striking_order(cases) if c.owner)
    person = next((p for p in owners if p is not None and p.email), None)
    if person is not None and person.email:
        logins.append(Login("owner", person.email, new_password(), person.id, person.name))
    for login in logins:
        add_user(
            session,
            by="demo",
            email=login.email,
            name=login.name,
            role=login.role,
            password=login.password,
            now=now,
            person_id=login.person,
        )
    session.commit()
    return tuple(logins)


def build_demo(
    examples: Path,
    folder: Path,
    *,
    now: dt.datetime,
    say: Say,
    base_url: str = "http://127.0.0.1:8000",
    new_password: Callable[[], str] = lambda: secrets.token_urlsafe(12),
) -> DemoStore:
    """Build the demo store in ``folder``: the example organisation moved to ``now``, replayed, with logins.

    ``say`` receives one progress line at a time. Raise :class:`UserError` for a folder the demo
    must not use or an incomplete example organisation; nothing outside ``folder`` is written.
    """
    started = time.perf_counter()
    today = now.astimezone(dt.UTC).date()
    original = load_model_file(examples / "onpace.yaml")
    rebuilt = claim_folder(folder, original.org)
    say(
        f"data folder {folder}"
        + (": the previous demo store there is replaced by a new one" if rebuilt else " (new)")
    )
    weeks = write_present_org(examples, original, folder / ORG_FOLDER, today)
    model = load_model_file(folder / ORG_FOLDER / "onpace.yaml")
    cycle = min(model.cycles, key=lambda c: c.start)
    say(
        f"{model.org}: the example quarter moved {weeks} weeks to the present; "
        f"cycle {cycle.id} runs {cycle.start} to {cycle.end} (files in {folder / ORG_FOLDER})"
    )
    try:
        actuals = read_actuals_csv(folder / ORG_FOLDER / "actuals.csv")
    except IngestError as exc:
        raise UserError(str(exc)) from None
    checkins = read_checkins_csv(folder / ORG_FOLDER / "checkins.csv", model)
    dates = as_of_steps(model, today)
    engine = make_engine(f"sqlite:///{(folder / DATABASE).resolve()}")
    try:
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            say(f"replaying {len(dates)} weeks: ingest, check-ins, evaluate, govern")
            scripts = {s.week: s for s in REBASELINES}
            org_id: int | None = None
            rebaselined = False
            steps = replay_into(
                session,
                model,
                actuals,
                checkins,
                dates,
                actor=ACTOR,
                origin=ACTOR,
                loaded_at=dt.datetime.combine(cycle.start, dt.time(0, 0), tzinfo=dt.UTC),
                clock=lambda day: min(end_of_day(day, model.calendar.timezone), now),
            )
            for week, step in enumerate(steps, start=1):
                org_id = step.org_id
                say(_step_line(step, week, model))
                script = scripts.get(week)
                if script is not None and week < len(dates):
                    say(_rebaseline(session, org_id, model, script, step))
                    rebaselined = True
                # The weekly review of that week, as the worker's review job would have published
                # it: stored (so the next pack says what changed) and announced to each unit head.
                publish_reviews(
                    session, org_id, now=step.now, base_url=base_url, model=model, as_of=step.as_of
                )
                session.commit()
            if org_id is None:
                raise UserError(f"the demo cycle starts after today ({cycle.start})")
            cases = list_cases(session, org_id)
            logins = _add_logins(session, model, cases, now, new_password)
            outbox = len(outbox_repo.undelivered(session, now=now, org_id=org_id, limit=1_000_000))
    finally:
        engine.dispose()
    for drop in drop_folders(model):
        (folder / drop).mkdir(parents=True, exist_ok=True)
    for line in write_source_systems(model, folder / ORG_FOLDER / "actuals.csv", folder):
        say(f"source {line}")
    owner = next((login for login in logins if login.person is not None), None)
    open_count = sum(1 for c in cases if c.is_open)
    say(
        f"done in {time.perf_counter() - started:.1f} s: {open_count} open case(s), "
        f"{outbox} event(s) in the outbox for the worker to deliver"
    )
    return DemoStore(
        folder=folder,
        org=model.org,
        model=model,
        weeks_shifted=weeks,
        logins=logins,
        tour=tuple(tour_of(model, cases, owner, rebaselined)),
        open_cases=open_count,
        outbox=outbox,
        secret_key=secret_key(folder),
        rebuilt=rebuilt,
    )


def drop_folders(model: Model) -> list[str]:
    """Return the relative folders the model's file sources read (the demo makes them in its folder)."""
    paths = [s.options.get("path") for s in model.sources if s.kind in ("csv", "excel")]
    return [
        path
        for path in paths
        if isinstance(path, str) and not path.startswith("env:") and not Path(path).is_absolute()
    ]


def environment_names(model: Model) -> tuple[set[str], set[str]]:
    """Return the ``env:`` names the model's notify routes use, and those its sources use."""

    def named(value: object) -> str | None:
        return value[4:].strip() if isinstance(value, str) and value.startswith("env:") else None

    routes = {n for r in model.notify for n in (named(r.url), named(r.secret)) if n}
    sources = {n for s in model.sources for v in s.options.values() for n in _env_values(v, named)}
    return routes, sources


def _env_values(value: object, named: Callable[[object], str | None]) -> list[str]:
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in _env_values(v, named)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _env_values(v, named)]
    found = named(value)
    return [found] if found else []
