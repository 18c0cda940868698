"""Run a worker process from the settings: the body of ``onpace worker``.

Reads the settings (``ONPACE_DATABASE_URL``, ``ONPACE_SMTP_URL``, ``ONPACE_BASE_URL``,
``ONPACE_OUTBOUND_ALLOW``, ``ONPACE_LOG_JSON``, ``ONPACE_LOG_LEVEL``), configures
structured logs, stops cleanly on SIGTERM or SIGINT (the job in hand is finished first), and
runs :func:`onpace.services.worker.run_worker`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any, TextIO

import structlog

from onpace.config import Settings, get_settings
from onpace.env_refs import readable_environment
from onpace.outbound import Allowlist
from onpace.services.dispatch import DispatchOptions
from onpace.services.worker import WorkerOptions, WorkerStats, new_worker_id, read_ahead, run_worker, utc_now
from onpace.storage.db import make_engine


def configure_logging(*, json: bool, level: str = "INFO", file: TextIO | None = None) -> None:
    """Send structlog's events to ``file`` (stderr by default), as JSON lines or for the console.

    Loggers are not cached and stderr is looked up at each event: a process that swaps its
    streams (a test runner, the demo's log file) never leaves a logger writing to a closed one.
    """

    def factory(*_args: object) -> structlog.PrintLogger:
        return structlog.PrintLogger(file=sys.stderr if file is None else file)

    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )


def options_from_settings(settings: Settings, env: Mapping[str, str]) -> WorkerOptions:
    """Return the worker options the settings and environment describe."""
    dispatch = DispatchOptions(
        smtp_url=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
        base_url=settings.base_url,
        allow=Allowlist.parse(settings.outbound_allow),
        env=env,
    )
    return WorkerOptions(dispatch=dispatch, env=env)


def serve(
    *,
    worker_id: str | None = None,
    once: bool = False,
    poll_interval: float = 0.25,
    settings: Settings | None = None,
) -> WorkerStats:
    """Run a worker on the configured store until SIGTERM/SIGINT (or, with ``once``, until idle)."""
    settings = settings or get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    env = readable_environment(os.environ)
    engine = make_engine(settings.database_url, sqlite_immediate=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        structlog.get_logger("onpace.worker").info("worker.stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        if not once:
            read_ahead(engine, now=utc_now())
        return run_worker(
            engine,
            worker_id=worker_id or new_worker_id(),
            once=once,
            poll_interval=poll_interval,
            stop_event=stop,
            options=options_from_settings(settings, env),
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()
