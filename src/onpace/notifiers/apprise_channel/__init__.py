"""Email, Slack, Teams and every other service Apprise reaches by URL; see :func:`notify`."""

from onpace.notifiers.apprise_channel.sender import KIND, notify

__all__ = ["KIND", "notify"]
