"""Errors a user can cause, shown to them as one plain line (never a traceback)."""

from __future__ import annotations


class UserError(Exception):
    """Raise for bad input or a wrong use of a command; the message is shown as it is."""
