"""Find the key that signs session cookies, or make one and keep it in the data folder.

A fresh install should start with ``onpace serve`` alone. When neither ``ONPACE_SECRET_KEY``
nor ``ONPACE_SECRET_KEY_FILE`` is set, the key is read from ``secret-key`` in the data folder
(``ONPACE_DATA_DIR``; by default the folder of the SQLite store, else the working directory),
and created there (random, 64 hex digits, readable by its owner only) when it is missing. Every
server process then reads the same file, so a session signed by one is accepted by the others
and survives a restart. In production give the key explicitly (``ONPACE_SECRET_KEY_FILE``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from onpace.config import Settings, SettingsError

KEY_FILE = "secret-key"
MIN_LENGTH = 16


@dataclass(frozen=True)
class KeptKey:
    """The key file in use: where it is and whether it was created just now."""

    path: Path
    created: bool


def data_folder(settings: Settings) -> Path:
    """Return the data folder: ``ONPACE_DATA_DIR``, else the SQLite store's folder, else the working directory."""
    if settings.data_dir is not None:
        return settings.data_dir
    try:
        url = make_url(settings.database_url)
    except ArgumentError:  # a bad URL is reported where the store is opened
        return Path.cwd()
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).expanduser().resolve().parent
    return Path.cwd()


def keep_secret_key(settings: Settings) -> KeptKey | None:
    """Return the kept key file when no key is configured, creating it (mode 0600) if missing.

    Return ``None`` when a key is configured (it is then checked elsewhere). Raise
    :class:`SettingsError` when the folder cannot hold the file or the kept key is unusable.
    """
    if settings.secret_key is not None:
        return None
    folder = data_folder(settings)
    path = folder / KEY_FILE
    if path.is_file():
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"cannot read the secret key in {path}: {exc.strerror or exc}") from None
        if len(key) < MIN_LENGTH:
            raise SettingsError(
                f"the secret key in {path} is shorter than {MIN_LENGTH} characters; remove the file "
                "to have a new one made, or set ONPACE_SECRET_KEY_FILE"
            )
        return KeptKey(path, created=False)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not both write a key; the loser reads the winner's.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return keep_secret_key(settings)
    except OSError as exc:
        raise SettingsError(
            f"no ONPACE_SECRET_KEY is set and none can be kept in {folder}: {exc.strerror or exc}; "
            "set ONPACE_SECRET_KEY_FILE or ONPACE_DATA_DIR"
        ) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return KeptKey(path, created=True)
