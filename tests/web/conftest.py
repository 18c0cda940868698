"""Fixtures of these tests: the demo store, the app on it, a client and the personas (see ``web_world``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from web_world import app, client, personas, world

__all__ = ["app", "client", "personas", "world"]
