"""Paths of the model files the model-file tests read (all inside the repository)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).with_name("fixtures")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onpace.yaml"
BROKEN = FIXTURES / "broken.yaml"
VALID_FILES = [FIXTURES / "broken-funnel.yaml", FIXTURES / "green-sheet.yaml", EXAMPLE]
