"""``onpace serve`` on a fresh install: no key given, one is made, kept and reused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import onpace
from onpace.config import Settings
from onpace.secret_key import KEY_FILE, data_folder, keep_secret_key

PORT = 8451


def serve_until_it_answers(tmp_path: Path) -> str:
    """Start ``onpace serve`` with no key on a fresh SQLite store, wait for /login, stop it, return its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONPACE_")}
    # The server runs in the store's folder: import this copy of onpace whatever the working directory.
    env["PYTHONPATH"] = str(Path(onpace.__file__).resolve().parents[1])
    env["ONPACE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'onpace.db'}"
    (tmp_path / "data").mkdir(exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "onpace", "serve", "--port", str(PORT), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            server.terminate()
            raise AssertionError(f"the server never answered: {server.communicate(timeout=60)[0]!r}")
    finally:
        if server.poll() is None:
            server.terminate()
    output, _ = server.communicate(timeout=60)
    return output.decode()


@pytest.mark.slow
def test_serve_without_a_key_makes_one_in_the_data_folder_keeps_it_private_and_reuses_it(
    tmp_path: Path,
) -> None:
    first = serve_until_it_answers(tmp_path)
    key_file = tmp_path / "data" / KEY_FILE
    assert f"created a new secret key in {key_file}" in first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert len(key.strip()) == 64

    second = serve_until_it_answers(tmp_path)
    assert f"using the secret key kept in {key_file}" in second
    assert key_file.read_text() == key
    assert "Traceback" not in first + second


def test_a_configured_key_keeps_nothing(tmp_path: Path) -> None:
    settings = Settings(secret_key="configured-key-0123456789", data_dir=tmp_path)
    assert keep_secret_key(settings) is None
    assert not (tmp_path / KEY_FILE).exists()


def test_the_data_folder_is_the_setting_else_the_sqlite_folder_else_the_working_directory(
    tmp_path: Path,
) -> None:
    assert data_folder(Settings(data_dir=tmp_path / "kept")) == tmp_path / "kept"
    assert data_folder(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")) == tmp_path
    assert data_folder(Settings(database_url="postgresql://db.example/onpace")) == Path.cwd()


def test_a_kept_key_too_short_is_refused_with_the_file_named(tmp_path: Path) -> None:
    from onpace.config import SettingsError

    (tmp_path / KEY_FILE).write_text("short\n")
    with pytest.raises(SettingsError, match=str(tmp_path / KEY_FILE)):
        keep_secret_key(Settings(data_dir=tmp_path))
