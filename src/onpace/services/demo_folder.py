"""Keep the demo to its own folder: claim it (refusing anyone else's), clear the previous demo, hold its key.

The demo keeps to its own folder (default ``onpace-demo/``): ``demo.db`` (the SQLite store),
``org/``, ``sources/`` (the systems its sources pull from), ``mail/`` (the messages the worker
sends), ``secret-key`` and ``worker.log``, with ``onpace-demo.txt`` marking the folder as the
demo's. A folder without that marker is refused unless it is empty, and so is a marked folder
whose store holds another organisation: the demo only ever replaces its own previous store.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
from pathlib import Path

from onpace.errors import UserError
from onpace.services.demo_sources import SOURCES_FOLDER

MARKER = "onpace-demo.txt"
DATABASE = "demo.db"
ORG_FOLDER = "org"
MAIL_FOLDER = "mail"
SECRET_FILE = "secret-key"
WORKER_LOG = "worker.log"

MARKER_TEXT = """\
This folder holds an onpace demo: `onpace demo` made it and rebuilds it from scratch when run again.
  demo.db      the demo's SQLite store
  org/         the example organisation, its dates moved to the present, as loaded
  sources/     the systems its sources pull from: a SQLite shop database, an API's records
  mail/        every message the demo's worker sent, one .eml file each
  secret-key   the key that signs the web app's session cookies
  worker.log   the worker's log
"""


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
    for sub in (ORG_FOLDER, MAIL_FOLDER, SOURCES_FOLDER):
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
