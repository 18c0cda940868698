"""Find the audit log's MAC key: it lives outside the database, so a copy of the store cannot forge rows.

The key is, in order:

1. ``ONPACE_AUDIT_KEY`` (or ``ONPACE_AUDIT_KEY_FILE`` naming a file that holds it): the
   recommended setting, independent of the cookie key so either can be rotated alone;
2. else derived from ``ONPACE_SECRET_KEY`` (HMAC-SHA256 of a fixed label under it), so a
   deployment that already sets its secret key gets a keyed chain without more configuration;
3. else a fixed development key, which anyone can read in this source: the chain still finds
   edits and deletions, but not a chain rewritten by someone who has read this file.
   ``onpace audit verify`` says so.

Every process that writes to the store (``serve``, ``worker``, the CLI) must see the same key;
each row records the key's public fingerprint, so a row sealed under another key is named.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from onpace.config import Settings, get_settings

DEVELOPMENT_KEY = b"onpace development audit key (public: set ONPACE_AUDIT_KEY)"
_DERIVATION_LABEL = b"onpace audit chain v2"


@dataclass(frozen=True)
class AuditKey:
    """The key bytes and where they came from (``ONPACE_AUDIT_KEY``, ``ONPACE_SECRET_KEY`` or ``development``)."""

    key: bytes
    origin: str

    @property
    def is_development(self) -> bool:
        """Return whether this is the public development key (no key configured)."""
        return self.origin == "development"


def audit_key(settings: Settings | None = None) -> AuditKey:
    """Return the audit key the settings give (see the module docstring for the order)."""
    settings = settings or get_settings()
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        return AuditKey(settings.audit_key.get_secret_value().encode("utf-8"), "ONPACE_AUDIT_KEY")
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        secret = settings.secret_key.get_secret_value().encode("utf-8")
        return AuditKey(hmac.new(secret, _DERIVATION_LABEL, hashlib.sha256).digest(), "ONPACE_SECRET_KEY")
    return AuditKey(DEVELOPMENT_KEY, "development")
