"""Errors raised by the store, each with a message a person can act on."""

from __future__ import annotations

from onpace.errors import UserError


class StoreError(UserError):
    """The store cannot do what was asked; the message says why and what to do."""


class OrgNotFoundError(StoreError, LookupError):
    """No organisation (or no single one) matches the request."""
