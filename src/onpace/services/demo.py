"""Build the demo: the example organisation moved to the present and replayed through the real loop.

The example organisation (``examples/``: ``onpace.yaml``, ``actuals.csv``, ``checkins.csv``)
tells one twelve-week quarter. The demo makes it *now*: every date of the three files moves by
the same whole number of weeks, so that the quarter's last week is the current one and weekdays
stay what they were. The shift is made on the text, before anything is parsed: every ISO date
(``YYYY-MM-DD``) in the model file moves — cycles, phased plan points, hand-off due and delivery
dates, whatever a later version of the file adds — and a cycle id that names a quarter
(``2026-Q2``) is renamed after the quarter that holds the moved cycle's middle. In the CSV files
the ``date`` column moves, and rows dated after today are left out: they have not happened yet.
The moved files are written to ``DATA_DIR/org/``, so a visitor can read exactly what was loaded.

Then :func:`build_demo` saves the model and replays the weeks with
:func:`onpace.services.replay.replay_into` — ingest, check-ins, evaluate, govern, as of the end
of each past week and, last, as of now — so every status, case, escalation and outbox event is
decided by the code a real organisation runs. People's scripted decisions go through the same
services: the check-ins of ``checkins.csv`` and one re-baseline (:data:`REBASELINES`). Finally it
adds two logins with random passwords: an admin, and an owner — the owner of the most striking
open case, so that "my desk" has something on it.

The demo keeps to its own folder (default ``onpace-demo/``): ``demo.db`` (the SQLite store),
``org/``, ``mail/`` (the messages the worker sends), ``secret-key`` and ``worker.log``, with
``onpace-demo.txt`` marking the folder as the demo's. A folder without that marker is refused
unless it is empty, and so is a marked folder whose store holds another organisation: the demo
only ever replaces its own previous store.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from onpace.services.ingest import IngestError, read_actuals_csv
from onpace.services.rebaseline import approve_rebaseline, plan_from_text, request_rebaseline, shift_size
from onpace.services.replay import ReplayStep, replay_into
from onpace.services.review_mail import publish_reviews
from onpace.storage.db import make_engine, upgrade
from onpace.storage.repositories import outbox_repo

MARKER = "onpace-demo.txt"
DATABASE = "demo.db"
ORG_FOLDER = "org"
MAIL_FOLDER = "mail"
SECRET_FILE = "secret-key"
WORKER_LOG = "worker.log"
ACTOR = "demo"
EXAMPLE_FILES = ("onpace.yaml", "actuals.csv", "checkins.csv")

MARKER_TEXT = """\
This folder holds an onpace demo: `onpace demo` made it and rebuilds it from scratch when run again.
  demo.db      the demo's SQLite store
  org/         the example organisation, its dates moved to the present, as loaded
  mail/        every message the demo's worker sent, one .eml file each
  secret-key   the key that signs the web app's session cookies
  worker.log   the worker's log
