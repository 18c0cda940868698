"""Signed generic webhooks (HMAC-SHA256 over timestamp and body); see README.md beside this file."""

from onpace.notifiers.webhook.sender import KIND, notify
from onpace.notifiers.webhook.signing import sign, verify_signature

__all__ = ["KIND", "notify", "sign", "verify_signature"]
