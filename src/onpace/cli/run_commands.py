"""Commands that run onpace: the web app and API server, the worker, and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onpace.cli.app import (
    app,
    fail,
    now,
    out,
    user_errors,
)
from onpace.errors import UserError


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes (default: one per CPU, at most 4)."),
    ] = None,
) -> None:
    """Start the web app and the REST API (/api/v1, docs at /docs)."""
    import uvicorn

    from onpace.app import default_workers, require_secret_key
    from onpace.config import get_settings
    from onpace.storage.db import make_engine, upgrade

    count = workers or default_workers()
    with user_errors():
        _keep_secret_key()
        require_secret_key(get_settings())
        upgrade(make_engine())
    out.print(
        f"onpace is serving on http://{host}:{port}/ (API docs at /docs) "
        f"with {count} worker process{'es' if count > 1 else ''}",
        soft_wrap=True,
    )
    # Several processes add up their request counts for /metrics in a folder they share.
    shared_metrics = _metrics_folder() if count > 1 else None
    try:
        # Every process builds its own app (and caches) from the same settings.
        uvicorn.run(
            "onpace.app:serve_app", factory=True, host=host, port=port, workers=count, log_level="warning"
        )
    finally:
        if shared_metrics is not None:
            import shutil

            shutil.rmtree(shared_metrics, ignore_errors=True)


def _metrics_folder() -> str | None:
    """Make a folder for the server processes' metrics unless the operator named one; return it to remove."""
    import os
    import tempfile

    from onpace.metrics import MULTIPROC_VARIABLE

    if os.environ.get(MULTIPROC_VARIABLE):
        return None
    folder = tempfile.mkdtemp(prefix="onpace-metrics-")
    os.environ[MULTIPROC_VARIABLE] = folder
    return folder


def _keep_secret_key() -> None:
    """Use (or make) the key kept in the data folder when none is set, and say which."""
    import os

    from onpace.config import get_settings
    from onpace.secret_key import keep_secret_key

    kept = keep_secret_key(get_settings())
    if kept is None:
        return
    # The server processes read their settings from the environment: point them at the kept key.
    os.environ["ONPACE_SECRET_KEY_FILE"] = str(kept.path)
    get_settings.cache_clear()
    made = "created a new secret key in" if kept.created else "using the secret key kept in"
    out.print(
        f"no ONPACE_SECRET_KEY set: {made} {kept.path} (readable by you only); "
        "in production set ONPACE_SECRET_KEY_FILE",
        soft_wrap=True,
        markup=False,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Do what is due now, then stop.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for work.")] = 1.0,
) -> None:
    """Run due source pulls, evaluations and deliveries; start as many as you like, on any machine."""
    from onpace.worker import serve as serve_worker

    with user_errors():
        serve_worker(once=once, poll_interval=poll)


def examples_dir() -> Path:
    """Return the folder of the demo organisation shipped with onpace."""
    here = Path(__file__).resolve()
    # Installed: onpace/examples; from a source checkout: the repository's examples folder.
    for candidate in (here.parents[1] / "examples", here.parents[3] / "examples"):
        if (candidate / "onpace.yaml").exists():
            return candidate
    raise UserError("the demo organisation (examples/onpace.yaml) is not installed with this copy of onpace")


def _say(line: str) -> None:
    out.print(line, markup=False, soft_wrap=True)


@app.command()
def demo(
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", help="The demo's own folder (store, mail, logs); rebuilt on each run."),
    ] = Path("onpace-demo"),
    host: Annotated[str, typer.Option(help="Address the web app listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the web app listens on.")] = 8000,
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve it (web app, worker, mailbox) after building it."),
    ] = True,
) -> None:
    """Replay the example organisation's quarter up to today through the loop, then serve it."""
    from onpace.demo_run import login_lines, port_is_free, serve_demo, tour_lines
    from onpace.services.demo import build_demo

    if serve and not port_is_free(host, port):
        fail(f"{host}:{port} is in use; choose another port with --port")
    try:
        with user_errors():
            store = build_demo(
                examples_dir(), data_dir, now=now(), say=_say, base_url=f"http://{host}:{port}"
            )
    except KeyboardInterrupt:
        # Ctrl-C during the set-up: the half-built store is the demo's own; the next run rebuilds it.
        fail("interrupted; run `onpace demo` again to build the demo from scratch", 130)
    for line in login_lines(store):
        _say(line)
    if not serve:
        for line in tour_lines(store, ""):
            _say(line)
        _say(
            f"not serving (--no-serve); to browse this store without a worker: "
            f"ONPACE_DATABASE_URL={store.database_url} "
            f"ONPACE_SECRET_KEY_FILE={store.folder / 'secret-key'} onpace serve"
        )
        return
    with user_errors():
        code = serve_demo(store, host=host, port=port, say=_say)
    raise typer.Exit(code)
