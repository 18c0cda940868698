"""Actuals in: one folder per source kind, each with fetch(since) -> records."""
