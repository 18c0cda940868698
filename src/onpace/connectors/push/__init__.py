"""Records pushed to the API (``POST /api/v1/actuals``); see :func:`validate_pushed`."""

from onpace.connectors.push.records import KIND, fetch, validate_pushed

__all__ = ["KIND", "fetch", "validate_pushed"]
