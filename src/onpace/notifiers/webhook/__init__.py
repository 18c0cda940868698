"""Signed generic webhooks: Standard Webhooks headers plus the earlier X-Onpace ones; see README.md beside this file."""

from onpace.notifiers.webhook.sender import KIND, notify
from onpace.notifiers.webhook.signing import sign, verify_signature
from onpace.notifiers.webhook.standard import new_secret, standard_headers

__all__ = ["KIND", "new_secret", "notify", "sign", "standard_headers", "verify_signature"]
