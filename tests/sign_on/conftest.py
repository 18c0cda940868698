"""Fixtures of the single sign-on tests: the demo store, and a real OpenID provider on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from oidc_world import provider
from web_world import personas, world

__all__ = ["personas", "provider", "world"]
