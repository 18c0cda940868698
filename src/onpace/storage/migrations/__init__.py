"""Alembic migrations of the store; run them with ``onpace db upgrade``."""
