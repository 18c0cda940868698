"""HTTP JSON APIs with auth headers, pagination and a field mapping; see :func:`fetch`."""

from onpace.connectors.http_json.reader import KIND, fetch

__all__ = ["KIND", "fetch"]