"""

_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?!\d)")
_QUARTER_ID = re.compile(r"^\d{4}-Q[1-4]$")

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

# How much a kind of open case says to a visitor, most first: the owner of the top one signs in.
_STRIKING = {"red": 6, "mirage": 5, "at_risk": 4, "dependency_late": 3, "threatened": 2, "stale": 1}


@dataclass(frozen=True)
class Login:
    """A demo user: role, email, password, and the person of the model it is (None for the admin)."""

    role: str
    email: str
    password: str
    person: str | None
    name: str


@dataclass(frozen=True)
class TourStop:
    """A page worth opening, as a path of the web app, and why."""

    path: str
    text: str


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
# moving the organisation to the present


def week_shift(last_day: dt.date, today: dt.date) -> int:
    """Return the whole weeks that move ``last_day`` to the first day on or after ``today`` with its weekday."""
    days = (today - last_day).days
    return -(-days // 7)


def shift_dates(text: str, weeks: int) -> str:
    """Return ``text`` with every valid ISO date (``YYYY-MM-DD``) moved by ``weeks`` weeks."""

    def moved(match: re.Match[str]) -> str:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        return (day + dt.timedelta(weeks=weeks)).isoformat()

    return _ISO_DATE.sub(moved, text)


def quarter_label(start: dt.date, end: dt.date) -> str:
    """Return the name of the quarter that holds the middle of a cycle, e.g. ``2026-Q4``."""
    middle = start + (end - start) / 2
    return f"{middle.year}-Q{(middle.month - 1) // 3 + 1}"


def shift_model_text(text: str, weeks: int, model: Model) -> str:
    """Return the model file ``text`` with its dates moved and its quarter-named cycles renamed."""
    moved = shift_dates(text, weeks)
    for cycle in model.cycles:
        if not _QUARTER_ID.match(cycle.id):
            continue
        shift = dt.timedelta(weeks=weeks)
        label = quarter_label(cycle.start + shift, cycle.end + shift)
        if label != cycle.id and label not in {c.id for c in model.cycles}:
            moved = re.sub(rf"(?<![\w-]){re.escape(cycle.id)}(?![\w-])", label, moved)
    return moved


def shift_csv(text: str, weeks: int, *, up_to: dt.date, name: str) -> str:
    """Return a CSV text with its ``date`` column moved by ``weeks`` weeks, without rows dated after ``up_to``.

    Rows whose date cannot be read are kept as they are (the ingest quarantines them).
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise UserError(f"{name}: the file is empty")
    column = next((i for i, h in enumerate(header) if h.strip().lower() == "date"), None)
    if column is None:
        raise UserError(f"{name}:1: the header has no date column")
    kept = io.StringIO()
    writer = csv.writer(kept, lineterminator="\n")
    writer.writerow(header)
    for row in reader:
        if column < len(row):
            row[column] = shift_dates(row[column], weeks)
            day = _leading_date(row[column])
            if day is not None and day > up_to:
                continue
        writer.writerow(row)
    return kept.getvalue()


def _leading_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def write_present_org(examples: Path, original: Model, target: Path, today: dt.date) -> int:
    """Write the example organisation (``original`` is its model), moved so that its last week is today's.

    The files go to ``target``. Return the number of weeks the dates moved. Raise
    :class:`UserError` when a file is missing or the model has no cycle.
    """
    texts = {}
    for name in EXAMPLE_FILES:
        path = examples / name
        if not path.is_file():
            raise UserError(f"the demo organisation is incomplete: {path} is missing")
        texts[name] = path.read_text(encoding="utf-8")
    if not original.cycles:
        raise UserError(f"{examples / 'onpace.yaml'}: the demo organisation has no cycle")
    weeks = week_shift(max(c.end for c in original.cycles), today)
    target.mkdir(parents=True, exist_ok=True)
    (target / "onpace.yaml").write_text(shift_model_text(texts["onpace.yaml"], weeks, original), "utf-8")
    for name in ("actuals.csv", "checkins.csv"):
        moved = shift_csv(texts[name], weeks, up_to=today, name=str(examples / name))
        (target / name).write_text(moved, encoding="utf-8")
    return weeks


def as_of_steps(model: Model, today: dt.date) -> list[dt.date]:
    """Return the replay's as-of dates: the last day of each past week of the cycle, then today."""
    start = min(c.start for c in model.cycles)
    week_end = start + dt.timedelta(days=6)
    steps = []
    while week_end < today:
        steps.append(week_end)
        week_end += dt.timedelta(days=7)
    if start <= today:
        steps.append(today)
    return steps


# ---------------------------------------------------------------------------------------------
# the folder


def _store_orgs(database: Path) -> list[str]:
    """Return the organisations in a SQLite store file (read-only; raise sqlite3.Error if unreadable)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "orgs" not in tables:
            return []
        return [r[0] for r in connection.execute("SELECT name FROM orgs")]
    finally:
        connection.close()


def claim_folder(folder: Path, org: str) -> bool:
    """Make ``folder`` ready for a new demo; return whether a previous demo was cleared from it.

    Refuse (:class:`UserError`) a folder that is not empty and not marked as a demo, and a
    marked one whose store holds anything but the demo organisation. Only the demo's own files
    are removed; anything else in the folder stays.
    """
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; choose another --data-dir")
    marker = folder / MARKER
    if folder.is_dir() and not marker.is_file() and any(folder.iterdir()):
        raise UserError(
            f"{folder} is not empty and is not an onpace demo folder (it has no {MARKER}); "
            "the demo never overwrites other files: choose another --data-dir"
        )
    database = folder / DATABASE
    if database.exists():
        try:
            others = [name for name in _store_orgs(database) if name != org]
        except sqlite3.Error as exc:
            raise UserError(
                f"{database} is not a store the demo can read ({exc}); remove it or choose another --data-dir"
            ) from None
        if others:
            raise UserError(
                f"{database} holds {', '.join(others)}, not only the demo organisation {org}; "
                "the demo leaves it alone: choose another --data-dir"
            )
    rebuilt = marker.is_file()
    folder.mkdir(parents=True, exist_ok=True)
    for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal", WORKER_LOG):
        (folder / name).unlink(missing_ok=True)
    for sub in (ORG_FOLDER, MAIL_FOLDER):
        shutil.rmtree(folder / sub, ignore_errors=True)
    (folder / MAIL_FOLDER).mkdir()
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    return rebuilt


def secret_key(folder: Path) -> str:
    """Return the demo's cookie-signing key, made once and kept in ``folder`` (readable by its owner only)."""
    path = folder / SECRET_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


