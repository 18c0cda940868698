"""Serve a built demo: the local mailbox, the worker and the web app, until Ctrl-C or SIGTERM.

The body of ``onpace demo`` once :func:`onpace.services.demo.build_demo` has made the store.
The worker is the loop ``onpace worker`` runs (:func:`onpace.services.worker.run_worker`, with
:func:`onpace.worker.options_from_settings`), in a thread of this process, so that it can never
outlive the demo. Its settings: the demo's store, the mailbox as the SMTP URL (people's own
email) and as the URL of every notify route the model reads from the environment (so chat
routes arrive as mail addressed to the route, e.g. ``online-chat@greenway.example``), and none
of the variables the model's sources read but those that point them at the demo's own systems
(:mod:`onpace.demo_endpoint` serves the HTTP sources on loopback, the SQL source reads the
demo's SQLite shop database), so the demo never pulls from a real system and every pull works.
The outbound guard lets the worker reach the demo's endpoint, that one address and port and
nothing else on loopback (``ONPACE_OUTBOUND_ALLOW`` is set to it while the demo serves). Its log
goes to ``worker.log``. The web app runs on uvicorn in another thread with the demo's secret key.
While serving, the process works in the demo folder, where a ``csv`` source's relative drop
folder (``drop/erp``) is made. SIGINT or SIGTERM stops the web app, then the worker (after the
job in hand), then the sources' endpoint and the mailbox.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import SecretStr

from onpace.config import ENV_PREFIX, Settings, get_settings
from onpace.demo_endpoint import Endpoint, running_endpoint
from onpace.env_refs import readable_environment
from onpace.errors import UserError
from onpace.mailbox import Mailbox, running_mailbox
from onpace.services.demo import DemoStore, demo_domain, environment_names
from onpace.services.demo_sources import source_environment
from onpace.storage.db import make_engine

Say = Callable[[str], None]
WORKER_POLL_SECONDS = 0.5
# How long each part gets to stop cleanly before it is stopped hard.
STOP_TIMEOUT = 15.0
START_TIMEOUT = 30.0


def link_host(host: str) -> str:
    """Return the host to put in links: a wildcard address is reached on the loopback one."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def port_is_free(host: str, port: int) -> bool:
    """Return whether the web app could listen on ``host``:``port`` now (as uvicorn binds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def login_lines(store: DemoStore) -> list[str]:
    """Return the lines that show the demo's logins (printed once; a new run makes new passwords)."""
    lines = ["sign in with (new passwords on every run of `onpace demo`):"]
    width = max(len(login.email) for login in store.logins)
    for login in store.logins:
        line = f"  {login.role:<6} {login.email:<{width}}  password {login.password}"
        if login.person is not None:
            line += f"   ({login.name}, owner of the top open case)"
        lines.append(line)
    return lines


def tour_lines(store: DemoStore, base_url: str) -> list[str]:
    """Return the 'where to click' lines: full links and why each page is worth opening."""
    width = max(len(base_url + stop.path) for stop in store.tour)
    return ["where to click:"] + [f"  {base_url + stop.path:<{width}}  {stop.text}" for stop in store.tour]


def worker_environment(
    store: DemoStore, mailbox: Mailbox, environ: Mapping[str, str], endpoint: Endpoint | None = None
) -> dict[str, str]:
    """Return the environment the demo's worker resolves ``env:`` names in (see the module docstring).

    Without ``endpoint`` (the demo's sources not served) the sources' names are left unset.
    """
    env = readable_environment({k: v for k, v in environ.items() if not k.startswith(ENV_PREFIX)})
    domain = demo_domain(store.model)
    routes, sources = environment_names(store.model)
    for name in sources - routes:
        env.pop(name, None)
    if endpoint is not None:
        env.update(source_environment(store.model, store.folder, endpoint=endpoint.url, token=endpoint.token))
    for route in store.model.notify:
        if route.url.startswith("env:"):
            env[route.url[4:].strip()] = mailbox.address_url(f"onpace@{domain}", f"{route.id}@{domain}")
        if route.secret and route.secret.startswith("env:"):
            env[route.secret[4:].strip()] = store.secret_key
    return env


def worker_settings(store: DemoStore, mailbox: Mailbox, base_url: str, outbound_allow: str = "") -> Settings:
    """Return the settings of the demo's worker: its store, the mailbox for people's mail, its links."""
    sender = f"onpace@{demo_domain(store.model)}"
    return Settings(
        database_url=store.database_url,
        smtp_url=SecretStr(mailbox.smtp_url(sender)),
        base_url=base_url,
        outbound_allow=outbound_allow,
    )


@contextmanager
def allowing_outbound(entry: str) -> Iterator[None]:
    """Make ``entry`` the process's whole outbound allowlist until the block ends, then restore it.

    The demo's HTTP sources are read through the outbound guard, which takes its allowlist from
    the process settings; the demo allows its own endpoint and nothing else.
    """
    name = f"{ENV_PREFIX}OUTBOUND_ALLOW"
    before = os.environ.get(name)
    os.environ[name] = entry
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
        get_settings.cache_clear()


@contextmanager
def running_worker(settings: Settings, env: Mapping[str, str], log: Path) -> Iterator[threading.Thread]:
    """Run the worker loop in a thread until the block ends, logging to ``log``; then let it finish its job."""

    from onpace.services.worker import run_worker
    from onpace.worker import configure_logging, options_from_settings

    with log.open("a", encoding="utf-8", buffering=1) as handle:
        configure_logging(json=False, level=settings.log_level, file=handle)
        engine = make_engine(settings.database_url, sqlite_immediate=True)
        stop = threading.Event()
        thread = threading.Thread(
            target=run_worker,
            args=(engine,),
            kwargs={
                "poll_interval": WORKER_POLL_SECONDS,
                "stop_event": stop,
                "options": options_from_settings(settings, env),
            },
            name="onpace-demo-worker",
            daemon=True,
        )
        thread.start()
        try:
            yield thread
        finally:
            stop.set()
            thread.join(timeout=STOP_TIMEOUT)
            engine.dispose()
            # The log file closes with this block; later events go back to stderr.
            configure_logging(json=False, level=settings.log_level)


@contextmanager
def running_web_app(store: DemoStore, host: str, port: int, base_url: str) -> Iterator[threading.Thread]:
    """Serve the web app on ``host``:``port`` in a thread until the block ends."""
    # Imported here: the web app is slow to import and ``onpace demo --no-serve`` never needs it.
    import uvicorn

    from onpace.app import create_app

    settings = Settings(
        database_url=store.database_url, secret_key=SecretStr(store.secret_key), base_url=base_url
    )
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="onpace-demo-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    # Wait for the socket to be bound (or for the thread to give up), not for a fixed time.
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)
        raise UserError(f"the web app cannot listen on {host}:{port}; choose another --port")
    try:
        yield thread
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Set the yielded event on SIGINT or SIGTERM (instead of dying) until the block ends."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def working_in(folder: Path) -> Iterator[None]:
    """Make ``folder`` the working folder until the block ends."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def serve_demo(store: DemoStore, *, host: str, port: int, say: Say) -> int:
    """Serve the demo until SIGINT or SIGTERM; return the exit code (0, or 1 when a part died)."""
    base_url = f"http://{link_host(host)}:{port}"
    # Absolute paths: the process works in the demo folder while serving.
    store = dataclasses.replace(store, folder=store.folder.resolve())
    code = 0
    with (
        stop_on_signals() as stop,
        working_in(store.folder),
        running_mailbox(store.mail_folder) as mailbox,
        running_endpoint(store.model, store.folder) as endpoint,
        allowing_outbound(endpoint.allow_entry),
    ):
        say(
            f"mail: a local SMTP server on {mailbox.host}:{mailbox.port} keeps every message the "
            f"worker sends as an .eml file in {store.mail_folder}"
        )
        say(
            f"sources: the HTTP sources are served on {endpoint.url}, the SQL source reads "
            f"the shop database in {store.folder / 'sources'}; the worker pulls them now and on schedule"
        )
        settings = worker_settings(store, mailbox, base_url, endpoint.allow_entry)
        env = worker_environment(store, mailbox, os.environ, endpoint)
        with running_worker(settings, env, store.worker_log) as worker:
            say(f"worker: running, logging to {store.worker_log}")
            with running_web_app(store, host, port, base_url) as web:
                say(f"web app: {base_url}/")
                for line in tour_lines(store, base_url):
                    say(line)
                say("press Ctrl-C to stop")
                while not stop.wait(0.5):
                    if not worker.is_alive():
                        say(f"error: the worker stopped; see {store.worker_log}")
                        code = 1
                        break
                    if not web.is_alive():
                        say("error: the web app stopped")
                        code = 1
                        break
                say("stopping the web app, the worker and the mailbox")
    say(f"demo stopped; its store stays in {store.folder} until the next `onpace demo`")
    return code