# ---------------------------------------------------------------------------------------------
# what to look at


def _person_name(model: Model, person_id: str | None) -> str:
    person = model.person(person_id) if person_id else None
    return person.name if person is not None else str(person_id or "nobody")


def _title(model: Model, subject: str) -> str:
    for kpi in model.kpis:
        if kpi.id == subject:
            return kpi.title or subject
    for kr in model.key_results:
        if kr.id == subject:
            return kr.title
    for objective in model.objectives:
        if objective.id == subject:
            return objective.title
    for dep in model.dependencies:
        if dep.id == subject:
            return dep.title
    return subject


def striking_order(cases: Iterable[Case]) -> list[Case]:
    """Return open cases, the most striking first: by kind, then escalation rung, then severity, then age."""
    open_cases = [c for c in cases if c.is_open]
    return sorted(
        open_cases,
        key=lambda c: (-_STRIKING.get(c.kind, 0), -c.rung, -(c.severity or 0.0), c.opened_at, c.id or 0),
    )


def _case_words(model: Model, case: Case) -> str:
    kind = {
        "red": "is red",
        "at_risk": "is forecast to miss its target",
        "threatened": "is threatened by an off-track KPI",
        "mirage": "was reported green while the data says otherwise",
        "dependency_late": "is a late hand-off",
        "stale": "stopped receiving data",
        "hygiene": "has a model hygiene finding",
    }.get(case.kind, case.kind)
    text = f"{_title(model, case.subject)} {kind} (owner {_person_name(model, case.owner)}"
    if case.holder and case.holder != case.owner:
        text += f", escalated to {_person_name(model, case.holder)}"
    return text + ")"


def tour_of(model: Model, cases: Sequence[Case], owner: Login | None, rebaselined: bool) -> list[TourStop]:
    """Return the pages to open first, computed from the cases the replay left open."""
    ranked = striking_order(cases)
    stops: list[TourStop] = []
    if owner is not None:
        mine = [c for c in ranked if owner.person in (c.owner, c.holder) or owner.person in c.participants]
        stops.append(
            TourStop(
                "/", f"my desk, signed in as {owner.name}: {len(mine)} open case(s) to explain or act on"
            )
        )
    stops.append(
        TourStop(
            "/review",
            "the weekly review: what needs a decision, ranked by impact; each item leads to its case",
        )
    )
    if ranked:
        top = ranked[0]
        stops.append(TourStop(f"/cases/{top.id}", "the top case: " + _case_words(model, top)))
        if top.subject_level in ("kpi", "kr"):
            path = f"/{top.subject_level}s/{top.subject}"
            stops.append(TourStop(path, "its plan against the actuals, with the forecast to the cycle's end"))
    mirage = next((c for c in ranked if c.kind == "mirage"), None)
    if mirage is not None and (not ranked or mirage is not ranked[0]):
        stops.append(TourStop(f"/cases/{mirage.id}", "a mirage: " + _case_words(model, mirage)))
    late = next((c for c in ranked if c.kind == "dependency_late"), None)
    if late is not None:
        stops.append(TourStop("/dependencies", "the hand-offs between teams: " + _case_words(model, late)))
    if rebaselined:
        stops.append(TourStop("/rebaselines", "a plan changed mid-cycle, with its reason and approver"))
    stops.append(TourStop("/scorecard", "every objective, key result and KPI with its status and trend"))
    return stops


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
        f"  re-baseline: {_person_name(model, script.by)} changed the plan of {script.subject}{change}, "
        f"approved by {_person_name(model, script.approver)}"
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
